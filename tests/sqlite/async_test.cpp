// UserStore::transactAsync on the SQLite store, and
// AdminService::reactivateUserAsync over it: the same outcomes, audit
// events and durability as the blocking calls, each completion exactly once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "sqlite/sqlite_test_support.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// Counts completions and waits for a number of them.
class Completions {
 public:
  void add() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    cv_.notify_all();
  }
  bool waitFor(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

Actor rootActor() {
  Actor actor;
  actor.user_id = "usr_root";
  actor.credential_issued_at = systemClock().now();
  actor.request_id = "req-async";
  return actor;
}

}  // namespace

TEST_CASE("sqlite transactAsync: each completion comes once, after its unit's writes are committed",
          "[sqlite][async][concurrency]") {
  TempDir dir;
  constexpr int kUnits = 40;
  auto store = openOrThrow(sqliteOptions(dir.file("async.db")));
  REQUIRE(store->seed(datasetWithSuspended("usr_a", kUnits)));
  Completions done;
  std::vector<int> calls(kUnits, 0);
  std::vector<int> outcome(kUnits, -1);  // 1 ok, 0 error
  std::vector<int> committed_seen(kUnits, -1);
  std::mutex mutex;
  for (int i = 0; i < kUnits; ++i) {
    const std::string id = "usr_a" + std::to_string(i);
    const bool fail = i % 5 == 2;
    const bool throws = i % 7 == 3;
    store->transactAsync(
        [id, fail, throws](UnitOfWork& unit) -> Status {
          auto current = unit.findUser(id);
          if (!current) return std::move(current).error();
          User after = **current;
          after.status = UserStatus::active;
          after.suspended_at.reset();
          after.suspended_by.reset();
          after.version += 1;
          auto swapped = unit.compareAndSetUser(after, (*current)->version);
          if (!swapped) return std::move(swapped).error();
          if (throws) throw std::runtime_error("deliberate");
          if (fail) return Error::internal("deliberate");
          return okStatus();
        },
        [&, i, id](Status status) {
          // Runs on the writer thread after the COMMIT: the change is
          // already visible to a reader (a separate connection).
          auto seen = store->findUser(id);
          {
            std::lock_guard<std::mutex> lock(mutex);
            ++calls[static_cast<std::size_t>(i)];
            outcome[static_cast<std::size_t>(i)] = status ? 1 : 0;
            committed_seen[static_cast<std::size_t>(i)] =
                seen && *seen && (*seen)->status == UserStatus::active ? 1 : 0;
          }
          done.add();
        });
    // Blocking units mixed in (they share batches with the asynchronous ones).
    if (i % 10 == 0) CHECK(store->transact([](UnitOfWork&) { return okStatus(); }));
  }
  REQUIRE(done.waitFor(kUnits));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(done.count() == kUnits);  // never twice
  for (int i = 0; i < kUnits; ++i) {
    INFO(i);
    const bool ok = i % 5 != 2 && i % 7 != 3;
    CHECK(calls[static_cast<std::size_t>(i)] == 1);
    CHECK(outcome[static_cast<std::size_t>(i)] == (ok ? 1 : 0));
    CHECK(committed_seen[static_cast<std::size_t>(i)] == (ok ? 1 : 0));
  }
  // What was acknowledged survives a reopen; what failed left nothing.
  store.reset();
  auto reopened = openOrThrow(sqliteOptions(dir.file("async.db")));
  for (int i = 0; i < kUnits; ++i) {
    INFO(i);
    const bool ok = i % 5 != 2 && i % 7 != 3;
    CHECK(reopened->findUser("usr_a" + std::to_string(i)).value()->status ==
          (ok ? UserStatus::active : UserStatus::suspended));
  }
}

TEST_CASE("sqlite reactivateUserAsync: the blocking call's outcomes and audit events, one winner per user",
          "[sqlite][async][concurrency]") {
  TempDir dir;
  constexpr int kUsers = 30;
  constexpr int kTries = 4;  // concurrent reactivations of every user
  auto store = openOrThrow(sqliteOptions(dir.file("async-service.db")));
  REQUIRE(store->seed(datasetWithSuspended("usr_r", kUsers)));
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  ReactivationService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  REQUIRE_FALSE(service.hasDirectory());

  Completions done;
  std::mutex mutex;
  std::vector<int> granted(kUsers, 0), not_suspended(kUsers, 0), other(kUsers, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kTries; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kUsers; ++i) {
        service.reactivateUserAsync(rootActor(), "usr_r" + std::to_string(i), "async test",
                                    [&, i](Result<User> result) {
                                      {
                                        std::lock_guard<std::mutex> lock(mutex);
                                        const auto u = static_cast<std::size_t>(i);
                                        if (result && result->status == UserStatus::active) ++granted[u];
                                        else if (!result && result.error().reason == "not_suspended")
                                          ++not_suspended[u];
                                        else ++other[u];
                                      }
                                      done.add();
                                    });
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(done.waitFor(kUsers * kTries));
  for (int i = 0; i < kUsers; ++i) {
    INFO(i);
    const auto u = static_cast<std::size_t>(i);
    CHECK(granted[u] == 1);
    CHECK(not_suspended[u] == kTries - 1);
    CHECK(other[u] == 0);
  }
  // One granted event per user and one audited refusal per loser, as the
  // blocking call writes them.
  RawDb raw(dir.file("async-service.db"));
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE outcome = 'granted' AND note = 'async test'") == kUsers);
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE reason = 'not_suspended'") ==
        kUsers * (kTries - 1));

  // A refusal before storage (an invalid id) is answered too, and audited
  // like the blocking call's.
  Completions one;
  Result<User> answer = Error::internal("not called");
  service.reactivateUserAsync(rootActor(), "not an id!", "", [&](Result<User> result) {
    answer = std::move(result);
    one.add();
  });
  REQUIRE(one.waitFor(1));
  REQUIRE_FALSE(answer);
  const auto blocking = service.reactivateUser(rootActor(), "not an id!");
  REQUIRE_FALSE(blocking);
  CHECK(answer.error().code == blocking.error().code);
  CHECK(answer.error().reason == blocking.error().reason);
}

namespace {

// Starts an asynchronous call and waits for its one answer.
template <class T, class Start>
Result<T> awaitAnswer(Start start) {
  Completions one;
  std::mutex mutex;
  Result<T> answer = Error::internal("not called");
  start([&](Result<T> result) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      answer = std::move(result);
    }
    one.add();
  });
  REQUIRE(one.waitFor(1));
  CHECK(one.count() == 1);
  std::lock_guard<std::mutex> lock(mutex);
  return answer;
}

}  // namespace

TEST_CASE("sqlite suspendUserAsync and the asynchronous cascades: the blocking calls' answers and events",
          "[sqlite][async][cascade]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("async-cascade.db")));
  REQUIRE(store->seed(standardDataset()));
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  AdminService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  REQUIRE(service.completesWithoutBlocking());
  using Change = OrganizationChange;

  auto suspended = awaitAnswer<Change>(
      [&](auto done) { service.suspendOrganizationAsync(rootActor(), "org_r1", "cascade", std::move(done)); });
  REQUIRE(suspended);
  CHECK(suspended->organization.suspended);
  CHECK(suspended->changed_user_ids ==
        std::vector<std::string>{"usr_c1_admin", "usr_r1_admin", "usr_r1_super", "usr_r1_support"});
  auto again = awaitAnswer<Change>(
      [&](auto done) { service.suspendOrganizationAsync(rootActor(), "org_r1", "", std::move(done)); });
  REQUIRE_FALSE(again);
  CHECK(again.error().reason == service.suspendOrganization(rootActor(), "org_r1").error().reason);

  auto reactivated = awaitAnswer<Change>(
      [&](auto done) { service.reactivateOrganizationAsync(rootActor(), "org_r1", "cascade", std::move(done)); });
  REQUIRE(reactivated);
  CHECK(reactivated->changed_user_ids == suspended->changed_user_ids);

  auto user = awaitAnswer<User>(
      [&](auto done) { service.suspendUserAsync(rootActor(), "usr_r1_support", "one user", std::move(done)); });
  REQUIRE(user);
  CHECK(user->status == UserStatus::suspended);
  CHECK(user->suspended_by == std::string("usr_root"));
  auto twice = awaitAnswer<User>(
      [&](auto done) { service.suspendUserAsync(rootActor(), "usr_r1_support", "", std::move(done)); });
  REQUIRE_FALSE(twice);
  CHECK(twice.error().reason == "not_active");

  // Every answer committed its events before it was delivered.
  RawDb raw(dir.file("async-cascade.db"));
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE reason = 'organization_cascade'") == 8);
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE action = 'organization.suspend' AND "
                    "outcome = 'granted'") == 1);
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE outcome = 'failed_precondition'") == 3);
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE action = 'user.suspend' AND note = 'one user'") == 1);
}
