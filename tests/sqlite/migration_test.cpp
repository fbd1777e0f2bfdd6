// Schema versions: from an empty file to the latest, idempotent reopen,
// refusal of newer or foreign files, and the step runner itself.
#include <catch2/catch.hpp>

#include "../../lib/sqlite/schema.hpp"  // the migration runner, tested with synthetic steps
#include "sqlite/sqlite_test_support.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

std::vector<std::vector<std::string>> schemaOf(RawDb& db) {
  return db.rows("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name");
}

// The schema version this library writes: bump it with every new migration
// (the runner test below checks it against the migration list).
constexpr std::int64_t kLatestVersion = 6;
std::int64_t latestVersion() { return kLatestVersion; }

// Reactivates `id` with its audit event, as the service's unit does.
Status activate(UserStore& store, const std::string& id) {
  return store.transact([&](UnitOfWork& unit) -> Status {
    auto current = unit.findUser(id);
    if (!current) return std::move(current).error();
    if (!*current) return Error::internal("no user " + id);
    auto swapped = unit.compareAndSetUser(activated(**current), (*current)->version);
    if (!swapped) return std::move(swapped).error();
    if (!*swapped) return Error::internal("lost the compare-and-set of " + id);
    return unit.appendAudit(grantedEvent(id));
  });
}

}  // namespace

TEST_CASE("sqlite migrations: an empty file is migrated to the latest version", "[sqlite][migration]") {
  TempDir dir;
  const auto path = dir.file("new.db");
  { auto store = openOrThrow(sqliteOptions(path)); }
  RawDb raw(path);
  CHECK(raw.integer("PRAGMA user_version") == latestVersion());
  CHECK(raw.integer("PRAGMA application_id") == detail::kApplicationId);
  for (const char* table : {"organizations", "users", "user_roles", "audit_events", "store_meta", "directory_outbox"}) {
    INFO(table);
    CHECK(raw.integer(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '") + table +
                      "'") == 1);
  }
  for (const char* index : {"organizations_by_parent", "users_by_organization", "directory_outbox_due"}) {
    INFO(index);
    CHECK(raw.integer(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = '") + index +
                      "'") == 1);
  }
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'organizations'") == 3);
  // A zero-byte file (as mkstemp leaves it) counts as empty too.
  const auto zero = dir.file("zero.db");
  writeBytes(zero, "");
  CHECK(openSqliteStore(sqliteOptions(zero)));
}

TEST_CASE("sqlite migrations: reopening a current database changes nothing", "[sqlite][migration]") {
  TempDir dir;
  const auto path = dir.file("current.db");
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(standardDataset()));
  }
  std::vector<std::vector<std::string>> before;
  {
    RawDb raw(path);
    before = schemaOf(raw);
  }
  for (int i = 0; i < 3; ++i) {
    auto store = openOrThrow(sqliteOptions(path));
    CHECK(store->findUser("usr_root").value().has_value());
  }
  RawDb raw(path);
  CHECK(schemaOf(raw) == before);
  CHECK(raw.integer("PRAGMA user_version") == latestVersion());
  CHECK(raw.integer("SELECT count(*) FROM users") == static_cast<std::int64_t>(standardDataset().users.size()));
}

TEST_CASE("sqlite migrations: a version 4 database gains the directory outbox and keeps its data",
          "[sqlite][migration][outbox]") {
  TempDir dir;
  const auto path = dir.file("v4.db");
  std::vector<std::vector<std::string>> latest_schema;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(standardDataset()));
  }
  {
    // What version 4 wrote: everything but version 5's table and index.
    RawDb raw(path);
    latest_schema = schemaOf(raw);
    REQUIRE(raw.exec("DROP TABLE directory_outbox; PRAGMA user_version = 4") == SQLITE_OK);
    REQUIRE(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'directory_outbox%'") == 0);
  }
  {
    auto store = openOrThrow(sqliteOptions(path));
    CHECK(store->findUser("usr_c1_target").value().has_value());
    // The new table works at once.
    REQUIRE(store->transact([](UnitOfWork& unit) {
      return unit.queueDirectoryUpdate({"usr_c1_target", "usr_c1_target", UserStatus::suspended, 1}, testEpoch(),
                                       testEpoch());
    }));
    auto stats = store->directoryOutboxStats();
    REQUIRE(stats);
    CHECK(stats->pending == 1);
  }
  RawDb raw(path);
  CHECK(raw.integer("PRAGMA user_version") == latestVersion());
  CHECK(schemaOf(raw) == latest_schema);
  CHECK(raw.integer("SELECT count(*) FROM users") == static_cast<std::int64_t>(standardDataset().users.size()));
  CHECK(raw.integer("SELECT count(*) FROM directory_outbox") == 1);
  // The table refuses what the store never writes.
  CHECK(raw.exec("INSERT INTO directory_outbox (user_id, external_id, status, user_version, enqueued_at,"
                 " next_attempt_at) VALUES ('u', 'u', 'deleted', 1, 0, 0)") != SQLITE_OK);
  CHECK(raw.exec("INSERT INTO directory_outbox (user_id, external_id, status, user_version, enqueued_at,"
                 " next_attempt_at) VALUES ('usr_c1_target', 'u', 'active', 1, 0, 0)") != SQLITE_OK);
}

TEST_CASE("sqlite migrations: a version 5 database loses the indexes no query reads and keeps its data",
          "[sqlite][migration]") {
  TempDir dir;
  const auto path = dir.file("v5.db");
  std::vector<std::vector<std::string>> latest_schema;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(standardDataset()));
    REQUIRE(activate(*store, "usr_c1_target"));
  }
  {
    // What version 5 wrote: its users_by_organization and two more audit indexes.
    RawDb raw(path);
    latest_schema = schemaOf(raw);
    REQUIRE(raw.exec("DROP INDEX users_by_organization;"
                     "CREATE INDEX users_by_organization ON users (organization_id, status, id);"
                     "CREATE INDEX audit_by_target_organization ON audit_events (target_organization_id, id);"
                     "CREATE INDEX audit_by_action ON audit_events (action, id);"
                     "PRAGMA user_version = 5") == SQLITE_OK);
  }
  {
    auto store = openOrThrow(sqliteOptions(path));
    CHECK(store->findUser("usr_c1_target").value()->status == UserStatus::active);
    CHECK(store->auditEvents().value().events.size() == 1);
    CHECK(activate(*store, "usr_c2_target"));
  }
  RawDb raw(path);
  CHECK(raw.integer("PRAGMA user_version") == latestVersion());
  CHECK(schemaOf(raw) == latest_schema);
  CHECK(raw.integer("SELECT count(*) FROM users") == static_cast<std::int64_t>(standardDataset().users.size()));
  CHECK(raw.integer("SELECT count(*) FROM audit_events") == 2);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name IN ('audit_by_action', "
                    "'audit_by_target_organization')") == 0);
  CHECK(raw.text("SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('users_by_organization') "
                 "ORDER BY seqno)") == "organization_id,id");
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("sqlite migrations: a file with a newer schema is refused and left untouched", "[sqlite][migration]") {
  TempDir dir;
  const auto path = dir.file("future.db");
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(standardDataset()));
  }
  {
    RawDb raw(path);
    REQUIRE(raw.exec("PRAGMA user_version = " + std::to_string(latestVersion() + 1)) == SQLITE_OK);
    REQUIRE(raw.exec("PRAGMA journal_mode = DELETE") == SQLITE_OK);  // fold the WAL into the file
  }
  const std::string bytes = readBytes(path);
  auto store = openSqliteStore(sqliteOptions(path));
  REQUIRE_FALSE(store);
  CHECK(store.error().code == ErrorCode::internal);
  CHECK(store.error().detail.find("newer") != std::string::npos);
  CHECK(store.error().detail.find(std::to_string(latestVersion() + 1)) != std::string::npos);
  CHECK(readBytes(path) == bytes);
}

TEST_CASE("sqlite migrations: a foreign SQLite database is refused and left untouched", "[sqlite][migration]") {
  TempDir dir;
  SECTION("another application's tables, no version") {
    const auto path = dir.file("foreign.db");
    {
      RawDb raw(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      REQUIRE(raw.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x')") ==
              SQLITE_OK);
    }
    const std::string bytes = readBytes(path);
    auto store = openSqliteStore(sqliteOptions(path));
    REQUIRE_FALSE(store);
    CHECK(store.error().detail.find("no useradmin schema version") != std::string::npos);
    CHECK(readBytes(path) == bytes);
  }
  SECTION("another application id") {
    const auto path = dir.file("other_app.db");
    {
      RawDb raw(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      REQUIRE(raw.exec("PRAGMA application_id = 1234; PRAGMA user_version = 1") == SQLITE_OK);
    }
    const std::string bytes = readBytes(path);
    auto store = openSqliteStore(sqliteOptions(path));
    REQUIRE_FALSE(store);
    CHECK(store.error().detail.find("another application") != std::string::npos);
    CHECK(readBytes(path) == bytes);
  }
}

// The runner is internal (hidden in a shared library), so this test links
// against it only in static builds, the default.
#if !defined(USERADMIN_SHARED_LIBRARY)
TEST_CASE("sqlite migrations: the runner applies exactly the missing steps, all or nothing", "[sqlite][migration]") {
  const std::vector<detail::Migration> steps = {
      {1, "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);"},
      {2, "t.b", "ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x';"},
      {3, "t index", "CREATE INDEX t_by_b ON t (b); INSERT INTO t (a) VALUES ('from step 3');"},
  };
  const std::vector<detail::Migration> up_to_1(steps.begin(), steps.begin() + 1);
  const std::vector<detail::Migration> up_to_2(steps.begin(), steps.begin() + 2);
  TempDir dir;
  auto open = [&](const std::string& name) {
    auto c = detail::Connection::open(dir.file(name), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                      std::chrono::milliseconds(1000));
    REQUIRE(c);
    return std::move(c).value();
  };
  const detail::RetryBudget budget;
  CHECK(static_cast<std::int64_t>(detail::schemaMigrations().size()) == kLatestVersion);

  // The reference: straight from empty to 3.
  auto reference = open("ref.db");
  REQUIRE(detail::inspectDatabase(*reference, steps, true));
  REQUIRE(detail::migrate(*reference, steps, budget).value() == 3);
  RawDb ref_raw(dir.file("ref.db"));
  const auto expected = schemaOf(ref_raw);

  for (const auto* start : {&up_to_1, &up_to_2}) {
    const std::string name = "from" + std::to_string(start->size()) + ".db";
    INFO(name);
    auto c = open(name);
    REQUIRE(detail::migrate(*c, *start, budget).value() == static_cast<int>(start->size()));
    REQUIRE(detail::inspectDatabase(*c, steps, true));
    REQUIRE(detail::migrate(*c, steps, budget).value() == 3);
    RawDb raw(dir.file(name));
    CHECK(schemaOf(raw) == expected);
    CHECK(raw.integer("PRAGMA user_version") == 3);
    CHECK(raw.integer("SELECT count(*) FROM t") == 1);  // step 3 ran once
    // Running again is a no-op.
    REQUIRE(detail::migrate(*c, steps, budget).value() == 3);
    CHECK(raw.integer("SELECT count(*) FROM t") == 1);
    // An older library refuses the newer file.
    Status older = detail::inspectDatabase(*c, up_to_2, false);
    REQUIRE_FALSE(older);
    CHECK(older.error().detail.find("newer") != std::string::npos);
  }

  SECTION("a failing step leaves the database at its old version") {
    auto c = open("broken.db");
    REQUIRE(detail::migrate(*c, up_to_1, budget).value() == 1);
    std::vector<detail::Migration> broken = up_to_2;
    broken.push_back({3, "bad", "CREATE TABLE u (x); THIS IS NOT SQL;"});
    auto failed = detail::migrate(*c, broken, budget);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().detail.find("migration 2") == std::string::npos);
    CHECK(failed.error().detail.find("migration 3") != std::string::npos);
    RawDb raw(dir.file("broken.db"));
    CHECK(raw.integer("PRAGMA user_version") == 1);
    CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'u'") == 0);
    CHECK(raw.integer("SELECT count(*) FROM pragma_table_info('t') WHERE name = 'b'") == 0);
  }
  SECTION("a step list with a gap is refused") {
    auto c = open("gap.db");
    const std::vector<detail::Migration> gap = {steps[0], steps[2]};
    CHECK_FALSE(detail::migrate(*c, gap, budget));
    CHECK_FALSE(detail::inspectDatabase(*c, gap, false));
  }
}
#endif  // !USERADMIN_SHARED_LIBRARY
