// Storage faults at the library level: a database that cannot be written,
// a full disk, an I/O error once, a lock held past the busy budget, handles
// that stop working, a deleted write-ahead log. Each fault fails only the
// requests that meet it, loses no acknowledged change, and is survived
// without reopening the store.
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <thread>

#include <catch2/catch.hpp>

#include "sqlite/fault_vfs.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "support/immutable_file.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

const std::string kPrefix = "usr_fault_";

std::string target(int i) { return kPrefix + std::to_string(i); }

// A new database file at `path` holding the standard hierarchy and ten
// suspended targets.
void seedFile(const std::string& path) {
  if (!openOrThrow(sqliteOptions(path))->seed(datasetWithSuspended(kPrefix, 10)))
    throw std::runtime_error("seeding " + path + " failed");
}

// A seeded database file and a store on it through the fault VFS, with the
// service that reactivates through it.
struct FaultyStore {
  TempDir dir;
  std::string path = dir.file("faults.db");
  FaultVfs& vfs = FaultVfs::instance();
  std::unique_ptr<UserStore> store;
  std::unique_ptr<Authorizer> authorizer = makePolicyAuthorizer(defaultPolicy());
  std::unique_ptr<ReactivationService> service;

  explicit FaultyStore(std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000)) {
    seedFile(path);
    SqliteStoreOptions options = sqliteOptions(path);
    options.vfs = FaultVfs::kName;
    options.busy_timeout = busy_timeout;
    store = openOrThrow(options);
    service = std::make_unique<ReactivationService>(
        ServiceDeps{*store, *authorizer, systemClock(), nullptr});
  }
  ~FaultyStore() { vfs.reset(); }

  Result<User> reactivate(const std::string& id) {
    Actor actor;
    actor.user_id = "usr_root";
    actor.credential_issued_at = systemClock().now();
    actor.request_id = "req-fault";
    return service->reactivateUser(actor, id);
  }

  // After the store is closed: the users the file says are active among
  // the targets, and the targets with a granted audit event.
  std::pair<std::vector<std::string>, std::vector<std::string>> persisted() {
    service.reset();
    store.reset();
    RawDb raw(path);
    CHECK(raw.text("PRAGMA integrity_check") == "ok");
    std::vector<std::string> active;
    for (const auto& row : raw.rows("SELECT id FROM users WHERE status = 'active' AND id LIKE 'usr_fault_%' ORDER BY id"))
      active.push_back(row[0]);
    std::vector<std::string> granted;
    for (const auto& row : raw.rows("SELECT target_id FROM audit_events WHERE outcome = 'granted' ORDER BY target_id"))
      granted.push_back(row[0]);
    return {active, granted};
  }
};

// What every fault must leave: the request that met it failed with
// `expected`, the store kept answering, the next request after the cause
// went away succeeded, and exactly the acknowledged changes are on disk.
void checkFaultSurvived(FaultyStore& f, ErrorCode expected, const std::function<void()>& inject,
                        const std::function<void()>& remove) {
  REQUIRE(f.reactivate(target(0)));  // acknowledged before the fault
  inject();
  auto failed = f.reactivate(target(1));
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == expected);
  // Reads are still served (every reactivation, even a refused one, writes
  // an audit event, so those wait for the cause to go).
  CHECK(f.store->findUser(target(0)).value()->status == UserStatus::active);
  CHECK(f.store->auditEvents().value().events.size() == 1);
  remove();
  REQUIRE(f.reactivate(target(1)));  // recovered without reopening the store
  REQUIRE(f.reactivate(target(2)));
  CHECK(f.store->findUser(target(2)).value()->status == UserStatus::active);

  const auto [active, granted] = f.persisted();
  const std::vector<std::string> acknowledged = {target(0), target(1), target(2)};
  CHECK(active == acknowledged);
  CHECK(granted == acknowledged);
}

}  // namespace

TEST_CASE("sqlite faults: a database SQLite can only read is refused at open, untouched", "[sqlite][faults]") {
  FaultyStore f;
  f.store.reset();
  const std::string before = readBytes(f.path);
  f.vfs.openReadOnly(true);
  SqliteStoreOptions options = sqliteOptions(f.path);
  options.vfs = FaultVfs::kName;
  auto refused = openSqliteStore(options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::internal);
  CHECK_THAT(refused.error().detail, Catch::Contains("cannot be written"));
  CHECK(readBytes(f.path) == before);
  f.vfs.openReadOnly(false);
  CHECK(openSqliteStore(options));
}

TEST_CASE("sqlite faults: an immutable database file is refused at open (chattr +i)", "[sqlite][faults]") {
  TempDir dir;
  const auto path = dir.file("immutable.db");
  seedFile(path);
  ImmutableFile immutable(path);
  if (!immutable.active()) {
    WARN("the immutable attribute is not available here (needs root and ext4/xfs/btrfs); not tested");
    return;
  }
  auto refused = openSqliteStore(sqliteOptions(path));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Catch::Contains("cannot be written"));
  immutable.release();
  CHECK(openSqliteStore(sqliteOptions(path)));
}

TEST_CASE("sqlite faults: a full disk fails the commit, then the store carries on", "[sqlite][faults]") {
  FaultyStore f;
  checkFaultSurvived(
      f, ErrorCode::internal, [&] { f.vfs.failWrites(SQLITE_FULL, -1); }, [&] { f.vfs.reset(); });
}

TEST_CASE("sqlite faults: a write that fails once fails one commit only", "[sqlite][faults]") {
  FaultyStore f;
  checkFaultSurvived(
      f, ErrorCode::internal, [&] { f.vfs.failWrites(SQLITE_IOERR_WRITE, 1); }, [&] { CHECK(f.vfs.injected() == 1); });
}

TEST_CASE("sqlite faults: an fsync that fails once fails one commit only", "[sqlite][faults]") {
  FaultyStore f;
  checkFaultSurvived(
      f, ErrorCode::internal, [&] { f.vfs.failSyncs(SQLITE_IOERR_FSYNC, 1); }, [&] { CHECK(f.vfs.injected() == 1); });
}

TEST_CASE("sqlite faults: a lock held past the busy budget is unavailable, then released", "[sqlite][faults]") {
  FaultyStore f(std::chrono::milliseconds(50));
  std::unique_ptr<RawDb> holder;
  checkFaultSurvived(
      f, ErrorCode::unavailable,
      [&] {
        holder = std::make_unique<RawDb>(f.path);
        REQUIRE(holder->exec("BEGIN EXCLUSIVE") == SQLITE_OK);
      },
      [&] { holder.reset(); });
}

TEST_CASE("sqlite faults: a writer whose file handles went bad is reopened", "[sqlite][faults]") {
  // A descriptor that fails every write from some moment on (a stale NFS
  // handle, a device that was pulled and came back) never heals by itself:
  // only a new open does. The second request must find a fresh writer.
  FaultyStore f;
  checkFaultSurvived(
      f, ErrorCode::internal, [&] { f.vfs.makeOpenFilesStale(); }, [] {});
}

TEST_CASE("sqlite faults: a deleted WAL is detected, reported once, and loses nothing acknowledged",
          "[sqlite][faults][wal][slow]") {
  TempDir dir;
  const auto path = dir.file("wal.db");
  seedFile(path);

  // The child acknowledges one change, waits for the WAL to vanish and for
  // the store to notice, then tries another change and waits to be killed.
  Child child([&](int out) {
    SqliteStoreOptions options = sqliteOptions(path);
    options.log = [out](const std::string& line) { writeLine(out, "log: " + line); };
    auto store = openOrThrow(options);
    auto authorizer = makePolicyAuthorizer(defaultPolicy());
    ReactivationService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
    Actor actor;
    actor.user_id = "usr_root";
    actor.credential_issued_at = systemClock().now();
    if (service.reactivateUser(actor, target(0))) writeLine(out, "acknowledged");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sqliteStoreReady(*store) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    writeLine(out, "ready: " + std::string(sqliteStoreReady(*store) ? "yes" : "no"));
    writeLine(out, service.reactivateUser(actor, target(1)) ? "second: acknowledged" : "second: refused");
    writeLine(out, "done");
    pause();
    return 0;
  });
  REQUIRE_THAT(child.readUntil("acknowledged", 30000), Catch::Contains("acknowledged"));
  REQUIRE(::unlink((path + "-wal").c_str()) == 0);
  // By "done" the writer has salvaged the WAL: the refused second change
  // went through it first.
  const std::string out = child.readUntil("done", 30000);
  child.kill9();
  const std::string all = out + child.readAll();
  INFO(all);
  CHECK_THAT(out, Catch::Contains("ready: no"));
  CHECK_THAT(out, Catch::Contains("second: refused"));
  std::size_t logged = 0;
  for (const auto& line : completeLines(all)) {
    if (line.rfind("log: ", 0) != 0) continue;
    ++logged;
    CHECK_THAT(line, Catch::Contains("write-ahead log") && Catch::Contains("deleted"));
  }
  CHECK(logged == 1);  // one line, not one per check

  RawDb raw(path);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  CHECK(raw.text("SELECT status FROM users WHERE id = '" + target(0) + "'") == "active");
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE target_id = '" + target(0) + "'") == 1);
  CHECK(raw.text("SELECT status FROM users WHERE id = '" + target(1) + "'") == "suspended");
}

TEST_CASE("sqlite faults: health is ok on an untouched store and names a replaced database file",
          "[sqlite][faults][wal]") {
  TempDir dir;
  const auto path = dir.file("health.db");
  SqliteStoreOptions options = sqliteOptions(path);
  std::vector<std::string> logged;
  options.log = [&](const std::string& line) { logged.push_back(line); };
  auto store = openOrThrow(options);
  REQUIRE(store->seed(standardDataset()));
  CHECK(sqliteStoreHealth(*store));
  CHECK(sqliteStoreReady(*store));
  // A copy moved over the original: a new inode under the same name.
  std::filesystem::copy_file(path, path + ".copy");
  std::filesystem::rename(path + ".copy", path);
  auto health = sqliteStoreHealth(*store);
  REQUIRE_FALSE(health);
  CHECK_THAT(health.error().detail, Catch::Contains("database file") && Catch::Contains("replaced"));
  CHECK_FALSE(sqliteStoreReady(*store));
  // Writes are refused from then on; reads still work.
  CHECK_FALSE(store->seed(standardDataset()));
  CHECK(store->findUser("usr_root").value().has_value());
  store.reset();
  CHECK(logged.size() == 1);
  // Any other store is always healthy.
  auto memory = makeMemoryStore(defaultPolicy());
  CHECK(sqliteStoreHealth(*memory));
}
