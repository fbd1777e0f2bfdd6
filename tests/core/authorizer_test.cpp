// The policy authorizer on hand-built inputs, including ones a valid store never holds.
#include <catch2/catch.hpp>

#include "support/fixtures.hpp"
#include "useradmin/authorizer.hpp"
#include "useradmin/policy.hpp"

using namespace useradmin;
using namespace useradmin::test;

TEST_CASE("authorizer: a target ranked above the actor's organization is hidden even inside the chain",
          "[authorizer][rule06]") {
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  const User actor = makeUser("usr_a", "org_x", {"super"});
  const User target = makeSuspended("usr_t", "org_y");
  const std::vector<Organization> actor_chain{makeOrg("org_x", OrgType::customer)};
  // An inconsistent chain: a reseller listed below a customer.
  const std::vector<Organization> target_chain{makeOrg("org_y", OrgType::reseller, "org_x"),
                                               makeOrg("org_x", OrgType::customer)};
  const std::vector<Organization> no_cascade;
  const std::optional<std::vector<std::string>> no_scopes;
  const Decision d = authorizer->checkAuthority({actor, actor_chain, no_scopes}, Action::reactivate_user,
                                                Subject::ofUser(target, target_chain, no_cascade));
  CHECK(d.verdict == Decision::Verdict::hide);
  CHECK(d.reason == "rank_above_actor");
}

TEST_CASE("authorizer: a cascade whose organization no longer resolves is refused", "[authorizer][rule08]") {
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  const User actor = makeUser("usr_a", "org_r", {"admin"});
  User target = makeSuspended("usr_t", "org_c");
  target.suspended_by_org_id = "org_gone";
  const std::vector<Organization> actor_chain{makeOrg("org_r", OrgType::reseller)};
  const std::vector<Organization> target_chain{makeOrg("org_c", OrgType::customer, "org_r"),
                                               makeOrg("org_r", OrgType::reseller)};
  const std::vector<Organization> gone;
  const std::optional<std::vector<std::string>> no_scopes;
  const Decision d = authorizer->checkAuthority({actor, actor_chain, no_scopes}, Action::reactivate_user,
                                                Subject::ofUser(target, target_chain, gone));
  CHECK(d.verdict == Decision::Verdict::deny);
  CHECK(d.reason == "cascade_outside_authority");
}
