// GET /healthz and GET /readyz: answered by the server before routing,
// without authentication, rate limit or audit, but access-logged.
#include <atomic>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;

TEST_CASE("probes: /healthz is 200 without a token, in the envelope, access-logged", "[beast][probes]") {
  TestServer server;
  HttpClient client(server.port());
  auto r = client.request(http::verb::get, "/healthz", {{"X-Request-Id", "probe-1"}});
  CHECK(r.status == 200);
  CHECK(r.body == R"({"code":200,"message":"ok","data":{"status":"ok"}})");
  CHECK(r.header("x-request-id") == "probe-1");
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.keep_alive);
  const std::string line = server.logLineFor("probe-1");
  CHECK(line.find("\"path\":\"/healthz\"") != std::string::npos);
  CHECK(line.find("\"status\":200") != std::string::npos);
  // HEAD has no body; other methods are 405 with Allow.
  client.send(http::verb::head, "/healthz");
  auto head = client.receive(true);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  auto post = client.request(http::verb::post, "/healthz");
  CHECK(post.status == 405);
  CHECK(post.header("allow") == "GET, HEAD");
  // Only the exact paths: the API's base path does not apply, and a query is ignored.
  CHECK(client.request(http::verb::get, "/healthz?verbose=1").status == 200);
  CHECK(client.request(http::verb::get, "/api/healthz").status == 404);
  CHECK(server.store().auditEvents().value().events.empty());
}

TEST_CASE("probes: /readyz follows the ready_check hook", "[beast][probes]") {
  std::atomic<bool> store_ok{true};
  TestServerConfig config;
  config.options.ready_check = [&] { return store_ok.load(); };
  TestServer server(config);
  HttpClient client(server.port());
  auto ready = client.request(http::verb::get, "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == R"({"code":200,"message":"ready","data":{"status":"ready"}})");
  store_ok = false;
  auto not_ready = client.request(http::verb::get, "/readyz");
  CHECK(not_ready.status == 503);
  CHECK(not_ready.json().at("data").at("status") == "not_ready");
  CHECK(not_ready.has("x-request-id"));
  CHECK_FALSE(server.server().ready());
  // Liveness does not depend on readiness.
  CHECK(client.request(http::verb::get, "/healthz").status == 200);
}

TEST_CASE("probes: are not rate-limited", "[beast][probes][ratelimit]") {
  TestServerConfig config;
  config.options.client_rate_limit = beast::RateLimit{0.001, 1};  // one request, then 429 for ~17 min
  TestServer server(config);
  HttpClient client(server.port());
  for (int i = 0; i < 5; ++i) {
    CHECK(client.request(http::verb::get, "/healthz").status == 200);
    CHECK(client.request(http::verb::get, "/readyz").status == 200);
  }
  // The bucket's single token is still there for the API.
  CHECK(client.request(http::verb::patch, reactivatePath("x")).status == 401);
  CHECK(client.request(http::verb::patch, reactivatePath("x")).status == 429);
}

TEST_CASE("probes: readiness goes false as soon as the drain begins", "[beast][probes][shutdown]") {
  TestServerConfig config;
  config.store_delay = std::chrono::milliseconds(400);
  TestServer server(config);
  CHECK(server.server().ready());
  HttpClient busy(server.port());
  busy.send(http::verb::patch, reactivatePath("usr_c1_target"), {bearer(tokenFor("usr_root"))});
  // In flight: the request reached the (delaying) store, so the drain must wait for it.
  for (int i = 0; i < 1000 && server.slowStore()->started() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(server.slowStore()->started() == 1);
  std::thread stopper([&] { server.server().shutdown(std::chrono::seconds(5)); });
  bool went_unready_while_draining = false;
  for (int i = 0; i < 400 && !went_unready_while_draining; ++i) {
    went_unready_while_draining = !server.server().ready() && server.server().connectionCount() > 0;
    if (!went_unready_while_draining) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(went_unready_while_draining);
  CHECK(busy.receive().status == 200);  // the request in flight still finishes
  stopper.join();
}
