// The SQLite UserStore: the embedded default, durable and concurrent.
#ifndef USERADMIN_SQLITE_SQLITE_STORE_HPP
#define USERADMIN_SQLITE_SQLITE_STORE_HPP

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "useradmin/export.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/result.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin {

/// How far a commit must reach before a unit of work is acknowledged.
enum class SqliteDurability {
  /// `synchronous=FULL`: the WAL is fsynced at every commit; an acknowledged
  /// change survives power loss. The default.
  full,
  /// `synchronous=NORMAL`: an acknowledged change survives a process crash
  /// but the last commits may be lost on power loss.
  normal,
};

/// Options for openSqliteStore. Only `path` is required.
struct SqliteStoreOptions {
  /// The database file; created (and migrated) when absent.
  std::string path;
  SqliteDurability durability = SqliteDurability::full;
  /// The policy fixture loads are validated against; must outlive the store.
  const Policy* policy = &defaultPolicy();
  /// How long one statement waits for another connection's lock.
  std::chrono::milliseconds busy_timeout{5000};
  /// Most units of work committed together by the writer (group commit).
  std::size_t max_batch = 64;
  /// With `full` durability (on Linux, SQLite's default VFS): the writer
  /// does not wait for the disk inside COMMIT; a syncer thread fdatasyncs
  /// the write-ahead log and acknowledges every unit a sync covered, while
  /// the writer already runs the next batch. The promise is FULL's: no unit
  /// is acknowledged, and no read answered, before what it saw is on disk.
  /// Off: every COMMIT syncs on the writer (SQLite's own FULL). Ignored
  /// with `normal` durability or a custom `vfs` (whose syncs it would skip).
  bool overlap_sync = true;
  /// Reader connections (for findUser and read() outside units of work).
  std::size_t readers = 4;
  /// Run `PRAGMA quick_check` on open and refuse a damaged file. It reads
  /// the whole database (about a second per few hundred MB), so embedders
  /// with very large files and their own integrity checks may turn it off;
  /// a file that is not a database is refused either way.
  bool verify_on_open = true;
  /// Keep organizations read by units of work in memory on the writer, so
  /// organization chains cost map lookups instead of a recursive query. The
  /// cache is checked against a change counter (kept by triggers, whoever
  /// writes) at the start of every write transaction, so it never serves a
  /// stale tree; turning it off changes speed, never answers.
  bool cache_organizations = true;
  /// The SQLite VFS the files are opened through, by its registered name
  /// (`sqlite3_vfs_register`); empty means SQLite's default. For embedders
  /// with their own VFS, and for fault-injection tests.
  std::string vfs;
  /// Where the store reports storage trouble it finds by itself, outside
  /// any call (a deleted write-ahead log): one line per event. Empty means
  /// standard error. Called from the store's writer thread.
  std::function<void(const std::string&)> log;
};

/// Opens (creating and migrating if needed) a SQLite database as a
/// UserStore. Units of work from all threads go through one writer that
/// commits them in batches, each unit under its own SAVEPOINT, and
/// acknowledges a unit only after its batch's COMMIT.
///
/// Errors: `invalid_argument` for bad options; `internal` when the file is
/// not a SQLite database, is corrupt, or has a schema newer than this
/// library knows (the file is left untouched in each case), and when it
/// cannot be written (read-only or immutable file, directory or file
/// system); `unavailable` when the database stays locked past the busy
/// timeout.
USERADMIN_API Result<std::unique_ptr<UserStore>> openSqliteStore(const SqliteStoreOptions& options);

/// For a program that owns its process (the example server calls it first
/// thing): turns off SQLite's memory statistics (SQLITE_CONFIG_MEMSTATUS),
/// so that SQLite's allocations stop taking a process-wide mutex to count
/// themselves (about 200 times per unit of work, since Debian's SQLite has
/// no lookaside memory). A global setting: it also applies to every other
/// SQLite user in the process, and `sqlite3_memory_used()` reads 0 after
/// it. Works only before SQLite's first use; false (and nothing changed)
/// afterwards. Libraries embedding the store should leave the choice to
/// their program.
USERADMIN_API bool tuneSqliteForThisProcess();

/// Whether a store returned by openSqliteStore can still keep its
/// durability promise. `internal`, with the reason in `Error::detail`, once
/// its database file or write-ahead log was deleted or replaced while it
/// was open; the store then refuses writes until it is reopened (restart).
/// Checks the files now (a few `stat` calls). Ok for any other store.
USERADMIN_API Status sqliteStoreHealth(const UserStore& store);

/// Readiness for a server's health endpoint: true while
/// sqliteStoreHealth(store) is ok.
USERADMIN_API bool sqliteStoreReady(const UserStore& store);

}  // namespace useradmin

#endif  // USERADMIN_SQLITE_SQLITE_STORE_HPP
