// Lifecycle §1-§4 (suspend a user, suspend and reactivate an organization
// with its users), step by step and rule by rule, against every store.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "support/failing_store.hpp"
#include "support/harness.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// The standard hierarchy plus what the cascade rules need:
// - org_c2 is suspended, and usr_c2_target was suspended by it (a user
//   "suspended by another organization");
// - usr_c2_active: an active user below the suspended org_c2;
// - org_c6 (customer under org_r1) is deleted, with the active usr_c6_user.
Dataset lifecycleDataset() {
  Dataset d = standardDataset();
  orgIn(d, "org_c2").suspended = true;
  userIn(d, "usr_c2_target").suspended_by_org_id = "org_c2";
  d.users.push_back(makeUser("usr_c2_active", "org_c2", {"support"}));
  d.organizations.push_back(makeOrg("org_c6", OrgType::customer, "org_r1"));
  d.organizations.back().deleted = true;
  d.users.push_back(makeUser("usr_c6_user", "org_c6", {"support"}));
  return d;
}

// Everything a refusal must leave as it was.
struct State {
  std::map<std::string, User> users;
  std::map<std::string, Organization> orgs;
  bool operator==(const State& o) const { return users == o.users && orgs == o.orgs; }
};

State snapshot(Harness& h, const Dataset& d) {
  State s;
  for (const auto& u : d.users) s.users.emplace(u.id, h.user(u.id));
  for (const auto& o : d.organizations) s.orgs.emplace(o.id, h.org(o.id));
  return s;
}

// Runs `call` (which must be refused with `code` / `reason`) and checks that
// nothing changed and that exactly one audit event (none when
// unauthenticated) records the true reason under `action`.
template <class Call>
Error expectRefusal(Harness& h, const Dataset& d, Call call, ErrorCode code, const std::string& reason,
                    const std::string& action) {
  const State before = snapshot(h, d);
  const auto audit_before = h.audit().size();
  auto result = call();
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == code);
  CHECK(result.error().reason == reason);
  CHECK(snapshot(h, d) == before);
  const auto events = h.audit();
  if (code == ErrorCode::unauthenticated) {
    CHECK(events.size() == audit_before);
  } else {
    REQUIRE(events.size() == audit_before + 1);
    CHECK(events.back().action == action);
    CHECK(events.back().outcome == toString(code));
    CHECK(events.back().reason == reason);
  }
  return std::move(result).error();
}

std::set<std::string> suspendedByOrg(Harness& h, const Dataset& d, const std::string& org) {
  std::set<std::string> out;
  for (const auto& u : d.users) {
    const User now = h.user(u.id);
    if (now.status == UserStatus::suspended && now.suspended_by_org_id == org) out.insert(u.id);
  }
  return out;
}

std::set<std::string> asSet(const std::vector<std::string>& ids) { return {ids.begin(), ids.end()}; }

}  // namespace

// ---- §1 shared steps on the new operations ----------------------------------

TEMPLATE_LIST_TEST_CASE("lifecycle A: an unknown or suspended actor is unauthenticated on every operation",
                        "[lifecycle][stepA]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  for (const char* who : {"usr_nobody", "usr_d1_target"}) {
    INFO(who);
    const Actor a = h.actor(who);
    const char* reason = std::string(who) == "usr_nobody" ? "unknown_actor" : "actor_not_active";
    expectRefusal(h, d, [&] { return h.suspend(a, "usr_c1_admin"); }, ErrorCode::unauthenticated, reason, "");
    expectRefusal(h, d, [&] { return h.suspendOrg(a, "org_c1"); }, ErrorCode::unauthenticated, reason, "");
    expectRefusal(h, d, [&] { return h.reactivateOrg(a, "org_c2"); }, ErrorCode::unauthenticated, reason, "");
  }
}

TEMPLATE_LIST_TEST_CASE("lifecycle B: a malformed id is invalid_argument on every operation", "[lifecycle][stepB]",
                        AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor root = h.actor("usr_root");
  auto e = expectRefusal(h, d, [&] { return h.suspend(root, "a b"); }, ErrorCode::invalid_argument, "invalid_id",
                         "user.suspend");
  CHECK(e.fields[0] == FieldError{"id", "invalid_format", "a b"});
  e = expectRefusal(h, d, [&] { return h.suspendOrg(root, "org/x"); }, ErrorCode::invalid_argument, "invalid_id",
                    "organization.suspend");
  CHECK(e.fields[0] == FieldError{"id", "invalid_format", "org/x"});
  expectRefusal(h, d, [&] { return h.reactivateOrg(root, ""); }, ErrorCode::invalid_argument, "invalid_id",
                "organization.reactivate");
  CHECK(h.audit().back().target_type == "organization");
  CHECK_FALSE(h.audit().back().target_organization_id);
}

TEMPLATE_LIST_TEST_CASE("lifecycle C: each operation needs its permission", "[lifecycle][stepC]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor support = h.actor("usr_r1_support");
  auto e = expectRefusal(h, d, [&] { return h.suspend(support, "usr_c1_admin"); }, ErrorCode::permission_denied,
                         "missing_permission", "user.suspend");
  CHECK(e.message == "insufficient permissions");
  expectRefusal(h, d, [&] { return h.suspendOrg(support, "org_c1"); }, ErrorCode::permission_denied,
                "missing_permission", "organization.suspend");
  expectRefusal(h, d, [&] { return h.reactivateOrg(support, "org_c2"); }, ErrorCode::permission_denied,
                "missing_permission", "organization.reactivate");
}

TEMPLATE_LIST_TEST_CASE("lifecycle C: manage:organizations is the default policy's for super and admin only",
                        "[lifecycle][stepC][policy]", AllStores) {
  for (const char* role : {"super", "admin"})
    CHECK(defaultPolicy().role(role)->permissions.count("manage:organizations") == 1);
  CHECK(defaultPolicy().role("support")->permissions.count("manage:organizations") == 0);
  // A JSON policy can withhold it from admin and grant it to support.
  auto policy = Policy::fromJson(R"({"roles": {
      "super": {"priority": 0, "permissions": ["manage:users", "manage:organizations"]},
      "admin": {"priority": 1, "permissions": ["manage:users"]},
      "support": {"priority": 2, "permissions": ["manage:organizations"]}}})");
  REQUIRE(policy);
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(*policy), d, *policy);
  expectRefusal(h, d, [&] { return h.suspendOrg(h.actor("usr_r1_admin"), "org_c1"); }, ErrorCode::permission_denied,
                "missing_permission", "organization.suspend");
  auto granted = h.suspendOrg(h.actor("usr_r1_support"), "org_c1");
  REQUIRE(granted);
  CHECK(granted->organization.suspended);
}

TEMPLATE_LIST_TEST_CASE("lifecycle D: a user outside the hierarchy is suspended exactly like a missing id",
                        "[lifecycle][stepD]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor r1 = h.actor("usr_r1_admin");
  auto outside = expectRefusal(h, d, [&] { return h.suspend(r1, "usr_r3_admin"); }, ErrorCode::not_found,
                               "outside_hierarchy", "user.suspend");
  CHECK(h.audit().back().target_organization_id == std::string("org_r3"));
  auto missing = expectRefusal(h, d, [&] { return h.suspend(r1, "usr_missing"); }, ErrorCode::not_found,
                               "no_such_user", "user.suspend");
  CHECK_FALSE(h.audit().back().target_organization_id);
  CHECK(outside.message == "user not found");
  CHECK(outside.message == missing.message);
  CHECK(outside.fields[0] == FieldError{"id", "not_found", "usr_r3_admin"});
  CHECK(missing.fields[0] == FieldError{"id", "not_found", "usr_missing"});
  expectRefusal(h, d, [&] { return h.suspend(r1, "usr_c6_user"); }, ErrorCode::not_found, "organization_deleted",
                "user.suspend");
}

TEMPLATE_LIST_TEST_CASE("lifecycle D: an organization missing, deleted, the actor's own, above or beside it looks "
                        "the same",
                        "[lifecycle][stepD]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor r1 = h.actor("usr_r1_admin");
  const std::vector<std::pair<std::string, std::string>> invisible = {
      {"org_missing", "no_such_organization"}, {"org_c6", "organization_deleted"}, {"org_r1", "own_organization"},
      {"org_d1", "outside_hierarchy"},         {"org_r3", "outside_hierarchy"},    {"org_owner", "outside_hierarchy"}};
  for (const auto& [id, reason] : invisible) {
    INFO(id);
    for (bool suspend : {true, false}) {
      auto e = expectRefusal(
          h, d, [&] { return suspend ? h.suspendOrg(r1, id) : h.reactivateOrg(r1, id); }, ErrorCode::not_found,
          reason, suspend ? "organization.suspend" : "organization.reactivate");
      CHECK(e.message == "organization not found");
      REQUIRE(e.fields.size() == 1);
      CHECK(e.fields[0] == FieldError{"id", "not_found", id});
    }
  }
}

TEMPLATE_LIST_TEST_CASE("lifecycle D: the reveal switch shows an outside organization as permission_denied",
                        "[lifecycle][stepD]", AllStores) {
  auto policy = Policy::create(
      {{"admin", {1, {"manage:users", "manage:organizations"}}}},
      {{OrgType::owner, {4, {}}}, {OrgType::distributor, {3, {}}}, {OrgType::reseller, {2, {}}},
       {OrgType::customer, {1, {}}}},
      /*reveal_outside_hierarchy=*/true);
  REQUIRE(policy);
  Dataset d = lifecycleDataset();
  for (auto& u : d.users) u.roles = {"admin"};
  Harness h(TestType::make(*policy), d, *policy);
  auto e = expectRefusal(h, d, [&] { return h.suspendOrg(h.actor("usr_r1_admin"), "org_r3"); },
                         ErrorCode::permission_denied, "outside_hierarchy", "organization.suspend");
  CHECK(e.message == "cannot manage organizations outside your organization hierarchy");
  // A missing organization is still not_found.
  expectRefusal(h, d, [&] { return h.suspendOrg(h.actor("usr_r1_admin"), "org_missing"); }, ErrorCode::not_found,
                "no_such_organization", "organization.suspend");
}

// ---- §2 suspend a user ---------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("lifecycle §2.1: an actor cannot suspend itself", "[lifecycle][suspend_user]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto e = expectRefusal(h, d, [&] { return h.suspend(h.actor("usr_r1_admin"), "usr_r1_admin"); },
                         ErrorCode::permission_denied, "self_action", "user.suspend");
  CHECK(e.message == "cannot perform administrative actions on yourself");
}

TEMPLATE_LIST_TEST_CASE("lifecycle §2.2: an admin cannot suspend a super of its own organization",
                        "[lifecycle][suspend_user]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto e = expectRefusal(h, d, [&] { return h.suspend(h.actor("usr_r1_admin"), "usr_r1_super"); },
                         ErrorCode::permission_denied, "higher_privilege", "user.suspend");
  CHECK(e.message == "cannot manage a user with higher privileges");
  // From the parent organization, roles do not limit.
  REQUIRE(h.suspend(h.actor("usr_d1_admin"), "usr_r1_super"));
}

TEMPLATE_LIST_TEST_CASE("lifecycle §2.3: only an active user can be suspended", "[lifecycle][suspend_user]",
                        AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto e = expectRefusal(h, d, [&] { return h.suspend(h.actor("usr_root"), "usr_c1_target"); },
                         ErrorCode::failed_precondition, "not_active", "user.suspend");
  CHECK(e.fields[0] == FieldError{"status", "not_active", "suspended"});
}

TEMPLATE_LIST_TEST_CASE("lifecycle §2.4: a suspension records who, when and why, and revokes tokens",
                        "[lifecycle][suspend_user]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const User before = h.user("usr_c1_admin");
  Actor root = h.actor("usr_root");
  root.request_id = "req-7";
  auto result = h.suspend(root, "usr_c1_admin", "left the company");
  REQUIRE(result);
  const User after = h.user("usr_c1_admin");
  CHECK(after == *result);
  CHECK(after.status == UserStatus::suspended);
  CHECK(after.suspended_at == h.clock.now());
  CHECK(after.suspended_by == std::string("usr_root"));
  CHECK_FALSE(after.suspended_by_org_id);
  CHECK(after.tokens_valid_after == h.clock.now());
  CHECK(after.updated_at == h.clock.now());
  CHECK(after.version == before.version + 1);
  const auto events = h.audit();
  REQUIRE(events.size() == 1);
  CHECK(events[0].action == "user.suspend");
  CHECK(events[0].target_type == "user");
  CHECK(events[0].target_id == "usr_c1_admin");
  CHECK(events[0].target_organization_id == std::string("org_c1"));
  CHECK(events[0].outcome == "granted");
  CHECK(events[0].reason == "suspended");
  CHECK(events[0].request_id == "req-7");
  CHECK(events[0].note == "left the company");
}

TEMPLATE_LIST_TEST_CASE("lifecycle §2: a suspended user's old token dies at once and stays dead after reactivation",
                        "[lifecycle][suspend_user][rule01]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor old_token = h.actor("usr_r1_admin");
  h.clock.advance(std::chrono::seconds(1));
  REQUIRE(h.suspend(h.actor("usr_d1_admin"), "usr_r1_admin"));
  expectRefusal(h, d, [&] { return h.reactivate(old_token, "usr_c1_target"); }, ErrorCode::unauthenticated,
                "actor_not_active", "");
  h.clock.advance(std::chrono::seconds(1));
  REQUIRE(h.reactivate(h.actor("usr_d1_admin"), "usr_r1_admin"));
  expectRefusal(h, d, [&] { return h.reactivate(old_token, "usr_c1_target"); }, ErrorCode::unauthenticated,
                "credential_revoked", "");
  REQUIRE(h.reactivate(h.actor("usr_r1_admin"), "usr_c1_target"));  // a token issued now works
}

TEMPLATE_LIST_TEST_CASE("lifecycle §2.5: the directory is told of a suspension, and its failure undoes it",
                        "[lifecycle][suspend_user][rule12]", AllStores) {
  class Directory final : public DirectorySync {
   public:
    Status userStatusChanged(const User& user) override {
      seen.push_back(user);
      if (fail) return Error::externalError("directory said no");
      return okStatus();
    }
    bool fail = false;
    std::vector<User> seen;
  } directory;
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d, defaultPolicy(), &directory);
  REQUIRE(h.suspend(h.actor("usr_root"), "usr_c1_admin"));
  REQUIRE(directory.seen.size() == 1);
  CHECK(directory.seen[0].status == UserStatus::suspended);
  directory.fail = true;
  const User before = h.user("usr_r1_admin");
  auto result = h.suspend(h.actor("usr_root"), "usr_r1_admin");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::external_error);
  const User restored = h.user("usr_r1_admin");
  CHECK(restored.status == UserStatus::active);
  CHECK(restored.tokens_valid_after == before.tokens_valid_after);
  CHECK(h.audit().back().outcome == "external_error");
  CHECK(h.audit().back().action == "user.suspend");
}

TEMPLATE_LIST_TEST_CASE("rule 12: a structured directory failure reaches the caller and the undo's audit note",
                        "[lifecycle][suspend_user][rule12][directory]", AllStores) {
  class Directory final : public DirectorySync {
   public:
    Status userStatusChanged(const User&) override {
      return Error::directoryFailed({"scim", DirectoryFailureReason::rejected, 409, std::nullopt}, "HTTP 409");
    }
  } directory;
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d, defaultPolicy(), &directory);
  auto result = h.suspend(h.actor("usr_root"), "usr_r1_admin");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::external_error);
  REQUIRE(result.error().directory_failure.has_value());
  CHECK(*result.error().directory_failure == DirectoryFailure{"scim", DirectoryFailureReason::rejected, 409, std::nullopt});
  CHECK(h.user("usr_r1_admin").status == UserStatus::active);
  CHECK(h.audit().back().reason == "directory_sync_failed");
  CHECK(h.audit().back().note.find("directory scim: rejected (HTTP 409)") != std::string::npos);
}

TEMPLATE_LIST_TEST_CASE("lifecycle §3.3: with a directory, a cascade queues its users in the outbox instead of calling",
                        "[lifecycle][suspend_organization][directory][outbox]", AllStores) {
  class Directory final : public DirectorySync {
   public:
    Status userStatusChanged(const User&) override {
      ++calls;
      return okStatus();
    }
    int calls = 0;
  } directory;
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d, defaultPolicy(), &directory);
  int wakes = 0;
  h.service = std::make_unique<ReactivationService>(
      ServiceDeps{h.store(), *h.authorizer, h.clock, &directory, [&wakes] { ++wakes; }});
  auto suspended = h.suspendOrg(h.actor("usr_root"), "org_r1");
  REQUIRE(suspended);
  REQUIRE(suspended->changed_user_ids.size() > 1);
  CHECK(directory.calls == 0);  // not inside the request
  CHECK(wakes == 1);
  auto entries = h.store().claimDirectoryUpdates(h.clock.now(), 1000);
  REQUIRE(entries);
  REQUIRE(entries->size() == suspended->changed_user_ids.size());
  for (const auto& e : *entries) {
    CHECK(e.update.status == UserStatus::suspended);
    CHECK(e.update.user_version == h.user(e.update.user_id).version);
  }
  auto back = h.reactivateOrg(h.actor("usr_root"), "org_r1");
  REQUIRE(back);
  CHECK(directory.calls == 0);
  CHECK(wakes == 2);
  entries = h.store().claimDirectoryUpdates(h.clock.now(), 1000);
  REQUIRE(entries);
  // Each user's entry is replaced by its latest state: those the
  // reactivation restored are active; one still held by the suspended
  // org_c2 keeps its pending "suspended".
  REQUIRE(entries->size() == suspended->changed_user_ids.size());
  std::size_t active = 0;
  for (const auto& e : *entries) {
    CHECK(e.update.status == h.user(e.update.user_id).status);
    CHECK(e.update.user_version <= h.user(e.update.user_id).version);
    if (e.update.status == UserStatus::active) ++active;
  }
  CHECK(active == back->changed_user_ids.size());
}

TEMPLATE_LIST_TEST_CASE("lifecycle §3.3: without a directory, a cascade queues nothing",
                        "[lifecycle][suspend_organization][directory][outbox]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto suspended = h.suspendOrg(h.actor("usr_root"), "org_r1");
  REQUIRE(suspended);
  REQUIRE_FALSE(suspended->changed_user_ids.empty());
  auto stats = h.store().directoryOutboxStats();
  REQUIRE(stats);
  CHECK(stats->pending == 0);
}

TEMPLATE_LIST_TEST_CASE("rule 12: the undo of a failed call queues the restored state in the outbox",
                        "[lifecycle][suspend_user][rule12][directory][outbox]", AllStores) {
  class Directory final : public DirectorySync {
   public:
    Status userStatusChanged(const User&) override {
      return Error::directoryFailed({"scim", DirectoryFailureReason::timeout, std::nullopt, std::nullopt}, "timeout");
    }
  } directory;
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d, defaultPolicy(), &directory);
  int wakes = 0;
  h.service = std::make_unique<ReactivationService>(
      ServiceDeps{h.store(), *h.authorizer, h.clock, &directory, [&wakes] { ++wakes; }});
  auto result = h.suspend(h.actor("usr_root"), "usr_r1_admin");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::external_error);
  const User restored = h.user("usr_r1_admin");
  CHECK(restored.status == UserStatus::active);
  CHECK(wakes == 1);
  // A timed-out call may land late upstream: the compensation waits 5 s.
  auto entries = h.store().claimDirectoryUpdates(h.clock.now() + std::chrono::milliseconds(4999), 10);
  REQUIRE(entries);
  CHECK(entries->empty());
  entries = h.store().claimDirectoryUpdates(h.clock.now() + std::chrono::milliseconds(5000), 10);
  REQUIRE(entries);
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].update == DirectoryUpdate{"usr_r1_admin", "usr_r1_admin", UserStatus::active, restored.version});
  CHECK((*entries)[0].enqueued_at == h.clock.now());
}

TEMPLATE_LIST_TEST_CASE("lifecycle §2.4: 32 threads suspending one user produce exactly one success",
                        "[lifecycle][suspend_user][concurrency]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  std::atomic<int> successes{0}, not_active{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      auto r = h.suspend(h.actor("usr_root"), "usr_c1_admin");
      if (r) ++successes;
      else if (r.error().reason == "not_active") ++not_active;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(successes == 1);
  CHECK(not_active == 31);
  CHECK(h.user("usr_c1_admin").version == 2);
}

// ---- §3 suspend an organization -----------------------------------------------

TEMPLATE_LIST_TEST_CASE("lifecycle §3.1: an organization already suspended cannot be suspended again",
                        "[lifecycle][suspend_org]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto e = expectRefusal(h, d, [&] { return h.suspendOrg(h.actor("usr_r1_admin"), "org_c2"); },
                         ErrorCode::failed_precondition, "already_suspended", "organization.suspend");
  CHECK(e.fields[0] == FieldError{"suspended", "already_suspended", "true"});
  CHECK(h.audit().back().target_organization_id == std::string("org_c2"));
}

TEMPLATE_LIST_TEST_CASE("lifecycle §3.2: the cascade reaches every level below and leaves other suspensions alone",
                        "[lifecycle][suspend_org][cascade]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const State before = snapshot(h, d);
  auto result = h.suspendOrg(h.actor("usr_root"), "org_d1", "fraud review");
  REQUIRE(result);
  // Active users of org_d1 and below (org_r1, org_c1, org_c2 even though it
  // is itself suspended, org_c3), but not of the deleted org_c6.
  const std::set<std::string> expected = {"usr_d1_admin", "usr_r1_admin", "usr_r1_super", "usr_r1_support",
                                          "usr_c1_admin", "usr_c2_active"};
  CHECK(asSet(result->changed_user_ids) == expected);
  CHECK(suspendedByOrg(h, d, "org_d1") == expected);
  for (const auto& id : expected) {
    const User u = h.user(id);
    CHECK(u.suspended_at == h.clock.now());
    CHECK(u.suspended_by == std::string("usr_root"));
    CHECK(u.tokens_valid_after == h.clock.now());
    CHECK(u.updated_at == h.clock.now());
    CHECK(u.version == before.users.at(id).version + 1);
  }
  // Everyone else exactly as before: hand-suspended users, the user
  // suspended by org_c2, the deleted organization's user, other subtrees.
  for (const auto& [id, user] : before.users)
    if (expected.count(id) == 0) CHECK(h.user(id) == user);
  const Organization org = h.org("org_d1");
  CHECK(org == result->organization);
  CHECK(org.suspended);
  CHECK(org.suspended_at == h.clock.now());
  CHECK(org.suspended_by == std::string("usr_root"));
  CHECK(org.version == before.orgs.at("org_d1").version + 1);
}

TEMPLATE_LIST_TEST_CASE("lifecycle §3.2: one audit event for the organization and one per changed user",
                        "[lifecycle][suspend_org][cascade]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto result = h.suspendOrg(h.actor("usr_d1_admin"), "org_r1", "audit");
  REQUIRE(result);
  const auto events = h.audit();
  REQUIRE(events.size() == 1 + result->changed_user_ids.size());
  CHECK(events[0].action == "organization.suspend");
  CHECK(events[0].target_type == "organization");
  CHECK(events[0].target_id == "org_r1");
  CHECK(events[0].target_organization_id == std::string("org_r1"));
  CHECK(events[0].reason == "suspended");
  std::set<std::string> audited;
  for (std::size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i].action == "user.suspend");
    CHECK(events[i].target_type == "user");
    CHECK(events[i].outcome == "granted");
    CHECK(events[i].reason == "organization_cascade");
    CHECK(events[i].actor_id == "usr_d1_admin");
    CHECK(events[i].note == "audit");
    CHECK(events[i].target_organization_id == h.user(events[i].target_id).organization_id);
    audited.insert(events[i].target_id);
  }
  CHECK(audited == asSet(result->changed_user_ids));
}

TEMPLATE_LIST_TEST_CASE("lifecycle §3.1: an organization below a suspended one may be suspended, changing no one",
                        "[lifecycle][suspend_org]", AllStores) {
  Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  REQUIRE(h.suspendOrg(h.actor("usr_root"), "org_d1"));
  auto inner = h.suspendOrg(h.actor("usr_root"), "org_r1");
  REQUIRE(inner);
  CHECK(inner->changed_user_ids.empty());
  CHECK(h.org("org_r1").suspended);
}

TEMPLATE_LIST_TEST_CASE("lifecycle §3: users of a suspended organization cannot act, and their tokens stay dead",
                        "[lifecycle][suspend_org][rule01]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const Actor old_token = h.actor("usr_c1_admin");
  h.clock.advance(std::chrono::seconds(1));
  REQUIRE(h.suspendOrg(h.actor("usr_d1_admin"), "org_r1"));
  expectRefusal(h, d, [&] { return h.suspend(old_token, "usr_c1_target"); }, ErrorCode::unauthenticated,
                "actor_not_active", "");
  h.clock.advance(std::chrono::seconds(1));
  REQUIRE(h.reactivateOrg(h.actor("usr_d1_admin"), "org_r1"));
  expectRefusal(h, d, [&] { return h.suspend(old_token, "usr_c1_target"); }, ErrorCode::unauthenticated,
                "credential_revoked", "");
}

// ---- §4 reactivate an organization --------------------------------------------

TEMPLATE_LIST_TEST_CASE("lifecycle §4.1: an organization below a suspended one cannot be reactivated",
                        "[lifecycle][reactivate_org]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  REQUIRE(h.suspendOrg(h.actor("usr_root"), "org_d1"));
  auto e = expectRefusal(h, d, [&] { return h.reactivateOrg(h.actor("usr_root"), "org_c2"); },
                         ErrorCode::failed_precondition, "parent_suspended", "organization.reactivate");
  CHECK(e.fields[0] == FieldError{"parent_id", "organization_suspended", "org_d1"});
  // The parent rule comes before the state rule: org_c1 is not suspended.
  e = expectRefusal(h, d, [&] { return h.reactivateOrg(h.actor("usr_root"), "org_c1"); },
                    ErrorCode::failed_precondition, "parent_suspended", "organization.reactivate");
  CHECK(e.fields[0].key == "parent_id");
}

TEMPLATE_LIST_TEST_CASE("lifecycle §4.2: an organization that is not suspended cannot be reactivated",
                        "[lifecycle][reactivate_org]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  auto e = expectRefusal(h, d, [&] { return h.reactivateOrg(h.actor("usr_root"), "org_r1"); },
                         ErrorCode::failed_precondition, "not_suspended", "organization.reactivate");
  CHECK(e.fields[0] == FieldError{"suspended", "not_suspended", "false"});
}

TEMPLATE_LIST_TEST_CASE("lifecycle §4.3: reactivation brings back exactly the users of its cascade",
                        "[lifecycle][reactivate_org][cascade]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  const State before = snapshot(h, d);
  auto suspended = h.suspendOrg(h.actor("usr_root"), "org_d1");
  REQUIRE(suspended);
  h.clock.advance(std::chrono::seconds(5));
  auto result = h.reactivateOrg(h.actor("usr_root"), "org_d1");
  REQUIRE(result);
  // usr_c2_active sits below the still-suspended org_c2: it stays, now on
  // org_c2's behalf. Everyone else of the cascade is back.
  std::set<std::string> expected = asSet(suspended->changed_user_ids);
  expected.erase("usr_c2_active");
  CHECK(asSet(result->changed_user_ids) == expected);
  for (const auto& id : expected) {
    const User u = h.user(id);
    CHECK(u.status == UserStatus::active);
    CHECK_FALSE(u.suspended_at);
    CHECK_FALSE(u.suspended_by);
    CHECK_FALSE(u.suspended_by_org_id);
    CHECK(u.tokens_valid_after == testEpoch());  // kept
    CHECK(u.updated_at == h.clock.now());
    CHECK(u.version == before.users.at(id).version + 2);
  }
  CHECK(h.user("usr_c2_active").status == UserStatus::suspended);
  CHECK(h.user("usr_c2_active").suspended_by_org_id == std::string("org_c2"));
  // Hand-suspended users and the user suspended by org_c2 were never touched.
  for (const char* id : {"usr_c1_target", "usr_c2_target", "usr_c3_target", "usr_r1_target", "usr_d1_target"})
    CHECK(h.user(id) == before.users.at(id));
  const Organization org = h.org("org_d1");
  CHECK_FALSE(org.suspended);
  CHECK_FALSE(org.suspended_at);
  CHECK_FALSE(org.suspended_by);
  // One event for the organization, one per user that came back.
  const auto events = h.audit();
  const auto tail = std::vector<AuditEvent>(events.end() - static_cast<long>(expected.size() + 1), events.end());
  CHECK(tail[0].action == "organization.reactivate");
  std::set<std::string> audited;
  for (std::size_t i = 1; i < tail.size(); ++i) {
    CHECK(tail[i].action == "user.reactivate");
    CHECK(tail[i].reason == "organization_cascade");
    audited.insert(tail[i].target_id);
  }
  CHECK(audited == expected);
  // And org_c2's own reactivation now restores its user.
  auto inner = h.reactivateOrg(h.actor("usr_root"), "org_c2");
  REQUIRE(inner);
  CHECK(inner->changed_user_ids == std::vector<std::string>{"usr_c2_active", "usr_c2_target"});
}

TEMPLATE_LIST_TEST_CASE("lifecycle §4.3: a nested suspension keeps its users when the outer one is lifted",
                        "[lifecycle][reactivate_org][cascade]", AllStores) {
  const Dataset d = lifecycleDataset();
  Harness h(TestType::make(defaultPolicy()), d);
  REQUIRE(h.suspendOrg(h.actor("usr_root"), "org_d1"));
  REQUIRE(h.suspendOrg(h.actor("usr_root"), "org_r1"));
  auto outer = h.reactivateOrg(h.actor("usr_root"), "org_d1");
  REQUIRE(outer);
  CHECK(outer->changed_user_ids == std::vector<std::string>{"usr_d1_admin"});
  CHECK(suspendedByOrg(h, d, "org_r1") ==
        std::set<std::string>{"usr_r1_admin", "usr_r1_super", "usr_r1_support", "usr_c1_admin"});
  auto inner = h.reactivateOrg(h.actor("usr_root"), "org_r1");
  REQUIRE(inner);
  CHECK(inner->changed_user_ids ==
        std::vector<std::string>{"usr_c1_admin", "usr_r1_admin", "usr_r1_super", "usr_r1_support"});
  CHECK(suspendedByOrg(h, d, "org_c2") == std::set<std::string>{"usr_c2_active", "usr_c2_target"});
}

// ---- Atomicity and races --------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("lifecycle: a storage failure at any step of a cascade leaves nothing behind",
                        "[lifecycle][cascade][storage]", AllStores) {
  const Dataset d = lifecycleDataset();
  int calls_in_success = 0;
  {
    Harness probe(TestType::make(defaultPolicy()), d);
    FailingStore counting(probe.store(), -1);
    AdminService service(ServiceDeps{counting, *probe.authorizer, probe.clock, nullptr});
    REQUIRE(service.suspendOrganization(probe.actor("usr_root"), "org_d1"));
    calls_in_success = counting.calls();
  }
  REQUIRE(calls_in_success >= 5);  // actor, chain, organization chain, CAS, audit, cascade
  for (int fail_at = 1; fail_at <= calls_in_success; ++fail_at) {
    INFO("failing storage call " << fail_at);
    Harness h(TestType::make(defaultPolicy()), d);
    FailingStore failing(h.store(), fail_at);
    AdminService service(ServiceDeps{failing, *h.authorizer, h.clock, nullptr});
    const State before = snapshot(h, d);
    auto result = service.suspendOrganization(h.actor("usr_root"), "org_d1");
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::internal);
    CHECK(snapshot(h, d) == before);
    CHECK(h.audit().empty());
  }
}

TEMPLATE_LIST_TEST_CASE("lifecycle: cascades racing individual reactivations and suspensions end in a serial state",
                        "[lifecycle][cascade][concurrency]", AllStores) {
  // org_r1 with many users, half of them hand-suspended. One thread
  // suspends and reactivates org_r1 over and over; others reactivate and
  // suspend its users one by one.
  Dataset d = standardDataset();
  constexpr int kUsers = 40;
  for (int i = 0; i < kUsers; ++i) {
    const std::string id = "usr_race_" + std::to_string(i);
    d.users.push_back(i % 2 == 0 ? makeUser(id, "org_c1", {"support"}) : makeSuspended(id, "org_c1"));
  }
  Harness h(TestType::make(defaultPolicy()), d);
  std::atomic<bool> done{false};
  std::thread cascader([&] {
    for (int round = 0; round < 15; ++round) {
      CHECK(h.suspendOrg(h.actor("usr_d1_admin"), "org_r1"));
      CHECK(h.reactivateOrg(h.actor("usr_d1_admin"), "org_r1"));
    }
    done = true;
  });
  std::vector<std::thread> singles;
  for (int t = 0; t < 4; ++t) {
    singles.emplace_back([&, t] {
      for (int n = 0; !done; ++n) {
        const std::string id = "usr_race_" + std::to_string((n * 4 + t) % kUsers);
        static_cast<void>(n % 2 == 0 ? h.reactivate(h.actor("usr_root"), id) : h.suspend(h.actor("usr_root"), id));
      }
    });
  }
  cascader.join();
  for (auto& t : singles) t.join();

  // Replaying the granted events in log order gives every user's state: no
  // change happened without its event, none was lost.
  std::map<std::string, UserStatus> replayed;
  std::map<std::string, int> changes;
  for (const auto& e : h.audit()) {
    if (e.outcome != "granted" || e.target_type != "user") continue;
    replayed[e.target_id] = e.action == "user.suspend" ? UserStatus::suspended : UserStatus::active;
    ++changes[e.target_id];
  }
  for (int i = 0; i < kUsers; ++i) {
    const std::string id = "usr_race_" + std::to_string(i);
    INFO(id);
    const User u = h.user(id);
    CHECK_FALSE((u.status == UserStatus::active && u.suspended_by_org_id));
    if (changes.count(id) != 0) CHECK(u.status == replayed[id]);
    CHECK(u.version == 1 + changes[id]);
  }
  CHECK_FALSE(h.org("org_r1").suspended);
  CHECK(suspendedByOrg(h, d, "org_r1").empty());
}
