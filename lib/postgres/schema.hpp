// The PostgreSQL schema as an ordered list of migrations, tracked in the
// table useradmin_schema and applied on open.
#ifndef USERADMIN_LIB_POSTGRES_SCHEMA_HPP
#define USERADMIN_LIB_POSTGRES_SCHEMA_HPP

#include <vector>

#include "pg.hpp"
#include "useradmin/result.hpp"

namespace useradmin::pg {

/// One schema step. Versions count 1, 2, 3... without gaps; step N turns a
/// version N-1 schema into a version N one. Released steps are never edited.
struct Migration {
  int version = 0;
  const char* summary = "";
  const char* sql = "";
};

/// This library's migrations, oldest first.
const std::vector<Migration>& schemaMigrations();

/// Brings the schema on `c` (its search_path's first schema) to the last of
/// `steps`, in one transaction under a transaction-level advisory lock, so
/// instances starting together each see the other's finished work and every
/// step runs exactly once. Refuses (`internal`, nothing written) a schema
/// newer than `steps`, and useradmin tables without a version record.
/// Returns the version the schema ended at.
Result<int> migrate(Connection& c, const std::vector<Migration>& steps);

}  // namespace useradmin::pg

#endif  // USERADMIN_LIB_POSTGRES_SCHEMA_HPP
