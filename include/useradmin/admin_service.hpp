// AdminService: the library's entry point, one function per operation.
#ifndef USERADMIN_ADMIN_SERVICE_HPP
#define USERADMIN_ADMIN_SERVICE_HPP

#include <string>
#include <string_view>
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
  UserStore& store;
  const Authorizer& authorizer;
  const Clock& clock;
  DirectorySync* directory = nullptr;
};

/// An organization after a suspend or reactivate, with the users whose
/// status the cascade changed.
struct OrganizationChange {
  Organization organization;
  /// Ids of the users suspended (or reactivated) by the cascade, ascending;
  /// the response's `suspended_users_count` / `reactivated_users_count`.
  std::vector<std::string> changed_user_ids;
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

  /// Lifecycle §2: as reactivation for self (4) and escalation (7); then
  /// `failed_precondition` `status`/`not_active` unless the user is active.
  /// Applies status `suspended`, `suspended_at` = `tokens_valid_after` = now,
  /// `suspended_by` = the actor, no `suspended_by_org_id`; the directory as
  /// in rule 12. Returns the user after the change.
  Result<User> suspendUser(const Actor& actor, std::string_view id, std::string_view note = {});

  /// Lifecycle §3: the organization must be a strict descendant of the
  /// actor's; `failed_precondition` `suspended`/`already_suspended` when it
  /// is suspended. Suspends it and cascades to every active user of its
  /// subtree, in one transaction.
  Result<OrganizationChange> suspendOrganization(const Actor& actor, std::string_view id, std::string_view note = {});

  /// Lifecycle §4: `failed_precondition` `parent_id`/`organization_suspended`
  /// (value: the suspended ancestor) or `suspended`/`not_suspended`.
  /// Reactivates it and the users its cascade suspended, in one transaction.
  Result<OrganizationChange> reactivateOrganization(const Actor& actor, std::string_view id,
                                                    std::string_view note = {});

 private:
  ServiceDeps deps_;
};

}  // namespace useradmin

#endif  // USERADMIN_ADMIN_SERVICE_HPP
