// Malformed HTTP over raw sockets, limits and timeouts, connection caps, and
// the documented status codes. Every abuse is followed by a normal request
// on a new connection, which must still be served.
#include <fstream>
#include <sstream>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "useradmin/beast/envelope.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// A server with short timeouts so the timeout tests are fast.
TestServerConfig fastTimeouts() {
  TestServerConfig config;
  config.options.request_timeout = std::chrono::milliseconds(300);
  config.options.idle_timeout = std::chrono::milliseconds(300);
  return config;
}

// A normal request on a fresh connection still works.
void checkStillServing(TestServer& server) {
  HttpClient client(server.port());
  auto r = client.request(http::verb::patch, reactivatePath("usr_c1_admin"), {bearer(tokenFor("usr_root"))});
  CHECK(r.status == 400);  // not_suspended: a full round trip through the library
  CHECK(r.body.find("not_suspended") != std::string::npos);
}

// Sends `bytes` on a raw connection and expects one 4xx envelope response
// with Connection: close, then the connection closed.
void expectRefusedAndClosed(TestServer& server, const std::string& bytes, unsigned status) {
  RawConnection raw(server.port());
  raw.write(bytes);
  auto result = raw.readUntilClosed();
  INFO(result.data.substr(0, 300));
  CHECK(rawStatus(result.data) == status);
  CHECK(result.closed);
  CHECK(result.data.find("Connection: close\r\n") != std::string::npos);
  CHECK(result.data.find("Content-Type: application/json\r\n") != std::string::npos);
  const auto body_start = result.data.find("\r\n\r\n");
  REQUIRE(body_start != std::string::npos);
  const auto body = boost::json::parse(result.data.substr(body_start + 4));
  CHECK(body.at("code").to_number<unsigned>() == status);
  CHECK(body.at("data").is_null());
  checkStillServing(server);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("robustness: a bad request line is 400 and closed", "[beast][robustness]") {
  TestServer server;
  expectRefusedAndClosed(server, "GARBAGE\r\n\r\n", 400);
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/9.9\r\n\r\n", 400);
  expectRefusedAndClosed(server, "PATCH  /api/users/x/reactivate HTTP/1.1\r\n\r\n", 400);
  expectRefusedAndClosed(server, std::string("PATCH /api/\x01 HTTP/1.1\r\n\r\n"), 400);
}

TEST_CASE("robustness: bad headers are 400 and closed", "[beast][robustness]") {
  TestServer server;
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400);
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400);
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400);
  expectRefusedAndClosed(server,
                         "PATCH /api/users/x/reactivate HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                         400);
}

TEST_CASE("robustness: conflicting Content-Length and Transfer-Encoding are 400 and closed", "[beast][robustness]") {
  TestServer server;
  expectRefusedAndClosed(server,
                         "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                         400);
  expectRefusedAndClosed(server,
                         "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Length: 5\r\n\r\n0\r\n\r\n",
                         400);
  // A transfer coding the server cannot delimit.
  expectRefusedAndClosed(server,
                         "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
}

TEST_CASE("robustness: a chunked body is accepted", "[beast][robustness]") {
  TestServer server;
  RawConnection raw(server.port());
  raw.write("PATCH /api/users/usr_c1_target/reactivate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
            tokenFor("usr_root") +
            "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            "5\r\n{\"rea\r\n10\r\nson\":\"chunked!\"}\r\n0\r\n\r\n");
  auto result = raw.readUntilClosed();
  REQUIRE(rawStatus(result.data) == 200);
  CHECK(server.store().auditEvents().value().events.back().note == "chunked!");
}

TEST_CASE("robustness: a 9 KiB header block is 431 and closed", "[beast][robustness]") {
  TestServer server;
  expectRefusedAndClosed(server,
                         "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9 * 1024, 'a') +
                             "\r\n\r\n",
                         431);
  // Many small fields add up the same way.
  std::string many = "PATCH /api/users/x/reactivate HTTP/1.1\r\n";
  for (int i = 0; i < 500; ++i) many += "X-F" + std::to_string(i) + ": 0123456789\r\n";
  expectRefusedAndClosed(server, many + "\r\n", 431);
}

TEST_CASE("robustness: a 5 KiB body is 413 and closed", "[beast][robustness]") {
  TestServer server;
  const std::string body(5 * 1024, 'x');
  expectRefusedAndClosed(server,
                         "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body,
                         413);
  // The same body in chunks.
  std::string chunked = "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "400\r\n" + std::string(1024, 'y') + "\r\n";
  expectRefusedAndClosed(server, chunked + "0\r\n\r\n", 413);
}

TEST_CASE("robustness: Expect: 100-continue gets an interim response", "[beast][robustness]") {
  TestServer server;
  RawConnection raw(server.port());
  raw.write("PATCH /api/users/usr_c1_target/reactivate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
            tokenFor("usr_root") + "\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  raw.write("{}");
  auto result = raw.readUntilClosed();
  CHECK(result.data.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("robustness: a client that trickles bytes is cut off by the request timeout",
          "[beast][robustness][slow]") {
  TestServer server(fastTimeouts());
  RawConnection raw(server.port());
  const std::string request = "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  const auto start = std::chrono::steady_clock::now();
  bool cut_off = false;
  for (std::size_t i = 0; i < request.size() + 200; ++i) {
    if (!raw.write(i < request.size() ? std::string(1, request[i]) : std::string("a"))) {
      cut_off = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(2)) break;
  }
  if (!cut_off) cut_off = raw.readUntilClosed(std::chrono::milliseconds(2000)).closed;
  CHECK(cut_off);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  checkStillServing(server);
}

TEST_CASE("robustness: an idle keep-alive connection is closed after the idle timeout", "[beast][robustness][slow]") {
  TestServer server(fastTimeouts());
  HttpClient client(server.port());
  CHECK(client.request(http::verb::patch, reactivatePath("x")).status == 401);
  const auto start = std::chrono::steady_clock::now();
  CHECK(client.closedByPeer());
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= std::chrono::milliseconds(200));
  CHECK(waited < std::chrono::seconds(3));
  // A connection that never sends anything is closed too.
  RawConnection silent(server.port());
  CHECK(silent.readUntilClosed(std::chrono::milliseconds(3000)).closed);
  checkStillServing(server);
}

TEST_CASE("robustness: connections beyond the maximum are answered 503 and closed", "[beast][robustness]") {
  TestServerConfig config;
  config.options.max_connections = 2;
  TestServer server(config);
  HttpClient a(server.port());
  HttpClient b(server.port());
  CHECK(a.request(http::verb::patch, reactivatePath("x")).status == 401);
  CHECK(b.request(http::verb::patch, reactivatePath("x")).status == 401);
  RawConnection extra(server.port());
  auto result = extra.readUntilClosed();
  CHECK(result.closed);
  CHECK(rawStatus(result.data) == 503);
  CHECK(result.data.find(R"({"code":503,"message":"service unavailable","data":null})") != std::string::npos);
  // The admitted connections still work; once one leaves there is room again.
  CHECK(a.request(http::verb::patch, reactivatePath("x")).status == 401);
  b.stream().close();
  for (int i = 0; i < 100 && server.server().connectionCount() > 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  checkStillServing(server);
}

TEST_CASE("robustness: random garbage never takes the server down", "[beast][robustness]") {
  TestServer server;
  std::uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  const std::string prefix = "PATCH /api/users/x/reactivate HTTP/1.1\r\n";
  for (int i = 0; i < 40; ++i) {
    std::string bytes = i % 2 ? prefix : std::string();
    const auto length = 1 + next() % 600;
    for (std::uint32_t j = 0; j < length; ++j) bytes.push_back(static_cast<char>(next() & 0xFF));
    bytes += "\r\n\r\n";
    RawConnection raw(server.port());
    raw.write(bytes);
    auto result = raw.readUntilClosed(std::chrono::milliseconds(3000));
    const unsigned status = rawStatus(result.data);
    INFO(i);
    CHECK((status == 0 || (status >= 400 && status < 500)));
  }
  checkStillServing(server);
}

TEST_CASE("docs: every status the server can return is documented in openapi.yaml", "[beast][docs]") {
  const std::string spec = readFile(std::string(USERADMIN_TEST_SOURCE_DIR) + "/../docs/openapi.yaml");
  REQUIRE_FALSE(spec.empty());
  CHECK(spec.find("openapi: 3.1") != std::string::npos);
  for (unsigned status : beast::kResponseStatuses) {
    INFO(status);
    CHECK(spec.find("'" + std::to_string(status) + "':") != std::string::npos);
  }
  const std::string guide = readFile(std::string(USERADMIN_TEST_SOURCE_DIR) + "/../docs/http-api.md");
  for (unsigned status : beast::kResponseStatuses) {
    INFO(status);
    CHECK(guide.find("| " + std::to_string(status)) != std::string::npos);
  }
}

namespace {

// Like expectRefusedAndClosed, and the answer comes at once, not when a
// timeout (10 s by default) runs out.
void expectRefusedPromptly(TestServer& server, const std::string& bytes, unsigned status) {
  const auto start = std::chrono::steady_clock::now();
  expectRefusedAndClosed(server, bytes, status);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

// A request whose whole header block (request line, fields, CRLFs and the
// final empty line) is exactly `size` bytes.
std::string headerBlockOf(std::size_t size) {
  const std::string head = "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ";
  const std::string tail = "\r\n\r\n";
  REQUIRE(size > head.size() + tail.size());
  return head + std::string(size - head.size() - tail.size(), 'p') + tail;
}

}  // namespace

TEST_CASE("robustness: bare LF line ends are 400 at once, not a stall", "[beast][robustness]") {
  TestServer server;
  expectRefusedPromptly(server,
                        "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\n{\"a\":\n0\n\n",
                        400);
  // The line after a chunk's data, and a trailer.
  expectRefusedPromptly(server,
                        "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "2\r\n{}\n0\r\n\r\n",
                        400);
  expectRefusedPromptly(server,
                        "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\nX-Trailer: 1\n\n",
                        400);
  // In the header block.
  expectRefusedPromptly(server, "PATCH /api/users/x/reactivate HTTP/1.1\nHost: x\n\n", 400);
  expectRefusedPromptly(server, "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\n\r\n", 400);
}

TEST_CASE("robustness: an HTTP/1.1 request needs exactly one Host field (RFC 9112 3.2)", "[beast][robustness]") {
  TestServer server;
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400);
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  expectRefusedAndClosed(server, "PATCH /api/users/x/reactivate HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400);
  // HTTP/1.0 did not require Host.
  RawConnection old(server.port());
  old.write("PATCH /api/users/x/reactivate HTTP/1.0\r\n\r\n");
  CHECK(rawStatus(old.readUntilClosed().data) == 401);
}

TEST_CASE("robustness: a transfer coding other than one chunked is 400 and closed", "[beast][robustness]") {
  TestServer server;
  const std::string head = "PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\n";
  const std::string empty_chunked_body = "\r\n\r\n0\r\n\r\n";  // ends the field line, then the header
  expectRefusedAndClosed(server, head + "Transfer-Encoding: gzip, chunked" + empty_chunked_body, 400);
  expectRefusedAndClosed(server, head + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked" + empty_chunked_body,
                         400);
  expectRefusedAndClosed(server, head + "Transfer-Encoding: chunked, chunked" + empty_chunked_body, 400);
  // Plain chunked, in any case, is fine.
  RawConnection fine(server.port());
  fine.write(head + "Connection: close\r\nTransfer-Encoding: Chunked" + empty_chunked_body);
  CHECK(rawStatus(fine.readUntilClosed().data) == 401);
}

TEST_CASE("robustness: the header block limit counts every byte up to the empty line", "[beast][robustness]") {
  TestServer server;  // max_header_bytes = 8192
  REQUIRE(headerBlockOf(8192).size() == 8192);
  RawConnection at_limit(server.port());
  at_limit.write(headerBlockOf(8192));
  CHECK(rawStatus(at_limit.readUntilClosed().data) == 401);
  expectRefusedAndClosed(server, headerBlockOf(8193), 431);
  expectRefusedAndClosed(server, headerBlockOf(8194), 431);
  // The same when the block arrives in pieces.
  RawConnection pieces(server.port());
  const std::string block = headerBlockOf(8193);
  for (std::size_t at = 0; at < block.size(); at += 1000) pieces.write(block.substr(at, 1000));
  CHECK(rawStatus(pieces.readUntilClosed().data) == 431);
}
