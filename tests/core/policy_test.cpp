#include <catch2/catch.hpp>

#include "support/fixtures.hpp"
#include "useradmin/policy.hpp"

using namespace useradmin;
using namespace useradmin::test;

TEST_CASE("the default policy is the contract's role table", "[policy]") {
  const Policy& p = defaultPolicy();
  REQUIRE(p.role("super"));
  CHECK(p.role("super")->priority == 0);
  CHECK(p.role("super")->permissions.count("impersonate:users") == 1);
  CHECK(p.role("super")->permissions.count("destroy:systems") == 1);
  REQUIRE(p.role("admin"));
  CHECK(p.role("admin")->priority == 1);
  CHECK(p.role("admin")->permissions.count("manage:users") == 1);
  CHECK(p.role("admin")->permissions.count("impersonate:users") == 0);
  REQUIRE(p.role("support"));
  CHECK(p.role("support")->priority == 2);
  CHECK(p.role("support")->permissions.count("manage:users") == 0);
  CHECK(p.role("root") == nullptr);
  CHECK(p.rank(OrgType::owner) == 4);
  CHECK(p.rank(OrgType::distributor) == 3);
  CHECK(p.rank(OrgType::reseller) == 2);
  CHECK(p.rank(OrgType::customer) == 1);
  CHECK_FALSE(p.revealOutsideHierarchy());
}

TEST_CASE("privilege is the best priority among known roles; no role is the lowest", "[policy]") {
  const Policy& p = defaultPolicy();
  CHECK(p.privilege(makeUser("u", "o", {"support", "admin"})) == 1);
  CHECK(p.privilege(makeUser("u", "o", {"super"})) == 0);
  CHECK(p.privilege(makeUser("u", "o", {})) == p.lowestPrivilege());
  CHECK(p.privilege(makeUser("u", "o", {"unknown"})) == p.lowestPrivilege());
  CHECK(p.lowestPrivilege() > 2);
}

TEST_CASE("effective permissions are role and org-type grants narrowed by scopes", "[policy]") {
  const Policy& p = defaultPolicy();
  const User admin = makeUser("u", "o", {"admin"});
  CHECK(p.effectivePermissions(admin, OrgType::owner, std::nullopt).count("manage:users") == 1);
  const auto narrowed = p.effectivePermissions(admin, OrgType::owner, std::vector<std::string>{"read:users", "x"});
  CHECK(narrowed == std::set<std::string, std::less<>>{"read:users"});
}

TEST_CASE("a policy loads from JSON", "[policy]") {
  auto p = Policy::fromJson(R"({
    "roles": {"owner": {"priority": 0, "permissions": ["manage:users"]},
              "viewer": {"priority": 5, "permissions": ["read:users"]}},
    "organization_types": {"owner": {"rank": 40, "permissions": ["read:systems"]},
                           "distributor": {"rank": 30}, "reseller": {"rank": 20}, "customer": {"rank": 10}},
    "reveal_outside_hierarchy": true})");
  REQUIRE(p);
  CHECK(p->role("viewer")->priority == 5);
  CHECK(p->rank(OrgType::owner) == 40);
  CHECK(p->revealOutsideHierarchy());
  CHECK(p->lowestPrivilege() == 6);
  CHECK(p->effectivePermissions(makeUser("u", "o", {}), OrgType::owner, std::nullopt).count("read:systems") == 1);
}

TEST_CASE("a malformed policy is refused with the offending key", "[policy]") {
  struct Case {
    const char* json;
    const char* key;
  };
  const Case cases[] = {
      {"not json", "policy"},
      {"[]", "policy"},
      {R"({})", "roles"},
      {R"({"roles": {"a": 1}})", "roles.a"},
      {R"({"roles": {"a": {"permissions": []}}})", "roles.a.priority"},
      {R"({"roles": {"a": {"priority": -1}}})", "roles.a.priority"},
      {R"({"roles": {"a": {"priority": "high"}}})", "roles.a.priority"},
      {R"({"roles": {"a": {"priority": 1, "permissions": "manage:users"}}})", "roles.a.permissions"},
      {R"({"roles": {"a": {"priority": 1, "permissions": [3]}}})", "roles.a.permissions"},
      {R"({"roles": {}, "organization_types": {"shop": {}}})", "organization_types.shop"},
      {R"({"roles": {}, "organization_types": {"customer": {"rank": 9}}})", "organization_types.reseller.rank"},
      {R"({"roles": {}, "reveal_outside_hierarchy": "yes"})", "reveal_outside_hierarchy"},
      {R"({"roles": {"a": {"priority": 18446744073709551615}}})", "roles.a.priority"},
      {R"({"roles": {"a": {"priority": 1000001}}})", "roles.a.priority"},
      {R"({"roles": {"a": {"priority": 1.5}}})", "roles.a.priority"},
      {R"({"roles": {}, "organization_types": {"owner": {"rank": 99999999999}}})", "organization_types.owner.rank"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto p = Policy::fromJson(c.json);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == ErrorCode::invalid_argument);
    REQUIRE(p.error().fields.size() == 1);
    CHECK(p.error().fields[0].key == c.key);
    CHECK_FALSE(p.error().fields[0].message.empty());
  }
}

TEST_CASE("a policy built in code refuses priorities outside 0..1000000", "[policy]") {
  std::map<OrgType, OrgTypeDefinition> types{{OrgType::owner, {4, {}}}, {OrgType::distributor, {3, {}}},
                                             {OrgType::reseller, {2, {}}}, {OrgType::customer, {1, {}}}};
  auto p = Policy::create({{"x", RoleDefinition{2147483647, {}}}}, types);
  REQUIRE_FALSE(p);
  CHECK(p.error().fields[0].key == "roles.x.priority");
  CHECK(Policy::create({{"x", RoleDefinition{1000000, {}}}}, types));
}
