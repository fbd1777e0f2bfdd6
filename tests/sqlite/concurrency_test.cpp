// Concurrent reactivations through the real service on one database file:
// from many threads of one process, and from two processes at once.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "sqlite/sqlite_test_support.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

constexpr int kUsers = 60;
const std::string kPrefix = "usr_race_";

// The production wiring: default policy, policy authorizer, system clock.
struct Service {
  explicit Service(UserStore& store)
      : authorizer(makePolicyAuthorizer(defaultPolicy())),
        service(ServiceDeps{store, *authorizer, systemClock(), nullptr}) {}

  Result<User> reactivate(const std::string& id) {
    Actor actor;
    actor.user_id = "usr_root";
    actor.credential_issued_at = systemClock().now();
    actor.request_id = "req-race";
    return service.reactivateUser(actor, id);
  }

  std::unique_ptr<Authorizer> authorizer;
  ReactivationService service;
};

struct Tally {
  std::map<std::string, int> granted;
  int not_suspended = 0;
  int other = 0;
};

// `threads` threads each try every user once, each in its own shuffled
// order; `report` sees every outcome.
template <class Report>
void raceOverUsers(UserStore& store, int threads, unsigned seed, Report report) {
  Service service(store);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<int> order(kUsers);
      for (int i = 0; i < kUsers; ++i) order[static_cast<std::size_t>(i)] = i;
      std::shuffle(order.begin(), order.end(), std::mt19937(seed + static_cast<unsigned>(t)));
      for (int i : order) {
        const std::string id = kPrefix + std::to_string(i);
        report(id, service.reactivate(id));
      }
    });
  }
  for (auto& th : pool) th.join();
}

// What the file says after the race: every user active exactly once, one
// granted audit event each, and one event per attempt.
void checkFile(const std::string& path, std::size_t attempts) {
  RawDb raw(path);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  CHECK(raw.integer("SELECT count(*) FROM users WHERE id LIKE 'usr_race_%' AND status = 'active' AND version = 2") ==
        kUsers);
  CHECK(raw.integer("SELECT count(*) FROM (SELECT target_id FROM audit_events WHERE outcome = 'granted' "
                    "GROUP BY target_id HAVING count(*) = 1)") == kUsers);
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE outcome = 'granted'") == kUsers);
  CHECK(raw.integer("SELECT count(*) FROM audit_events") == static_cast<std::int64_t>(attempts));
}

}  // namespace

TEST_CASE("sqlite concurrency: threads racing on the same users give exactly one success each",
          "[sqlite][concurrency]") {
  TempDir dir;
  const auto path = dir.file("threads.db");
  constexpr int kThreads = 8;
  Tally tally;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(datasetWithSuspended(kPrefix, kUsers)));
    std::mutex m;
    raceOverUsers(*store, kThreads, 1, [&](const std::string& id, const Result<User>& r) {
      std::lock_guard lock(m);
      if (r) ++tally.granted[id];
      else if (r.error().code == ErrorCode::failed_precondition) ++tally.not_suspended;
      else ++tally.other;
    });
  }
  CHECK(tally.other == 0);
  CHECK(tally.granted.size() == static_cast<std::size_t>(kUsers));
  for (const auto& [id, count] : tally.granted) {
    INFO(id);
    CHECK(count == 1);
  }
  CHECK(tally.not_suspended == kUsers * (kThreads - 1));
  checkFile(path, static_cast<std::size_t>(kUsers * kThreads));
}

TEST_CASE("sqlite concurrency: two processes racing on the same file give exactly one success each",
          "[sqlite][concurrency][multiprocess]") {
  TempDir dir;
  const auto path = dir.file("processes.db");
  constexpr int kThreadsPerProcess = 4;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(datasetWithSuspended(kPrefix, kUsers)));
  }
  // Each child opens its own store on the file (after the fork: no SQLite
  // handle or thread crosses it) and reports "G id" per success, "N id" per
  // not_suspended and "E id code detail" for anything else.
  auto body = [&](unsigned seed) {
    return [&path, seed](int out) {
      auto store = openOrThrow(sqliteOptions(path));
      raceOverUsers(*store, kThreadsPerProcess, seed, [&](const std::string& id, const Result<User>& r) {
        if (r) writeLine(out, "G " + id);
        else if (r.error().code == ErrorCode::failed_precondition) writeLine(out, "N " + id);
        else writeLine(out, "E " + id + " " + toString(r.error().code) + " " + r.error().detail);
      });
      return 0;
    };
  };
  Child first(body(100));
  Child second(body(200));
  const auto first_lines = completeLines(first.readAll());
  const auto second_lines = completeLines(second.readAll());
  CHECK(first.wait() == 0);
  CHECK(second.wait() == 0);

  std::map<std::string, int> granted;
  int not_suspended = 0;
  for (const auto* lines : {&first_lines, &second_lines}) {
    for (const auto& line : *lines) {
      if (line.rfind("G ", 0) == 0) {
        ++granted[line.substr(2)];
      } else if (line.rfind("N ", 0) == 0) {
        ++not_suspended;
      } else {
        FAIL_CHECK("unexpected outcome: " << line);
      }
    }
  }
  CHECK(granted.size() == static_cast<std::size_t>(kUsers));
  for (const auto& [id, count] : granted) {
    INFO(id);
    CHECK(count == 1);
  }
  CHECK(not_suspended == kUsers * (2 * kThreadsPerProcess - 1));
  checkFile(path, static_cast<std::size_t>(kUsers * 2 * kThreadsPerProcess));
}
