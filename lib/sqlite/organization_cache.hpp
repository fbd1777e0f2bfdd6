// The writer's in-memory copy of organizations, in front of the chain query.
#ifndef USERADMIN_LIB_SQLITE_ORGANIZATION_CACHE_HPP
#define USERADMIN_LIB_SQLITE_ORGANIZATION_CACHE_HPP

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// Organizations the writer has read, so that the two or three chain reads
/// of every reactivation cost map lookups instead of a recursive query.
///
/// Invalidation: triggers bump `store_meta.organizations_generation` on
/// every insert, update or delete of an organization, whoever makes it
/// (this store's seed, another process, a maintenance tool).
/// `beginTransaction` reads the counter inside each write transaction
/// (after BEGIN IMMEDIATE, so the value belongs to the snapshot the units
/// will see) and drops everything when it moved. A unit that changes an
/// organization (compareAndSetOrganization) clears the cache first, which
/// also bypasses it for the rest of that transaction: later units of the
/// batch read chains from the database, right whether the changing unit's
/// savepoint was released or rolled back.
/// Not thread-safe: used by the writer thread only.
class OrganizationCache {
 public:
  /// Most organizations kept; past it the cache starts over (a bound on
  /// memory for very wide trees, not a tuning knob).
  static constexpr std::size_t kMaxEntries = 100000;

  /// Revalidates against the database inside a just-begun transaction. If
  /// the counter cannot be read the cache is bypassed for this transaction.
  void beginTransaction(Connection& c);

  /// Same contract as selectChain: `[org, ..., root]`, empty for an unknown
  /// id, `internal` for a broken or cyclic chain. A miss runs the recursive
  /// query from the first organization not cached and keeps its rows.
  Result<std::vector<Organization>> chain(Connection& c, std::string_view id);

  /// Forgets everything (e.g. after this connection changed organizations).
  void clear();

 private:
  std::map<std::string, Organization, std::less<>> orgs_;
  std::int64_t generation_ = -1;
  bool usable_ = false;
};

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_ORGANIZATION_CACHE_HPP
