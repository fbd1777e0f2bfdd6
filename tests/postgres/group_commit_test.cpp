// PostgresStoreOptions::group_commit: what batching adds beyond the shared
// suite (which store.postgres.group_commit runs with it on).
#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/fixtures.hpp"
#include "useradmin/fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

AuditEvent eventWithReason(const std::string& reason) {
  AuditEvent e;
  e.action = "user.reactivate";
  e.target_type = "user";
  e.target_id = "usr_c1_target";
  e.outcome = "granted";
  e.reason = reason;
  return e;
}

}  // namespace

TEST_CASE("postgres group commit: units queued behind a busy connection commit together, a failing one alone",
          "[postgres]") {
  const bool savepoints = GENERATE(true, false);
  CAPTURE(savepoints);
  TestSchema schema;
  auto options = postgresOptions(schema);
  options.group_commit = true;
  options.group_commit_savepoints = savepoints;
  options.pool_size = 1;  // so the units below queue behind the first
  auto store = openOrThrow(options);
  REQUIRE(store->seed(standardDataset()));

  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::thread first([&] {
    Status s = store->transact([&](UnitOfWork& unit) -> Status {
      inside = true;
      for (int i = 0; i < 1000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return unit.appendAudit(eventWithReason("first"));
    });
    CHECK(s);
  });
  while (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  constexpr std::size_t kUnits = 12;
  std::vector<Status> results(kUnits);
  std::atomic<std::size_t> thrown{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kUnits; ++i) {
    threads.emplace_back([&, i] {
      try {
        results[i] = store->transact([i](UnitOfWork& unit) -> Status {
          if (Status s = unit.appendAudit(eventWithReason("unit " + std::to_string(i))); !s) return s;
          if (i % 4 == 1) return Error::internal("unit " + std::to_string(i) + " fails after writing");
          if (i % 4 == 3) throw std::runtime_error("unit throws after writing");
          return okStatus();
        });
      } catch (const std::runtime_error&) {
        ++thrown;
      }
    });
  }
  // Let them queue (not a timed assertion: the checks below hold whatever
  // the batches turn out to be, except the last, which says they formed).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  release = true;
  first.join();
  for (auto& t : threads) t.join();

  CHECK(thrown == kUnits / 4);
  std::set<std::string> expected{"first"};
  for (std::size_t i = 0; i < kUnits; ++i) {
    if (i % 4 == 1) {
      REQUIRE_FALSE(results[i]);
      CHECK(results[i].error().detail == "unit " + std::to_string(i) + " fails after writing");
    } else if (i % 4 != 3) {
      CHECK(results[i]);
      expected.insert("unit " + std::to_string(i));
    }
  }
  auto page = store->auditEvents();
  REQUIRE(page);
  std::set<std::string> committed;
  for (const auto& e : page->events) CHECK(committed.insert(e.reason).second);
  CHECK(committed == expected);
  // Fewer commits than committed units: the queued ones shared commits
  // (without savepoints each failure costs its batch a rollback and rerun).
  if (savepoints) CHECK(store->stats().commits < expected.size());
}

TEST_CASE("postgres group commit: a cascade through transact runs in a transaction of its own", "[postgres]") {
  const bool savepoints = GENERATE(true, false);
  CAPTURE(savepoints);
  TestSchema schema;
  auto options = postgresOptions(schema);
  options.group_commit = true;
  options.group_commit_savepoints = savepoints;
  auto store = openOrThrow(options);
  REQUIRE(store->seed(standardDataset()));
  int runs = 0;
  Status s = store->transact([&](UnitOfWork& unit) -> Status {
    ++runs;
    Cascade cascade;
    cascade.organization_id = "org_c1";
    cascade.time = timestampFromMillis(1'700'000'000'000);
    cascade.actor_id = "usr_root";
    cascade.event = eventWithReason("organization_cascade");
    cascade.event.action = "user.suspend";
    auto changed = unit.suspendCascade(cascade);
    if (!changed) return std::move(changed).error();
    return changed->empty() ? Status(Error::internal("nothing changed")) : okStatus();
  });
  CHECK(s);
  CHECK(runs == 2);  // once in the batch (rolled back), once alone
  CHECK(store->findUser("usr_c1_admin").value()->status == UserStatus::suspended);
}
