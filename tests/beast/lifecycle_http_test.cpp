// The lifecycle routes over real HTTP (SQLite when built): every new route,
// its success body and its error rows, plus the two hardening defects
// (15.5 reason kept whole, 15.8 invalid ids echoed as sent).
#include <boost/json/serialize.hpp>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;
namespace json = boost::json;

namespace {

HttpResponse patch(TestServer& server, const std::string& actor, const std::string& path,
                   const std::string& body = {}) {
  HttpClient client(server.port());
  return client.request(http::verb::patch, "/api" + path, {bearer(tokenFor(actor))}, body);
}

std::string notFoundBody(const char* message, const std::string& id) {
  return std::string(R"({"code":404,"message":")") + message +
         R"(","data":{"type":"validation_error","errors":[{"key":"id","message":"not_found","value":")" + id +
         R"("}]}})";
}

std::string validationBody(const std::string& key, const std::string& message, const std::string& value) {
  return R"({"code":400,"message":"validation failed","data":{"type":"validation_error","errors":[{"key":")" + key +
         R"(","message":")" + message + R"(","value":")" + value + R"("}]}})";
}

std::string euros(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "\xE2\x82\xAC";
  return out;
}

}  // namespace

TEST_CASE("http lifecycle: PATCH users/{id}/suspend answers the user view", "[beast][lifecycle]") {
  TestServer server;
  auto r = patch(server, "usr_root", "/users/usr_c1_admin/suspend", R"({"reason":"offboarding"})");
  REQUIRE(r.status == 200);
  const json::value body = r.json();
  CHECK(body.at("code") == 200);
  CHECK(body.at("message") == "user suspended successfully");
  const auto& data = body.at("data").as_object();
  CHECK(data.size() == 13);
  CHECK(data.at("id") == "usr_c1_admin");
  CHECK(data.at("status") == "suspended");
  CHECK(data.at("suspended_by") == "usr_root");
  CHECK(data.at("suspended_by_org_id").is_null());
  CHECK(data.at("roles") == json::array{"admin"});
  CHECK(data.at("version") == 2);
  CHECK(parseRfc3339(std::string(data.at("suspended_at").as_string())).has_value());
  CHECK(data.at("tokens_valid_after") == data.at("suspended_at"));
  CHECK_FALSE(data.contains("password"));
  CHECK(server.user("usr_c1_admin").status == UserStatus::suspended);
  const auto events = server.store().auditEvents().value().events;
  CHECK(events.back().action == "user.suspend");
  CHECK(events.back().note == "offboarding");
  CHECK(events.back().request_id == r.header("x-request-id"));
  const std::string line = server.logLineFor(r.header("x-request-id"));
  CHECK(line.find("\"path\":\"/api/users/usr_c1_admin/suspend\"") != std::string::npos);
  CHECK(line.find("\"status\":200") != std::string::npos);
}

TEST_CASE("http lifecycle: the error rows of PATCH users/{id}/suspend", "[beast][lifecycle]") {
  TestServer server;
  CHECK(patch(server, "usr_root", "/users/usr_c1_target/suspend").body ==
        validationBody("status", "not_active", "suspended"));
  CHECK(patch(server, "usr_r1_admin", "/users/usr_r1_admin/suspend").body ==
        R"({"code":403,"message":"cannot perform administrative actions on yourself","data":{}})");
  CHECK(patch(server, "usr_r1_admin", "/users/usr_r1_super/suspend").body ==
        R"({"code":403,"message":"cannot manage a user with higher privileges","data":{}})");
  CHECK(patch(server, "usr_r1_support", "/users/usr_c1_admin/suspend").body ==
        R"({"code":403,"message":"insufficient permissions","data":{}})");
  // Outside the hierarchy answers byte for byte like an unknown id.
  CHECK(patch(server, "usr_r1_admin", "/users/usr_r3_admin/suspend").body ==
        notFoundBody("user not found", "usr_r3_admin"));
  CHECK(patch(server, "usr_r1_admin", "/users/usr_nobody/suspend").body ==
        notFoundBody("user not found", "usr_nobody"));
  CHECK(patch(server, "usr_root", "/users/bad%20id/suspend").body == validationBody("id", "invalid_format", "bad id"));
  HttpClient client(server.port());
  auto anonymous = client.request(http::verb::patch, "/api/users/usr_c1_admin/suspend");
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("www-authenticate") == "Bearer");
  auto get = client.request(http::verb::get, "/api/users/usr_c1_admin/suspend", {bearer(tokenFor("usr_root"))});
  CHECK(get.status == 405);
  CHECK(get.header("allow") == "PATCH");
  CHECK(server.user("usr_c1_admin").status == UserStatus::active);
}

TEST_CASE("http lifecycle: a suspended administrator's token stops working at once", "[beast][lifecycle]") {
  TestServer server;
  const std::string old_token = tokenFor("usr_r1_admin");
  REQUIRE(patch(server, "usr_d1_admin", "/users/usr_r1_admin/suspend").status == 200);
  HttpClient client(server.port());
  auto r = client.request(http::verb::patch, "/api/users/usr_c1_target/reactivate", {bearer(old_token)});
  CHECK(r.status == 401);
}

TEST_CASE("http lifecycle: organization suspend and reactivate carry the view and the counts",
          "[beast][lifecycle][cascade]") {
  TestServer server;
  auto r = patch(server, "usr_d1_admin", "/organizations/org_r1/suspend", R"({"reason":"unpaid"})");
  REQUIRE(r.status == 200);
  json::value body = r.json();
  CHECK(body.at("message") == "organization suspended successfully");
  const auto& data = body.at("data").as_object();
  CHECK(data.size() == 9);
  CHECK(data.at("id") == "org_r1");
  CHECK(data.at("type") == "reseller");
  CHECK(data.at("parent_id") == "org_d1");
  CHECK(data.at("suspended") == true);
  CHECK(data.at("suspended_by") == "usr_d1_admin");
  CHECK(data.at("suspended_users_count") == 4);  // usr_r1_admin, _super, _support, usr_c1_admin
  CHECK(server.user("usr_c1_admin").suspended_by_org_id == std::string("org_r1"));

  auto again = patch(server, "usr_d1_admin", "/organizations/org_r1/suspend");
  CHECK(again.body == validationBody("suspended", "already_suspended", "true"));
  auto inner = patch(server, "usr_d1_admin", "/organizations/org_c1/reactivate");
  CHECK(inner.body == validationBody("parent_id", "organization_suspended", "org_r1"));

  auto back = patch(server, "usr_d1_admin", "/organizations/org_r1/reactivate");
  REQUIRE(back.status == 200);
  body = back.json();
  CHECK(body.at("message") == "organization reactivated successfully");
  CHECK(body.at("data").at("suspended") == false);
  CHECK(body.at("data").at("suspended_at").is_null());
  CHECK(body.at("data").at("reactivated_users_count") == 4);
  CHECK(server.user("usr_c1_admin").status == UserStatus::active);
  CHECK(patch(server, "usr_d1_admin", "/organizations/org_r1/reactivate").body ==
        validationBody("suspended", "not_suspended", "false"));
}

TEST_CASE("http lifecycle: an invisible organization is one 404, byte for byte", "[beast][lifecycle]") {
  TestServer server;
  Dataset deleted;
  deleted.organizations.push_back(makeOrg("org_gone", OrgType::customer, "org_r1"));
  deleted.organizations.back().deleted = true;
  REQUIRE(server.store().seed(deleted));
  for (const char* route : {"suspend", "reactivate"}) {
    for (const char* id : {"org_missing", "org_gone", "org_r1", "org_d1", "org_r3"}) {
      INFO(route << " " << id);
      auto r = patch(server, "usr_r1_admin", std::string("/organizations/") + id + "/" + route);
      CHECK(r.status == 404);
      CHECK(r.body == notFoundBody("organization not found", id));
    }
  }
  CHECK(patch(server, "usr_r1_support", "/organizations/org_c1/suspend").body ==
        R"({"code":403,"message":"insufficient permissions","data":{}})");
  CHECK(patch(server, "usr_root", "/organizations/a%2Fb/suspend").body ==
        validationBody("id", "invalid_format", "a/b"));
}

TEST_CASE("http lifecycle (15.5): a reason of 500 characters is recorded whole, 501 are refused naming reason",
          "[beast][lifecycle][issue15]") {
  TestServer server;
  const std::string reason = euros(500);  // 1500 bytes
  auto r = patch(server, "usr_root", "/users/usr_c1_target/reactivate", R"({"reason":")" + reason + R"("})");
  REQUIRE(r.status == 200);
  CHECK(server.store().auditEvents().value().events.back().note == reason);
  auto too_long = patch(server, "usr_root", "/organizations/org_c1/suspend", R"({"reason":")" + euros(501) + R"("})");
  CHECK(too_long.body == validationBody("reason", "too_long", ""));
  CHECK_FALSE(server.user("usr_c1_admin").suspended_by_org_id);
}

TEST_CASE("http lifecycle (15.8): an invalid id is echoed as the client sent it", "[beast][lifecycle][issue15]") {
  TestServer server;
  for (const char* route : {"/users/%s/reactivate", "/users/%s/suspend", "/organizations/%s/suspend",
                            "/organizations/%s/reactivate"}) {
    auto path = [&](const std::string& id) {
      std::string p(route);
      return p.replace(p.find("%s"), 2, id);
    };
    INFO(route);
    // Valid UTF-8: the decoded id, JSON-escaped.
    auto r = patch(server, "usr_root", path("usr_%C3%A9t%C3%A9"));
    CHECK(r.body == validationBody("id", "invalid_format", "usr_\xC3\xA9t\xC3\xA9"));
    r = patch(server, "usr_root", path("a%00b"));
    CHECK(r.body == validationBody("id", "invalid_format", "a\\u0000b"));
    // Bytes the client sent unencoded are encoded, so the body stays UTF-8.
    r = patch(server, "usr_root", path("usr_\xFF%C3"));
    CHECK(r.body == validationBody("id", "invalid_format", "usr_%FF%C3"));
    // Not UTF-8: the segment as it appeared in the path.
    r = patch(server, "usr_root", path("usr_%FF%fe"));
    CHECK(r.body == validationBody("id", "invalid_format", "usr_%FF%fe"));
  }
  // The audit event keeps its own safe spelling.
  CHECK(server.store().auditEvents().value().events.back().target_id == "usr_\\xFF\\xFE");
}
