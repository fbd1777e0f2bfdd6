// The PostgreSQL UserStore: many server instances on one shared database.
#ifndef USERADMIN_POSTGRES_POSTGRES_STORE_HPP
#define USERADMIN_POSTGRES_POSTGRES_STORE_HPP

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "useradmin/export.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/result.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin {

/// Options for openPostgresStore. Only `conninfo` is required.
struct PostgresStoreOptions {
  /// A libpq connection string: a URI (`postgresql:///useradmin?host=/run/pg`)
  /// or keyword/value pairs (`host=/run/pg dbname=useradmin`).
  std::string conninfo;
  /// The policy fixture loads are validated against; must outlive the store.
  const Policy* policy = &defaultPolicy();
  /// Connections the store keeps open; a unit of work, a read or a seed
  /// holds one for its duration, so this bounds how many run at once in
  /// this process (the rest wait for a free connection).
  std::size_t pool_size = 8;
  /// The schema the tables live in, created when absent. Empty: the
  /// connection's search_path decides (normally `public`).
  std::string schema;
  /// How often a unit of work (or seed) is run again after a serialization
  /// failure or deadlock (SQLSTATE 40001/40P01) before the caller gets
  /// `unavailable`.
  int max_retries = 30;
};

/// Opens a PostgreSQL database as a UserStore, creating or migrating its
/// schema (version table `useradmin_schema`) first. Every unit of work runs
/// in its own READ COMMITTED transaction on a pooled connection: changes
/// are compare-and-sets on `version`, the organization chains a unit reads
/// are locked shared (advisory locks) until it commits, a change of an
/// organization locks it exclusively, and a unit is run again after a
/// deadlock or serialization failure. Reads run in REPEATABLE READ READ
/// ONLY transactions (one snapshot, never waiting). See docs/storage.md.
/// There is no cache: every decision reads the committed state, so several
/// processes on one database behave as one store.
///
/// Errors: `invalid_argument` for bad options; `unavailable` when the
/// server cannot be reached; `internal` when the schema is newer than this
/// library knows or has useradmin tables without a version (both left
/// untouched), or a migration fails.
USERADMIN_API Result<std::unique_ptr<UserStore>> openPostgresStore(const PostgresStoreOptions& options);

/// Whether `conninfo`-style text names a PostgreSQL database rather than a
/// file: it starts with `postgresql://` or `postgres://`.
USERADMIN_API bool isPostgresUri(std::string_view text) noexcept;

/// Readiness for a server's health endpoint: for a store returned by
/// openPostgresStore, whether a pooled connection answers `SELECT 1` now;
/// true for any other store.
USERADMIN_API bool postgresStoreReady(UserStore& store);

}  // namespace useradmin

#endif  // USERADMIN_POSTGRES_POSTGRES_STORE_HPP
