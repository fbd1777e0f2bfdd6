// UserStore: the storage interface behind the library, with atomic units of work.
#ifndef USERADMIN_USER_STORE_HPP
#define USERADMIN_USER_STORE_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin {

struct Dataset;

/// The reads and writes available inside one atomic unit of work. All reads
/// see one consistent state that includes the unit's own earlier writes; no
/// other unit's change can land between a read here and the unit's commit.
/// A UnitOfWork is only valid inside the callable it was passed to.
/// Storage failures come back as `internal` or `unavailable` errors.
class USERADMIN_API UnitOfWork {
 public:
  UnitOfWork() = default;
  UnitOfWork(const UnitOfWork&) = delete;
  UnitOfWork& operator=(const UnitOfWork&) = delete;
  virtual ~UnitOfWork();

  /// The user with this id in any status (deleted included), or nullopt.
  virtual Result<std::optional<User>> findUser(std::string_view id) = 0;

  /// The organization with this id followed by its ancestors up to the
  /// root: `[org, parent, ..., root]`, deleted ones included. Empty when no
  /// organization has this id. A broken chain (missing parent, cycle) is an
  /// `internal` error.
  virtual Result<std::vector<Organization>> organizationChain(std::string_view id) = 0;

  /// Compare-and-set: replaces the stored user whose id is `user.id` with
  /// `user` if, and only if, its stored `version` equals `expected_version`.
  /// Returns false (and changes nothing) when the version differs or the
  /// user is gone. The caller sets the new `version` and `updated_at`.
  virtual Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) = 0;

  /// Appends an audit event; the store assigns `event.id`.
  virtual Status appendAudit(const AuditEvent& event) = 0;
};

/// Persistent (or in-memory) home of organizations, users and the audit log.
/// A store is safe for concurrent use from many threads without external
/// locking; every implementation passes the same behavioural suite.
class USERADMIN_API UserStore {
 public:
  /// A unit of work: reads, decides and writes through the UnitOfWork. Its
  /// writes commit atomically if it returns success and are discarded
  /// entirely if it returns an error. The store may run it more than once
  /// (retrying after contention), so it must not keep effects outside the
  /// store from a failed attempt, and must overwrite, not accumulate, any
  /// state it hands back to its caller.
  using Work = std::function<Status(UnitOfWork&)>;

  UserStore() = default;
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;
  virtual ~UserStore();

  /// Runs `work` as one atomic unit and returns its result. When the unit
  /// succeeded, its writes are durable (to the store's configured level)
  /// before this returns. A storage failure while committing is reported as
  /// `internal` (or `unavailable` when the store stayed busy past its retry
  /// budget) and nothing of the unit remains. Blocks the calling thread.
  virtual Status transact(const Work& work) = 0;

  /// Loads a fixture: every organization and user of `data` is inserted, or
  /// replaces the stored row with the same id. All or nothing: when any
  /// entry is refused (the store re-validates the resulting model), nothing
  /// is changed and the error names the entry.
  virtual Status seed(const Dataset& data) = 0;

  /// Point read outside any unit of work, for embedders and tests.
  virtual Result<std::optional<User>> findUser(std::string_view id) = 0;

  /// Audit events with `id > after_id`, oldest first, at most `limit`.
  virtual Result<std::vector<AuditEvent>> auditEvents(std::int64_t after_id = 0,
                                                      std::size_t limit = 1000) = 0;
};

}  // namespace useradmin

#endif  // USERADMIN_USER_STORE_HPP
