// The §5 fixture format: parsing, model validation, all-or-nothing loading.
#include <catch2/catch.hpp>

#include "support/fixtures.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/policy.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {


// Replaces the first occurrence of `from` in the contract example.
std::string exampleWith(const std::string& from, const std::string& to) {
  std::string doc = kContractFixture;
  const auto at = doc.find(from);
  REQUIRE(at != std::string::npos);
  return doc.replace(at, from.size(), to);
}

void expectRefusedFixture(const std::string& doc, const std::string& key, const std::string& message_part) {
  auto loaded = loadFixture(doc, defaultPolicy(), testEpoch());
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == ErrorCode::invalid_argument);
  REQUIRE(loaded.error().fields.size() == 1);
  CHECK(loaded.error().fields[0].key == key);
  CHECK_THAT(loaded.error().fields[0].message, Catch::Contains(message_part));
}

}  // namespace

TEST_CASE("fixture: the contract's example loads", "[fixture]") {
  auto loaded = loadFixture(kContractFixture, defaultPolicy(), testEpoch());
  REQUIRE(loaded);
  REQUIRE(loaded->organizations.size() == 4);
  REQUIRE(loaded->users.size() == 2);
  const Organization& root = loaded->organizations[0];
  CHECK(root.name == "Acme HQ");
  CHECK(root.type == OrgType::owner);
  CHECK_FALSE(root.parent_id);
  CHECK(loaded->organizations[2].parent_id == "org_d1");
  const User& jdoe = loaded->users[1];
  CHECK(jdoe.username == "jdoe");
  CHECK(jdoe.status == UserStatus::suspended);
  CHECK(jdoe.roles == std::vector<std::string>{"support"});
  CHECK_FALSE(jdoe.suspended_by_org_id);
  // Suspended without a date: suspended at load time, older credentials dead.
  CHECK(jdoe.suspended_at == testEpoch());
  CHECK(jdoe.tokens_valid_after == testEpoch());
  CHECK(jdoe.version == 1);
  CHECK_FALSE(loaded->users[0].suspended_at);
}

TEST_CASE("fixture: optional fields and timestamps are read", "[fixture]") {
  auto loaded = loadFixture(
      exampleWith(R"("suspended_by_org_id": null)",
                  R"("suspended_by_org_id": "org_r1", "name": "Jane Doe", "suspended_at": "2026-10-01T08:00:00Z",
                     "suspended_by": "usr_root", "tokens_valid_after": "2026-10-01T08:00:01Z")"),
      defaultPolicy(), testEpoch());
  REQUIRE(loaded);
  const User& jdoe = loaded->users[1];
  CHECK(jdoe.name == "Jane Doe");
  CHECK(jdoe.suspended_by_org_id == "org_r1");
  CHECK(jdoe.suspended_by == "usr_root");
  CHECK(formatRfc3339(*jdoe.suspended_at) == "2026-10-01T08:00:00Z");
  CHECK(formatRfc3339(*jdoe.tokens_valid_after) == "2026-10-01T08:00:01Z");
}

TEST_CASE("fixture: every break of the model is refused naming the entry", "[fixture]") {
  expectRefusedFixture(exampleWith(R"("type": "reseller")", R"("type": "shop")"), "organizations[org_r1].type",
                       "unknown organization type");
  expectRefusedFixture(exampleWith(R"("type": "reseller")", R"("type": "distributor")"), "organizations[org_r1]",
                       "cannot be placed under");
  expectRefusedFixture(exampleWith(R"("parent_id": "org_d1")", R"("parent_id": "org_nowhere")"),
                       "organizations[org_r1]", "parent_id does not exist");
  expectRefusedFixture(exampleWith(R"("organization_id": "org_c1")", R"("organization_id": "org_nowhere")"),
                       "users[usr_123456789]", "organization_id does not exist");
  expectRefusedFixture(exampleWith(R"("id": "usr_123456789")", R"("id": "usr_root")"), "users[usr_root]",
                       "duplicate id");
  expectRefusedFixture(exampleWith(R"("id": "org_c1")", R"("id": "org_d1")"), "organizations[org_d1]",
                       "duplicate id");
  expectRefusedFixture(exampleWith(R"(["support"])", R"(["support", "wizard"])"), "users[usr_123456789]",
                       "unknown role");
  expectRefusedFixture(exampleWith(R"("status": "suspended")", R"("status": "frozen")"),
                       "users[usr_123456789].status", "unknown status");
  expectRefusedFixture(exampleWith(R"("id": "usr_root")", R"("id": "usr root")"), "users[usr root]", "invalid id");
  expectRefusedFixture(exampleWith(R"("id": "org_d1", "name": "North Distribution", "type": "distributor", "parent_id": "org_owner")",
                                   R"("id": "org_d1", "name": "North Distribution", "type": "distributor")"),
                       "organizations[org_d1]", "only an owner");
  expectRefusedFixture(exampleWith(R"("suspended_by_org_id": null)", R"("suspended_by_org_id": "org_gone")"),
                       "users[usr_123456789]", "suspended_by_org_id does not exist");
  expectRefusedFixture(exampleWith(R"("suspended": false)", R"("suspended": "no")"),
                       "organizations[org_r1].suspended", "boolean");
  expectRefusedFixture(exampleWith(R"("status": "active")", R"("status": "active", "suspended_at": "yesterday")"),
                       "users[usr_root].suspended_at", "RFC 3339");
  expectRefusedFixture(exampleWith(R"("organization_id": "org_owner", )", ""), "users[usr_root].organization_id",
                       "is required");
  for (const char* field : {R"("username": "root", )", R"("email": "root@example.com", )", R"("roles": ["super"], )"}) {
    const std::string name = std::string(field).substr(1, std::string(field).find('"', 1) - 1);
    expectRefusedFixture(exampleWith(field, ""), "users[usr_root]." + name, "is required");
  }
  expectRefusedFixture(exampleWith(R"("name": "Acme HQ", )", ""), "organizations[org_owner].name", "is required");
  expectRefusedFixture(exampleWith(R"("parent_id": "org_owner")", R"("parent_id": null)"), "organizations[org_d1]",
                       "only an owner");
  expectRefusedFixture(exampleWith(R"("status": "active")", R"("status": "active", "suspended_by_org_id": "org_r1")"),
                       "users[usr_root].suspended_by_org_id", "only allowed for a suspended user");
  expectRefusedFixture(exampleWith(R"({"id": "org_owner", "name": "Acme HQ", "type": "owner"},)",
                                   R"({"id": "org_owner", "name": "Acme HQ", "type": "owner"},
                                      {"id": "org_owner2", "name": "Other HQ", "type": "owner"},)"),
                       "organizations[org_owner2]", "second root");
  expectRefusedFixture(exampleWith(R"({"id": "usr_root", )", R"({)"), "users[0].id", "is required");
  expectRefusedFixture("{\"users\": 5}", "users", "must be an array");
  expectRefusedFixture("{\"organizations\": [1]}", "organizations[0]", "must be an object");
  expectRefusedFixture("{nope", "fixture", "not valid JSON");
}

TEST_CASE("fixture: a parent cycle is refused", "[fixture]") {
  Dataset d;
  d.organizations = {makeOrg("org_a", OrgType::reseller, "org_b"), makeOrg("org_b", OrgType::reseller, "org_a")};
  Status s = validateDataset(d, defaultPolicy());
  REQUIRE_FALSE(s);
  CHECK(s.error().fields[0].key == "organizations[org_a]");
  CHECK_THAT(s.error().fields[0].message, Catch::Contains("cycle"));
}

TEST_CASE("fixture: a refused fixture loads nothing into the store", "[fixture]") {
  auto store = makeMemoryStore(defaultPolicy());
  // Parsing passes, the model check fails on the last user.
  auto parsed = parseFixture(exampleWith(R"(["support"])", R"(["wizard"])"), testEpoch());
  REQUIRE(parsed);
  Status s = store->seed(*parsed);
  REQUIRE_FALSE(s);
  CHECK(s.error().fields[0].key == "users[usr_123456789]");
  CHECK_FALSE(store->findUser("usr_root").value().has_value());
}

TEST_CASE("fixture: null optional fields read as absent; tokens_valid_after defaults to suspended_at", "[fixture]") {
  auto loaded =
      loadFixture(exampleWith(R"("suspended": false)", R"("suspended": null, "deleted": null)"), defaultPolicy(),
                  testEpoch());
  REQUIRE(loaded);
  CHECK_FALSE(loaded->organizations[2].suspended);
  CHECK_FALSE(loaded->organizations[2].deleted);

  auto dated = loadFixture(exampleWith(R"("suspended_by_org_id": null)",
                                       R"("suspended_by_org_id": null, "suspended_at": "2026-10-01T08:00:00Z",
                                          "tokens_valid_after": null, "name": null)"),
                           defaultPolicy(), testEpoch());
  REQUIRE(dated);
  CHECK(formatRfc3339(*dated->users[1].tokens_valid_after) == "2026-10-01T08:00:00Z");
  CHECK(dated->users[1].name.empty());
}

TEST_CASE("fixture: external_id is optional and defaults to the user's id for the directory", "[fixture][directory]") {
  auto loaded = loadFixture(exampleWith(R"("suspended_by_org_id": null)", R"("external_id": "idp-jdoe")"),
                            defaultPolicy(), testEpoch());
  REQUIRE(loaded);
  CHECK(directoryIdOf(loaded->users[1]) == "idp-jdoe");
  CHECK_FALSE(loaded->users[0].external_id.has_value());
  CHECK(directoryIdOf(loaded->users[0]) == loaded->users[0].id);
  expectRefusedFixture(exampleWith(R"("suspended_by_org_id": null)", R"("external_id": 7)"), "users[usr_123456789].external_id",
                       "must be a string");
}
