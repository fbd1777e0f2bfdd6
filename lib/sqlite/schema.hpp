// The database schema as an ordered list of migrations, tracked with
// `PRAGMA user_version` and applied on open.
#ifndef USERADMIN_LIB_SQLITE_SCHEMA_HPP
#define USERADMIN_LIB_SQLITE_SCHEMA_HPP

#include <cstdint>
#include <vector>

#include "connection.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// One schema step. Versions count 1, 2, 3... without gaps; step N turns a
/// version N-1 database into a version N one. Steps are never edited once
/// released: a change is a new step.
struct Migration {
  int version = 0;
  /// What the step does, for logs and docs.
  const char* summary = "";
  /// The statements, run inside the migration transaction.
  const char* sql = "";
};

/// `PRAGMA application_id` of every useradmin database ("UADM"), so a
/// foreign SQLite file is recognised and left alone.
inline constexpr std::int64_t kApplicationId = 0x5541444D;

/// This library's migrations, oldest first.
const std::vector<Migration>& schemaMigrations();

/// Checks, without writing anything, that the database behind `c` is one
/// `steps` can serve: empty (new), or a useradmin database whose version is
/// at most the last step's. With `verify`, also runs `PRAGMA quick_check`
/// (reads the whole file). Errors are `internal` with a detail that names
/// the problem: not a database / corrupt, foreign application, schema newer
/// than supported.
Status inspectDatabase(Connection& c, const std::vector<Migration>& steps, bool verify);

/// Applies every step newer than the database's version in one
/// `BEGIN IMMEDIATE` transaction (all or nothing) and stamps the new
/// `user_version` and the application id. Safe to run from several
/// processes at once: the version is re-read under the write lock, so each
/// step runs exactly once. Returns the version the database ended at.
Result<int> migrate(Connection& c, const std::vector<Migration>& steps, const RetryBudget& budget);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_SCHEMA_HPP
