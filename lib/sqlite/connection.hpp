// RAII over the SQLite C API: a connection with its prepared-statement cache,
// a checked-out statement that resets itself, and error mapping.
#ifndef USERADMIN_LIB_SQLITE_CONNECTION_HPP
#define USERADMIN_LIB_SQLITE_CONNECTION_HPP

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "useradmin/domain.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// True for the codes that mean "another connection holds a lock":
/// SQLITE_BUSY and SQLITE_LOCKED with any extended code.
bool isBusyCode(int rc) noexcept;

/// True for the codes after which a connection may be unusable until it is
/// reopened: I/O errors, a read-only or unopenable file, a damaged file,
/// a broken WAL protocol. Busy, constraint and SQL errors are not faults.
bool isConnectionFault(int rc) noexcept;

/// A prepared statement checked out of a Connection's cache for one use.
/// Binds parameters (1-based, as SQLite counts), steps, reads columns
/// (0-based), and on destruction resets the statement and clears its
/// bindings so the next use starts clean. Text is bound without copying:
/// the bound characters must stay alive until the use ends, which is why
/// temporaries cannot be bound.
class StatementUse {
 public:
  /// `fault` receives the code of a step that failed with a connection fault.
  StatementUse(sqlite3* db, sqlite3_stmt* stmt, bool* in_use, int* fault) noexcept;
  StatementUse(StatementUse&& other) noexcept;
  StatementUse& operator=(StatementUse&&) = delete;
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  ~StatementUse();

  void bindInt(int index, std::int64_t value);
  void bindText(int index, const char* text);
  void bindText(int index, std::string_view text);
  void bindText(int index, const std::string& text);
  void bindText(int index, std::string&& text) = delete;  // would dangle
  void bindNull(int index);
  /// Binds the text, or NULL when absent.
  void bindOptText(int index, const std::optional<std::string>& text);
  void bindOptText(int index, std::optional<std::string>&& text) = delete;
  /// Binds milliseconds since the epoch, or NULL when absent.
  void bindOptTime(int index, const std::optional<Timestamp>& time);

  /// One sqlite3_step: SQLITE_ROW, SQLITE_DONE or an error code. A failed
  /// bind is reported here, before stepping.
  int step();
  /// Steps once: true for a row, false when done, otherwise the error.
  Result<bool> next(std::string_view what);
  /// Steps to completion, for statements that return no rows.
  Status run(std::string_view what);

  bool isNull(int column) const;
  std::int64_t integer(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optionalText(int column) const;
  std::optional<Timestamp> optionalTime(int column) const;

  /// The error for a failed step (or bind), naming `what` was being done.
  Error failure(int rc, std::string_view what) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  int* fault_;
  int bind_rc_ = SQLITE_OK;
};

/// One SQLite connection and its statement cache. Not thread-safe: one
/// thread uses it at a time (the store's writer thread, or whoever leased
/// a reader). Statements are prepared once, on first use, and kept until
/// the connection closes.
class Connection {
 public:
  /// Opens `path` with `flags` (SQLITE_OPEN_*) through the VFS named `vfs`
  /// (null: SQLite's default) and sets the busy timeout. Nothing is read or
  /// written yet: a file that is not a database is only noticed by the
  /// first statement.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, int flags,
                                                  std::chrono::milliseconds busy_timeout, const char* vfs = nullptr);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const noexcept { return db_; }

  /// Checks out the cached statement for `sql`, preparing it on first use.
  /// `sql` must have static storage duration: its address is the cache key.
  /// A statement is used by one caller at a time; asking for one that is
  /// checked out is an `internal` error.
  Result<StatementUse> statement(const char* sql);

  /// Prepares and runs `sql` (one or more statements, no results) without
  /// caching; for setup and migrations.
  Status exec(const char* sql, std::string_view what);

  /// Runs a statement that returns one integer (e.g. `PRAGMA user_version`).
  Result<std::int64_t> queryInteger(const char* sql, std::string_view what);
  /// Runs a statement that returns one text value (e.g. `PRAGMA journal_mode=WAL`).
  Result<std::string> queryText(const char* sql, std::string_view what);

  /// True when no transaction is open (SQLite may roll one back by itself
  /// after I/O or memory errors).
  bool autocommit() const noexcept { return sqlite3_get_autocommit(db_) != 0; }

  /// The first connection fault (see isConnectionFault) any statement on
  /// this connection met, or SQLITE_OK. It is never cleared: a faulted
  /// connection is replaced, not repaired.
  int fault() const noexcept { return fault_; }

  /// Rows changed by the last INSERT/UPDATE/DELETE.
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }

  /// The error for return code `rc` of the last call on this connection.
  Error failure(int rc, std::string_view what) const;

 private:
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  explicit Connection(sqlite3* db) noexcept : db_(db) {}

  sqlite3* db_;
  int fault_ = SQLITE_OK;
  std::unordered_map<const char*, Cached> cache_;
};

/// The error for `rc` on `db`: `unavailable` for busy/locked, else
/// `internal`, with SQLite's message and code in the log-only detail.
Error sqliteFailure(sqlite3* db, int rc, std::string_view what);

/// How hard transaction control retries a busy database after SQLite's own
/// busy timeout has already expired: `attempts` more tries, sleeping
/// `first_backoff`, doubling each time (with jitter).
struct RetryBudget {
  int attempts = 3;
  std::chrono::milliseconds first_backoff{10};
};

/// `BEGIN IMMEDIATE`, retried on busy within `budget`; then `unavailable`.
Status beginImmediate(Connection& c, const RetryBudget& budget);
/// `COMMIT`, retried on busy within `budget` (a busy COMMIT leaves the
/// transaction open, so retrying is safe). On failure the transaction is
/// rolled back and the error returned.
Status commit(Connection& c, const RetryBudget& budget);
/// `ROLLBACK` if a transaction is open; failures are ignored (SQLite then
/// rolls back when the connection closes).
void rollback(Connection& c) noexcept;

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_CONNECTION_HPP
