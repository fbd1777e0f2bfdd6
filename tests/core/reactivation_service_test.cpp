// Contract §2, rule by rule, against every store.
#include <atomic>
#include <functional>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "support/failing_store.hpp"
#include "support/harness.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// A directory hook that throws, as an embedder's might.
class ThrowingDirectory final : public DirectorySync {
 public:
  Status userStatusChanged(const User&) override { throw std::runtime_error("socket closed"); }
};

// A store in which another writer changes the target just before the first
// compare-and-set lands: `concurrent(user)` is what that writer stores.
class RacingStore final : public UserStore {
 public:
  RacingStore(UserStore& inner, std::function<User(User)> concurrent)
      : inner_(inner), concurrent_(std::move(concurrent)) {}
  Status transact(const Work& work) override {
    return inner_.transact([&](UnitOfWork& unit) {
      Racing racing(unit, *this);
      return work(racing);
    });
  }
  Status seed(const Dataset& d) override { return inner_.seed(d); }
  Result<std::optional<User>> findUser(std::string_view id) override { return inner_.findUser(id); }
  Status read(const ReadWork& work) override { return inner_.read(work); }
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    return inner_.claimDirectoryUpdates(now, limit);
  }
  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& ids) override {
    return inner_.markDirectoryUpdatesDelivered(ids);
  }
  Status rescheduleDirectoryUpdate(std::int64_t id, Timestamp next, std::string_view error) override {
    return inner_.rescheduleDirectoryUpdate(id, next, error);
  }
  Result<OutboxStats> directoryOutboxStats() override { return inner_.directoryOutboxStats(); }
  int races = 0;

 private:
  class Racing final : public UnitOfWork {
   public:
    Racing(UnitOfWork& unit, RacingStore& owner) : unit_(unit), owner_(owner) {}
    Result<std::optional<User>> findUser(std::string_view id) override { return unit_.findUser(id); }
    Result<std::vector<Organization>> organizationChain(std::string_view id) override {
      return unit_.organizationChain(id);
    }
    Result<bool> compareAndSetUser(const User& user, std::int64_t expected) override {
      if (owner_.races++ == 0) {
        User current = *unit_.findUser(user.id).value();
        User changed = owner_.concurrent_(current);
        changed.version = current.version + 1;
        if (!unit_.compareAndSetUser(changed, current.version).value()) FAIL("could not inject the race");
      }
      return unit_.compareAndSetUser(user, expected);
    }
    Result<bool> compareAndSetOrganization(const Organization& o, std::int64_t expected) override {
      return unit_.compareAndSetOrganization(o, expected);
    }
    Result<std::vector<std::string>> suspendCascade(const Cascade& c) override { return unit_.suspendCascade(c); }
    Result<std::vector<std::string>> reactivateCascade(const Cascade& c) override {
      return unit_.reactivateCascade(c);
    }
    Status appendAudit(const AuditEvent& e) override { return unit_.appendAudit(e); }
    Status queueDirectoryUpdate(const DirectoryUpdate& u, Timestamp now, Timestamp due) override {
      return unit_.queueDirectoryUpdate(u, now, due);
    }

   private:
    UnitOfWork& unit_;
    RacingStore& owner_;
  };
  UserStore& inner_;
  std::function<User(User)> concurrent_;
};

// A directory hook that records calls and fails when told to.
class RecordingDirectory final : public DirectorySync {
 public:
  explicit RecordingDirectory(bool fail) : fail_(fail) {}
  Status userStatusChanged(const User& user) override {
    seen.push_back(user);
    if (fail_) return Error::externalError("directory answered 503");
    return okStatus();
  }
  std::vector<User> seen;

 private:
  bool fail_;
};

}  // namespace

// ---- Rule 1: identify the actor ------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 01: an unknown actor is unauthenticated and not audited", "[service][rule01]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  auto e = expectRefused(h, h.actor("usr_nobody"), "usr_c1_target", ErrorCode::unauthenticated, "unknown_actor");
  CHECK(e.message == "invalid token");
}

TEMPLATE_LIST_TEST_CASE("rule 01: a suspended or deleted actor is unauthenticated at once", "[service][rule01]",
                        AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_d1_admin").status = UserStatus::suspended;
  userIn(data, "usr_r1_admin").status = UserStatus::deleted;
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_d1_admin"), "usr_c1_target", ErrorCode::unauthenticated, "actor_not_active");
  expectRefused(h, h.actor("usr_r1_admin"), "usr_c1_target", ErrorCode::unauthenticated, "actor_not_active");
}

TEMPLATE_LIST_TEST_CASE("rule 01: an actor in a suspended organization or below one is unauthenticated",
                        "[service][rule01]", AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_d1").suspended = true;
  Harness h(TestType::make(defaultPolicy()), data);
  // org_d1 itself, and org_r1 below it.
  expectRefused(h, h.actor("usr_d1_admin"), "usr_c1_target", ErrorCode::unauthenticated,
                "actor_organization_suspended");
  expectRefused(h, h.actor("usr_r1_admin"), "usr_c1_target", ErrorCode::unauthenticated,
                "actor_organization_suspended");
  // Elsewhere in the tree nothing changes.
  expectReactivated(h, h.actor("usr_d2_admin"), "usr_c4_target");
}

TEMPLATE_LIST_TEST_CASE("rule 01: an actor in a deleted organization or below one is unauthenticated",
                        "[service][rule01]", AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_r1").deleted = true;
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_r1_admin"), "usr_c1_target", ErrorCode::unauthenticated,
                "actor_organization_deleted");
  expectRefused(h, h.actor("usr_c1_admin"), "usr_c2_target", ErrorCode::unauthenticated,
                "actor_organization_deleted");
}

TEMPLATE_LIST_TEST_CASE("rule 01: a credential issued before tokens_valid_after stays dead after reactivation",
                        "[service][rule01]", AllStores) {
  auto data = standardDataset();
  // usr_d1_target is an admin who was suspended an hour ago; the token it
  // held from before then must not come back to life.
  Harness h(TestType::make(defaultPolicy()), data);
  Actor old_token = h.actor("usr_d1_target");
  old_token.credential_issued_at = testEpoch() - std::chrono::hours(2);
  expectRefused(h, old_token, "usr_c1_target", ErrorCode::unauthenticated, "actor_not_active");

  expectReactivated(h, h.actor("usr_root"), "usr_d1_target");
  expectRefused(h, old_token, "usr_c1_target", ErrorCode::unauthenticated, "credential_revoked");

  Actor no_iat = h.actor("usr_d1_target");
  no_iat.credential_issued_at.reset();
  expectRefused(h, no_iat, "usr_c1_target", ErrorCode::unauthenticated, "credential_revoked");

  // Boundary: issued exactly at tokens_valid_after is not "before" it.
  Actor at_boundary = h.actor("usr_d1_target");
  at_boundary.credential_issued_at = *h.user("usr_d1_target").tokens_valid_after;
  expectReactivated(h, at_boundary, "usr_c1_target");

  // A fresh credential works.
  h.clock.advance(std::chrono::minutes(5));
  expectReactivated(h, h.actor("usr_d1_target"), "usr_c3_target");
}

TEMPLATE_LIST_TEST_CASE("rule 01: an actor never suspended needs no issue time", "[service][rule01]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  Actor a = h.actor("usr_root");
  a.credential_issued_at.reset();
  expectReactivated(h, a, "usr_c1_target");
}

// ---- Rule 2: validate the id ------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 02: a malformed id is invalid_argument with key id and invalid_format",
                        "[service][rule02]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  for (const std::string& bad : {std::string(), std::string(129, 'a'), std::string("a b"), std::string("a/b"),
                                std::string("usr%41"), std::string("usr:1"), std::string("\xC3\xA9t\xC3\xA9"),
                                std::string("a\0b", 3)}) {
    auto e = expectRefused(h, h.actor("usr_root"), bad, ErrorCode::invalid_argument, "invalid_id");
    CHECK(e.message == "validation failed");
    REQUIRE(e.fields.size() == 1);
    CHECK(e.fields[0].key == "id");
    CHECK(e.fields[0].message == "invalid_format");
  }
}

TEMPLATE_LIST_TEST_CASE("rule 02: the echoed value of a malformed id is printable", "[service][rule02]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  auto e = expectRefused(h, h.actor("usr_root"), std::string("a\nb\xFF", 4), ErrorCode::invalid_argument,
                         "invalid_id");
  CHECK(e.fields[0].value == "a\\x0Ab\\xFF");
  CHECK(h.audit().back().target_id == "a\\x0Ab\\xFF");
}

TEMPLATE_LIST_TEST_CASE("rule 02: ids of 1 and 128 unreserved characters pass validation", "[service][rule02]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  expectRefused(h, h.actor("usr_root"), std::string(128, 'A'), ErrorCode::not_found, "no_such_user");
  expectRefused(h, h.actor("usr_root"), "a-Z.0_9~", ErrorCode::not_found, "no_such_user");
  expectRefused(h, h.actor("usr_root"), "x", ErrorCode::not_found, "no_such_user");
}

TEMPLATE_LIST_TEST_CASE("rule 02: the id is checked before the permission", "[service][rule02]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  expectRefused(h, h.actor("usr_r1_support"), "bad id", ErrorCode::invalid_argument, "invalid_id");
}

// ---- Rule 3: permission -----------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 03: an actor without manage:users is denied", "[service][rule03]", AllStores) {
  auto data = standardDataset();
  data.users.push_back(makeUser("usr_no_roles", "org_owner", {}));
  Harness h(TestType::make(defaultPolicy()), data);
  auto e = expectRefused(h, h.actor("usr_r1_support"), "usr_c1_target", ErrorCode::permission_denied,
                         "missing_permission");
  CHECK(e.message == "insufficient permissions");
  expectRefused(h, h.actor("usr_no_roles"), "usr_c1_target", ErrorCode::permission_denied, "missing_permission");
}

TEMPLATE_LIST_TEST_CASE("rule 03: token scopes narrow permissions and never widen them", "[service][rule03]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  Actor read_only = h.actor("usr_root");
  read_only.scopes = std::vector<std::string>{"read:users"};
  expectRefused(h, read_only, "usr_c1_target", ErrorCode::permission_denied, "missing_permission");

  Actor empty_scopes = h.actor("usr_root");
  empty_scopes.scopes = std::vector<std::string>{};
  expectRefused(h, empty_scopes, "usr_c1_target", ErrorCode::permission_denied, "missing_permission");

  Actor widened = h.actor("usr_r1_support");
  widened.scopes = std::vector<std::string>{"manage:users"};
  expectRefused(h, widened, "usr_c1_target", ErrorCode::permission_denied, "missing_permission");

  Actor narrowed = h.actor("usr_root");
  narrowed.scopes = std::vector<std::string>{"manage:users", "read:users"};
  expectReactivated(h, narrowed, "usr_c1_target");
}

TEMPLATE_LIST_TEST_CASE("rule 03: an organization type can grant the permission", "[service][rule03]",
                        AllStores) {
  auto policy = Policy::fromJson(R"({"roles": {"support": {"priority": 2, "permissions": []}},
      "organization_types": {"reseller": {"permissions": ["manage:users"]}}})");
  REQUIRE(policy);
  auto data = standardDataset();
  for (auto& u : data.users) u.roles = {"support"};
  Harness h(TestType::make(*policy), data, *policy);
  expectReactivated(h, h.actor("usr_r1_support"), "usr_c1_target");
  expectRefused(h, h.actor("usr_root"), "usr_c2_target", ErrorCode::permission_denied, "missing_permission");
}

// ---- Rule 4: not yourself ---------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 04: an actor cannot reactivate itself", "[service][rule04]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  auto e = expectRefused(h, h.actor("usr_root"), "usr_root", ErrorCode::permission_denied, "self_action");
  CHECK(e.message == "cannot perform administrative actions on yourself");
  // Rule 3 comes first.
  expectRefused(h, h.actor("usr_r1_support"), "usr_r1_support", ErrorCode::permission_denied,
                "missing_permission");
}

// ---- Rule 5: the target exists ----------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 05: a missing or deleted target is not_found", "[service][rule05]", AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c2_target") = makeUser("usr_c2_target", "org_c2", {"support"}, UserStatus::deleted);
  Harness h(TestType::make(defaultPolicy()), data);
  auto e = expectRefused(h, h.actor("usr_root"), "usr_123456789", ErrorCode::not_found, "no_such_user");
  CHECK(e.message == "user not found");
  REQUIRE(e.fields.size() == 1);
  CHECK(e.fields[0] == FieldError{"id", "not_found", "usr_123456789"});
  expectRefused(h, h.actor("usr_root"), "usr_c2_target", ErrorCode::not_found, "user_deleted");
}

TEMPLATE_LIST_TEST_CASE("rule 05: a target in a deleted organization, or below one, is not_found",
                        "[service][rule05]", AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_c1").deleted = true;
  orgIn(data, "org_r2").deleted = true;
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_root"), "usr_c1_target", ErrorCode::not_found, "organization_deleted");
  expectRefused(h, h.actor("usr_root"), "usr_c4_target", ErrorCode::not_found, "organization_deleted");
}

// ---- Rule 6: hierarchy --------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 06: a target in a sibling subtree looks exactly like a missing id",
                        "[service][rule06]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  auto hidden = expectRefused(h, h.actor("usr_d2_admin"), "usr_c1_target", ErrorCode::not_found,
                              "outside_hierarchy");
  auto missing = expectRefused(h, h.actor("usr_d2_admin"), "usr_c1_targex", ErrorCode::not_found, "no_such_user");
  CHECK(hidden.message == missing.message);
  REQUIRE(hidden.fields.size() == 1);
  CHECK(hidden.fields[0].key == missing.fields[0].key);
  CHECK(hidden.fields[0].message == missing.fields[0].message);
  CHECK(hidden.fields[0].value == "usr_c1_target");
}

TEMPLATE_LIST_TEST_CASE("rule 06: a target above the actor, or beside it, is not_found", "[service][rule06]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  expectRefused(h, h.actor("usr_c1_admin"), "usr_r1_target", ErrorCode::not_found, "outside_hierarchy");
  expectRefused(h, h.actor("usr_c1_admin"), "usr_c2_target", ErrorCode::not_found, "outside_hierarchy");
  expectRefused(h, h.actor("usr_r1_admin"), "usr_d1_target", ErrorCode::not_found, "outside_hierarchy");
  expectRefused(h, h.actor("usr_r3_admin"), "usr_c1_target", ErrorCode::not_found, "outside_hierarchy");
}

TEMPLATE_LIST_TEST_CASE("rule 06: the policy switch reveals an outside target as permission_denied",
                        "[service][rule06]", AllStores) {
  auto policy = Policy::fromJson(R"({"roles": {"super": {"priority": 0, "permissions": ["manage:users"]},
      "admin": {"priority": 1, "permissions": ["manage:users"]},
      "support": {"priority": 2, "permissions": []}}, "reveal_outside_hierarchy": true})");
  REQUIRE(policy);
  Harness h(TestType::make(*policy), standardDataset(), *policy);
  auto e = expectRefused(h, h.actor("usr_d2_admin"), "usr_c1_target", ErrorCode::permission_denied,
                         "outside_hierarchy");
  CHECK(e.message == "cannot manage users outside your organization hierarchy");
  // A truly missing id stays not_found.
  expectRefused(h, h.actor("usr_d2_admin"), "usr_nobody", ErrorCode::not_found, "no_such_user");
}

TEMPLATE_LIST_TEST_CASE("rule 06: the owner reaches every level of the tree", "[service][rule06]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  for (const char* id : {"usr_d1_target", "usr_r1_target", "usr_c1_target", "usr_c3_target", "usr_c4_target",
                         "usr_r3_target"})
    expectReactivated(h, h.actor("usr_owner_admin"), id);
}

TEMPLATE_LIST_TEST_CASE("rule 06: a distributor reaches resellers and customers below it, however deep",
                        "[service][rule06]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  expectReactivated(h, h.actor("usr_d1_admin"), "usr_r1_target");
  expectReactivated(h, h.actor("usr_d1_admin"), "usr_c2_target");
  expectReactivated(h, h.actor("usr_d1_admin"), "usr_c3_target");
  expectRefused(h, h.actor("usr_d1_admin"), "usr_c4_target", ErrorCode::not_found, "outside_hierarchy");
}

// ---- Rule 7: no escalation ----------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 07: in one organization an admin cannot reactivate a super", "[service][rule07]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  auto e = expectRefused(h, h.actor("usr_r1_admin"), "usr_r1_super_target", ErrorCode::permission_denied,
                         "higher_privilege");
  CHECK(e.message == "cannot manage a user with higher privileges");
  // Equal privilege is allowed, and a super may manage a super.
  expectReactivated(h, h.actor("usr_r1_admin"), "usr_r1_target");
  expectReactivated(h, h.actor("usr_r1_super"), "usr_r1_super_target");
}

TEMPLATE_LIST_TEST_CASE("rule 07: across organizations roles do not limit the parent", "[service][rule07]",
                        AllStores) {
  auto data = standardDataset();
  data.users.push_back(makeSuspended("usr_c1_super", "org_c1", {"super"}));
  data.users.push_back(makeSuspended("usr_r1_noroles", "org_r1", {}));
  Harness h(TestType::make(defaultPolicy()), data);
  expectReactivated(h, h.actor("usr_d1_admin"), "usr_c1_super");
  // No role at all is the lowest privilege.
  expectReactivated(h, h.actor("usr_r1_admin"), "usr_r1_noroles");
}

// ---- Rule 8: cascade authority -------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 08: a cascade from an ancestor above the actor is denied", "[service][rule08]",
                        AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_d1";
  Harness h(TestType::make(defaultPolicy()), data);
  auto e = expectRefused(h, h.actor("usr_r1_admin"), "usr_c1_target", ErrorCode::permission_denied,
                         "cascade_outside_authority");
  CHECK(e.message == "user was suspended by a parent organization");
  expectRefused(h, h.actor("usr_c1_admin"), "usr_c1_target", ErrorCode::permission_denied,
                "cascade_outside_authority");
  const User after = expectReactivated(h, h.actor("usr_d1_admin"), "usr_c1_target");
  CHECK_FALSE(after.suspended_by_org_id);
}

TEMPLATE_LIST_TEST_CASE("rule 08: a cascade from a sibling organization needs authority over the sibling",
                        "[service][rule08]", AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_c2";
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_c1_admin"), "usr_c1_target", ErrorCode::permission_denied,
                "cascade_outside_authority");
  expectReactivated(h, h.actor("usr_r1_admin"), "usr_c1_target");
}

TEMPLATE_LIST_TEST_CASE("rule 08: a cascade from the actor's own organization is within reach",
                        "[service][rule08]", AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_c1";
  Harness h(TestType::make(defaultPolicy()), data);
  expectReactivated(h, h.actor("usr_c1_admin"), "usr_c1_target");
}

// ---- Rule 9: organization not suspended ------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 09: a target whose organization, or an ancestor, is suspended cannot be reactivated",
                        "[service][rule09]", AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_c1").suspended = true;
  orgIn(data, "org_r2").suspended = true;
  Harness h(TestType::make(defaultPolicy()), data);
  auto e = expectRefused(h, h.actor("usr_d1_admin"), "usr_c1_target", ErrorCode::failed_precondition,
                         "organization_suspended");
  CHECK(e.message == "validation failed");
  REQUIRE(e.fields.size() == 1);
  CHECK(e.fields[0] == FieldError{"organization_id", "organization_suspended", "org_c1"});
  auto ancestor = expectRefused(h, h.actor("usr_root"), "usr_c4_target", ErrorCode::failed_precondition,
                                "organization_suspended");
  CHECK(ancestor.fields[0] == FieldError{"organization_id", "organization_suspended", "org_c4"});
}

TEMPLATE_LIST_TEST_CASE("rule 09: hierarchy is decided before the suspended organization", "[service][rule09]",
                        AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_c1").suspended = true;
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_d2_admin"), "usr_c1_target", ErrorCode::not_found, "outside_hierarchy");
}

// ---- Rule 10: state -------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 10: an active target is failed_precondition not_suspended", "[service][rule10]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  auto e = expectRefused(h, h.actor("usr_root"), "usr_c1_admin", ErrorCode::failed_precondition, "not_suspended");
  REQUIRE(e.fields.size() == 1);
  CHECK(e.fields[0] == FieldError{"status", "not_suspended", "active"});
}

TEMPLATE_LIST_TEST_CASE("rule 10: reactivating twice answers not_suspended the second time", "[service][rule10]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  expectReactivated(h, h.actor("usr_root"), "usr_c1_target");
  expectRefused(h, h.actor("usr_root"), "usr_c1_target", ErrorCode::failed_precondition, "not_suspended");
}

// ---- Rule 11: apply ----------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 11: a reactivation clears the suspension and records who, when and why",
                        "[service][rule11]", AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_c1";
  Harness h(TestType::make(defaultPolicy()), data);
  Actor a = h.actor("usr_root");
  a.request_id = "req-42";
  a.client_address = "192.0.2.7";
  const User before = h.user("usr_c1_target");
  auto result = h.reactivate(a, "usr_c1_target", "ticket 1234");
  REQUIRE(result);
  CHECK(result->status == UserStatus::active);
  CHECK(result->version == before.version + 1);
  CHECK(result->tokens_valid_after == before.tokens_valid_after);
  CHECK(result->username == before.username);
  CHECK(result->roles == before.roles);
  const auto events = h.audit();
  REQUIRE(events.size() == 1);
  CHECK(events[0].action == "user.reactivate");
  CHECK(events[0].outcome == "granted");
  CHECK(events[0].reason == "reactivated");
  CHECK(events[0].request_id == "req-42");
  CHECK(events[0].client_address == "192.0.2.7");
  CHECK(events[0].note == "ticket 1234");
  CHECK(events[0].time == h.clock.now());
  CHECK(events[0].id > 0);
}

TEMPLATE_LIST_TEST_CASE("rule 11: a note of 500 code points is recorded whole, whatever its byte length",
                        "[service][rule11][issue15]", AllStores) {
  // 15.5: "€" x 500 is 1500 bytes; the old core cut it to 500 bytes (166 €).
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  std::string note;
  for (int i = 0; i < 500; ++i) note += "\xE2\x82\xAC";
  REQUIRE(h.reactivate(h.actor("usr_root"), "usr_c1_target", note));
  CHECK(h.audit().back().note == note);
}

TEMPLATE_LIST_TEST_CASE("rule 11: a note over 500 code points is refused naming reason, not cut",
                        "[service][rule11][issue15]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  std::string note(499, 'x');
  note += "\xC3\xA9\xC3\xA9";  // 501 code points
  const User before = h.user("usr_c1_target");
  auto result = h.reactivate(h.actor("usr_root"), "usr_c1_target", note);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::invalid_argument);
  REQUIRE(result.error().fields.size() == 1);
  CHECK(result.error().fields[0] == FieldError{"reason", "too_long", ""});
  CHECK(h.user("usr_c1_target") == before);
  REQUIRE(h.audit().size() == 1);
  CHECK(h.audit().back().reason == "note_too_long");
}

TEMPLATE_LIST_TEST_CASE("rule 11: 32 threads racing on one user produce exactly one success",
                        "[service][rule11][concurrency]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  constexpr int kThreads = 32;
  std::atomic<int> granted{0}, not_suspended{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto r = h.reactivate(h.actor("usr_root"), "usr_c1_target");
      if (r) ++granted;
      else if (r.error().code == ErrorCode::failed_precondition && r.error().fields.at(0).message == "not_suspended")
        ++not_suspended;
      else ++other;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  CHECK(granted == 1);
  CHECK(not_suspended == kThreads - 1);
  CHECK(other == 0);
  CHECK(h.user("usr_c1_target").version == 2);
  const auto events = h.audit();
  CHECK(events.size() == kThreads);
  CHECK(std::count_if(events.begin(), events.end(), [](const AuditEvent& e) { return e.outcome == "granted"; }) == 1);
}

TEMPLATE_LIST_TEST_CASE("rule 11: many threads on distinct users all succeed", "[service][rule11][concurrency]",
                        AllStores) {
  auto data = standardDataset();
  constexpr int kThreads = 8, kPerThread = 25;
  for (int i = 0; i < kThreads * kPerThread; ++i)
    data.users.push_back(makeSuspended("usr_bulk_" + std::to_string(i), i % 2 ? "org_c1" : "org_c4"));
  Harness h(TestType::make(defaultPolicy()), data);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i)
        if (h.reactivate(h.actor("usr_root"), "usr_bulk_" + std::to_string(i))) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(granted == kThreads * kPerThread);
  CHECK(h.audit().size() == static_cast<std::size_t>(kThreads * kPerThread));
  for (int i = 0; i < kThreads * kPerThread; ++i)
    CHECK(h.user("usr_bulk_" + std::to_string(i)).status == UserStatus::active);
}

// ---- Rule 12: directory sync ------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 12: the directory is told of a committed reactivation", "[service][rule12]",
                        AllStores) {
  RecordingDirectory directory(false);
  Harness h(TestType::make(defaultPolicy()), standardDataset(), defaultPolicy(), &directory);
  expectReactivated(h, h.actor("usr_root"), "usr_c1_target");
  REQUIRE(directory.seen.size() == 1);
  CHECK(directory.seen[0] == h.user("usr_c1_target"));
  // Refusals are not sent.
  expectRefused(h, h.actor("usr_root"), "usr_c1_target", ErrorCode::failed_precondition, "not_suspended");
  CHECK(directory.seen.size() == 1);
}

TEMPLATE_LIST_TEST_CASE("rule 12: a failing directory undoes the change and answers external_error",
                        "[service][rule12]", AllStores) {
  RecordingDirectory directory(true);
  Harness h(TestType::make(defaultPolicy()), standardDataset(), defaultPolicy(), &directory);
  const User before = h.user("usr_c1_target");
  auto result = h.reactivate(h.actor("usr_root"), "usr_c1_target");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::external_error);
  CHECK(result.error().message == "external service error");
  CHECK(result.error().detail.find("503") != std::string::npos);
  const User after = h.user("usr_c1_target");
  CHECK(after.status == UserStatus::suspended);
  CHECK(after.suspended_at == before.suspended_at);
  CHECK(after.suspended_by == before.suspended_by);
  CHECK(after.tokens_valid_after == before.tokens_valid_after);
  CHECK(after.version == before.version + 2);
  const auto events = h.audit();
  REQUIRE(events.size() == 2);
  CHECK(events[0].outcome == "granted");
  CHECK(events[1].outcome == "external_error");
  CHECK(events[1].reason == "directory_sync_failed");
}

// ---- Storage failures -------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("a storage failure at any step is internal and leaves nothing behind",
                        "[service][storage]", AllStores) {
  // Count the storage calls of one successful reactivation, then fail each in turn.
  int calls_in_success = 0;
  {
    Harness probe(TestType::make(defaultPolicy()), standardDataset());
    FailingStore counting(probe.store(), -1);
    ReactivationService service(ServiceDeps{counting, *probe.authorizer, probe.clock, nullptr});
    REQUIRE(service.reactivateUser(probe.actor("usr_root"), "usr_c1_target"));
    calls_in_success = counting.calls();
  }
  REQUIRE(calls_in_success >= 5);
  for (int fail_at = 1; fail_at <= calls_in_success; ++fail_at) {
    INFO("failing storage call " << fail_at);
    Harness h(TestType::make(defaultPolicy()), standardDataset());
    FailingStore failing(h.store(), fail_at);
    ReactivationService service(ServiceDeps{failing, *h.authorizer, h.clock, nullptr});
    const User before = h.user("usr_c1_target");
    auto result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target");
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::internal);
    CHECK(result.error().message == "internal server error");
    CHECK(h.user("usr_c1_target") == before);
    CHECK(h.audit().empty());
  }
}

TEMPLATE_LIST_TEST_CASE("a busy store is reported as unavailable and changes nothing", "[service][storage]",
                        AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  // Fail the compare-and-set: every read before it succeeded.
  FailingStore busy(h.store(), 5, ErrorCode::unavailable);  // calls: actor, chain, target, chain, CAS
  ReactivationService service(ServiceDeps{busy, *h.authorizer, h.clock, nullptr});
  const User before = h.user("usr_c1_target");
  auto result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::unavailable);
  CHECK(result.error().detail == "injected busy in compareAndSetUser");
  CHECK(h.user("usr_c1_target") == before);
  CHECK(h.audit().empty());
}

// ---- Rule order ----------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule order: escalation (7) is decided before cascade authority (8)", "[service][order]",
                        AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_r1_super_target").suspended_by_org_id = "org_d1";
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_r1_admin"), "usr_r1_super_target", ErrorCode::permission_denied,
                "higher_privilege");
}

TEMPLATE_LIST_TEST_CASE("rule order: cascade authority (8) is decided before a suspended organization (9)",
                        "[service][order]", AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_c1").suspended = true;
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_d1";
  Harness h(TestType::make(defaultPolicy()), data);
  expectRefused(h, h.actor("usr_r1_admin"), "usr_c1_target", ErrorCode::permission_denied,
                "cascade_outside_authority");
}

TEMPLATE_LIST_TEST_CASE("rule order: a suspended organization (9) is decided before the user's state (10)",
                        "[service][order]", AllStores) {
  auto data = standardDataset();
  orgIn(data, "org_c1").suspended = true;
  Harness h(TestType::make(defaultPolicy()), data);
  auto e = expectRefused(h, h.actor("usr_root"), "usr_c1_admin", ErrorCode::failed_precondition,
                         "organization_suspended");
  CHECK(e.fields[0].key == "organization_id");
}

// ---- Rule 11: losing the compare-and-set ----------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 11: a decision that loses its compare-and-set to a reactivation answers rule 10",
                        "[service][rule11]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  RacingStore racing(h.store(), [](User u) {
    u.status = UserStatus::active;
    u.suspended_at.reset();
    u.suspended_by.reset();
    return u;
  });
  ReactivationService service(ServiceDeps{racing, *h.authorizer, h.clock, nullptr});
  auto result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::failed_precondition);
  REQUIRE(result.error().fields.size() == 1);
  CHECK(result.error().fields[0] == FieldError{"status", "not_suspended", "active"});
  CHECK(racing.races == 1);
  // The lost attempt wrote nothing; the second decision wrote its denial.
  const auto events = h.audit();
  REQUIRE(events.size() == 1);
  CHECK(events[0].reason == "not_suspended");
}

TEMPLATE_LIST_TEST_CASE("rule 11: a decision that loses to an unrelated edit is taken again and succeeds",
                        "[service][rule11]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  RacingStore racing(h.store(), [](User u) {
    u.email = "edited@example.com";
    return u;
  });
  ReactivationService service(ServiceDeps{racing, *h.authorizer, h.clock, nullptr});
  const User before = h.user("usr_c1_target");
  auto result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target");
  REQUIRE(result);
  CHECK(result->email == "edited@example.com");
  CHECK(result->version == before.version + 2);
  CHECK(h.user("usr_c1_target") == *result);
  REQUIRE(h.audit().size() == 1);
  CHECK(h.audit()[0].outcome == "granted");
}

// ---- Rule 12: edge paths --------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("rule 12: a directory hook that throws is a failure and the change is undone",
                        "[service][rule12]", AllStores) {
  ThrowingDirectory directory;
  Harness h(TestType::make(defaultPolicy()), standardDataset(), defaultPolicy(), &directory);
  auto result = h.reactivate(h.actor("usr_root"), "usr_c1_target");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::external_error);
  CHECK(result.error().detail.find("socket closed") != std::string::npos);
  CHECK(h.user("usr_c1_target").status == UserStatus::suspended);
}

TEMPLATE_LIST_TEST_CASE("rule 12: when the undo cannot be committed the answer is internal, not external_error",
                        "[service][rule12]", AllStores) {
  RecordingDirectory directory(true);
  Harness h(TestType::make(defaultPolicy()), standardDataset(), defaultPolicy(), &directory);
  // Calls of the granted unit: actor, chain, target, chain, CAS, audit; from
  // the 7th on (every undo attempt) storage is dead.
  FailingStore dying(h.store(), 7, ErrorCode::internal, /*keep_failing=*/true);
  ReactivationService service(ServiceDeps{dying, *h.authorizer, h.clock, &directory});
  auto result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::internal);
  CHECK(result.error().detail.find("could not be undone") != std::string::npos);
  CHECK(dying.calls() == 6 + 3);  // three undo attempts
  // Honest about the state: the reactivation stayed.
  CHECK(h.user("usr_c1_target").status == UserStatus::active);
}

TEMPLATE_LIST_TEST_CASE("rule 12: an undo that fails once is retried", "[service][rule12]", AllStores) {
  RecordingDirectory directory(true);
  Harness h(TestType::make(defaultPolicy()), standardDataset(), defaultPolicy(), &directory);
  FailingStore flaky(h.store(), 7, ErrorCode::unavailable);
  ReactivationService service(ServiceDeps{flaky, *h.authorizer, h.clock, &directory});
  auto result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::external_error);
  CHECK(h.user("usr_c1_target").status == UserStatus::suspended);
}

TEMPLATE_LIST_TEST_CASE("a plug-in that throws is reported as internal, never as an exception",
                        "[service][storage]", AllStores) {
  Harness h(TestType::make(defaultPolicy()), standardDataset());
  class ThrowingAuthorizer final : public Authorizer {
   public:
    Decision checkPermission(const Principal&, Action) const override {
      throw std::runtime_error("policy service down");
    }
    Decision checkAuthority(const Principal&, Action, const Subject&) const override { return Decision::allow(); }
  } authorizer;
  ReactivationService service(ServiceDeps{h.store(), authorizer, h.clock, nullptr});
  const User before = h.user("usr_c1_target");
  Result<User> result = Error::internal("unset");
  REQUIRE_NOTHROW(result = service.reactivateUser(h.actor("usr_root"), "usr_c1_target"));
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::internal);
  CHECK(result.error().detail.find("policy service down") != std::string::npos);
  CHECK(h.user("usr_c1_target") == before);
  CHECK(h.audit().empty());
}
