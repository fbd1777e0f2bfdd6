// Raw bytes as a policy document (Policy::fromJson). An accepted policy must
// keep what Policy::create promises: strictly ordered ranks, every role the
// document names defined, priorities in range and better than
// lowestPrivilege(), and scopes that only ever narrow permissions.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fuzz_support.hpp"
#include "useradmin/policy.hpp"

using namespace useradmin;

namespace {

void checkRole(const Policy& policy, const std::string& name) {
  const RoleDefinition* role = policy.role(name);
  fuzz::check(role != nullptr, "a role of the document is not defined", name);
  fuzz::check(role->priority >= 0 && role->priority <= 1000000, "role priority out of range", name);
  fuzz::check(role->priority < policy.lowestPrivilege(), "role not better than lowestPrivilege()", name);
  User user;
  user.roles = {name};
  fuzz::check(policy.privilege(user) == role->priority, "privilege() is not the role's priority", name);
  for (const OrgType type : {OrgType::owner, OrgType::customer}) {
    const auto all = policy.effectivePermissions(user, type, std::nullopt);
    const auto scoped = policy.effectivePermissions(user, type, std::vector<std::string>{std::string(kManageUsers)});
    fuzz::check(std::includes(all.begin(), all.end(), scoped.begin(), scoped.end()), "a scope widened permissions",
                name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::asText(data, size);
  auto policy = Policy::fromJson(text);
  if (!policy) {
    fuzz::check(policy.error().code == ErrorCode::invalid_argument, "policy refusal is not invalid_argument");
    fuzz::check(!policy.error().fields.empty(), "policy refusal names no key");
    return 0;
  }
  fuzz::check(policy->rank(OrgType::owner) > policy->rank(OrgType::distributor) &&
                  policy->rank(OrgType::distributor) > policy->rank(OrgType::reseller) &&
                  policy->rank(OrgType::reseller) > policy->rank(OrgType::customer),
              "accepted ranks that are not strictly ordered");
  fuzz::check(policy->privilege(User{}) == policy->lowestPrivilege(), "a user without roles has privileges");
  const boost::json::value doc = boost::json::parse(boost::json::string_view(text.data(), text.size()));
  for (const auto& entry : doc.at("roles").get_object()) checkRole(*policy, std::string(entry.key()));
  return 0;
}
