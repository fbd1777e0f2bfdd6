// PostgreSQL-store specifics on the throwaway test cluster (ctest entry
// store.postgres); the shared behaviour lives in tests/store/*.
#include <atomic>
#include <chrono>
#include <mutex>
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

// The single value a query returns, as text (tests only).
std::string queryOne(const TestSchema& schema, const std::string& sql) {
  PGconn* c = PQconnectdb(schema.conninfo().c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  PQclear(PQexec(c, ("SET search_path TO " + schema.name()).c_str()));
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  std::string value = ok ? PQgetvalue(r, 0, 0) : std::string("<error: ") + PQresultErrorMessage(r) + ">";
  PQclear(r);
  PQfinish(c);
  return value;
}

}  // namespace

TEST_CASE("postgres store: an empty schema is migrated to the current version and reopens as is",
          "[postgres][migration]") {
  TestSchema schema;
  {
    auto store = openOrThrow(postgresOptions(schema));
    CHECK_FALSE(store->findUser("usr_root").value().has_value());
    REQUIRE(store->seed(standardDataset()));
  }
  CHECK(queryOne(schema, "SELECT version FROM useradmin_schema") == "2");
  CHECK(queryOne(schema, "SELECT count(*) FROM useradmin_schema") == "1");
  CHECK(queryOne(schema, "SELECT to_regclass('audit_events') IS NOT NULL") == "t");
  auto again = openOrThrow(postgresOptions(schema));
  CHECK(again->findUser("usr_c1_target").value().has_value());
  CHECK(queryOne(schema, "SELECT version FROM useradmin_schema") == "2");
}

TEST_CASE("postgres store: a schema newer than the library is refused and left untouched", "[postgres][migration]") {
  TestSchema schema;
  {
    auto store = openOrThrow(postgresOptions(schema));
    REQUIRE(store->seed(standardDataset()));
  }
  schema.exec("UPDATE useradmin_schema SET version = 99");
  auto refused = openPostgresStore(postgresOptions(schema));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::internal);
  CHECK_THAT(refused.error().detail, Catch::Contains("newer"));
  CHECK(queryOne(schema, "SELECT version FROM useradmin_schema") == "99");
  CHECK(queryOne(schema, "SELECT count(*) > 0 FROM users") == "t");
}

TEST_CASE("postgres store: useradmin tables without a version record are refused", "[postgres][migration]") {
  TestSchema schema;
  schema.exec("CREATE SCHEMA IF NOT EXISTS " + schema.name() + "; SET search_path TO " + schema.name() +
              "; CREATE TABLE users (id text)");
  auto refused = openPostgresStore(postgresOptions(schema));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::internal);
  CHECK(queryOne(schema, "SELECT to_regclass('useradmin_schema') IS NULL") == "t");
}

TEST_CASE("postgres store: instances opening an empty schema at once migrate it exactly once",
          "[postgres][migration][concurrency]") {
  TestSchema schema;
  constexpr int kInstances = 6;
  std::atomic<int> failures{0};
  std::mutex errors_mutex;
  std::string errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([&] {
      auto options = postgresOptions(schema);
      options.pool_size = 1;
      auto opened = openPostgresStore(options);
      if (opened) return;
      ++failures;
      std::lock_guard<std::mutex> lock(errors_mutex);
      errors += opened.error().message + ": " + opened.error().detail + "\n";
    });
  }
  for (auto& t : threads) t.join();
  INFO(errors);
  CHECK(failures.load() == 0);
  CHECK(queryOne(schema, "SELECT version FROM useradmin_schema") == "2");
  CHECK(queryOne(schema, "SELECT count(*) FROM useradmin_schema") == "1");
}

TEST_CASE("postgres store: bad options are invalid_argument, an unreachable server unavailable", "[postgres]") {
  PostgresStoreOptions options;
  auto no_conninfo = openPostgresStore(options);
  REQUIRE_FALSE(no_conninfo);
  CHECK(no_conninfo.error().code == ErrorCode::invalid_argument);
  options.conninfo = testConninfo();
  options.pool_size = 0;
  auto no_pool = openPostgresStore(options);
  REQUIRE_FALSE(no_pool);
  CHECK(no_pool.error().code == ErrorCode::invalid_argument);
  options.pool_size = 1;
  options.conninfo = "host=/nonexistent/socket/dir dbname=useradmin connect_timeout=2";
  auto unreachable = openPostgresStore(options);
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().code == ErrorCode::unavailable);
}

TEST_CASE("postgres store: URIs are told apart from file paths", "[postgres]") {
  CHECK(isPostgresUri("postgresql:///useradmin?host=/run/pg"));
  CHECK(isPostgresUri("postgres://u@db/useradmin"));
  CHECK_FALSE(isPostgresUri("useradmin.db"));
  CHECK_FALSE(isPostgresUri("/var/lib/postgresql.db"));
}

TEST_CASE("postgres store: two stores on one schema (two processes) see each other's commits at once",
          "[postgres][concurrency]") {
  TestSchema schema;
  auto a = openOrThrow(postgresOptions(schema));
  auto b = openOrThrow(postgresOptions(schema));
  REQUIRE(a->seed(standardDataset()));
  // An organization change through A is what B's next unit reads: no cache.
  REQUIRE(a->transact([&](UnitOfWork& unit) -> Status {
    auto chain = unit.organizationChain("org_r1");
    REQUIRE(chain);
    Organization changed = chain->front();
    changed.suspended = true;
    changed.version += 1;
    auto set = unit.compareAndSetOrganization(changed, chain->front().version);
    REQUIRE(set);
    CHECK(*set);
    return okStatus();
  }));
  bool suspended_seen = false;
  REQUIRE(b->transact([&](UnitOfWork& unit) -> Status {
    auto chain = unit.organizationChain("org_c1");
    REQUIRE(chain);
    REQUIRE(chain->size() >= 2);
    suspended_seen = (*chain)[1].suspended;
    return okStatus();
  }));
  CHECK(suspended_seen);
}

TEST_CASE("postgres store: only one store of a fleet claims outbox entries, the next takes over when it goes",
          "[postgres][outbox]") {
  TestSchema schema;
  auto a = openOrThrow(postgresOptions(schema));
  auto b = openOrThrow(postgresOptions(schema));
  REQUIRE(a->seed(standardDataset()));
  const Timestamp now = testEpoch();
  REQUIRE(a->transact([&](UnitOfWork& unit) -> Status {
    return unit.queueDirectoryUpdate({"usr_c1_target", "usr_c1_target", UserStatus::active, 2}, now, now);
  }));
  // B asks first and takes the lead; A, another instance, stands by.
  auto claimed_by_b = b->claimDirectoryUpdates(now, 10);
  REQUIRE(claimed_by_b);
  CHECK(claimed_by_b->size() == 1);
  auto claimed_by_a = a->claimDirectoryUpdates(now, 10);
  REQUIRE(claimed_by_a);
  CHECK(claimed_by_a->empty());
  // B's instance goes away undelivered: its session ends, A takes over.
  // The server releases B's lock when B's backend has exited, a moment
  // after the client closed; a relay asks again at every poll.
  b.reset();
  auto taken_over = a->claimDirectoryUpdates(now, 10);
  for (int i = 0; i < 100 && taken_over && taken_over->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    taken_over = a->claimDirectoryUpdates(now, 10);
  }
  REQUIRE(taken_over);
  REQUIRE(taken_over->size() == 1);
  CHECK(taken_over->front().update.user_id == "usr_c1_target");
}

TEST_CASE("postgres store: racing compare-and-sets through two stores have exactly one winner",
          "[postgres][concurrency]") {
  TestSchema schema;
  auto a = openOrThrow(postgresOptions(schema));
  auto b = openOrThrow(postgresOptions(schema));
  REQUIRE(a->seed(standardDataset()));
  const User before = *a->findUser("usr_c1_target").value();
  constexpr int kThreads = 16;
  std::atomic<int> wins{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      UserStore& store = i % 2 == 0 ? *a : *b;
      bool won = false;
      Status s = store.transact([&](UnitOfWork& unit) -> Status {
        won = false;
        auto user = unit.findUser("usr_c1_target");
        if (!user) return std::move(user).error();
        if (!user->has_value() || (*user)->version != before.version) return okStatus();  // lost: nothing to do
        User next = activated(**user);
        next.version = before.version + 1;
        auto set = unit.compareAndSetUser(next, before.version);
        if (!set) return std::move(set).error();
        won = *set;
        return okStatus();
      });
      if (!s) ++errors;
      else if (won) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors.load() == 0);
  CHECK(wins.load() == 1);
  CHECK(a->findUser("usr_c1_target").value()->version == before.version + 1);
}

TEST_CASE("postgres store: a unit that throws is rolled back and the exception reaches the caller", "[postgres]") {
  TestSchema schema;
  auto store = openOrThrow(postgresOptions(schema));
  REQUIRE(store->seed(standardDataset()));
  const User before = *store->findUser("usr_c1_target").value();
  CHECK_THROWS_AS(store->transact([&](UnitOfWork& unit) -> Status {
    User next = activated(before);
    next.version += 1;
    REQUIRE(unit.compareAndSetUser(next, before.version).value());
    throw std::runtime_error("boom");
  }),
                  std::runtime_error);
  CHECK(*store->findUser("usr_c1_target").value() == before);
  // The connection went back to the pool usable.
  CHECK(store->transact([&](UnitOfWork& unit) { return unit.appendAudit(AuditEvent{}); }));
}

TEST_CASE("postgres store: a unit that calls transact gets an error instead of a deadlock", "[postgres]") {
  TestSchema schema;
  auto options = postgresOptions(schema);
  options.pool_size = 1;
  auto store = openOrThrow(options);
  Status inner;
  Status outer = store->transact([&](UnitOfWork&) -> Status {
    inner = store->transact([](UnitOfWork&) { return okStatus(); });
    return okStatus();
  });
  CHECK(outer);
  REQUIRE_FALSE(inner);
  CHECK(inner.error().code == ErrorCode::internal);
}

TEST_CASE("postgres store: connections ended by the server are re-established on their next use", "[postgres]") {
  TestSchema schema;
  auto options = postgresOptions(schema);
  options.pool_size = 2;
  auto store = openOrThrow(options);
  REQUIRE(store->seed(standardDataset()));
  // Every backend of this database but the one running the statement: the
  // store's whole pool, as a server restart or an administrator would.
  const std::string kill_pool =
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'";
  pgExecOrThrow(schema.conninfo(), kill_pool);
  CHECK(store->findUser("usr_c1_target").value().has_value());
  pgExecOrThrow(schema.conninfo(), kill_pool);
  const User before = *store->findUser("usr_c1_target").value();
  pgExecOrThrow(schema.conninfo(), kill_pool);
  Status changed = store->transact([&](UnitOfWork& unit) -> Status {
    auto set = unit.compareAndSetUser(activated(before), before.version);
    if (!set) return std::move(set).error();
    return *set ? okStatus() : Status(Error::internal("lost"));
  });
  CHECK(changed);
  pgExecOrThrow(schema.conninfo(), kill_pool);
  CHECK(store->auditEvents().has_value());
  CHECK(postgresStoreReady(*store));
  CHECK(store->findUser("usr_c1_target").value()->status == UserStatus::active);
}

TEST_CASE("postgres store: stats count commits, their durations, pool waits and deadlock retries",
          "[postgres][stats]") {
  TestSchema schema;
  auto options = postgresOptions(schema);
  options.pool_size = 1;
  auto store = openOrThrow(options);
  auto other = openOrThrow(postgresOptions(schema));
  REQUIRE(store->seed(standardDataset()));
  const StoreStats start = store->stats();
  CHECK(start.available);

  // Writes usr_FIRST then usr_SECOND in one unit; `meet` (if set) holds the
  // unit between the two until the other unit has its first row too, so two
  // such units in opposite orders deadlock once.
  std::atomic<int> at_meeting{0};
  const auto touch = [&](UserStore& s, const char* first, const char* second, bool meet) {
    bool met = false;
    return s.transact([&](UnitOfWork& unit) -> Status {
      for (const char* id : {first, second}) {
        auto user = unit.findUser(id);
        if (!user) return std::move(user).error();
        User next = **user;
        next.version += 1;
        auto set = unit.compareAndSetUser(next, (*user)->version);
        if (!set) return std::move(set).error();
        if (meet && !met) {  // only on the first attempt: a retry runs straight through
          met = true;
          ++at_meeting;
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
          while (at_meeting.load() < 2 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      return okStatus();
    });
  };

  SECTION("commits and their durations") {
    for (int i = 0; i < 3; ++i) REQUIRE(touch(*store, "usr_c1_target", "usr_c2_target", false));
    const StoreStats s = store->stats();
    CHECK(s.commits == start.commits + 3);
    CHECK(s.units == s.commits);
    CHECK(s.commit_seconds.count == start.commit_seconds.count + 3);
    CHECK(s.sync_seconds.count == start.sync_seconds.count + 3);
    CHECK(s.commit_seconds.sum > start.commit_seconds.sum);
    CHECK(s.commit_seconds.sum >= s.sync_seconds.sum);  // the COMMIT is part of the transaction
    CHECK(s.batch_size.count == s.commits);
    CHECK(s.failed_commits == start.failed_commits);
  }

  SECTION("a call that finds the pool busy waits and is counted") {
    std::atomic<bool> holding{false}, release{false};
    std::thread holder([&] {
      static_cast<void>(store->transact([&](UnitOfWork&) -> Status {
        holding = true;
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return okStatus();
      }));
    });
    while (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::thread waiter([&] { CHECK(store->findUser("usr_root").value().has_value()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release = true;
    holder.join();
    waiter.join();
    const StoreStats s = store->stats();
    CHECK(s.pool_waits >= start.pool_waits + 1);
    CHECK(s.pool_wait_seconds > start.pool_wait_seconds);
  }

  SECTION("a deadlock victim is run again and counted as a retry") {
    const StoreStats other_start = other->stats();
    Status a, b;
    std::thread ta([&] { a = touch(*store, "usr_c1_target", "usr_c2_target", true); });
    std::thread tb([&] { b = touch(*other, "usr_c2_target", "usr_c1_target", true); });
    ta.join();
    tb.join();
    CHECK(a);
    CHECK(b);
    const std::uint64_t retries = store->stats().retries - start.retries + other->stats().retries - other_start.retries;
    CHECK(retries >= 1);
  }
}
