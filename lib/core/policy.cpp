#include "useradmin/policy.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include <boost/json.hpp>

namespace useradmin {

namespace {

// Bounds priorities and ranks, so `priority + 1` and rank comparisons never overflow.
constexpr int kMaxPolicyNumber = 1000000;

constexpr OrgType kAllTypes[] = {OrgType::owner, OrgType::distributor, OrgType::reseller, OrgType::customer};

Error policyError(std::string key, std::string message) {
  return Error::invalidArgument({std::move(key), std::move(message), {}}, "invalid_policy");
}

// Reads a JSON array of strings into a permission set.
Result<std::set<std::string, std::less<>>> readPermissions(const boost::json::value* v, const std::string& key) {
  std::set<std::string, std::less<>> out;
  if (v == nullptr) return out;
  const auto* arr = v->if_array();
  if (arr == nullptr) return policyError(key, "must be an array of strings");
  for (const auto& item : *arr) {
    const auto* s = item.if_string();
    if (s == nullptr || s->empty()) return policyError(key, "must be an array of strings");
    out.emplace(s->data(), s->size());
  }
  return out;
}

Result<int> readInt(const boost::json::object& obj, const char* name, const std::string& key) {
  const auto* v = obj.if_contains(name);
  if (v == nullptr) return policyError(key, "is required");
  // Boost.JSON keeps integers above INT64_MAX as uint64: out of range too.
  if (v->is_uint64()) return policyError(key, "must be between 0 and " + std::to_string(kMaxPolicyNumber));
  if (!v->is_int64()) return policyError(key, "must be an integer");
  const std::int64_t n = v->get_int64();
  if (n < 0 || n > kMaxPolicyNumber) return policyError(key, "must be between 0 and " + std::to_string(kMaxPolicyNumber));
  return static_cast<int>(n);
}

}  // namespace

Result<Policy> Policy::create(std::map<std::string, RoleDefinition, std::less<>> roles,
                              std::map<OrgType, OrgTypeDefinition> org_types, bool reveal_outside_hierarchy) {
  int lowest = 0;
  for (const auto& [name, def] : roles) {
    if (name.empty()) return policyError("roles", "role names must not be empty");
    if (def.priority < 0 || def.priority > kMaxPolicyNumber)
      return policyError("roles." + name + ".priority", "must be between 0 and " + std::to_string(kMaxPolicyNumber));
    lowest = std::max(lowest, def.priority + 1);
  }
  for (OrgType type : kAllTypes) {
    const auto it = org_types.find(type);
    if (it == org_types.end()) return policyError(std::string("organization_types.") + toString(type), "is required");
    if (it->second.rank < 0 || it->second.rank > kMaxPolicyNumber)
      return policyError(std::string("organization_types.") + toString(type) + ".rank",
                         "must be between 0 and " + std::to_string(kMaxPolicyNumber));
  }
  // The hierarchy relies on owner > distributor > reseller > customer.
  for (std::size_t i = 0; i + 1 < std::size(kAllTypes); ++i) {
    if (org_types[kAllTypes[i]].rank <= org_types[kAllTypes[i + 1]].rank)
      return policyError(std::string("organization_types.") + toString(kAllTypes[i]) + ".rank",
                         std::string("must be greater than the rank of ") + toString(kAllTypes[i + 1]));
  }
  Policy p;
  p.roles_ = std::move(roles);
  p.org_types_ = std::move(org_types);
  p.lowest_privilege_ = lowest;
  p.reveal_outside_hierarchy_ = reveal_outside_hierarchy;
  return p;
}

Result<Policy> Policy::fromJson(std::string_view json) {
  boost::json::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 16;
  const boost::json::value doc = boost::json::parse(json, ec, {}, opts);
  if (ec) return policyError("policy", "is not valid JSON: " + ec.message());
  const auto* root = doc.if_object();
  if (root == nullptr) return policyError("policy", "must be a JSON object");

  std::map<std::string, RoleDefinition, std::less<>> roles;
  const auto* roles_v = root->if_contains("roles");
  if (roles_v == nullptr || !roles_v->is_object()) return policyError("roles", "must be an object");
  for (const auto& [name_sv, def_v] : roles_v->get_object()) {
    const std::string name(name_sv);
    const std::string key = "roles." + name;
    const auto* def = def_v.if_object();
    if (def == nullptr) return policyError(key, "must be an object");
    auto priority = readInt(*def, "priority", key + ".priority");
    if (!priority) return std::move(priority).error();
    auto perms = readPermissions(def->if_contains("permissions"), key + ".permissions");
    if (!perms) return std::move(perms).error();
    roles.emplace(name, RoleDefinition{*priority, std::move(*perms)});
  }

  std::map<OrgType, OrgTypeDefinition> types;
  for (OrgType t : kAllTypes) types[t] = OrgTypeDefinition{static_cast<int>(t), {}};
  if (const auto* types_v = root->if_contains("organization_types")) {
    if (!types_v->is_object()) return policyError("organization_types", "must be an object");
    for (const auto& [name_sv, def_v] : types_v->get_object()) {
      const std::string key = "organization_types." + std::string(name_sv);
      const auto type = parseOrgType(name_sv);
      if (!type) return policyError(key, "is not an organization type");
      const auto* def = def_v.if_object();
      if (def == nullptr) return policyError(key, "must be an object");
      if (def->contains("rank")) {
        auto rank = readInt(*def, "rank", key + ".rank");
        if (!rank) return std::move(rank).error();
        types[*type].rank = *rank;
      }
      auto perms = readPermissions(def->if_contains("permissions"), key + ".permissions");
      if (!perms) return std::move(perms).error();
      types[*type].permissions = std::move(*perms);
    }
  }

  bool reveal = false;
  if (const auto* r = root->if_contains("reveal_outside_hierarchy")) {
    if (!r->is_bool()) return policyError("reveal_outside_hierarchy", "must be a boolean");
    reveal = r->get_bool();
  }
  return create(std::move(roles), std::move(types), reveal);
}

std::string_view requiredPermission(Action action) noexcept {
  switch (action) {
    case Action::reactivate_user:
    case Action::suspend_user: return kManageUsers;
    case Action::suspend_organization:
    case Action::reactivate_organization: return kManageOrganizations;
    case Action::read_user:
    case Action::list_users:
    case Action::read_organization:
    case Action::read_audit: return kReadUsers;
  }
  return kManageUsers;
}

const RoleDefinition* Policy::role(std::string_view name) const {
  const auto it = roles_.find(name);
  return it == roles_.end() ? nullptr : &it->second;
}

int Policy::rank(OrgType type) const {
  const auto it = org_types_.find(type);
  return it == org_types_.end() ? 0 : it->second.rank;
}

std::set<std::string, std::less<>> Policy::effectivePermissions(
    const User& user, OrgType org_type, const std::optional<std::vector<std::string>>& scopes) const {
  std::set<std::string, std::less<>> granted;
  for (const auto& role_name : user.roles) {
    if (const auto* def = role(role_name)) granted.insert(def->permissions.begin(), def->permissions.end());
  }
  if (const auto it = org_types_.find(org_type); it != org_types_.end())
    granted.insert(it->second.permissions.begin(), it->second.permissions.end());
  if (!scopes) return granted;
  // A credential's scopes can narrow the grant, never widen it.
  std::set<std::string, std::less<>> narrowed;
  for (const auto& scope : *scopes) {
    if (granted.count(scope) != 0) narrowed.insert(scope);
  }
  return narrowed;
}

int Policy::privilege(const User& user) const {
  int best = lowest_privilege_;
  for (const auto& role_name : user.roles) {
    if (const auto* def = role(role_name)) best = std::min(best, def->priority);
  }
  return best;
}

const Policy& defaultPolicy() {
  static const Policy policy = [] {
    std::map<std::string, RoleDefinition, std::less<>> roles{
        {"super",
         {0,
          {"manage:users", "manage:organizations", "read:users", "impersonate:users", "manage:systems",
           "read:systems", "destroy:systems"}}},
        {"admin", {1, {"manage:users", "manage:organizations", "read:users", "manage:systems", "read:systems"}}},
        {"support", {2, {"manage:systems", "read:systems"}}},
    };
    std::map<OrgType, OrgTypeDefinition> types;
    for (OrgType t : kAllTypes) types[t] = OrgTypeDefinition{static_cast<int>(t), {}};
    auto created = Policy::create(std::move(roles), std::move(types), false);
    if (!created) std::abort();  // the built-in policy is valid by construction
    return std::move(created).value();
  }();
  return policy;
}

}  // namespace useradmin
