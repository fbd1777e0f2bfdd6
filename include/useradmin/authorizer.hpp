// Authorizer: the permission and hierarchy decisions (contract rules 3 and 6-8).
#ifndef USERADMIN_AUTHORIZER_HPP
#define USERADMIN_AUTHORIZER_HPP

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"

namespace useradmin {

class Policy;

/// The authenticated caller as the authorizer sees it.
struct Principal {
  const User& user;
  /// The caller's organization and its ancestors, `[org, ..., root]`.
  const std::vector<Organization>& org_chain;
  /// The credential's scopes, when it carries any.
  const std::optional<std::vector<std::string>>& scopes;
};

/// What is being acted on: a user or an organization, with the chains the
/// hierarchy rules need. Build one with ofUser or ofOrganization.
struct Subject {
  SubjectKind kind;
  /// The user acted on; null for an organization subject.
  const User* user;
  /// A user subject: the user's organization and its ancestors. An
  /// organization subject: the organization and its ancestors. Both
  /// `[org, ..., root]`.
  const std::vector<Organization>& org_chain;
  /// When a user subject was suspended by an organization cascade: that
  /// organization and its ancestors. Empty otherwise, or when no
  /// organization has that id any more.
  const std::vector<Organization>& cascade_org_chain;

  static Subject ofUser(const User& user, const std::vector<Organization>& org_chain,
                        const std::vector<Organization>& cascade_org_chain) {
    return {SubjectKind::user, &user, org_chain, cascade_org_chain};
  }
  static Subject ofOrganization(const std::vector<Organization>& org_chain) {
    static const std::vector<Organization> kNone;
    return {SubjectKind::organization, nullptr, org_chain, kNone};
  }
};

/// An authorizer's answer.
struct Decision {
  enum class Verdict {
    allow,
    /// Refused: the service answers `permission_denied` with `message`.
    deny,
    /// The subject is outside the caller's reach and must look absent: the
    /// service answers `not_found`, exactly as for an unknown id. (An
    /// authorizer that reveals such subjects answers `deny` instead; the
    /// choice is the authorizer's, made in one place.)
    hide,
  };
  Verdict verdict = Verdict::deny;
  /// Client-facing text for deny/hide.
  std::string message;
  /// Machine reason code for the audit log.
  std::string reason;

  static Decision allow() { return {Verdict::allow, {}, {}}; }
  bool allowed() const { return verdict == Verdict::allow; }
};

/// Decides whether a caller may act. Implementations are called from many
/// threads at once and must not block on I/O: everything they need is passed
/// in. Replace the default to plug in another authorization model.
class USERADMIN_API Authorizer {
 public:
  Authorizer() = default;
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;
  virtual ~Authorizer();

  /// Step C (rule 3): does the caller hold the permission `action` needs?
  virtual Decision checkPermission(const Principal& actor, Action action) const = 0;

  /// Step D's hierarchy half and the authority rules: may the caller do
  /// `action` to this particular subject? Called only after checkPermission
  /// allowed and the subject was found and is not deleted (nor below a
  /// deleted organization). For users: rule 6 (hierarchy), 7 (escalation)
  /// and, for reactivation, 8 (cascade authority); for organizations: a
  /// strict descendant of the caller's organization. For the reads
  /// (isRead(action)): visibility only, i.e. rule 6, and for organizations
  /// the caller's own organization or one below it.
  virtual Decision checkAuthority(const Principal& actor, Action action, const Subject& subject) const = 0;
};

/// The contract's hierarchical authorizer, driven by `policy` (which must
/// outlive it): permissions per requiredPermission(action); for users rule 6
/// (target organization is the caller's or below it, and not ranked above
/// it), rule 7 (in the same organization, no escalation by role priority),
/// rule 8 on reactivation (a cascade suspension needs authority over the
/// organization that cascaded); for organizations, a strict descendant of
/// the caller's organization; reads need visibility only (rule 6, or the
/// caller's organization or below). Subjects outside the hierarchy are hidden,
/// or denied with a message when `policy.revealOutsideHierarchy()`.
USERADMIN_API std::unique_ptr<Authorizer> makePolicyAuthorizer(const Policy& policy);

}  // namespace useradmin

#endif  // USERADMIN_AUTHORIZER_HPP
