// ReactivationService: the library's entry point, reactivateUser.
#ifndef USERADMIN_REACTIVATION_SERVICE_HPP
#define USERADMIN_REACTIVATION_SERVICE_HPP

#include <cstddef>
#include <string_view>

#include "useradmin/authorizer.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/directory_sync.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/result.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin {

/// Longest note (the request body's `reason`) kept with an audit event.
inline constexpr std::size_t kMaxNoteLength = 500;

/// Everything the service works with. The referenced objects must outlive
/// the service; `directory` may be null (no directory configured).
struct ServiceDeps {
  UserStore& store;
  const Authorizer& authorizer;
  const Policy& policy;
  const Clock& clock;
  DirectorySync* directory = nullptr;
};

/// Reactivates suspended users following contract §2. Stateless apart from
/// its dependencies: safe to call from many threads at once.
class USERADMIN_API ReactivationService {
 public:
  explicit ReactivationService(ServiceDeps deps);

  /// Reactivates user `id` on behalf of `actor`, deciding rules 1-12 in
  /// order; the first failing rule decides and nothing is changed.
  ///
  /// Returns the user after the change, or:
  /// - `unauthenticated`: the actor is unknown, not active, in a deleted or
  ///   suspended organization (or below one), or the credential predates
  ///   the actor's `tokens_valid_after` (rule 1; not audited);
  /// - `invalid_argument`: `id` is not 1-128 unreserved characters, field
  ///   `id`/`invalid_format` (rule 2);
  /// - `permission_denied`: no `manage:users` (3), acting on oneself (4),
  ///   higher privileges in the same organization (7), a cascade from an
  ///   organization beyond the actor's reach (8), or a target outside the
  ///   hierarchy when the policy reveals it (6);
  /// - `not_found`: no such user, deleted user or organization (5), or a
  ///   target outside the actor's hierarchy (6, by default);
  /// - `failed_precondition`: field `organization_id`/`organization_suspended`
  ///   (9) or `status`/`not_suspended` with the current status (10). A
  ///   decision whose compare-and-set loses to a concurrent change is taken
  ///   again from the new state, so every loser of a race gets rule 10;
  /// - `external_error`: the directory hook failed (or threw); the local
  ///   change was undone by a compensating compare-and-set, unless a later
  ///   change had already replaced it (12);
  /// - `unavailable` / `internal`: storage failed, the user kept changing
  ///   during three decisions, or a plug-in threw; nothing was changed. One
  ///   exception: when the directory failed and the undo could not be
  ///   committed, the answer is `internal` and the reactivation stays.
  ///
  /// Every outcome but `unauthenticated` and storage failures appends one
  /// audit event; a granted change commits together with its event. An undo
  /// after a directory failure appends a second, `external_error` event.
  /// Never throws.
  /// `note` (truncated to kMaxNoteLength bytes) is recorded in the event.
  Result<User> reactivateUser(const Actor& actor, std::string_view id, std::string_view note = {});

 private:
  Result<User> decide(const Actor& actor, std::string_view id, std::string_view note);

  ServiceDeps deps_;
};

}  // namespace useradmin

#endif  // USERADMIN_REACTIVATION_SERVICE_HPP
