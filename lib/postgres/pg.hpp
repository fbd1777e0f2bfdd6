// A thin RAII layer over libpq: a connection that prepares the store's
// statements once, results that free themselves, parameters as text, and
// SQLSTATE-aware error mapping.
#ifndef USERADMIN_LIB_POSTGRES_PG_HPP
#define USERADMIN_LIB_POSTGRES_PG_HPP

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/result.hpp"

namespace useradmin::pg {

/// A statement the store prepares on every connection: `name` is the
/// server-side prepared statement's name, `text` its SQL ($1, $2...).
struct Sql {
  const char* name;
  const char* text;
};

/// SQLSTATEs after which the whole transaction may simply be run again:
/// serialization_failure (40001) and deadlock_detected (40P01).
bool isRetryable(std::string_view sqlstate) noexcept;

/// Positional parameters, all sent as text (PostgreSQL casts them to the
/// column types); an absent optional is SQL NULL.
class Params {
 public:
  Params& text(std::string_view value);
  Params& integer(std::int64_t value);
  Params& boolean(bool value);
  Params& null();
  Params& optText(const std::optional<std::string>& value);
  Params& optTime(const std::optional<Timestamp>& value);
  Params& time(Timestamp value) { return integer(toMillis(value)); }

  int size() const { return static_cast<int>(values_.size()); }
  /// Pointers for PQexecPrepared, valid while this object is not changed.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

/// A PostgreSQL array literal ('{"a","b",NULL}') of text values, for
/// `unnest($1::text[])` bulk statements.
std::string arrayLiteral(const std::vector<std::optional<std::string>>& values);

/// Owns one PGresult.
class ResultSet {
 public:
  ResultSet() = default;
  explicit ResultSet(PGresult* r) : r_(r) {}
  ResultSet(ResultSet&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
  ResultSet& operator=(ResultSet&& other) noexcept;
  ResultSet(const ResultSet&) = delete;
  ResultSet& operator=(const ResultSet&) = delete;
  ~ResultSet() { PQclear(r_); }

  int rows() const { return r_ == nullptr ? 0 : PQntuples(r_); }
  bool isNull(int row, int column) const { return PQgetisnull(r_, row, column) != 0; }
  std::string text(int row, int column) const;
  std::optional<std::string> optText(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  bool boolean(int row, int column) const;
  std::optional<Timestamp> optTime(int row, int column) const;
  /// Rows changed by an INSERT/UPDATE/DELETE without RETURNING.
  std::int64_t affected() const;

 private:
  PGresult* r_ = nullptr;
};

/// One libpq connection. Not thread-safe: the pool hands it to one thread
/// at a time.
class Connection {
 public:
  /// Connects (blocking) and checks the connection is usable.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Prepares `statements` (after a (re)connect, all of them again).
  Status prepare(const std::vector<const Sql*>& statements);

  /// Runs a prepared statement. On failure the Error names `what`, and
  /// `lastFailureRetryable()` tells whether it was 40001/40P01.
  Result<ResultSet> run(const Sql& sql, const Params& params, std::string_view what);
  /// Runs SQL text without parameters (transaction control, migrations;
  /// several statements allowed).
  Result<ResultSet> exec(const char* sql, std::string_view what);

  /// Whether a statement since clearRetryFlag() failed with 40001/40P01.
  bool retryFlag() const { return retry_flag_; }
  void clearRetryFlag() { retry_flag_ = false; }
  /// True when libpq says the connection is broken.
  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }
  /// True when a transaction is open (or aborted) on the connection.
  bool inTransaction() const;
  /// Tries to reconnect a broken connection (and forgets prepared statements).
  bool reset();
  /// Quotes an identifier (schema name) for SQL text.
  std::string quoteIdentifier(std::string_view name) const;

 private:
  explicit Connection(PGconn* c) : c_(c) {}
  Result<ResultSet> check(PGresult* r, std::string_view what);

  PGconn* c_ = nullptr;
  bool retry_flag_ = false;
};

}  // namespace useradmin::pg

#endif  // USERADMIN_LIB_POSTGRES_PG_HPP
