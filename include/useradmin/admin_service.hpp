// AdminService: the library's entry point, one function per operation.
#ifndef USERADMIN_ADMIN_SERVICE_HPP
#define USERADMIN_ADMIN_SERVICE_HPP

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "useradmin/authorizer.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/directory_sync.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/result.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin {

/// Everything the service works with. The referenced objects must outlive
/// the service; `directory` may be null (no directory configured). Whether
/// a subject outside the hierarchy is hidden or revealed is the
/// authorizer's choice (for the policy authorizer, its policy's switch).
struct ServiceDeps {
  ServiceDeps(UserStore& store_, const Authorizer& authorizer_, const Clock& clock_,
              DirectorySync* directory_ = nullptr, std::function<void()> directory_queued_ = {})
      : store(store_), authorizer(authorizer_), clock(clock_), directory(directory_),
        directory_queued(std::move(directory_queued_)) {}

  UserStore& store;
  const Authorizer& authorizer;
  const Clock& clock;
  DirectorySync* directory = nullptr;
  /// Called (on the request's thread) after a unit that queued directory
  /// updates in the outbox committed: a cascade, or the undo of a failed
  /// single-user call. Typically DirectoryRelay::wake. May be empty.
  std::function<void()> directory_queued;
};

/// An organization after a suspend or reactivate, with the users whose
/// status the cascade changed.
struct OrganizationChange {
  Organization organization;
  /// Ids of the users suspended (or reactivated) by the cascade, ascending;
  /// the response's `suspended_users_count` / `reactivated_users_count`.
  std::vector<std::string> changed_user_ids;
};

/// Most users in one page of listUsers, and its default.
inline constexpr std::size_t kMaxUserPageSize = 500;
inline constexpr std::size_t kDefaultUserPageSize = 100;
/// Most events in one page of auditEvents, and its default.
inline constexpr std::size_t kMaxAuditPageSize = 1000;
inline constexpr std::size_t kDefaultAuditPageSize = 100;

/// What listUsers lists (lifecycle §5 `GET /users`).
struct UserListRequest {
  /// Only this organization's subtree (it must be visible to the caller);
  /// nullopt: the caller's own organization and everything below it.
  std::optional<std::string> organization_id;
  /// Only users in this status (`active` or `suspended`).
  std::optional<UserStatus> status;
  /// The last id of the previous page.
  std::optional<std::string> after;
  /// 1 to kMaxUserPageSize.
  std::size_t limit = kDefaultUserPageSize;
};

/// What auditEvents reads (lifecycle §5 `GET /audit-events`).
struct AuditRequest {
  std::optional<std::string> target_id;
  std::optional<std::string> actor_id;
  /// An action name such as "user.suspend": 1-64 of `a-z 0-9 . _`.
  std::optional<std::string> action;
  /// The `next_after` of the previous page, or the `cursor` of the last
  /// event read.
  std::optional<AuditCursor> after;
  /// 1 to kMaxAuditPageSize.
  std::size_t limit = kDefaultAuditPageSize;
};

/// The lifecycle operations of contract `reactivation.md` §2 and
/// `lifecycle.md` §1-§4. Each is one composition of the shared decision
/// steps: actor (A), id and note (B), permission (C), subject visible and
/// within authority (D), the operation's preconditions, then one unit that
/// compare-and-sets and audits, and the directory after the commit.
/// Stateless apart from its dependencies: safe to call from many threads.
///
/// Common to every operation:
/// - `unauthenticated`: the actor is unknown, not active, in a deleted or
///   suspended organization (or below one), or the credential predates the
///   actor's `tokens_valid_after` (rule 1; not audited);
/// - `invalid_argument`: `id` is not 1-128 unreserved characters (field
///   `id`/`invalid_format`), or `note` is over kMaxNoteLength code points
///   (field `reason`/`too_long`);
/// - `permission_denied` "insufficient permissions": the action's
///   permission is missing (`manage:users` / `manage:organizations`);
/// - `not_found`: no such subject, deleted, below a deleted organization,
///   or outside the actor's hierarchy (unless the authorizer reveals it,
///   then `permission_denied`). Users answer "user not found",
///   organizations "organization not found", both with field `id`/`not_found`;
/// - `unavailable` / `internal`: storage failed, the subject kept changing
///   during three decisions, or a plug-in threw; nothing was changed.
/// Every outcome but `unauthenticated` and storage failures appends an
/// audit event; a granted change commits together with its events. `note`
/// is recorded whole. Never throws.
class USERADMIN_API AdminService {
 public:
  explicit AdminService(ServiceDeps deps);

  /// Reactivation rules 1-12. Beyond the common outcomes:
  /// `permission_denied` for acting on oneself (4), higher privileges in the
  /// same organization (7), a cascade from an organization beyond reach (8);
  /// `failed_precondition` `organization_id`/`organization_suspended` (9) or
  /// `status`/`not_suspended` (10); `external_error` when the directory
  /// failed and the change was undone (12) — or `internal` when the undo
  /// itself could not be committed (the reactivation then stays). Returns
  /// the user after the change.
  Result<User> reactivateUser(const Actor& actor, std::string_view id, std::string_view note = {});

  /// reactivateUser without blocking the caller on storage: the same rules,
  /// outcomes and audit events, delivered to `done` exactly once, on the
  /// thread that completes the store's unit (UserStore::transactAsync: for
  /// the SQLite store its writer thread, so `done` must be short and must not
  /// block or throw). With a directory configured, rule 12's call would
  /// block that thread, so the whole call is then made synchronously on the
  /// calling thread before this returns (see hasDirectory()).
  void reactivateUserAsync(Actor actor, std::string id, std::string note, std::function<void(Result<User>)> done);

  /// Whether rule 12 (or a cascade's relay wake-up) involves a directory:
  /// the …Async calls then run synchronously.
  bool hasDirectory() const noexcept { return deps_.directory != nullptr; }

  /// Whether the …Async calls return before their unit runs, never
  /// blocking the calling thread: no directory is configured and the store
  /// completes units on a thread of its own (transactsAsynchronously).
  bool completesWithoutBlocking() const noexcept {
    return deps_.directory == nullptr && deps_.store.transactsAsynchronously();
  }

  /// Lifecycle §2: as reactivation for self (4) and escalation (7); then
  /// `failed_precondition` `status`/`not_active` unless the user is active.
  /// Applies status `suspended`, `suspended_at` = `tokens_valid_after` = now,
  /// `suspended_by` = the actor, no `suspended_by_org_id`; the directory as
  /// in rule 12. Returns the user after the change.
  Result<User> suspendUser(const Actor& actor, std::string_view id, std::string_view note = {});

  /// suspendUser without blocking the caller, exactly as reactivateUserAsync
  /// is to reactivateUser: the same decision and outcomes, `done` called
  /// once on the thread that completes the unit (synchronously, before this
  /// returns, when a directory is configured).
  void suspendUserAsync(Actor actor, std::string id, std::string note, std::function<void(Result<User>)> done);

  /// Lifecycle §3: the organization must be a strict descendant of the
  /// actor's; `failed_precondition` `suspended`/`already_suspended` when it
  /// is suspended. Suspends it and cascades to every active user of its
  /// subtree, in one transaction.
  Result<OrganizationChange> suspendOrganization(const Actor& actor, std::string_view id, std::string_view note = {});

  /// suspendOrganization without blocking the caller (as
  /// reactivateUserAsync). The cascade is still one transaction of its own
  /// (UserStore::transactLargeAsync); only the caller no longer waits for it.
  void suspendOrganizationAsync(Actor actor, std::string id, std::string note,
                                std::function<void(Result<OrganizationChange>)> done);

  /// Lifecycle §4: `failed_precondition` `parent_id`/`organization_suspended`
  /// (value: the suspended ancestor) or `suspended`/`not_suspended`.
  /// Reactivates it and the users its cascade suspended, in one transaction.
  Result<OrganizationChange> reactivateOrganization(const Actor& actor, std::string_view id,
                                                    std::string_view note = {});

  /// reactivateOrganization without blocking the caller (as
  /// suspendOrganizationAsync).
  void reactivateOrganizationAsync(Actor actor, std::string id, std::string note,
                                   std::function<void(Result<OrganizationChange>)> done);

  // ---- Reads (lifecycle §5): one consistent snapshot each, never audited,
  // never waiting for writers. Common outcomes as above (A, B for every id
  // argument with the argument's name as key, C with `read:users`), plus
  // `invalid_argument` `limit`/`out_of_range` outside 1..max.

  /// Steps A, B, C, D; reading yourself needs no permission. The user in
  /// any status but deleted, if visible (its organization is the caller's
  /// or below it).
  Result<User> getUser(const Actor& actor, std::string_view id);

  /// The users visible to the caller (organization and below, not
  /// deleted), in id order; an invisible `organization_id` is
  /// `not_found` "organization not found" with key `organization_id`, a
  /// `status` of `deleted` is `invalid_argument` `status`/`invalid_value`.
  Result<UserPage> listUsers(const Actor& actor, const UserListRequest& request);

  /// The caller's own organization or one below it (else `not_found`).
  Result<Organization> getOrganization(const Actor& actor, std::string_view id);

  /// Audit events oldest first: those whose `target_organization_id` is
  /// the caller's organization or below it; events without a target
  /// organization only for callers of the root organization. The page's
  /// cursor guarantee is the store's (see ReadView).
  Result<AuditPage> auditEvents(const Actor& actor, const AuditRequest& request);

 private:
  ServiceDeps deps_;
};

}  // namespace useradmin

#endif  // USERADMIN_ADMIN_SERVICE_HPP
