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

/// An organization cascade as a unit of work asks the store to apply it
/// (lifecycle §3.2 and §4.3).
struct Cascade {
  /// The organization whose users (and those of every organization below
  /// it) the cascade covers. Organizations that are deleted, and everything
  /// below them, are left out: their users are invisible and stay untouched.
  std::string organization_id;
  /// The time written into every changed user (`updated_at`, and for a
  /// suspension `suspended_at` and `tokens_valid_after`).
  Timestamp time{};
  /// The acting user's id (a suspension's `suspended_by`).
  std::string actor_id;
  /// The audit event written for each user whose status changed, with
  /// `target_id` and `target_organization_id` set by the store to the user's
  /// id and organization, and `target_type` "user".
  AuditEvent event;
};

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

  /// Compare-and-set for organizations, as compareAndSetUser: replaces the
  /// organization `org.id` with `org` only if its stored `version` equals
  /// `expected_version`; false (nothing changed) otherwise. Later reads in
  /// this unit (organizationChain included) see the change.
  virtual Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected_version) = 0;

  /// Lifecycle §3.2: every `active` user of the cascade's subtree becomes
  /// `suspended` with `suspended_by_org_id` = the cascade's organization,
  /// `suspended_at` = `tokens_valid_after` = `updated_at` = `cascade.time`,
  /// `suspended_by` = `cascade.actor_id`, `version` + 1, and gets its audit
  /// event. Users in any other status are left exactly as they are. Returns
  /// the ids of the changed users, ascending.
  virtual Result<std::vector<std::string>> suspendCascade(const Cascade& cascade) = 0;

  /// Lifecycle §4.3: every `suspended` user of the subtree whose
  /// `suspended_by_org_id` is the cascade's organization either becomes
  /// `active` (suspension fields cleared, `tokens_valid_after` kept,
  /// `updated_at` = `cascade.time`, `version` + 1, an audit event each), or,
  /// when its own organization or one between it and the cascade's
  /// organization is still suspended, stays suspended with
  /// `suspended_by_org_id` moved to the nearest such organization (version
  /// and `updated_at` moved too; no audit event: its status did not change).
  /// Returns the ids of the users that became active, ascending.
  virtual Result<std::vector<std::string>> reactivateCascade(const Cascade& cascade) = 0;

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

  /// transact for a unit expected to write a great deal (an organization
  /// cascade over many users): the same guarantees, but a store that
  /// commits units in groups runs this one in a transaction of its own, so
  /// neither its size nor its failure can affect other units. The default
  /// is transact.
  virtual Status transactLarge(const Work& work) { return transact(work); }

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
