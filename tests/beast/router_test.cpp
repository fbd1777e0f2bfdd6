// The router as a pure function: no sockets, no server.
#include <catch2/catch.hpp>

#include "useradmin/beast/api.hpp"
#include "useradmin/beast/router.hpp"

using namespace useradmin::beast;
using Kind = RouteMatch::Kind;

namespace {

ApiResponse noopHandler(const Services&, const Call&) { return {}; }

// A table with two methods on one path and a second path.
const std::vector<Route>& testRoutes() {
  static const std::vector<Route> routes = {
      {"PATCH", "/users/{id}/reactivate", nullptr, &noopHandler},
      {"POST", "/users/{id}/reactivate", nullptr, &noopHandler},
      {"GET", "/orgs/{org}/users/{id}", nullptr, &noopHandler},
  };
  return routes;
}

}  // namespace

TEST_CASE("router: the reactivation route matches under the base path", "[beast][router]") {
  const Router router("/api", apiRoutes());
  auto m = router.match("PATCH", "/api/users/usr_123456789/reactivate");
  REQUIRE(m.kind == Kind::found);
  CHECK(m.route == &apiRoutes().front());
  CHECK(m.params.get("id") == "usr_123456789");
  CHECK(m.params.size() == 1);
  CHECK(m.params.get("nope").empty());
}

TEST_CASE("router: unknown paths are not found", "[beast][router]") {
  const Router router("/api", apiRoutes());
  for (const char* target : {"/", "/api", "/api/", "/api/user", "/api/users/x/y", "/api/users/x/reactivate/",
                             "/apix/users/x/reactivate", "/users/x/reactivate", "/api/users/x/y/reactivate",
                             "/api/Users/x/reactivate", "*", "", "/api//users/x/reactivate"}) {
    INFO(target);
    CHECK(router.match("PATCH", target).kind == Kind::not_found);
  }
}

TEST_CASE("router: a known path with another method is 405 with Allow", "[beast][router]") {
  const Router router("/api", apiRoutes());
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "patch", "BREW"}) {
    INFO(method);
    auto m = router.match(method, "/api/users/u1/reactivate");
    CHECK(m.kind == Kind::method_not_allowed);
    CHECK(m.allow == "PATCH");
    CHECK(m.route == nullptr);
  }
  const Router two("/api", testRoutes());
  auto m = two.match("GET", "/api/users/u1/reactivate");
  CHECK(m.kind == Kind::method_not_allowed);
  CHECK(m.allow == "PATCH, POST");
  CHECK(two.match("POST", "/api/users/u1/reactivate").kind == Kind::found);
}

TEST_CASE("router: every path of the API answers 405 with all its methods", "[beast][router]") {
  const Router router("/api", apiRoutes());
  const std::vector<std::pair<const char*, const char*>> paths = {
      {"/api/users/u1/reactivate", "PATCH"},  {"/api/users/u1/suspend", "PATCH"},
      {"/api/organizations/o1/suspend", "PATCH"}, {"/api/organizations/o1/reactivate", "PATCH"},
      {"/api/users/u1", "GET"},               {"/api/users", "GET"},
      {"/api/organizations/o1", "GET"},       {"/api/audit-events", "GET"},
  };
  for (const auto& [path, allow] : paths) {
    INFO(path);
    const auto other = std::string(allow) == "GET" ? "PATCH" : "GET";
    auto m = router.match(other, path);
    CHECK(m.kind == Kind::method_not_allowed);
    CHECK(m.allow == allow);
    CHECK(router.match(allow, path).kind == Kind::found);
  }
}

TEST_CASE("router: Allow lists every method of a path, also across patterns", "[beast][router]") {
  static const std::vector<Route> routes = {
      {"GET", "/users/{id}", nullptr, &noopHandler},
      {"PATCH", "/users/{id}/suspend", nullptr, &noopHandler},
      {"DELETE", "/users/{user}", nullptr, &noopHandler},
      {"POST", "/users/me", nullptr, &noopHandler},
      {"GET", "/users", nullptr, &noopHandler},
      {"GET", "/users/me", nullptr, &noopHandler},
  };
  const Router router("/api", routes);
  CHECK(router.match("PUT", "/api/users/u1").allow == "GET, DELETE");
  // "me" matches the {id} and {user} patterns too: all their methods count.
  CHECK(router.match("PUT", "/api/users/me").allow == "GET, DELETE, POST");
  CHECK(router.match("POST", "/api/users/me").kind == Kind::found);
  CHECK(router.match("POST", "/api/users").allow == "GET");
  CHECK(router.match("GET", "/api/users/u1/suspend").allow == "PATCH");
}

TEST_CASE("router: several parameters are captured in order", "[beast][router]") {
  const Router router("/v1", testRoutes());
  auto m = router.match("GET", "/v1/orgs/org%5F1/users/u%7E2");
  REQUIRE(m.kind == Kind::found);
  CHECK(m.params.get("org") == "org_1");
  CHECK(m.params.get("id") == "u~2");
}

TEST_CASE("router: the id segment is percent-decoded", "[beast][router]") {
  const Router router("/api", apiRoutes());
  CHECK(router.match("PATCH", "/api/users/usr%5F1/reactivate").params.get("id") == "usr_1");
  CHECK(router.match("PATCH", "/api/users/a%2Fb/reactivate").params.get("id") == "a/b");
  CHECK(router.match("PATCH", "/api/users/a%20b/reactivate").params.get("id") == "a b");
  // Invalid escapes are kept as they are (the library then refuses the id).
  CHECK(router.match("PATCH", "/api/users/a%zz/reactivate").params.get("id") == "a%zz");
  CHECK(router.match("PATCH", "/api/users/a%2/reactivate").params.get("id") == "a%2");
  CHECK(router.match("PATCH", "/api/users/a%/reactivate").params.get("id") == "a%");
  CHECK(router.match("PATCH", "/api/users/a+b/reactivate").params.get("id") == "a+b");
  // An empty id still routes; rule 2 refuses it.
  auto empty = router.match("PATCH", "/api/users//reactivate");
  CHECK(empty.kind == Kind::found);
  CHECK(empty.params.get("id").empty());
}

TEST_CASE("router: query strings and absolute-form targets", "[beast][router]") {
  const Router router("/api", apiRoutes());
  auto q = router.match("PATCH", "/api/users/u1/reactivate?token=secret&x=1");
  REQUIRE(q.kind == Kind::found);
  CHECK(q.params.get("id") == "u1");
  auto abs = router.match("PATCH", "http://example.com:8080/api/users/u2/reactivate");
  REQUIRE(abs.kind == Kind::found);
  CHECK(abs.params.get("id") == "u2");
  CHECK(router.match("PATCH", "http://example.com").kind == Kind::not_found);
}

TEST_CASE("router: base paths are normalized", "[beast][router]") {
  CHECK(normalizeBasePath("") == "");
  CHECK(normalizeBasePath("/") == "");
  CHECK(normalizeBasePath("api") == "/api");
  CHECK(normalizeBasePath("/api/") == "/api");
  CHECK(normalizeBasePath("/v1/admin") == "/v1/admin");

  const Router root("/", apiRoutes());
  CHECK(root.match("PATCH", "/users/u1/reactivate").kind == Kind::found);
  CHECK(root.match("PATCH", "/api/users/u1/reactivate").kind == Kind::not_found);
  const Router nested("/v1/admin/", apiRoutes());
  CHECK(nested.match("PATCH", "/v1/admin/users/u1/reactivate").kind == Kind::found);
  CHECK(nested.match("PATCH", "/v1/adminusers/u1/reactivate").kind == Kind::not_found);
}

TEST_CASE("router: percentDecode", "[beast][router]") {
  CHECK(percentDecode("") == "");
  CHECK(percentDecode("abc") == "abc");
  CHECK(percentDecode("%41%62%63") == "Abc");
  CHECK(percentDecode("%00") == std::string(1, '\0'));
  CHECK(percentDecode("%ff") == "\xff");
  CHECK(percentDecode("100%") == "100%");
  CHECK(percentDecode("%%41") == "%A");
}
