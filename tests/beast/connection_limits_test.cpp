// Connection-level defences: the per-address connection limit, the header
// deadline, and evicting idle keep-alive connections at max_connections.
// The attacker connects from 127.0.0.2, the well-behaved client from
// 127.0.0.1 (both loopback).
#include <memory>
#include <vector>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

const std::string kAttacker = "127.0.0.2";
const std::string kPartialHeader = "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nX-Slow: ";

// A full round trip through the library on a fresh connection from 127.0.0.1.
unsigned wellBehavedRequest(TestServer& server) {
  HttpClient client(server.port());
  return client.request(http::verb::patch, reactivatePath("usr_c1_admin"), {bearer(tokenFor("usr_root"))}).status;
}

}  // namespace

TEST_CASE("connection limits: a slow-client flood from one address does not lock others out", "[beast][limits]") {
  TestServerConfig config;
  config.options.max_connections = 32;
  config.options.max_connections_per_client = 8;
  config.options.header_timeout = std::chrono::milliseconds(500);
  TestServer server(config);
  try {
    RawConnection probe(server.port(), kAttacker);
  } catch (const std::exception& e) {
    WARN("cannot connect from " << kAttacker << " (" << e.what() << "); test not run");
    return;
  }

  // The attacker keeps opening connections that never finish their header,
  // trickling a byte on each, and reconnects as they are cut off.
  std::vector<std::unique_ptr<RawConnection>> flood;
  unsigned refused_attacker = 0;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 6; ++i) {
      flood.push_back(std::make_unique<RawConnection>(server.port(), kAttacker));
      flood.back()->write(kPartialHeader);
    }
    for (auto& connection : flood) connection->write("a");
    INFO("round " << round);
    CHECK(wellBehavedRequest(server) == 400);  // not_suspended: served, never 503
  }
  // Beyond its 8 connections the attacker is answered 503 and closed.
  for (auto& connection : flood) {
    auto result = connection->readUntilClosed(std::chrono::milliseconds(50));
    if (rawStatus(result.data) == 503) {
      ++refused_attacker;
      CHECK(result.data.find("X-Request-Id: ") != std::string::npos);
    }
  }
  CHECK(refused_attacker > 0);
}

TEST_CASE("connection limits: a header that does not arrive within header_timeout is cut off",
          "[beast][limits][slow]") {
  TestServerConfig config;
  config.options.header_timeout = std::chrono::milliseconds(300);
  config.options.request_timeout = std::chrono::seconds(10);
  TestServer server(config);
  RawConnection raw(server.port());
  const auto start = std::chrono::steady_clock::now();
  raw.write(kPartialHeader);
  bool cut_off = false;
  while (!cut_off && std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
    cut_off = !raw.write("a") || raw.readUntilClosed(std::chrono::milliseconds(100)).closed;
  }
  CHECK(cut_off);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  // A complete header gets the rest of the request timeout for its body.
  RawConnection body_later(server.port());
  body_later.write(
      "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n");
  CHECK_FALSE(body_later.readUntilClosed(std::chrono::milliseconds(600)).closed);
  body_later.write("{}");
  CHECK(rawStatus(body_later.readUntilClosed().data) == 401);
}

TEST_CASE("connection limits: at max_connections an idle keep-alive connection makes room", "[beast][limits]") {
  TestServerConfig config;
  config.options.max_connections = 3;
  config.options.evict_idle_after = std::chrono::milliseconds(100);
  TestServer server(config);
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<HttpClient>(server.port()));
    CHECK(idle.back()->request(http::verb::patch, reactivatePath("x")).status == 401);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past evict_idle_after
  CHECK(wellBehavedRequest(server) == 400);
  CHECK(idle.front()->closedByPeer());  // the longest idle one went
  CHECK(idle.back()->request(http::verb::patch, reactivatePath("x")).status == 401);
}

TEST_CASE("connection limits: connections with a request under way are not evicted", "[beast][limits]") {
  TestServerConfig config;
  config.options.max_connections = 3;
  config.options.evict_idle_after = std::chrono::milliseconds(50);
  TestServer server(config);
  std::vector<std::unique_ptr<RawConnection>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<RawConnection>(server.port()));
    busy.back()->write(kPartialHeader);
  }
  for (int i = 0; i < 200 && server.server().connectionCount() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  RawConnection extra(server.port());
  auto result = extra.readUntilClosed();
  CHECK(rawStatus(result.data) == 503);
  CHECK(result.closed);
  // Each busy connection still completes its request.
  busy.front()->write("1\r\nConnection: close\r\n\r\n");
  CHECK(rawStatus(busy.front()->readUntilClosed().data) == 401);
}
