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

/// The user being acted on.
struct Subject {
  const User& user;
  /// The target's organization and its ancestors, `[org, ..., root]`.
  const std::vector<Organization>& org_chain;
  /// When the target was suspended by an organization cascade: that
  /// organization and its ancestors. Empty otherwise, or when no
  /// organization has that id any more.
  const std::vector<Organization>& cascade_org_chain;
};

/// An authorizer's answer.
struct Decision {
  enum class Verdict {
    allow,
    /// Refused: the service answers `permission_denied` with `message`.
    deny,
    /// The subject is outside the caller's reach and must look absent: the
    /// service answers `not_found`, exactly as for an unknown id, unless the
    /// policy reveals it (then `permission_denied` with `message`).
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

  /// Rule 3: does the caller hold `permission` at all?
  virtual Decision checkPermission(const Principal& actor, std::string_view permission) const = 0;

  /// Rules 6-8: may the caller manage this particular user? Called only
  /// after checkPermission allowed, the caller is not the subject, and the
  /// subject exists and is visible.
  virtual Decision checkAuthority(const Principal& actor, const Subject& target) const = 0;
};

/// The contract's hierarchical authorizer, driven by `policy` (which must
/// outlive it): rule 6 (target organization is the caller's or below it, and
/// not ranked above it), rule 7 (in the same organization, no escalation by
/// role priority), rule 8 (a cascade suspension needs authority over the
/// organization that cascaded).
USERADMIN_API std::unique_ptr<Authorizer> makePolicyAuthorizer(const Policy& policy);

}  // namespace useradmin

#endif  // USERADMIN_AUTHORIZER_HPP
