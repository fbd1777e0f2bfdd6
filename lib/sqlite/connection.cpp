#include "connection.hpp"

#include <limits>
#include <random>
#include <thread>
#include <utility>

namespace useradmin::detail {

bool isBusyCode(int rc) noexcept {
  const int primary = rc & 0xFF;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

bool isConnectionFault(int rc) noexcept {
  switch (rc & 0xFF) {
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

namespace {

// Keeps the first fault a connection met; later ones add nothing.
void recordFault(int& fault, int rc) noexcept {
  if (isConnectionFault(rc) && fault == SQLITE_OK) fault = rc;
}

}  // namespace

Error sqliteFailure(sqlite3* db, int rc, std::string_view what) {
  std::string detail(what);
  detail += ": ";
  // sqlite3_errmsg describes the last failed call on this connection; the
  // code is passed separately because some callers report a saved code.
  detail += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  detail += " (sqlite code " + std::to_string(rc) + ")";
  if (isBusyCode(rc)) return Error::unavailable(std::move(detail));
  return Error::internal(std::move(detail));
}

// ---- StatementUse -------------------------------------------------------------

StatementUse::StatementUse(sqlite3* db, sqlite3_stmt* stmt, bool* in_use, int* fault) noexcept
    : db_(db), stmt_(stmt), in_use_(in_use), fault_(fault) {}

StatementUse::StatementUse(StatementUse&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), in_use_(std::exchange(other.in_use_, nullptr)),
      fault_(other.fault_), bind_rc_(other.bind_rc_) {}

StatementUse::~StatementUse() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) *in_use_ = false;
}

void StatementUse::bindInt(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void StatementUse::bindText(int index, const char* text) { bindText(index, std::string_view(text)); }

void StatementUse::bindText(int index, const std::string& text) { bindText(index, std::string_view(text)); }

void StatementUse::bindText(int index, std::string_view text) {
  // SQLITE_STATIC: the caller keeps the characters alive for the whole use
  // (see the class comment), which spares a copy per parameter on bulk loads.
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void StatementUse::bindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void StatementUse::bindOptText(int index, const std::optional<std::string>& text) {
  if (text) bindText(index, std::string_view(*text));
  else bindNull(index);
}

void StatementUse::bindOptTime(int index, const std::optional<Timestamp>& time) {
  if (time) bindInt(index, toMillis(*time));
  else bindNull(index);
}

int StatementUse::step() {
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  const int rc = sqlite3_step(stmt_);
  recordFault(*fault_, rc);
  return rc;
}

Result<bool> StatementUse::next(std::string_view what) {
  const int rc = step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return failure(rc, what);
}

Status StatementUse::run(std::string_view what) {
  while (true) {
    const int rc = step();
    if (rc == SQLITE_DONE) return okStatus();
    if (rc != SQLITE_ROW) return failure(rc, what);
  }
}

bool StatementUse::isNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t StatementUse::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string StatementUse::text(int column) const {
  const auto* chars = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (chars == nullptr) return {};
  return std::string(chars, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> StatementUse::optionalText(int column) const {
  if (isNull(column)) return std::nullopt;
  return text(column);
}

std::optional<Timestamp> StatementUse::optionalTime(int column) const {
  if (isNull(column)) return std::nullopt;
  return timestampFromMillis(integer(column));
}

Error StatementUse::failure(int rc, std::string_view what) const {
  if (bind_rc_ != SQLITE_OK) return sqliteFailure(nullptr, rc, std::string(what) + " (binding)");
  return sqliteFailure(db_, rc, what);
}

// ---- Connection -----------------------------------------------------------------

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, int flags,
                                                     std::chrono::milliseconds busy_timeout, const char* vfs) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    Error error = sqliteFailure(db, rc, "opening " + path);
    sqlite3_close_v2(db);  // a handle is returned even on failure
    return error;
  }
  std::unique_ptr<Connection> connection(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  const auto ms = busy_timeout.count();
  sqlite3_busy_timeout(db, ms > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                                : static_cast<int>(ms < 0 ? 0 : ms));
  return connection;
}

Connection::~Connection() {
  for (auto& entry : cache_) sqlite3_finalize(entry.second.stmt);
  sqlite3_close_v2(db_);
}

Error Connection::failure(int rc, std::string_view what) const { return sqliteFailure(db_, rc, what); }

Result<StatementUse> Connection::statement(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      recordFault(fault_, rc);
      return failure(rc, std::string("preparing ") + sql);
    }
    it = cache_.emplace(sql, Cached{stmt, false}).first;
  }
  if (it->second.in_use) return Error::internal(std::string("statement already in use: ") + sql);
  it->second.in_use = true;
  return StatementUse(db_, it->second.stmt, &it->second.in_use, &fault_);
}

Status Connection::exec(const char* sql, std::string_view what) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return okStatus();
  recordFault(fault_, rc);
  std::string detail(what);
  detail += ": ";
  detail += message != nullptr ? message : sqlite3_errstr(rc);
  detail += " (sqlite code " + std::to_string(rc) + ")";
  sqlite3_free(message);
  if (isBusyCode(rc)) return Error::unavailable(std::move(detail));
  return Error::internal(std::move(detail));
}

namespace {

// Prepares, steps once and hands the first row to `read`; uncached because
// these run once per connection. A connection fault is recorded in `fault`.
template <class T, class Read>
Result<T> queryOne(sqlite3* db, int& fault, const char* sql, std::string_view what, Read read) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    recordFault(fault, rc);
    Error error = rc == SQLITE_DONE ? Error::internal(std::string(what) + ": no result row")
                                    : sqliteFailure(db, rc, what);
    sqlite3_finalize(stmt);
    return error;
  }
  T value = read(stmt);
  sqlite3_finalize(stmt);
  return value;
}

}  // namespace

Result<std::int64_t> Connection::queryInteger(const char* sql, std::string_view what) {
  return queryOne<std::int64_t>(db_, fault_, sql, what, [](sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); });
}

Result<std::string> Connection::queryText(const char* sql, std::string_view what) {
  return queryOne<std::string>(db_, fault_, sql, what, [](sqlite3_stmt* s) {
    const auto* chars = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    return chars == nullptr ? std::string() : std::string(chars);
  });
}

// ---- Transactions ---------------------------------------------------------------

namespace {

constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";

void backoff(std::chrono::milliseconds base, int attempt) {
  // Exponential with up to 50% jitter, so competing processes spread out.
  thread_local std::minstd_rand jitter(std::random_device{}());
  const auto ms = base.count() << attempt;
  const auto extra = static_cast<long long>(jitter() % static_cast<unsigned>(ms / 2 + 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms + extra));
}

// Runs a cached transaction-control statement, retrying while busy.
Status runWithRetry(Connection& c, const char* sql, const RetryBudget& budget, std::string_view what) {
  for (int attempt = 0;; ++attempt) {
    auto st = c.statement(sql);
    if (!st) return std::move(st).error();
    const int rc = st->step();
    if (rc == SQLITE_DONE) return okStatus();
    if (!isBusyCode(rc) || attempt >= budget.attempts) {
      Error error = st->failure(rc, what);
      if (isBusyCode(rc)) error.detail += " after " + std::to_string(attempt + 1) + " attempts";
      return error;
    }
    backoff(budget.first_backoff, attempt);
  }
}

}  // namespace

Status beginImmediate(Connection& c, const RetryBudget& budget) {
  return runWithRetry(c, kBegin, budget, "BEGIN IMMEDIATE");
}

Status commit(Connection& c, const RetryBudget& budget) {
  Status done = runWithRetry(c, kCommit, budget, "COMMIT");
  if (!done) rollback(c);
  return done;
}

void rollback(Connection& c) noexcept {
  if (c.autocommit()) return;
  if (auto st = c.statement(kRollback)) static_cast<void>(st->step());
}

}  // namespace useradmin::detail
