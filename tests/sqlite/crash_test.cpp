// Crash safety: a child process reactivates users through group commit at
// synchronous=FULL and reports each acknowledged reactivation; the parent
// kills it with SIGKILL at a random moment and checks the file.
#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "sqlite/sqlite_test_support.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

constexpr int kUsers = 20000;  // more than the child can get through before it dies
constexpr int kThreads = 4;
const std::string kPrefix = "usr_crash_";

// The child: kThreads threads reactivate disjoint users; after each
// acknowledged success (transact returned, i.e. after COMMIT) the id goes
// down the pipe. Runs until killed.
int reactivateUntilKilled(const std::string& path, int out) {
  auto store = openOrThrow(sqliteOptions(path));
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  ReactivationService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kUsers; i += kThreads) {
        Actor actor;
        actor.user_id = "usr_root";
        actor.credential_issued_at = systemClock().now();
        const std::string id = kPrefix + std::to_string(i);
        if (service.reactivateUser(actor, id)) writeLine(out, id);
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}

}  // namespace

TEST_CASE("sqlite crash: every acknowledged reactivation survives SIGKILL with its audit event",
          "[sqlite][crash][slow]") {
  TempDir dir;
  const auto path = dir.file("crash.db");
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(datasetWithSuspended(kPrefix, kUsers)));
  }
  std::mt19937 rng(std::random_device{}());
  const int kill_after_ms = std::uniform_int_distribution<int>(50, 300)(rng);
  INFO("killed " << kill_after_ms << " ms after the first acknowledgement");

  Child child([&](int out) { return reactivateUntilKilled(path, out); });
  REQUIRE(child.waitReadable(30000));  // the first acknowledgement
  std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
  child.kill9();
  const auto acknowledged = completeLines(child.readAll());
  CHECK(child.wait() == 128 + SIGKILL);
  INFO(acknowledged.size() << " acknowledged");
  REQUIRE_FALSE(acknowledged.empty());

  {
    RawDb raw(path);  // recovers the WAL left behind
    CHECK(raw.text("PRAGMA integrity_check") == "ok");
    std::set<std::string> active;
    for (const auto& row : raw.rows("SELECT id FROM users WHERE status = 'active' AND id LIKE 'usr_crash_%'"))
      active.insert(row[0]);
    std::set<std::string> granted;
    for (const auto& row : raw.rows("SELECT target_id FROM audit_events WHERE outcome = 'granted'"))
      granted.insert(row[0]);
    std::size_t missing = 0;
    for (const auto& id : acknowledged) {
      if (active.count(id) == 0 || granted.count(id) == 0) ++missing;
    }
    CHECK(missing == 0);
    // Nothing half-done: every change has its event and vice versa (the
    // file may hold a few more than acknowledged: killed before reporting).
    CHECK(active == granted);
    CHECK(active.size() >= acknowledged.size());
    CHECK(raw.integer("SELECT count(*) FROM audit_events") == static_cast<std::int64_t>(granted.size()));
  }
  // The store opens the recovered file and carries on.
  auto store = openOrThrow(sqliteOptions(path));
  CHECK(store->findUser(acknowledged.back()).value()->status == UserStatus::active);
}

namespace {

constexpr int kCascadeUsers = 20000;

// The child: suspends and reactivates org_c1 (holding kCascadeUsers active
// users) over and over, reporting each acknowledged cascade. Runs until killed.
int cascadeUntilKilled(const std::string& path, int out) {
  auto store = openOrThrow(sqliteOptions(path));
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  AdminService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  for (int round = 0;; ++round) {
    Actor actor;
    actor.user_id = "usr_root";
    actor.credential_issued_at = systemClock().now();
    auto done = round % 2 == 0 ? service.suspendOrganization(actor, "org_c1")
                               : service.reactivateOrganization(actor, "org_c1");
    if (done) writeLine(out, std::to_string(round) + " " + std::to_string(done->changed_user_ids.size()));
  }
}

}  // namespace

TEST_CASE("sqlite crash: an organization cascade killed by SIGKILL is wholly visible or wholly absent",
          "[sqlite][crash][cascade][slow]") {
  TempDir dir;
  const auto path = dir.file("cascade-crash.db");
  {
    Dataset data = standardDataset();
    for (int i = 0; i < kCascadeUsers; ++i)
      data.users.push_back(makeUser("usr_cascade_" + std::to_string(i), "org_c1", {"support"}));
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(data));
  }
  std::mt19937 rng(std::random_device{}());
  const int kill_after_ms = std::uniform_int_distribution<int>(0, 400)(rng);
  INFO("killed " << kill_after_ms << " ms after the first acknowledgement");

  Child child([&](int out) { return cascadeUntilKilled(path, out); });
  REQUIRE(child.waitReadable(60000));
  std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
  child.kill9();
  const auto acknowledged = completeLines(child.readAll());
  CHECK(child.wait() == 128 + SIGKILL);
  REQUIRE_FALSE(acknowledged.empty());
  // Every acknowledged cascade changed every user of org_c1.
  for (const auto& line : acknowledged) CHECK(line.substr(line.find(' ') + 1) == std::to_string(kCascadeUsers + 1));

  RawDb raw(path);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  const auto organization_events =
      raw.integer("SELECT count(*) FROM audit_events WHERE target_type = 'organization' AND outcome = 'granted'");
  CHECK(organization_events >= static_cast<std::int64_t>(acknowledged.size()));
  // Nothing half-done: the organization and all of its users agree, and each
  // organization event came with one event per user.
  const bool suspended = raw.integer("SELECT suspended FROM organizations WHERE id = 'org_c1'") == 1;
  CHECK(suspended == (organization_events % 2 == 1));
  const auto cascaded = raw.integer("SELECT count(*) FROM users WHERE suspended_by_org_id = 'org_c1'");
  CHECK(cascaded == (suspended ? kCascadeUsers + 1 : 0));  // + usr_c1_admin
  CHECK(raw.integer("SELECT count(*) FROM users WHERE organization_id = 'org_c1' AND status = 'active'") ==
        (suspended ? 0 : kCascadeUsers + 1));
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE reason = 'organization_cascade'") ==
        organization_events * (kCascadeUsers + 1));
  // The store opens the recovered file and carries on.
  auto store = openOrThrow(sqliteOptions(path));
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  AdminService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  Actor actor;
  actor.user_id = "usr_root";
  actor.credential_issued_at = systemClock().now();
  auto next =
      suspended ? service.reactivateOrganization(actor, "org_c1") : service.suspendOrganization(actor, "org_c1");
  REQUIRE(next);
  CHECK(next->changed_user_ids.size() == static_cast<std::size_t>(kCascadeUsers + 1));
}
