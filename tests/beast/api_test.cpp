// The adapter's request semantics without sockets: Api::handle over the
// memory store and the real JWT verifier; request ids; access log lines.
#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "support/fixtures.hpp"
#include "useradmin/authorizer.hpp"
#include "useradmin/beast/access_log.hpp"
#include "useradmin/beast/api.hpp"
#include "useradmin/beast/envelope.hpp"
#include "useradmin/beast/rate_limiter.hpp"
#include "useradmin/beast/request_id.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/jwt/jwt_issuer.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::beast;
namespace json = boost::json;

namespace {

const std::string kSecret = "api-test-secret-0123456789-abcdefghijklmnopqr";

struct ApiHarness {
  std::unique_ptr<UserStore> store = makeMemoryStore(defaultPolicy());
  std::unique_ptr<Authorizer> authorizer = makePolicyAuthorizer(defaultPolicy());
  ReactivationService service{{*store, *authorizer, systemClock(), nullptr}};
  std::unique_ptr<TokenVerifier> verifier;
  std::unique_ptr<RateLimiter> client_limiter;
  std::unique_ptr<RateLimiter> actor_limiter;
  std::unique_ptr<Api> api;

  // `tweak` adjusts the seeded data and the verifier before they are used.
  using Tweak = std::function<void(Dataset&, JwtVerifierOptions&)>;

  explicit ApiHarness(std::optional<RateLimit> client = {}, std::optional<RateLimit> actor = {},
                      const Tweak& tweak = {}) {
    Dataset d = test::standardDataset();
    d.users.push_back(test::makeSuspended("usr_123456789", "org_c1"));
    JwtVerifierOptions options;
    options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
    if (tweak) tweak(d, options);
    REQUIRE(store->seed(d));
    verifier = makeJwtVerifier(options).value();
    if (client) client_limiter = std::make_unique<RateLimiter>(*client);
    if (actor) actor_limiter = std::make_unique<RateLimiter>(*actor);
    api = std::make_unique<Api>(Services{service, *verifier, systemClock()}, "/api", apiRoutes(),
                                client_limiter.get(), actor_limiter.get());
  }

  static std::string token(const std::string& sub, std::chrono::seconds iat_ahead = std::chrono::seconds(0)) {
    JwtClaims c;
    c.sub = sub;
    c.iat = std::chrono::time_point_cast<std::chrono::seconds>(systemClock().now()) + iat_ahead;
    c.exp = *c.iat + std::chrono::hours(1);
    return issueHs256Token(kSecret, c);
  }

  ApiResponse patch(const std::string& id, const std::string& authorization, const std::string& body = {},
                    const std::string& client = "10.0.0.1") {
    const std::string target = "/api/users/" + id + "/reactivate";
    ApiRequest request;
    request.method = "PATCH";
    request.target = target;
    request.authorization = authorization;
    request.authorization_count = authorization.empty() ? 0 : 1;
    request.body = body;
    request.request_id = "req-1";
    request.client_address = client;
    return api->handle(request);
  }

  ApiResponse get(const std::string& target, const std::string& sub = "usr_root") {
    const std::string authorization = "Bearer " + token(sub);
    ApiRequest request;
    request.method = "GET";
    request.target = target;
    request.authorization = authorization;
    request.authorization_count = 1;
    request.request_id = "req-get";
    request.client_address = "10.0.0.2";
    return api->handle(request);
  }
};

json::value bodyOf(const ApiResponse& r) { return json::parse(r.body); }

}  // namespace

TEST_CASE("api: the contract example reactivates usr_123456789", "[beast][api]") {
  ApiHarness h;
  auto r = h.patch("usr_123456789", "Bearer " + ApiHarness::token("usr_root"));
  REQUIRE(r.status == 200);
  auto body = bodyOf(r);
  CHECK(body.at("code") == 200);
  CHECK(body.at("message") == "user reactivated successfully");
  CHECK(body.at("data").at("status") == "active");
  CHECK(body.at("data").as_object().size() == 6);
  CHECK(r.actor_id == "usr_root");
  auto events = h.store->auditEvents().value().events;
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().request_id == "req-1");
  CHECK(events.back().client_address == "10.0.0.1");
}

TEST_CASE("api: authorization header parsing", "[beast][api]") {
  ApiHarness h;
  const std::string token = ApiHarness::token("usr_root");
  CHECK(h.patch("usr_c1_target", "").reason == "missing_credentials");
  CHECK(h.patch("usr_c1_target", "Basic dXNlcjpwYXNz").reason == "not_bearer");
  CHECK(h.patch("usr_c1_target", "Bearer").reason == "missing_token");
  CHECK(h.patch("usr_c1_target", "Bearer    ").reason == "missing_token");
  CHECK(h.patch("usr_c1_target", "Bearertoken").reason == "not_bearer");
  CHECK(h.patch("usr_c1_target", "Bearer not.a.jwt").status == 401);
  for (const auto& r : {h.patch("usr_c1_target", "")}) {
    CHECK(r.status == 401);
    CHECK(r.body == R"({"code":401,"message":"invalid token","data":{}})");
  }
  // The scheme is case-insensitive (RFC 7235) and extra spaces are fine.
  CHECK(h.patch("usr_c1_target", "bearer  " + token + " ").status == 200);
}

TEST_CASE("api: several Authorization fields are refused", "[beast][api]") {
  ApiHarness h;
  ApiRequest request;
  request.method = "PATCH";
  request.target = "/api/users/usr_c1_target/reactivate";
  const std::string auth = "Bearer " + ApiHarness::token("usr_root");
  request.authorization = auth;
  request.authorization_count = 2;
  auto r = h.api->handle(request);
  CHECK(r.status == 401);
  CHECK(r.reason == "multiple_authorization_headers");
}

TEST_CASE("api: request bodies", "[beast][api]") {
  ApiHarness h;
  const std::string auth = "Bearer " + ApiHarness::token("usr_root");
  SECTION("empty, whitespace and {} are accepted") {
    CHECK(h.patch("usr_c1_target", auth, "").status == 200);
    CHECK(h.patch("usr_c2_target", auth, " \r\n").status == 200);
    CHECK(h.patch("usr_c3_target", auth, "{}").status == 200);
  }
  SECTION("a reason is recorded in the audit event") {
    CHECK(h.patch("usr_c1_target", auth, R"({"reason":"ticket #42 \u00e9"})").status == 200);
    CHECK(h.store->auditEvents().value().events.back().note == "ticket #42 \xC3\xA9");
  }
  SECTION("a reason of 500 characters is fine, 501 is not") {
    std::string five_hundred;
    for (int i = 0; i < 500; ++i) five_hundred += "\xC3\xA9";  // 500 characters, 1000 bytes
    CHECK(h.patch("usr_c1_target", auth, R"({"reason":")" + five_hundred + "\"}").status == 200);
    auto r = h.patch("usr_c2_target", auth, R"({"reason":")" + std::string(501, 'x') + "\"}");
    CHECK(r.status == 400);
    CHECK(bodyOf(r).at("data").at("errors").at(0).at("key") == "reason");
    CHECK(bodyOf(r).at("data").at("errors").at(0).at("message") == "too_long");
  }
  SECTION("anything else is a validation error and changes nothing") {
    const auto audit_before = h.store->auditEvents().value().events.size();
    struct Case {
      const char* body;
      const char* key;
      const char* message;
    };
    for (const Case& c : {Case{"not json", "body", "invalid_json"}, Case{"[]", "body", "invalid_json"},
                          Case{"\"x\"", "body", "invalid_json"}, Case{"null", "body", "invalid_json"},
                          Case{"{", "body", "invalid_json"}, Case{R"({"reason":"a"} x)", "body", "invalid_json"},
                          Case{R"({"status":"active"})", "body", "unknown_field"},
                          Case{R"({"reason":5})", "reason", "invalid_type"},
                          Case{R"({"reason":null})", "reason", "invalid_type"},
                          Case{R"({"reason":["a"]})", "reason", "invalid_type"}}) {
      INFO(c.body);
      auto r = h.patch("usr_c1_target", auth, c.body);
      CHECK(r.status == 400);
      auto body = bodyOf(r);
      CHECK(body.at("message") == "validation failed");
      CHECK(body.at("data").at("type") == "validation_error");
      CHECK(body.at("data").at("errors").at(0).at("key") == c.key);
      CHECK(body.at("data").at("errors").at(0).at("message") == c.message);
    }
    // A key given twice, at any depth, is refused whatever the values.
    for (const char* repeated : {R"({"reason":5,"reason":"x"})", R"({"reason":"x","reason":"x"})",
                                 R"({"reason":"a","x":{"k":1,"k":2}})", R"({"re\u0061son":"a","reason":"b"})"}) {
      INFO(repeated);
      auto r = h.patch("usr_c1_target", auth, repeated);
      CHECK(r.status == 400);
      const auto error = bodyOf(r).at("data").at("errors").at(0);
      CHECK(error.at("key") == "body");
      CHECK(error.at("message") == "duplicate_key");
      CHECK(error.at("value") == (std::string(repeated).find("\"k\"") != std::string::npos ? "k" : "reason"));
    }
    // An unknown key is echoed, cut to 64 bytes on a character boundary.
    std::string long_key;
    for (int i = 0; i < 100; ++i) long_key += "\xC3\xA9";
    auto r = h.patch("usr_c1_target", auth, "{\"x" + long_key + "\":1}");
    CHECK(r.status == 400);
    CHECK(std::string(bodyOf(r).at("data").at("errors").at(0).at("value").as_string()) == "x" + long_key.substr(0, 62));
    CHECK(h.store->findUser("usr_c1_target").value()->status == UserStatus::suspended);
    CHECK(h.store->auditEvents().value().events.size() == audit_before);
  }
}

TEST_CASE("api: routing answers come before authentication", "[beast][api]") {
  ApiHarness h;
  ApiRequest request;
  request.method = "GET";
  request.target = "/api/users/x/reactivate";
  auto r = h.api->handle(request);
  CHECK(r.status == 405);
  CHECK(r.allow == "PATCH");
  CHECK(r.body == R"({"code":405,"message":"method not allowed","data":null})");
  request.target = "/nope";
  r = h.api->handle(request);
  CHECK(r.status == 404);
  CHECK(r.body == R"({"code":404,"message":"route not found","data":null})");
}

TEST_CASE("api: rate limits per client address and per actor", "[beast][api][ratelimit]") {
  SECTION("client address") {
    ApiHarness h(RateLimit{0.001, 2.0});
    CHECK(h.patch("x", "").status == 401);
    CHECK(h.patch("x", "").status == 401);
    auto r = h.patch("x", "");
    CHECK(r.status == 429);
    CHECK(r.retry_after >= 1);
    CHECK(r.body == R"({"code":429,"message":"too many requests","data":null})");
    CHECK(h.patch("x", "", "", "10.0.0.2").status == 401);  // another address
  }
  SECTION("actor") {
    ApiHarness h(std::nullopt, RateLimit{0.001, 1.0});
    const std::string root = "Bearer " + ApiHarness::token("usr_root");
    CHECK(h.patch("usr_c1_target", root).status == 200);
    auto r = h.patch("usr_c2_target", root);
    CHECK(r.status == 429);
    CHECK(r.actor_id == "usr_root");
    CHECK(h.patch("usr_c2_target", "Bearer " + ApiHarness::token("usr_r1_admin")).status == 200);
  }
}

TEST_CASE("request ids: sane ids are echoed, others replaced", "[beast][request_id]") {
  CHECK(isSaneRequestId("abc-123_x.y~z"));
  CHECK(isSaneRequestId(std::string(128, 'a')));
  CHECK_FALSE(isSaneRequestId(std::string(129, 'a')));
  CHECK_FALSE(isSaneRequestId(""));
  CHECK_FALSE(isSaneRequestId("a b"));
  CHECK_FALSE(isSaneRequestId("a\r\nX-Evil: 1"));
  CHECK_FALSE(isSaneRequestId("a\"b"));
  CHECK(chooseRequestId("client-1") == "client-1");
  const std::string fresh = chooseRequestId("bad id");
  CHECK(isSaneRequestId(fresh));
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(generateRequestId());
  CHECK(ids.size() == 1000);
}

TEST_CASE("access log: one JSON line, escaped, without secrets", "[beast][access_log]") {
  AccessRecord r;
  r.time = timestampFromMillis(1793527200123);
  r.request_id = "req-1";
  r.method = "PATCH";
  r.path = "/api/users/a\"b\n\x01/reactivate";
  r.status = 404;
  r.latency_us = 1234;
  r.client = "127.0.0.1";
  r.actor = "usr_root";
  r.reason = "outside_hierarchy";
  std::string line;
  formatAccessRecord(r, line);
  CHECK(line ==
        "{\"time\":\"2026-11-01T10:00:00.123Z\",\"request_id\":\"req-1\",\"method\":\"PATCH\","
        "\"path\":\"/api/users/a\\\"b\\n\\u0001/reactivate\",\"status\":404,\"latency_us\":1234,"
        "\"client\":\"127.0.0.1\",\"actor\":\"usr_root\",\"reason\":\"outside_hierarchy\"}\n");
  auto parsed = json::parse(line);
  CHECK(parsed.at("path") == "/api/users/a\"b\n\x01/reactivate");
  // Whole seconds still carry milliseconds; the per-second cache follows the clock.
  for (const auto& [ms, text] : std::vector<std::pair<std::int64_t, std::string>>{
           {1793527200000, "2026-11-01T10:00:00.000Z"}, {1793527201007, "2026-11-01T10:00:01.007Z"},
           {1793527201999, "2026-11-01T10:00:01.999Z"}, {0, "1970-01-01T00:00:00.000Z"}}) {
    std::string timed;
    AccessRecord t = r;
    t.time = timestampFromMillis(ms);
    formatAccessRecord(t, timed);
    CHECK(json::parse(timed).at("time") == text.c_str());
  }

  std::vector<std::string> lines;
  {
    AccessLog log([&](std::string_view l) { lines.emplace_back(l); });
    log.write(r);
  }
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == line);
}

namespace {

// usr_root was suspended 10 s ago and has been reactivated since: its
// tokens_valid_after is ten seconds in the past.
ApiHarness::Tweak rootRevokedTenSecondsAgo(std::chrono::seconds max_iat_ahead) {
  return [max_iat_ahead](Dataset& d, JwtVerifierOptions& options) {
    test::userIn(d, "usr_root").tokens_valid_after = systemClock().now() - std::chrono::seconds(10);
    options.max_iat_ahead = max_iat_ahead;
  };
}

}  // namespace

// ---- The reads (lifecycle §5) ----

namespace {

// The single validation error of a 400, as {key, message}.
std::pair<std::string, std::string> validationError(const ApiResponse& r) {
  REQUIRE(r.status == 400);
  const auto body = bodyOf(r);
  CHECK(body.at("message") == "validation failed");
  const auto& errors = body.at("data").at("errors").as_array();
  REQUIRE(errors.size() == 1);
  return {std::string(errors[0].at("key").as_string()), std::string(errors[0].at("message").as_string())};
}

}  // namespace

TEST_CASE("api: a token whose iat lies in the future does not survive its holder's suspension", "[beast][api][jwt]") {
  // A token minted before the suspension with iat = now + 45 s (inside the
  // 60 s exp/nbf leeway) is refused outright.
  ApiHarness h({}, {}, rootRevokedTenSecondsAgo(std::chrono::seconds(0)));
  auto r = h.patch("usr_c1_target", "Bearer " + ApiHarness::token("usr_root", std::chrono::seconds(45)));
  CHECK(r.status == 401);
  CHECK(r.reason == "iat_in_future");
  CHECK(h.patch("usr_c1_target", "Bearer " + ApiHarness::token("usr_root")).status == 200);
}

TEST_CASE("api: with max_iat_ahead A, a token is dead when iat - A is before tokens_valid_after", "[beast][api][jwt]") {
  ApiHarness h({}, {}, rootRevokedTenSecondsAgo(std::chrono::seconds(60)));
  // iat = now + 45: accepted by the allowance, counted as issued at now - 15,
  // before the suspension ten seconds ago.
  auto revoked = h.patch("usr_c1_target", "Bearer " + ApiHarness::token("usr_root", std::chrono::seconds(45)));
  CHECK(revoked.status == 401);
  CHECK(revoked.reason == "credential_revoked");
  // iat = now + 55: counted as issued at now - 5, after the suspension.
  CHECK(h.patch("usr_c1_target", "Bearer " + ApiHarness::token("usr_root", std::chrono::seconds(55))).status == 200);
  CHECK(h.patch("usr_c2_target", "Bearer " + ApiHarness::token("usr_root", std::chrono::seconds(61))).reason ==
        "iat_in_future");
}

TEST_CASE("api reads: every query parameter error is a 400 naming the parameter", "[beast][api][reads]") {
  ApiHarness h;
  using P = std::pair<std::string, std::string>;
  const std::vector<std::pair<std::string, P>> cases = {
      {"/api/users?offset=5", {"offset", "unknown_parameter"}},
      {"/api/users?status=active&status=active", {"status", "repeated_parameter"}},
      {"/api/users?limit=ten", {"limit", "invalid_format"}},
      {"/api/users?limit=-1", {"limit", "invalid_format"}},
      {"/api/users?limit=", {"limit", "invalid_format"}},
      {"/api/users?limit=0", {"limit", "out_of_range"}},
      {"/api/users?limit=501", {"limit", "out_of_range"}},
      {"/api/users?limit=99999999999999999999999", {"limit", "out_of_range"}},
      {"/api/users?status=deleted", {"status", "invalid_value"}},
      {"/api/users?status=Active", {"status", "invalid_value"}},
      {"/api/users?after=a%20b", {"after", "invalid_format"}},
      {"/api/users?after=a+b", {"after", "invalid_format"}},
      {"/api/users?organization_id=org%2Fx", {"organization_id", "invalid_format"}},
      {"/api/users/usr_root?x=1", {"x", "unknown_parameter"}},
      {"/api/organizations/org_c1?limit=1", {"limit", "unknown_parameter"}},
      {"/api/audit-events?after=42", {"after", "invalid_format"}},
      {"/api/audit-events?after=c0-2A", {"after", "invalid_format"}},
      {"/api/audit-events?limit=1001", {"limit", "out_of_range"}},
      {"/api/audit-events?target_id=a%00", {"target_id", "invalid_format"}},
      {"/api/audit-events?actor_id=", {"actor_id", "invalid_format"}},
      {"/api/audit-events?action=User.Suspend", {"action", "invalid_format"}},
      {"/api/audit-events?status=active", {"status", "unknown_parameter"}},
      {"/api/audit-events?limit=1&limit=2", {"limit", "repeated_parameter"}},
  };
  for (const auto& [target, expected] : cases) {
    INFO(target);
    CHECK(validationError(h.get(target)) == expected);
  }
  // The PATCH routes keep ignoring a query string.
  const std::string target = "/api/users/usr_123456789/reactivate?offset=5&offset=6";
  ApiRequest request;
  request.method = "PATCH";
  request.target = target;
  const std::string authorization = "Bearer " + ApiHarness::token("usr_root");
  request.authorization = authorization;
  request.authorization_count = 1;
  CHECK(h.api->handle(request).status == 200);
}

TEST_CASE("api reads: the four GET routes answer as lifecycle §5 says, and audit nothing", "[beast][api][reads]") {
  ApiHarness h;
  const auto audit_before = h.store->auditEvents().value().events.size();
  auto user = h.get("/api/users/usr_123456789");
  REQUIRE(user.status == 200);
  auto body = bodyOf(user);
  CHECK(body.at("message") == "user retrieved successfully");
  for (const char* key : {"id", "username", "email", "name", "organization_id", "roles", "status", "suspended_at",
                          "suspended_by", "suspended_by_org_id", "tokens_valid_after", "updated_at", "version"})
    CHECK(body.at("data").as_object().contains(key));
  CHECK(body.at("data").as_object().size() == 13);

  auto list = bodyOf(h.get("/api/users?status=suspended&limit=1"));
  CHECK(list.at("message") == "users retrieved successfully");
  CHECK(list.at("data").at("users").as_array().size() == 1);
  const auto& next = list.at("data").at("next_after");
  CHECK((next.is_null() || next.is_string()));

  auto org = bodyOf(h.get("/api/organizations/org_c1"));
  CHECK(org.at("message") == "organization retrieved successfully");
  CHECK(org.at("data").as_object().size() == 8);

  auto missing = h.get("/api/organizations/org_nope");
  CHECK(missing.status == 404);
  CHECK(bodyOf(missing).at("message") == "organization not found");
  auto hidden = h.get("/api/users?organization_id=org_nope");
  CHECK(hidden.status == 404);
  CHECK(bodyOf(hidden).at("data").at("errors").at(0).at("key") == "organization_id");

  auto events = bodyOf(h.get("/api/audit-events?limit=5"));
  CHECK(events.at("message") == "audit events retrieved successfully");
  CHECK(events.at("data").at("next_after").is_null());
  CHECK(h.store->auditEvents().value().events.size() == audit_before);  // no GET wrote an event

  // A write, then the audit trail of that user, with its cursor.
  REQUIRE(h.patch("usr_123456789", "Bearer " + ApiHarness::token("usr_root")).status == 200);
  auto trail = bodyOf(h.get("/api/audit-events?target_id=usr_123456789"));
  const auto& listed = trail.at("data").at("events").as_array();
  REQUIRE(listed.size() == 1);
  for (const char* key : {"id", "cursor", "time", "action", "actor_id", "target_type", "target_id",
                          "target_organization_id", "outcome", "reason", "request_id", "client_address", "note"})
    CHECK(listed[0].as_object().contains(key));
  const std::string cursor(listed[0].at("cursor").as_string());
  auto after = bodyOf(h.get("/api/audit-events?after=" + cursor));
  CHECK(after.at("data").at("events").as_array().empty());
}
