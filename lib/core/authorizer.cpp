#include "useradmin/authorizer.hpp"

#include <algorithm>

#include "useradmin/policy.hpp"

namespace useradmin {

Authorizer::~Authorizer() = default;

namespace {

bool chainContains(const std::vector<Organization>& chain, const std::string& org_id) {
  return std::any_of(chain.begin(), chain.end(), [&](const Organization& o) { return o.id == org_id; });
}

Decision deny(std::string message, std::string reason) {
  return {Decision::Verdict::deny, std::move(message), std::move(reason)};
}

class PolicyAuthorizer final : public Authorizer {
 public:
  explicit PolicyAuthorizer(const Policy& policy) : policy_(policy) {}

  Decision checkPermission(const Principal& actor, Action action) const override {
    if (actor.org_chain.empty()) return deny("insufficient permissions", "missing_permission");
    const auto granted = policy_.effectivePermissions(actor.user, actor.org_chain.front().type, actor.scopes);
    if (granted.find(requiredPermission(action)) == granted.end())
      return deny("insufficient permissions", "missing_permission");
    return Decision::allow();
  }

  Decision checkAuthority(const Principal& actor, Action action, const Subject& subject) const override {
    if (actor.org_chain.empty() || subject.org_chain.empty()) return outside(subject.kind, "outside_hierarchy");
    if (subject.kind == SubjectKind::organization) return organizationAuthority(actor, action, subject);
    return userAuthority(actor, action, subject);
  }

 private:
  // Rules 6-8 for a user subject.
  Decision userAuthority(const Principal& actor, Action action, const Subject& subject) const {
    const Organization& actor_org = actor.org_chain.front();
    const Organization& target_org = subject.org_chain.front();
    const User& target = *subject.user;

    // Rule 6: the target's organization is the actor's or below it, and does
    // not outrank it.
    if (!chainContains(subject.org_chain, actor_org.id)) return outside(subject.kind, "outside_hierarchy");
    if (policy_.rank(target_org.type) > policy_.rank(actor_org.type))
      return outside(subject.kind, "rank_above_actor");

    // Reads only need the target to be visible (lifecycle §5).
    if (isRead(action)) return Decision::allow();

    // Rule 7: inside one organization, nobody manages a more privileged user.
    if (target_org.id == actor_org.id && policy_.privilege(actor.user) > policy_.privilege(target))
      return deny("cannot manage a user with higher privileges", "higher_privilege");

    // Rule 8: undoing an organization's cascade needs authority over that
    // organization. A cascade origin that no longer resolves cannot be
    // shown to be within reach, so it is refused too.
    if (action == Action::reactivate_user && target.suspended_by_org_id &&
        (subject.cascade_org_chain.empty() || !chainContains(subject.cascade_org_chain, actor_org.id)))
      return deny("user was suspended by a parent organization", "cascade_outside_authority");

    return Decision::allow();
  }

  // Lifecycle §3/§4 step D: only strict descendants of the actor's own
  // organization can be suspended or reactivated.
  // Reads (lifecycle §5) may see the actor's own organization too.
  Decision organizationAuthority(const Principal& actor, Action action, const Subject& subject) const {
    const Organization& actor_org = actor.org_chain.front();
    if (!isRead(action) && subject.org_chain.front().id == actor_org.id)
      return outside(subject.kind, "own_organization");
    if (!chainContains(subject.org_chain, actor_org.id)) return outside(subject.kind, "outside_hierarchy");
    return Decision::allow();
  }

  // The one place where "outside your hierarchy" is either hidden (looks
  // exactly like a missing id) or, when the policy says so, revealed.
  Decision outside(SubjectKind kind, std::string reason) const {
    std::string message = kind == SubjectKind::user ? "cannot manage users outside your organization hierarchy"
                                                    : "cannot manage organizations outside your organization hierarchy";
    const auto verdict = policy_.revealOutsideHierarchy() ? Decision::Verdict::deny : Decision::Verdict::hide;
    return {verdict, std::move(message), std::move(reason)};
  }

  const Policy& policy_;
};

}  // namespace

std::unique_ptr<Authorizer> makePolicyAuthorizer(const Policy& policy) {
  return std::make_unique<PolicyAuthorizer>(policy);
}

}  // namespace useradmin
