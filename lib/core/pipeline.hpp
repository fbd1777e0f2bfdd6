// The decision steps every operation of AdminService is composed of
// (lifecycle §1 A-D, preconditions, apply, directory). Private to the core.
//
// Conventions: a step returns Status or Result<T>. Inside a unit, an error
// whose code is `internal` or `unavailable` is a storage (or plug-in)
// failure: the unit is abandoned and nothing is written. Any other error is
// the operation's answer: Pipeline::decide audits it (unless unauthenticated)
// and commits that audit event alone.
#ifndef USERADMIN_LIB_CORE_PIPELINE_HPP
#define USERADMIN_LIB_CORE_PIPELINE_HPP

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "useradmin/admin_service.hpp"

namespace useradmin::detail {

/// The caller as step A established it.
struct ActorView {
  User user;
  std::vector<Organization> chain;
};

/// A user subject, loaded by step D.
struct UserTarget {
  User user;
  std::vector<Organization> chain;
  /// The chain of `user.suspended_by_org_id`, when set (rule 8).
  std::vector<Organization> cascade_chain;
};

/// An organization subject, loaded by step D: the organization first.
struct OrganizationTarget {
  std::vector<Organization> chain;
  const Organization& organization() const { return chain.front(); }
};

/// A committed user change, kept for the directory step and its undo.
struct UserChange {
  User before;
  User after;
};

/// One request of one operation: what was asked, by whom, at what time, and
/// the steps that decide it. Not shared between threads.
class Pipeline {
 public:
  Pipeline(const ServiceDeps& deps, const Actor& actor, Action action, std::string_view id, std::string_view note);

  // ---- Steps inside a unit of work ----
  /// A: the actor exists, is active, its organizations are neither deleted
  /// nor suspended, and its credential is not revoked (rule 1).
  Result<ActorView> identifyActor(UnitOfWork& unit) const;
  /// B: the path id (rule 2) and the note's length.
  Status validateArguments() const;
  /// C: the action's permission (rule 3).
  Status requirePermission(const ActorView& me) const;
  /// Rule 4: nobody acts on themselves.
  Status notYourself(const ActorView& me) const;
  /// D, first half: a user that exists, is not deleted, nor below a deleted
  /// organization. Records its organization for the audit event.
  Result<UserTarget> loadUser(UnitOfWork& unit);
  /// D, first half, for organizations.
  Result<OrganizationTarget> loadOrganization(UnitOfWork& unit);
  /// D, second half, and the authority rules: the authorizer's verdict, an
  /// invisible subject answered exactly as a missing one.
  Status requireAuthority(const ActorView& me, const UserTarget& target) const;
  Status requireAuthority(const ActorView& me, const OrganizationTarget& target) const;
  /// Apply: compare-and-set on the version read, plus the granted event.
  Result<UserChange> commitUser(UnitOfWork& unit, const User& before, User after, std::string_view reason) const;
  Result<Organization> commitOrganization(UnitOfWork& unit, const Organization& before, Organization after,
                                          std::string_view reason) const;
  /// The cascade request for the users below an organization; each changed
  /// user gets a `user.suspend` / `user.reactivate` event, reason
  /// `organization_cascade`.
  Cascade cascade(const Organization& organization, Action user_action) const;

  // ---- Running the unit ----
  /// Runs `decideOnce` as one unit of work (through transactLarge when
  /// `large`), auditing a refusal in the same unit, and takes the decision
  /// again (at most three times) when its compare-and-set lost to a
  /// concurrent change.
  template <class T>
  Result<T> decide(const std::function<Result<T>(UnitOfWork&)>& decideOnce, bool large = false);

  /// decide without blocking (UserStore::transactAsync, or
  /// transactLargeAsync when `large`): `then` is called once with the
  /// answer, on the thread that completes the store's unit. `self` keeps
  /// the pipeline (and what it refers to) alive until then.
  template <class T>
  static void decideAsync(std::shared_ptr<Pipeline> self, std::function<Result<T>(UnitOfWork&)> decideOnce,
                          std::function<void(Result<T>)> then, bool large = false, int attempt = 1);

  /// An event of this request with `outcome` and `reason`.
  AuditEvent event(std::string_view outcome, std::string_view reason) const;

  const ServiceDeps& deps() const { return deps_; }
  const Actor& actor() const { return actor_; }
  Timestamp now() const { return now_; }
  std::string_view id() const { return id_; }

 private:
  Status commitOnce(const UserStore::Work& work, bool large);
  // One decision inside a unit: runs `decideOnce`, audits a refusal, and
  // leaves the answer in `answer` (none when the compare-and-set lost).
  template <class T>
  Status decideInUnit(UnitOfWork& unit, const std::function<Result<T>(UnitOfWork&)>& decideOnce,
                      std::optional<Result<T>>& answer);
  Error keptChanging() const;

  const ServiceDeps& deps_;
  const Actor& actor_;
  const Action action_;
  const std::string_view id_;
  /// The note, at most kMaxNoteLength code points of it.
  const std::string_view note_;
  const Timestamp now_;
  /// The audited spelling of `id_` (printable even when the id is not).
  const std::string target_id_;
  /// The note was cut to kMaxNoteLength code points (step B refuses it).
  const bool note_too_long_;
  /// The subject's organization once step D found it; reset per attempt.
  std::optional<std::string> target_organization_id_;
};

// ---- Preconditions (pure) ----
/// Rule 9: no suspended organization at or above the user.
Status organizationNotSuspended(const UserTarget& target);
/// Rule 10.
Status userIsSuspended(const User& user);
/// Lifecycle §2.3.
Status userIsActive(const User& user);
/// Lifecycle §3.1.
Status organizationNotSuspended(const OrganizationTarget& target);
/// Lifecycle §4.1: no suspended ancestor.
Status parentNotSuspended(const OrganizationTarget& target);
/// Lifecycle §4.2.
Status organizationIsSuspended(const OrganizationTarget& target);

// ---- Transitions (pure): the state after the change ----
User reactivated(User user, Timestamp now);
User suspended(User user, const std::string& by, Timestamp now);
Organization suspended(Organization org, const std::string& by, Timestamp now);
Organization reactivated(Organization org, Timestamp now);

// ---- After the commit ----
/// Rule 12: tells the directory; when it fails, undoes `change` by
/// compare-and-set on the version written, queues the user's resulting
/// state in the directory outbox in the undo's unit (a timed-out call may
/// have been applied upstream, directory.md §3), and answers `external_error`.
Result<User> tellDirectoryOrUndo(Pipeline& pipeline, UserChange change);

/// Runs `operation`, turning any exception into `internal`: nothing may
/// escape the library boundary.
template <class T>
Result<T> guarded(const char* name, const std::function<Result<T>()>& operation);

// decide and guarded are instantiated in pipeline.cpp for the results the
// operations produce.
extern template Result<UserChange> Pipeline::decide(const std::function<Result<UserChange>(UnitOfWork&)>&, bool);
extern template void Pipeline::decideAsync(std::shared_ptr<Pipeline>,
                                           std::function<Result<UserChange>(UnitOfWork&)>,
                                           std::function<void(Result<UserChange>)>, bool, int);
extern template void Pipeline::decideAsync(std::shared_ptr<Pipeline>,
                                           std::function<Result<OrganizationChange>(UnitOfWork&)>,
                                           std::function<void(Result<OrganizationChange>)>, bool, int);
extern template Result<OrganizationChange> Pipeline::decide(
    const std::function<Result<OrganizationChange>(UnitOfWork&)>&, bool);
extern template Result<User> guarded(const char*, const std::function<Result<User>()>&);
extern template Result<OrganizationChange> guarded(const char*, const std::function<Result<OrganizationChange>()>&);
extern template Result<Organization> guarded(const char*, const std::function<Result<Organization>()>&);
extern template Result<UserPage> guarded(const char*, const std::function<Result<UserPage>()>&);
extern template Result<AuditPage> guarded(const char*, const std::function<Result<AuditPage>()>&);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_CORE_PIPELINE_HPP
