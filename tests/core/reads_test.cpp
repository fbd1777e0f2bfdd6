// Lifecycle §5: the reads through the library, scoped by the hierarchy,
// against every store.
#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

std::vector<std::string> ids(const UserPage& page) {
  std::vector<std::string> out;
  for (const auto& u : page.users) out.push_back(u.id);
  return out;
}

UserListRequest inOrganization(std::optional<std::string> org) {
  UserListRequest r;
  r.organization_id = std::move(org);
  return r;
}

void checkRefused(const Error& e, ErrorCode code, const std::string& key = {}, const std::string& message = {}) {
  CHECK(e.code == code);
  if (key.empty()) return;
  REQUIRE(e.fields.size() == 1);
  CHECK(e.fields[0].key == key);
  CHECK(e.fields[0].message == message);
}

std::vector<std::string> auditTargets(Harness& h, const std::string& reader, AuditRequest r = {}) {
  auto page = h.service->auditEvents(h.actor(reader), r);
  REQUIRE(page);
  std::vector<std::string> out;
  for (const auto& e : page->events) out.push_back(e.target_id);
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("reads: getUser sees its own organization and below, never above or beside",
                        "[reads][library]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  const Actor r1 = h.actor("usr_r1_admin");
  CHECK(h.service->getUser(r1, "usr_r1_super").value() == h.user("usr_r1_super"));  // own org, even a super
  CHECK(h.service->getUser(r1, "usr_c1_target").value().id == "usr_c1_target");   // below
  for (const char* hidden : {"usr_d1_admin", "usr_root", "usr_c4_target", "usr_r3_admin", "usr_missing"}) {
    INFO(hidden);  // above, above, sibling subtree, beside, missing: all alike
    auto r = h.service->getUser(r1, hidden);
    REQUIRE_FALSE(r);
    checkRefused(r.error(), ErrorCode::not_found, "id", "not_found");
    CHECK(r.error().message == "user not found");
  }
  checkRefused(h.service->getUser(r1, "bad id").error(), ErrorCode::invalid_argument, "id", "invalid_format");
}

TEMPLATE_LIST_TEST_CASE("reads: deleted users and organizations are not found; yourself needs no permission",
                        "[reads][library]", AllStores) {
  Dataset d = standardDataset();
  userIn(d, "usr_c1_target") = makeUser("usr_c1_target", "org_c1", {"support"}, UserStatus::deleted);
  orgIn(d, "org_c2").deleted = true;
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor root = h.actor("usr_root");
  checkRefused(h.service->getUser(root, "usr_c1_target").error(), ErrorCode::not_found, "id", "not_found");
  checkRefused(h.service->getUser(root, "usr_c2_target").error(), ErrorCode::not_found, "id", "not_found");
  checkRefused(h.service->getOrganization(root, "org_c2").error(), ErrorCode::not_found, "id", "not_found");
  // usr_r1_support has no read:users: it reads itself, nobody else.
  const Actor support = h.actor("usr_r1_support");
  CHECK(h.service->getUser(support, "usr_r1_support").value().id == "usr_r1_support");
  auto other = h.service->getUser(support, "usr_r1_admin");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == ErrorCode::permission_denied);
  CHECK(other.error().message == "insufficient permissions");
  CHECK(h.service->listUsers(support, {}).error().code == ErrorCode::permission_denied);
  CHECK(h.service->auditEvents(support, {}).error().code == ErrorCode::permission_denied);
  // A suspended actor reads nothing, not even itself.
  CHECK(h.service->getUser(h.actor("usr_c1_target"), "usr_c1_target").error().code == ErrorCode::unauthenticated);
}

TEMPLATE_LIST_TEST_CASE("reads: listUsers covers the caller's subtree or a visible part of it",
                        "[reads][library]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  const Actor r1 = h.actor("usr_r1_admin");
  using V = std::vector<std::string>;
  const V r1_subtree = {"usr_c1_admin", "usr_c1_target", "usr_c2_target", "usr_r1_admin",
                        "usr_r1_super", "usr_r1_super_target", "usr_r1_support", "usr_r1_target"};
  CHECK(ids(h.service->listUsers(r1, {}).value()) == r1_subtree);
  CHECK(ids(h.service->listUsers(r1, inOrganization("org_r1")).value()) == r1_subtree);
  CHECK(ids(h.service->listUsers(r1, inOrganization("org_c1")).value()) == V{"usr_c1_admin", "usr_c1_target"});
  for (const char* hidden : {"org_d1", "org_owner", "org_c4", "org_r3", "org_missing"}) {
    INFO(hidden);
    auto r = h.service->listUsers(r1, inOrganization(hidden));
    REQUIRE_FALSE(r);
    checkRefused(r.error(), ErrorCode::not_found, "organization_id", "not_found");
    CHECK(r.error().message == "organization not found");
  }
  UserListRequest suspended;
  suspended.status = UserStatus::suspended;
  suspended.limit = 2;
  auto first = h.service->listUsers(r1, suspended).value();
  CHECK(ids(first) == V{"usr_c1_target", "usr_c2_target"});
  suspended.after = first.next_after;
  CHECK(ids(h.service->listUsers(r1, suspended).value()) == V{"usr_r1_super_target", "usr_r1_target"});
}

TEMPLATE_LIST_TEST_CASE("reads: listUsers and auditEvents refuse bad arguments by name",
                        "[reads][library]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  const Actor root = h.actor("usr_root");
  auto list = [&](auto set) {
    UserListRequest r;
    set(r);
    return h.service->listUsers(root, r).error();
  };
  checkRefused(list([](UserListRequest& r) { r.limit = 0; }), ErrorCode::invalid_argument, "limit", "out_of_range");
  checkRefused(list([](UserListRequest& r) { r.limit = 501; }), ErrorCode::invalid_argument, "limit", "out_of_range");
  checkRefused(list([](UserListRequest& r) { r.after = "a b"; }), ErrorCode::invalid_argument, "after",
               "invalid_format");
  checkRefused(list([](UserListRequest& r) { r.organization_id = ""; }), ErrorCode::invalid_argument,
               "organization_id", "invalid_format");
  checkRefused(list([](UserListRequest& r) { r.status = UserStatus::deleted; }), ErrorCode::invalid_argument,
               "status", "invalid_value");
  CHECK(h.service->listUsers(root, [] {
    UserListRequest r;
    r.limit = 500;
    return r;
  }()));
  auto audit = [&](auto set) {
    AuditRequest r;
    set(r);
    return h.service->auditEvents(root, r).error();
  };
  checkRefused(audit([](AuditRequest& r) { r.limit = 1001; }), ErrorCode::invalid_argument, "limit", "out_of_range");
  checkRefused(audit([](AuditRequest& r) { r.target_id = "x/y"; }), ErrorCode::invalid_argument, "target_id",
               "invalid_format");
  checkRefused(audit([](AuditRequest& r) { r.actor_id = ""; }), ErrorCode::invalid_argument, "actor_id",
               "invalid_format");
  checkRefused(audit([](AuditRequest& r) { r.action = "User Suspend"; }), ErrorCode::invalid_argument, "action",
               "invalid_format");
}

TEMPLATE_LIST_TEST_CASE("reads: getOrganization sees the caller's own organization and below",
                        "[reads][library]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  const Actor r1 = h.actor("usr_r1_admin");
  CHECK(h.service->getOrganization(r1, "org_r1").value() == h.org("org_r1"));
  CHECK(h.service->getOrganization(r1, "org_c2").value().id == "org_c2");
  for (const char* hidden : {"org_d1", "org_owner", "org_c4", "org_r3", "org_missing"}) {
    INFO(hidden);
    auto r = h.service->getOrganization(r1, hidden);
    REQUIRE_FALSE(r);
    checkRefused(r.error(), ErrorCode::not_found, "id", "not_found");
    CHECK(r.error().message == "organization not found");
  }
}

TEMPLATE_LIST_TEST_CASE("reads: a prober cannot read back its probe; the probed organization's admins can",
                        "[reads][library][audit]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  // usr_c1_admin probes a user of another subtree and an id that does not exist.
  CHECK(h.suspend(h.actor("usr_c1_admin"), "usr_c4_target").error().code == ErrorCode::not_found);
  CHECK(h.suspend(h.actor("usr_c1_admin"), "usr_nobody").error().code == ErrorCode::not_found);
  // And acts inside its own organization.
  CHECK(h.reactivate(h.actor("usr_c1_admin"), "usr_c1_target"));
  using V = std::vector<std::string>;
  CHECK(auditTargets(h, "usr_c1_admin") == V{"usr_c1_target"});
  CHECK(auditTargets(h, "usr_d2_admin") == V{"usr_c4_target"});  // org_c4 lies below org_d2
  CHECK(auditTargets(h, "usr_r3_admin").empty());
  // Events without a target organization: the root organization only.
  CHECK(auditTargets(h, "usr_owner_admin") == V{"usr_c4_target", "usr_nobody", "usr_c1_target"});
  AuditRequest by_actor;
  by_actor.actor_id = "usr_c1_admin";
  by_actor.action = "user.suspend";
  CHECK(auditTargets(h, "usr_root", by_actor) == V{"usr_c4_target", "usr_nobody"});
}

TEMPLATE_LIST_TEST_CASE("reads: reads are not audited", "[reads][library][audit]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  const Actor root = h.actor("usr_root");
  CHECK(h.service->getUser(root, "usr_c1_target"));
  CHECK_FALSE(h.service->getUser(root, "usr_missing"));
  CHECK(h.service->listUsers(root, {}));
  CHECK(h.service->getOrganization(root, "org_c1"));
  CHECK(h.service->auditEvents(root, {}));
  CHECK(h.audit().empty());
}
