// The SQLite side of the lifecycle: a version 1 database upgraded in place,
// and the writer's organization cache under units that change organizations.
#include <atomic>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>

#include "../../lib/sqlite/schema.hpp"  // to build a version 1 file
#include "sqlite/sqlite_test_support.hpp"
#include "useradmin/admin_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

Actor rootActor() {
  Actor a;
  a.user_id = "usr_root";
  a.credential_issued_at = systemClock().now();
  return a;
}

// Reads org_r1 (through the cache) in a unit.
bool r1Suspended(UnitOfWork& unit) { return unit.organizationChain("org_c1").value().at(1).suspended; }

Organization r1(UnitOfWork& unit) { return unit.organizationChain("org_r1").value().at(0); }

}  // namespace

#if !defined(USERADMIN_SHARED_LIBRARY)
TEST_CASE("sqlite migrations: a version 1 database with data is upgraded in place", "[sqlite][migration]") {
  TempDir dir;
  const auto path = dir.file("v1.db");
  {
    auto c = detail::Connection::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, std::chrono::seconds(1));
    REQUIRE(c);
    const std::vector<detail::Migration> v1(detail::schemaMigrations().begin(), detail::schemaMigrations().begin() + 1);
    REQUIRE(detail::migrate(**c, v1, detail::RetryBudget{}).value() == 1);
  }
  {
    RawDb raw(path);
    REQUIRE(raw.exec(R"sql(
      INSERT INTO organizations (id, name, type, parent_id, suspended) VALUES
        ('org_owner', 'HQ', 'owner', NULL, 0), ('org_d1', 'D1', 'distributor', 'org_owner', 0),
        ('org_c1', 'C1', 'customer', 'org_d1', 1);
      INSERT INTO users VALUES ('usr_root', 'root', 'r@x', 'Root', 'org_owner', 'active', NULL, NULL, NULL, NULL, 1, 1),
                               ('usr_a', 'a', 'a@x', 'A', 'org_d1', 'active', NULL, NULL, NULL, NULL, 1, 1);
      INSERT INTO user_roles VALUES ('usr_root', 0, 'super'), ('usr_a', 0, 'admin');
      INSERT INTO audit_events (time, action, actor_id, target_id, outcome, reason, request_id, client_address, note)
        VALUES (1, 'user.reactivate', 'usr_root', 'usr_a', 'granted', 'reactivated', 'r1', '::1', ''),
               (2, 'user.reactivate', 'usr_root', 'usr_gone', 'not_found', 'no_such_user', 'r2', '::1', '');
    )sql") == SQLITE_OK);
  }
  auto store = openOrThrow(sqliteOptions(path));
  RawDb raw(path);
  CHECK(raw.integer("PRAGMA user_version") >= 2);  // v2 ran (and any later step)
  CHECK(raw.integer("SELECT count(*) FROM organizations WHERE version = 1 AND updated_at > 0") == 3);
  CHECK(raw.text("SELECT suspended_at IS NOT NULL FROM organizations WHERE id = 'org_c1'") == "1");
  CHECK(raw.text("SELECT suspended_at IS NULL FROM organizations WHERE id = 'org_d1'") == "1");
  const auto events = store->auditEvents().value().events;
  REQUIRE(events.size() == 2);
  CHECK(events[0].target_type == "user");
  CHECK(events[0].target_organization_id == std::string("org_d1"));
  CHECK_FALSE(events[1].target_organization_id);
  for (const char* index : {"audit_by_target", "audit_by_actor", "users_by_suspending_organization"}) {
    INFO(index);
    CHECK(raw.integer(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = '") + index +
                      "'") == 1);
  }
  // Version 2's indexes that no query read are gone again (version 6).
  for (const char* index : {"audit_by_target_organization", "audit_by_action"}) {
    INFO(index);
    CHECK(raw.integer(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + index + "'") == 0);
  }
  // The upgraded file serves the new operations.
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  AdminService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  auto suspended = service.suspendOrganization(rootActor(), "org_d1");
  REQUIRE(suspended);
  CHECK(suspended->changed_user_ids == std::vector<std::string>{"usr_a"});
  CHECK(suspended->organization.version == 2);
}
#endif  // !USERADMIN_SHARED_LIBRARY

TEST_CASE("sqlite store: the cascade statements use the indexes, not a scan of users", "[sqlite][cascade]") {
  TempDir dir;
  const auto path = dir.file("plan.db");
  { auto store = openOrThrow(sqliteOptions(path)); }
  RawDb raw(path);
  auto plan = [&](const std::string& sql) {
    std::string all;
    for (const auto& row : raw.rows("EXPLAIN QUERY PLAN " + sql)) all += row.back() + "\n";
    return all;
  };
  const std::string suspend = plan(
      "UPDATE users SET status = 'suspended' WHERE +status = 'active' AND organization_id IN ('a', 'b')");
  INFO(suspend);
  CHECK(suspend.find("users_by_organization") != std::string::npos);
  const std::string reactivate =
      plan("UPDATE users SET status = 'active' WHERE suspended_by_org_id = 'a' AND status = 'suspended'");
  INFO(reactivate);
  CHECK(reactivate.find("users_by_suspending_organization") != std::string::npos);
}

TEST_CASE("sqlite store: listings and audit reads seek an index, never scan a table", "[sqlite][reads]") {
  TempDir dir;
  const auto path = dir.file("plan.db");
  { auto store = openOrThrow(sqliteOptions(path)); }
  RawDb raw(path);
  auto plan = [&](const std::string& sql) {
    std::string all;
    for (const auto& row : raw.rows("EXPLAIN QUERY PLAN " + sql)) all += row.back() + "\n";
    return all;
  };
  const std::pair<const char*, const char*> cases[] = {
      {"SELECT * FROM users WHERE organization_id = 'o' AND +status = 'active' AND id > '' ORDER BY id LIMIT 9",
       "users_by_organization (organization_id=? AND id>?)"},
      {"SELECT * FROM users WHERE status = 'suspended' AND id > '' ORDER BY id", "users_by_status (status=? AND id>?)"},
      {"SELECT * FROM audit_events WHERE target_id = 'u' AND id > 0 ORDER BY id", "audit_by_target (target_id=? AND id>?)"},
      {"SELECT * FROM audit_events WHERE actor_id = 'u' AND id > 0 ORDER BY id", "audit_by_actor (actor_id=? AND id>?)"},
      {"SELECT * FROM audit_events WHERE id > 0 ORDER BY id", "INTEGER PRIMARY KEY (rowid>?)"},
  };
  for (const auto& [sql, expected] : cases) {
    const std::string got = plan(sql);
    INFO(sql << "\n" << got);
    CHECK(got.find(expected) != std::string::npos);
    CHECK(got.find("SCAN") == std::string::npos);
  }
}

TEST_CASE("sqlite store: a unit that changes an organization sees the change through the chain cache",
          "[sqlite][cache]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("cache.db")));
  REQUIRE(store->seed(standardDataset()));
  REQUIRE(store->transact([](UnitOfWork& unit) -> Status {
    CHECK_FALSE(r1Suspended(unit));  // org_r1 is cached now
    Organization changed = r1(unit);
    changed.suspended = true;
    changed.version += 1;
    REQUIRE(unit.compareAndSetOrganization(changed, changed.version - 1).value());
    CHECK(r1Suspended(unit));
    return okStatus();
  }));
  REQUIRE(store->transact([](UnitOfWork& unit) -> Status {
    CHECK(r1Suspended(unit));
    return okStatus();
  }));
}

TEST_CASE("sqlite store: an organization change rolled back is never served from the cache",
          "[sqlite][cache][concurrency]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("rollback.db")));
  REQUIRE(store->seed(standardDataset()));
  // Writers suspend org_r1, read it back suspended, and fail (roll back);
  // readers in the same batches must only ever see it unsuspended.
  std::atomic<int> stale{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        Status s = store->transact([&](UnitOfWork& unit) -> Status {
          if (t % 2 == 1) {
            if (r1Suspended(unit)) ++stale;
            return okStatus();
          }
          Organization changed = r1(unit);
          changed.suspended = true;
          changed.version += 1;
          if (!unit.compareAndSetOrganization(changed, changed.version - 1).value()) ++stale;
          if (!r1Suspended(unit)) ++stale;
          return Error::internal("rolled back on purpose");
        });
        if ((t % 2 == 1) != static_cast<bool>(s)) ++stale;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(stale == 0);
}
