// SqliteStoreOptions::overlap_sync: the syncer thread makes the writer's
// commits durable. Concurrent units share its syncs; switched off, every
// commit syncs in its COMMIT; a completion that would block on the thread
// answering it is refused instead of deadlocking.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "sqlite/sqlite_test_support.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// Reactivates `id` in one unit; false when it was not suspended any more.
Status reactivate(UserStore& store, const std::string& id) {
  return store.transact([&](UnitOfWork& unit) -> Status {
    auto current = unit.findUser(id);
    if (!current) return std::move(current).error();
    if (!*current || (*current)->status != UserStatus::suspended) return Error::internal("not suspended: " + id);
    User after = **current;
    after.status = UserStatus::active;
    after.suspended_at.reset();
    after.suspended_by.reset();
    after.version += 1;
    auto swapped = unit.compareAndSetUser(after, (*current)->version);
    if (!swapped) return std::move(swapped).error();
    return *swapped ? okStatus() : Status(Error::internal("lost the compare-and-set: " + id));
  });
}

// 8 threads × 25 distinct reactivations; returns how many failed.
int reactivateCrowd(UserStore& store) {
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (!reactivate(store, "usr_c" + std::to_string(t * kEach + i))) ++failed;
    });
  }
  for (auto& thread : threads) thread.join();
  return failed.load();
}

}  // namespace

TEST_CASE("sqlite overlap_sync: concurrent units share syncs, and what was acknowledged is read back and kept",
          "[sqlite][concurrency]") {
  TempDir dir;
  const std::string path = dir.file("overlap.db");
  auto store = openOrThrow(sqliteOptions(path));
  REQUIRE(store->seed(datasetWithSuspended("usr_c", 200)));
  const StoreStats before = store->stats();
  REQUIRE(reactivateCrowd(*store) == 0);
  const StoreStats after = store->stats();
  const auto commits = after.commits - before.commits;
  const auto syncs = after.sync_seconds.count - before.sync_seconds.count;
  CHECK(after.units - before.units == 200);
  CHECK(commits >= 1);
  // Every acknowledged unit's commit was synced, and never more than once
  // per commit; a sync in flight lets later commits share the next one.
  CHECK(syncs >= 1);
  CHECK(syncs <= commits);
  // A read after the acknowledgement sees it (and waited for the disk).
  for (int i = 0; i < 200; ++i) CHECK(store->findUser("usr_c" + std::to_string(i)).value()->status == UserStatus::active);
  store.reset();
  auto reopened = openOrThrow(sqliteOptions(path));
  for (int i = 0; i < 200; ++i)
    CHECK(reopened->findUser("usr_c" + std::to_string(i)).value()->status == UserStatus::active);
}

TEST_CASE("sqlite overlap_sync off: every COMMIT syncs on the writer", "[sqlite][concurrency]") {
  TempDir dir;
  SqliteStoreOptions options = sqliteOptions(dir.file("plain.db"));
  options.overlap_sync = false;
  auto store = openOrThrow(options);
  REQUIRE(store->seed(datasetWithSuspended("usr_c", 200)));
  const StoreStats before = store->stats();
  REQUIRE(reactivateCrowd(*store) == 0);
  const StoreStats after = store->stats();
  CHECK(after.units - before.units == 200);
  CHECK(after.sync_seconds.count - before.sync_seconds.count == after.commits - before.commits);
}

TEST_CASE("sqlite transactAsync: a completion that calls transact is refused, not left waiting for itself",
          "[sqlite][async]") {
  const bool overlap = GENERATE(true, false);
  INFO("overlap_sync " << overlap);
  TempDir dir;
  SqliteStoreOptions options = sqliteOptions(dir.file("nested.db"));
  options.overlap_sync = overlap;
  auto store = openOrThrow(options);
  std::promise<Status> nested;
  store->transactAsync([](UnitOfWork&) { return okStatus(); },
                       [&](Status) { nested.set_value(store->transact([](UnitOfWork&) { return okStatus(); })); });
  auto answer = nested.get_future();
  REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const Status status = answer.get();
  REQUIRE_FALSE(status);
  CHECK(status.error().code == ErrorCode::internal);
  // The store is still usable.
  CHECK(store->transact([](UnitOfWork&) { return okStatus(); }));
}
