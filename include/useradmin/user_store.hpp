// UserStore: the storage interface behind the library, with atomic units of work.
#ifndef USERADMIN_USER_STORE_HPP
#define USERADMIN_USER_STORE_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/audit_cursor.hpp"
#include "useradmin/directory_outbox.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"
#include "useradmin/store_stats.hpp"

namespace useradmin {

struct Dataset;

/// Which users to list: those of one organization subtree, in id order.
struct UserQuery {
  /// The subtree's root: this organization and every one below it. A
  /// deleted organization and everything below it are left out.
  std::string organization_id;
  /// Only users with this status. Deleted users are never listed.
  std::optional<UserStatus> status;
  /// Keyset pagination: only ids greater than this one (byte order).
  std::optional<std::string> after;
  /// Most users returned; 0 gives an empty page. Callers bound it.
  std::size_t limit = 100;
};

/// One page of users, ordered by id.
struct UserPage {
  std::vector<User> users;
  /// The last id of this page when more users follow, else nullopt.
  std::optional<std::string> next_after;
};

/// Which audit events to read, oldest first (in AuditCursor order).
struct AuditQuery {
  /// Only events whose `target_organization_id` is this organization or
  /// lies below it (deleted ones included: the log is history). nullopt:
  /// every event, also those without a target organization.
  std::optional<std::string> within_organization;
  std::optional<std::string> target_id;
  std::optional<std::string> actor_id;
  std::optional<std::string> action;
  /// Only events positioned after this cursor (from an earlier page).
  std::optional<AuditCursor> after;
  /// Most events returned; 0 gives an empty page. Callers bound it.
  std::size_t limit = 1000;

  /// True when `event` passes the target, actor and action filters (the
  /// organization filter needs the tree and is the store's to apply).
  USERADMIN_API bool matchesFilters(const AuditEvent& event) const;
};

/// One page of audit events; each event carries its `cursor`.
struct AuditPage {
  std::vector<AuditEvent> events;
  /// The last event's cursor when more matching events are readable now,
  /// else nullopt (resume from the last event's cursor to tail the log).
  std::optional<AuditCursor> next_after;
};

/// Reads over one consistent, committed state of the store: nothing
/// another thread commits while a ReadView is in use becomes visible
/// through it. A ReadView is only valid inside the callable it was passed
/// to. Storage failures come back as `internal` or `unavailable` errors.
///
/// Audit cursor guarantee: every page holds the matching events with the
/// smallest positions greater than `after` among those the store has made
/// readable, and the store makes an event readable only once no event with
/// a smaller position can still appear (see AuditCursor). Paging with
/// `next_after` (or tailing with the last event's `cursor`) therefore reads
/// every committed event exactly once, even while writers commit.
class USERADMIN_API ReadView {
 public:
  ReadView() = default;
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  virtual ~ReadView();

  /// The user with this id in any status (deleted included), or nullopt.
  virtual Result<std::optional<User>> findUser(std::string_view id) = 0;

  /// As UnitOfWork::organizationChain: `[org, parent, ..., root]`.
  virtual Result<std::vector<Organization>> organizationChain(std::string_view id) = 0;

  /// A page of users of a subtree, without deleted users and without users
  /// of deleted organizations. Keyset pagination: the cost of a page does
  /// not grow with how deep `after` is.
  virtual Result<UserPage> listUsers(const UserQuery& query) = 0;

  /// A page of audit events matching every filter of `query`.
  virtual Result<AuditPage> auditEvents(const AuditQuery& query) = 0;
};

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
  /// Also queue, in the same unit, one DirectoryUpdate per user whose
  /// status the cascade changed (its new status, version and directory id;
  /// due at `time`), as queueDirectoryUpdate does. Set when a directory is
  /// configured (directory.md §4).
  bool queue_directory_updates = false;
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

  /// Queues `update` in the directory outbox, committed with this unit (or
  /// discarded with it): enqueued at `now`, not delivered before `due`. A
  /// pending entry of the same user is replaced (see OutboxEntry).
  /// `invalid_argument` when `update.status` is `deleted`.
  virtual Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) = 0;
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

  /// What transactAsync calls once the unit is done: what transact would
  /// have returned (an exception thrown by the unit arrives as `internal`).
  /// It must not throw.
  using Done = std::function<void(Status)>;

  /// transact without blocking the caller: the unit is queued and `done` is
  /// called exactly once, after the unit's writes are durable (same
  /// guarantees as transact) or with the error. `done` may run on the
  /// calling thread before this returns, or on a thread of the store's own
  /// (the SQLite store: its writer thread after the batch's COMMIT, or with
  /// overlap_sync its syncer thread once the batch is on disk), so it
  /// must be short, must not block, and must not call transact; it may call
  /// transactAsync. The default runs transact on the calling thread and
  /// then `done`.
  virtual void transactAsync(Work work, Done done);

  /// Whether transactAsync hands the unit to a thread of the store's own
  /// and returns at once (true: the SQLite store), or runs it on the
  /// calling thread (false, the default: the memory store, and stores
  /// whose units wait on a network round trip, such as PostgreSQL). A
  /// caller that must never block (an I/O thread) uses transactAsync only
  /// when this is true.
  virtual bool transactsAsynchronously() const noexcept { return false; }

  /// Loads a fixture: every organization and user of `data` is inserted, or
  /// replaces the stored row with the same id. All or nothing: when any
  /// entry is refused (the store re-validates the resulting model), nothing
  /// is changed and the error names the entry.
  virtual Status seed(const Dataset& data) = 0;

  /// Reads, runs `work` over one consistent snapshot of committed state
  /// and returns its result. Never waits for writers (nor they for it) on
  /// the shipped stores. The store may run it more than once, like a unit.
  using ReadWork = std::function<Status(ReadView&)>;
  virtual Status read(const ReadWork& work) = 0;

  /// Point read outside any unit of work, for embedders and tests.
  virtual Result<std::optional<User>> findUser(std::string_view id) = 0;

  /// What the store reports about its commit path (batch sizes, commit and
  /// sync times, queue depth); safe to call from any thread at any time.
  /// The default reports nothing (`available` false).
  virtual StoreStats stats() const { return {}; }

  // ---- The directory outbox (directory.md §4), outside any unit ----
  // Each call is atomic on its own. Meant for one relay per store object
  // at a time: claiming marks nothing, so two relays on one store would
  // deliver twice. A store shared by processes (PostgreSQL) may hand
  // entries to one of them only, answering the others an empty list.

  /// Up to `limit` pending entries with `next_attempt_at` <= `now`, ordered
  /// by (`next_attempt_at`, `id`). At most one entry per user exists, so
  /// entries of one user cannot overtake each other.
  virtual Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) = 0;

  /// Removes the entries `entry_ids` (delivered), all in one commit. An id
  /// that is gone, e.g. replaced by a newer state of its user (which then
  /// stays pending), is skipped.
  virtual Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& entry_ids) = 0;

  /// A failed delivery of `entry_id`: `attempts` + 1, `next_attempt_at`
  /// and `last_error` set. No-op when the entry is gone.
  virtual Status rescheduleDirectoryUpdate(std::int64_t entry_id, Timestamp next_attempt_at,
                                           std::string_view error) = 0;

  /// What is pending, over one snapshot.
  virtual Result<OutboxStats> directoryOutboxStats() = 0;

  /// One-call reads, each over its own snapshot (see ReadView).
  Result<std::optional<Organization>> findOrganization(std::string_view id);
  Result<UserPage> listUsers(const UserQuery& query);
  Result<AuditPage> auditEvents(const AuditQuery& query = {});
};

}  // namespace useradmin

#endif  // USERADMIN_USER_STORE_HPP
