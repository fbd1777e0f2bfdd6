#include "useradmin/authorizer.hpp"

#include <algorithm>

#include "useradmin/policy.hpp"

namespace useradmin {

Authorizer::~Authorizer() = default;

namespace {

bool chainContains(const std::vector<Organization>& chain, const std::string& org_id) {
  return std::any_of(chain.begin(), chain.end(), [&](const Organization& o) { return o.id == org_id; });
}

class PolicyAuthorizer final : public Authorizer {
 public:
  explicit PolicyAuthorizer(const Policy& policy) : policy_(policy) {}

  Decision checkPermission(const Principal& actor, std::string_view permission) const override {
    if (actor.org_chain.empty()) return deny("insufficient permissions", "missing_permission");
    const auto granted = policy_.effectivePermissions(actor.user, actor.org_chain.front().type, actor.scopes);
    if (granted.find(permission) == granted.end()) return deny("insufficient permissions", "missing_permission");
    return Decision::allow();
  }

  Decision checkAuthority(const Principal& actor, const Subject& target) const override {
    if (actor.org_chain.empty() || target.org_chain.empty())
      return hide("outside_hierarchy");
    const Organization& actor_org = actor.org_chain.front();
    const Organization& target_org = target.org_chain.front();

    // Rule 6: the target's organization is the actor's or below it, and does
    // not outrank it.
    if (!chainContains(target.org_chain, actor_org.id)) return hide("outside_hierarchy");
    if (policy_.rank(target_org.type) > policy_.rank(actor_org.type)) return hide("rank_above_actor");

    // Rule 7: inside one organization, nobody manages a more privileged user.
    if (target_org.id == actor_org.id && policy_.privilege(actor.user) > policy_.privilege(target.user))
      return deny("cannot manage a user with higher privileges", "higher_privilege");

    // Rule 8: undoing an organization's cascade needs authority over that
    // organization. A cascade origin that no longer resolves cannot be
    // shown to be within reach, so it is refused too.
    if (target.user.suspended_by_org_id &&
        (target.cascade_org_chain.empty() || !chainContains(target.cascade_org_chain, actor_org.id)))
      return deny("user was suspended by a parent organization", "cascade_outside_authority");

    return Decision::allow();
  }

 private:
  static Decision deny(std::string message, std::string reason) {
    return {Decision::Verdict::deny, std::move(message), std::move(reason)};
  }
  static Decision hide(std::string reason) {
    return {Decision::Verdict::hide, "cannot manage users outside your organization hierarchy", std::move(reason)};
  }

  const Policy& policy_;
};

}  // namespace

std::unique_ptr<Authorizer> makePolicyAuthorizer(const Policy& policy) {
  return std::make_unique<PolicyAuthorizer>(policy);
}

}  // namespace useradmin
