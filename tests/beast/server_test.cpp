// The real server in-process on 127.0.0.1:0, driven by a Beast client: every
// row of the contract's §3 table, keep-alive, pipelining, races, request ids,
// rate limits and the graceful drain.
#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include <boost/json/serialize.hpp>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "useradmin/beast/envelope.hpp"
#include "useradmin/beast/request_id.hpp"
#include "useradmin/jwt/jwt_issuer.hpp"

using namespace useradmin;
using namespace useradmin::test;
namespace json = boost::json;

namespace {

HttpResponse patchAs(TestServer& server, const std::string& actor, const std::string& id,
                     std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& body = {}) {
  HttpClient client(server.port());
  headers.push_back(bearer(tokenFor(actor)));
  return client.request(http::verb::patch, reactivatePath(id), headers, body);
}

HttpResponse patchWithAuth(TestServer& server, const std::string& id,
                           std::vector<std::pair<std::string, std::string>> headers) {
  HttpClient client(server.port());
  return client.request(http::verb::patch, reactivatePath(id), headers);
}

// Checks what every response promises: JSON envelope whose code equals the
// status, application/json, and an X-Request-Id.
void checkEnvelope(const HttpResponse& r) {
  INFO(r.body);
  CHECK(r.header("content-type") == "application/json");
  CHECK_FALSE(r.header("x-request-id").empty());
  const json::value body = r.json();
  REQUIRE(body.is_object());
  CHECK(body.as_object().size() == 3);
  CHECK(body.at("code").to_number<unsigned>() == r.status);
  CHECK(body.at("message").is_string());
  CHECK(body.as_object().contains("data"));
  CHECK(std::find(beast::kResponseStatuses.begin(), beast::kResponseStatuses.end(), r.status) !=
        beast::kResponseStatuses.end());
}

void check401(const HttpResponse& r) {
  CHECK(r.status == 401);
  checkEnvelope(r);
  CHECK(r.header("www-authenticate") == "Bearer");
  CHECK(r.body == R"({"code":401,"message":"invalid token","data":{}})");
}

std::string b64(const std::string& s) { return base64urlEncode(s); }

}  // namespace

TEST_CASE("server: 200 for the contract example, usr_root reactivates usr_123456789", "[beast][server]") {
  TestServer server;
  auto r = patchAs(server, "usr_root", "usr_123456789");
  REQUIRE(r.status == 200);
  checkEnvelope(r);
  const json::value body = r.json();
  CHECK(body.at("message") == "user reactivated successfully");
  const auto& data = body.at("data").as_object();
  CHECK(data.size() == 6);
  CHECK(data.at("id") == "usr_123456789");
  CHECK(data.at("username") == "usr_123456789");
  CHECK(data.at("email") == "usr_123456789@example.com");
  CHECK(data.at("organization_id") == "org_c1");
  CHECK(data.at("status") == "active");
  const std::string updated(data.at("updated_at").as_string());
  CHECK(parseRfc3339(updated).has_value());
  CHECK(server.user("usr_123456789").status == UserStatus::active);
  CHECK_FALSE(r.has("www-authenticate"));
  CHECK(r.keep_alive);
  // The audit event carries the request id and the client address.
  auto events = server.store().auditEvents().value().events;
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().outcome == "granted");
  CHECK(events.back().request_id == r.header("x-request-id"));
  CHECK(events.back().client_address == "127.0.0.1");
  // And the access log has a line for it.
  const std::string line = server.logLineFor(r.header("x-request-id"));
  CHECK(line.find("\"status\":200") != std::string::npos);
  CHECK(line.find("\"actor\":\"usr_root\"") != std::string::npos);
  CHECK(line.find("\"method\":\"PATCH\"") != std::string::npos);
  CHECK(line.find("\"path\":\"/api/users/usr_123456789/reactivate\"") != std::string::npos);
}

TEST_CASE("server: the body may carry a reason, recorded in the audit event", "[beast][server]") {
  TestServer server;
  auto r = patchAs(server, "usr_root", "usr_c1_target", {{"Content-Type", "application/json"}},
                   R"({"reason":"customer called"})");
  REQUIRE(r.status == 200);
  CHECK(server.store().auditEvents().value().events.back().note == "customer called");
  auto bad = patchAs(server, "usr_root", "usr_c2_target", {}, R"({"role":"super"})");
  CHECK(bad.status == 400);
  checkEnvelope(bad);
  CHECK(bad.json().at("data").at("errors").at(0).at("key") == "body");
  CHECK(server.user("usr_c2_target").status == UserStatus::suspended);
}

TEST_CASE("server: 400 invalid_argument for a malformed id", "[beast][server]") {
  TestServer server;
  for (const auto& [raw, decoded] : std::vector<std::pair<std::string, std::string>>{
           {"bad%20id", "bad id"}, {"a%2Fb", "a/b"}, {"a%zz", "a%zz"}, {std::string(129, 'x'), std::string(129, 'x')}}) {
    INFO(raw);
    auto r = patchAs(server, "usr_root", raw);
    CHECK(r.status == 400);
    checkEnvelope(r);
    const auto body = r.json();
    CHECK(body.at("message") == "validation failed");
    CHECK(body.at("data").at("type") == "validation_error");
    const auto& error = body.at("data").at("errors").at(0);
    CHECK(error.at("key") == "id");
    CHECK(error.at("message") == "invalid_format");
    CHECK(error.at("value") == json::value(decoded.c_str()));
  }
}

TEST_CASE("server: 400 failed_precondition, both kinds", "[beast][server]") {
  TestServer server;
  SECTION("not suspended") {
    auto r = patchAs(server, "usr_root", "usr_c1_admin");
    CHECK(r.status == 400);
    checkEnvelope(r);
    CHECK(json::serialize(r.json().at("data")) ==
          R"({"type":"validation_error","errors":[{"key":"status","message":"not_suspended","value":"active"}]})");
  }
  SECTION("organization suspended") {
    auto r = patchAs(server, "usr_root", "usr_c5_target");
    CHECK(r.status == 400);
    checkEnvelope(r);
    const json::value body = r.json();
    const auto& error = body.at("data").at("errors").at(0);
    CHECK(error.at("key") == "organization_id");
    CHECK(error.at("message") == "organization_suspended");
  }
}

TEST_CASE("server: 400 external_error when the directory fails, and nothing stays changed", "[beast][server]") {
  FailingDirectory directory;
  TestServerConfig config;
  config.directory = &directory;
  TestServer server(config);
  auto r = patchAs(server, "usr_root", "usr_c1_target");
  CHECK(r.status == 400);
  checkEnvelope(r);
  CHECK(r.body ==
        R"({"code":400,"message":"external service error","data":{"type":"external_api_error","errors":[],"details":{}}})");
  CHECK(r.body.find("ldap") == std::string::npos);
  CHECK(server.user("usr_c1_target").status == UserStatus::suspended);
  // The detail is in the log only.
  CHECK(server.logLineFor(r.header("x-request-id")).find("ldap://x") != std::string::npos);
}

TEST_CASE("server: 401 for every listed cause, with WWW-Authenticate", "[beast][server]") {
  TestServer server;
  const Timestamp now = std::chrono::time_point_cast<std::chrono::seconds>(systemClock().now());
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string reason;
  };
  auto with = [](JwtClaims c, auto&& change) {
    change(c);
    return bearer(tokenWith(c));
  };
  const JwtClaims good = validClaims("usr_root");
  const std::string payload = R"({"sub":"usr_root","exp":)" + std::to_string(toMillis(now) / 1000 + 3600) +
                              R"(,"iss":")" + kIssuer + R"(","aud":")" + kAudience + "\"}";
  std::vector<Case> cases = {
      {"no header", {}, "missing_credentials"},
      {"not Bearer", {{"Authorization", "Basic dXNlcjpwYXNz"}}, "not_bearer"},
      {"bad signature", {bearer(tokenWith(good, "another-secret-0123456789-abcdefghijklmnop"))}, "bad_signature"},
      {"expired", {with(good, [&](JwtClaims& c) { c.exp = now - std::chrono::hours(1); })}, "expired"},
      {"absent exp", {with(good, [](JwtClaims& c) { c.exp.reset(); })}, "missing_exp"},
      {"not yet valid", {with(good, [&](JwtClaims& c) { c.nbf = now + std::chrono::hours(1); })}, "not_yet_valid"},
      {"wrong iss", {with(good, [](JwtClaims& c) { c.iss = "someone-else"; })}, "bad_issuer"},
      {"wrong aud", {with(good, [](JwtClaims& c) { c.aud = {"other-api"}; })}, "bad_audience"},
      {"alg none", {bearer(b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(payload) + ".")}, "alg_none"},
      {"alg not allowed",
       {bearer(signHs256Jws(kBeastSecret, R"({"alg":"RS256","typ":"JWT"})", payload))},
       "alg_not_allowed"},
      {"unknown sub", {bearer(tokenFor("usr_nobody"))}, "unknown_actor"},
      {"actor not active", {bearer(tokenFor("usr_r1_target"))}, "actor_not_active"},
      {"garbage token", {{"Authorization", "Bearer abc"}}, "malformed"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = patchWithAuth(server, "usr_c1_target", c.headers);
    check401(r);
    const std::string line = server.logLineFor(r.header("x-request-id"));
    CHECK(line.find("\"reason\":\"" + c.reason + "\"") != std::string::npos);
    CHECK(line.find("Bearer") == std::string::npos);  // never the token
    if (c.headers.size() == 1 && c.headers[0].second.size() > 20)
      CHECK(line.find(c.headers[0].second.substr(7, 20)) == std::string::npos);
  }
  CHECK(server.user("usr_c1_target").status == UserStatus::suspended);
}

TEST_CASE("server: 403 permission denied", "[beast][server]") {
  TestServer server;
  auto r = patchAs(server, "usr_r1_support", "usr_c1_target");
  CHECK(r.status == 403);
  checkEnvelope(r);
  CHECK(r.body == R"({"code":403,"message":"insufficient permissions","data":{}})");
  auto self = patchAs(server, "usr_root", "usr_root");
  CHECK(self.status == 403);
  CHECK(self.json().at("message") == "cannot perform administrative actions on yourself");
  CHECK(server.logLineFor(r.header("x-request-id")).find("\"actor\":\"usr_r1_support\"") != std::string::npos);
}

TEST_CASE("server: 404 user not found, also outside the hierarchy", "[beast][server]") {
  TestServer server;
  for (const auto& [actor, id] : std::vector<std::pair<std::string, std::string>>{
           {"usr_root", "usr_does_not_exist"}, {"usr_r1_admin", "usr_c4_target"}}) {
    INFO(id);
    auto r = patchAs(server, actor, id);
    CHECK(r.status == 404);
    checkEnvelope(r);
    CHECK(r.body == R"({"code":404,"message":"user not found","data":{"type":"validation_error","errors":[)"
                    R"({"key":"id","message":"not_found","value":")" +
                        id + R"("}]}})");
  }
  CHECK(server.user("usr_c4_target").status == UserStatus::suspended);
}

TEST_CASE("server: 500 when storage fails, details only in the log", "[beast][server]") {
  TestServerConfig config;
  config.fail_store_at = 1;
  TestServer server(config);
  auto r = patchAs(server, "usr_root", "usr_c1_target");
  CHECK(r.status == 500);
  checkEnvelope(r);
  CHECK(r.body == R"({"code":500,"message":"internal server error","data":null})");
  CHECK(server.logLineFor(r.header("x-request-id")).find("injected failure") != std::string::npos);
}

TEST_CASE("server: a body ends with a newline, counted in Content-Length; the envelope is unchanged",
          "[beast][server]") {
  TestServer server;
  RawConnection raw(server.port());
  raw.write("PATCH /api/users/x/reactivate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string data = raw.readUntilClosed().data;
  INFO(data);
  const auto blank = data.find("\r\n\r\n");
  REQUIRE(blank != std::string::npos);
  const std::string body = data.substr(blank + 4);
  CHECK(body == std::string(R"({"code":401,"message":"invalid token","data":{}})") + "\n");
  CHECK(data.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
}

TEST_CASE("server: 404 route not found and 405 with Allow", "[beast][server]") {
  TestServer server;
  HttpClient client(server.port());
  // (`/api/users` is a GET route since the reads: see the 405 case below.)
  for (const char* target : {"/", "/api/user", "/api/users/x/delete", "/api/users/x/reactivate/", "/nope?x=1"}) {
    INFO(target);
    auto r = client.request(http::verb::patch, target, {bearer(tokenFor("usr_root"))});
    CHECK(r.status == 404);
    checkEnvelope(r);
    CHECK(r.body == R"({"code":404,"message":"route not found","data":null})");
  }
  for (auto method : {http::verb::get, http::verb::post, http::verb::put, http::verb::delete_, http::verb::options}) {
    INFO(http::to_string(method));
    auto r = client.request(method, reactivatePath("usr_c1_target"));
    CHECK(r.status == 405);
    checkEnvelope(r);
    CHECK(r.header("allow") == "PATCH");
    CHECK(r.body == R"({"code":405,"message":"method not allowed","data":null})");
  }
  // HEAD gets the headers of the 405, without a body.
  client.send(http::verb::head, reactivatePath("usr_c1_target"));
  auto head = client.receive(true);
  CHECK(head.status == 405);
  CHECK(head.body.empty());
  CHECK(head.header("allow") == "PATCH");
  // The connection is still usable afterwards.
  CHECK(client.request(http::verb::patch, reactivatePath("usr_c1_target"), {bearer(tokenFor("usr_root"))}).status ==
        200);
}

TEST_CASE("server: a custom base path", "[beast][server]") {
  TestServerConfig config;
  config.options.base_path = "/v2/admin/";
  TestServer server(config);
  HttpClient client(server.port());
  CHECK(client.request(http::verb::patch, reactivatePath("usr_c1_target", "/v2/admin"), {bearer(tokenFor("usr_root"))})
            .status == 200);
  CHECK(client.request(http::verb::patch, reactivatePath("usr_c2_target"), {bearer(tokenFor("usr_root"))}).status ==
        404);
}

TEST_CASE("server: X-Request-Id is echoed when sane, generated otherwise", "[beast][server]") {
  TestServer server;
  HttpClient client(server.port());
  auto echoed = client.request(http::verb::patch, reactivatePath("x"), {{"X-Request-Id", "trace-42.a_b~c"}});
  CHECK(echoed.header("x-request-id") == "trace-42.a_b~c");
  std::set<std::string> generated;
  for (const std::string& bad : {std::string("has space"), std::string(129, 'a'), std::string("semi;colon"),
                                std::string("")}) {
    auto r = client.request(http::verb::patch, reactivatePath("x"), {{"X-Request-Id", bad}});
    const std::string id = r.header("x-request-id");
    CHECK(beast::isSaneRequestId(id));
    CHECK(id != bad);
    generated.insert(id);
  }
  auto none = client.request(http::verb::patch, reactivatePath("x"));
  generated.insert(none.header("x-request-id"));
  CHECK(generated.size() == 5);
  // The client's id reaches the audit event.
  auto r = client.request(http::verb::patch, reactivatePath("usr_c1_target"),
                          {bearer(tokenFor("usr_root")), {"X-Request-Id", "audit-me-1"}});
  CHECK(r.status == 200);
  CHECK(server.store().auditEvents().value().events.back().request_id == "audit-me-1");
}

TEST_CASE("server: keep-alive serves many requests on one connection", "[beast][server]") {
  TestServer server;
  HttpClient client(server.port());
  const std::string token = tokenFor("usr_root");
  for (int i = 0; i < 100; ++i) {
    auto r = client.request(http::verb::patch, reactivatePath(i % 2 ? "usr_c1_admin" : "nobody_here"),
                            {bearer(token), {"X-Request-Id", "ka-" + std::to_string(i)}});
    CHECK(r.status == (i % 2 ? 400u : 404u));
    CHECK(r.header("x-request-id") == "ka-" + std::to_string(i));
    CHECK(r.keep_alive);
  }
  CHECK(server.server().connectionCount() == 1);
}

TEST_CASE("server: pipelined requests are answered in order", "[beast][server]") {
  TestServer server;
  HttpClient client(server.port());
  const std::string token = tokenFor("usr_root");
  std::string batch;
  const std::vector<std::string> ids = {"usr_c1_target", "nobody", "usr_c2_target", "usr_c1_admin", "usr_c3_target"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    batch += "PATCH " + reactivatePath(ids[i]) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
             "\r\nX-Request-Id: pipe-" + std::to_string(i) + "\r\nContent-Length: 0\r\n\r\n";
  }
  batch += "GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-last\r\n\r\n";
  client.writeRaw(batch);
  const std::vector<unsigned> expected = {200, 404, 200, 400, 200};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto r = client.receive();
    CHECK(r.header("x-request-id") == "pipe-" + std::to_string(i));
    CHECK(r.status == expected[i]);
  }
  auto last = client.receive();
  CHECK(last.status == 404);
  CHECK(last.header("x-request-id") == "pipe-last");
}

// Administrators with authority over org_r1 and everything below it (and
// not inside it, so a cascade there cannot revoke them mid-race).
const std::vector<std::string> kRacers = {"usr_root", "usr_owner_admin", "usr_d1_admin"};

// `clients` clients, each on its own connection, send `path` at the same
// moment, as `actors` in turn; the responses in client order.
std::vector<HttpResponse> race(TestServer& server, const std::string& path, int clients,
                               const std::vector<std::string>& actors = kRacers) {
  std::vector<std::string> tokens;
  for (const auto& actor : actors) tokens.push_back(tokenFor(actor));
  std::vector<std::unique_ptr<HttpClient>> connections;
  for (int i = 0; i < clients; ++i) connections.push_back(std::make_unique<HttpClient>(server.port()));
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<HttpResponse>> results;
  for (int i = 0; i < clients; ++i) {
    results.push_back(std::async(std::launch::async, [&, i] {
      start.wait();
      return connections[static_cast<std::size_t>(i)]->request(
          http::verb::patch, path, {bearer(tokens[static_cast<std::size_t>(i) % tokens.size()])});
    }));
  }
  go.set_value();
  std::vector<HttpResponse> out;
  for (auto& f : results) out.push_back(f.get());
  return out;
}

// Exactly one 200; every other response a 400 naming `reason`.
void checkOneWinner(const std::vector<HttpResponse>& responses, const std::string& reason) {
  int ok = 0;
  int refused = 0;
  for (const auto& r : responses) {
    INFO(r.body);
    if (r.status == 200) ++ok;
    else if (r.status == 400 && r.body.find(reason) != std::string::npos) ++refused;
  }
  CHECK(ok == 1);
  CHECK(refused == static_cast<int>(responses.size()) - 1);
}

TEST_CASE("server: the write routes take the asynchronous path over SQLite without a directory", "[beast][server]") {
  // What lets the racing tests below (and every server test of a write
  // route) exercise the completion hand-off rather than the worker pool.
  TestServer server;
#ifdef USERADMIN_TEST_WITH_SQLITE
  CHECK(server.service().completesWithoutBlocking());
#endif
  for (const beast::Route& route : beast::apiRoutes()) {
    INFO(route.method << " " << route.pattern);
    CHECK((route.async_handler != nullptr) == (route.method == "PATCH"));
  }
  TestServerConfig wrapped;
  wrapped.fail_store_at = 1000;  // a decorator that blocks: the worker pool again
  TestServer blocking(wrapped);
  CHECK_FALSE(blocking.service().completesWithoutBlocking());
}

TEST_CASE("server: concurrent clients racing on one user, exactly one wins", "[beast][server][concurrency]") {
  constexpr int kClients = 8;
  SECTION("reactivate") {
    TestServer server;
    checkOneWinner(race(server, reactivatePath("usr_c1_target"), kClients,
                        {"usr_root", "usr_owner_admin", "usr_d1_admin", "usr_r1_admin"}),
                   "not_suspended");
  }
  SECTION("suspend") {
    TestServer server;
    checkOneWinner(race(server, "/api/users/usr_r1_support/suspend", kClients), "not_active");
    CHECK(server.user("usr_r1_support").status == UserStatus::suspended);
  }
  SECTION("reactivate and suspend of one user, all at once") {
    // Every request is decided against the state the previous one left:
    // the user ends where the last granted request put it, each grant
    // audited once, and no request is lost.
    TestServer server;
    std::vector<std::future<std::vector<HttpResponse>>> sides;
    sides.push_back(std::async(std::launch::async, [&] { return race(server, reactivatePath("usr_c1_target"), 4); }));
    sides.push_back(
        std::async(std::launch::async, [&] { return race(server, "/api/users/usr_c1_target/suspend", 4); }));
    int answered = 0;
    for (auto& side : sides)
      for (const auto& r : side.get()) {
        INFO(r.body);
        CHECK((r.status == 200 || r.status == 400));
        ++answered;
      }
    CHECK(answered == 8);
  }
}

TEST_CASE("server: concurrent clients racing on one organization, exactly one wins",
          "[beast][server][concurrency][cascade]") {
  constexpr int kClients = 8;
  TestServer server;
  checkOneWinner(race(server, "/api/organizations/org_r1/suspend", kClients), "already_suspended");
  CHECK(server.user("usr_c1_admin").suspended_by_org_id == std::string("org_r1"));
  checkOneWinner(race(server, "/api/organizations/org_r1/reactivate", kClients), "not_suspended");
  CHECK(server.user("usr_c1_admin").status == UserStatus::active);
}

TEST_CASE("server: 429 with Retry-After, then recovery", "[beast][server][ratelimit][slow]") {
  SECTION("per client address") {
    TestServerConfig config;
    config.options.client_rate_limit = beast::RateLimit{1.0, 2.0};
    TestServer server(config);
    HttpClient client(server.port());
    CHECK(client.request(http::verb::patch, reactivatePath("x")).status == 401);
    CHECK(client.request(http::verb::patch, reactivatePath("x")).status == 401);
    auto limited = client.request(http::verb::patch, reactivatePath("x"));
    CHECK(limited.status == 429);
    checkEnvelope(limited);
    CHECK(limited.body == R"({"code":429,"message":"too many requests","data":null})");
    REQUIRE(limited.has("retry-after"));
    const int retry = std::stoi(limited.header("retry-after"));
    CHECK(retry == 1);
    CHECK(server.logLineFor(limited.header("x-request-id")).find("rate_limited_client") != std::string::npos);
    std::this_thread::sleep_for(std::chrono::seconds(retry));
    CHECK(client.request(http::verb::patch, reactivatePath("usr_c1_target"), {bearer(tokenFor("usr_root"))}).status ==
          200);
  }
  SECTION("per actor") {
    TestServerConfig config;
    config.options.actor_rate_limit = beast::RateLimit{1.0, 1.0};
    TestServer server(config);
    HttpClient client(server.port());
    const std::string root = tokenFor("usr_root");
    CHECK(client.request(http::verb::patch, reactivatePath("usr_c1_target"), {bearer(root)}).status == 200);
    auto limited = client.request(http::verb::patch, reactivatePath("usr_c2_target"), {bearer(root)});
    CHECK(limited.status == 429);
    CHECK(limited.header("retry-after") == "1");
    // Another actor is not affected.
    CHECK(client.request(http::verb::patch, reactivatePath("usr_c2_target"), {bearer(tokenFor("usr_r1_admin"))})
              .status == 200);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    CHECK(client.request(http::verb::patch, reactivatePath("usr_c3_target"), {bearer(root)}).status == 200);
  }
}

TEST_CASE("server: graceful shutdown lets a request in flight finish", "[beast][server][shutdown]") {
  TestServerConfig config;
  config.store_delay = std::chrono::milliseconds(400);
  TestServer server(config);
  HttpClient idle(server.port());  // an idle keep-alive connection
  HttpClient busy(server.port());
  busy.send(http::verb::patch, reactivatePath("usr_c1_target"), {bearer(tokenFor("usr_root"))});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the request is on a worker now
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { server.server().shutdown(std::chrono::seconds(5)); });
  auto r = busy.receive();
  stopper.join();
  CHECK(r.status == 200);
  CHECK_FALSE(r.keep_alive);  // Connection: close
  CHECK(server.user("usr_c1_target").status == UserStatus::active);
  CHECK(idle.closedByPeer());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  // Nobody is listening any more.
  CHECK_THROWS(HttpClient(server.port()));
}
