// Policy: which roles exist, what they may do, and how organization types rank.
#ifndef USERADMIN_POLICY_HPP
#define USERADMIN_POLICY_HPP

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin {

/// The permission the user operations require (contract rule 3).
inline constexpr std::string_view kManageUsers = "manage:users";
/// The permission every read requires (lifecycle §5).
inline constexpr std::string_view kReadUsers = "read:users";
/// The permission the organization operations require (lifecycle §1).
inline constexpr std::string_view kManageOrganizations = "manage:organizations";

/// The permission `action` requires under the policy authorizer.
USERADMIN_API std::string_view requiredPermission(Action action) noexcept;

/// A user role: its privilege priority (0 = most privileged) and permissions.
struct RoleDefinition {
  int priority = 0;
  std::set<std::string, std::less<>> permissions;
};

/// An organization type's rank (higher manages lower) and the permissions it
/// grants to all of its users.
struct OrgTypeDefinition {
  int rank = 0;
  std::set<std::string, std::less<>> permissions;
};

/// An immutable-after-construction description of roles, organization types
/// and switches. Safe to share between threads for reading.
class USERADMIN_API Policy {
 public:
  /// Builds a policy in code. Every OrgType must have a definition, ranks
  /// must be strictly ordered owner > distributor > reseller > customer, and
  /// role priorities and ranks must lie in 0..1000000; otherwise
  /// `invalid_argument`.
  static Result<Policy> create(std::map<std::string, RoleDefinition, std::less<>> roles,
                               std::map<OrgType, OrgTypeDefinition> org_types,
                               bool reveal_outside_hierarchy = false);

  /// Parses a policy document:
  /// `{"roles": {"admin": {"priority": 1, "permissions": ["manage:users"]}},
  ///   "organization_types": {"owner": {"rank": 4, "permissions": []}, ...},
  ///   "reveal_outside_hierarchy": false}`.
  /// `organization_types` may be omitted (the default ranks, no grants).
  /// A malformed document is `invalid_argument` whose field error names the
  /// offending key (e.g. `roles.admin.priority`).
  static Result<Policy> fromJson(std::string_view json);

  /// The role's definition, or null for an unknown role.
  const RoleDefinition* role(std::string_view name) const;
  /// The type's rank.
  int rank(OrgType type) const;
  /// The user's effective permissions: union of role and organization-type
  /// grants, intersected with `scopes` when the credential carries any.
  std::set<std::string, std::less<>> effectivePermissions(
      const User& user, OrgType org_type, const std::optional<std::vector<std::string>>& scopes) const;
  /// The smallest priority among the user's known roles; users with no known
  /// role get `lowestPrivilege()`.
  int privilege(const User& user) const;
  /// A priority worse than every defined role's.
  int lowestPrivilege() const { return lowest_privilege_; }
  /// When true, a target outside the actor's hierarchy is answered as
  /// `permission_denied` instead of the default, indistinguishable `not_found`.
  bool revealOutsideHierarchy() const { return reveal_outside_hierarchy_; }

 private:
  Policy() = default;
  std::map<std::string, RoleDefinition, std::less<>> roles_;
  std::map<OrgType, OrgTypeDefinition> org_types_;
  int lowest_privilege_ = 0;
  bool reveal_outside_hierarchy_ = false;
};

/// The contract's default policy: roles `super` (0), `admin` (1), `support` (2)
/// with the §1 permissions, plus `manage:organizations` for `super` and
/// `admin` (lifecycle §1); ranks 4/3/2/1; no organization-type grants.
USERADMIN_API const Policy& defaultPolicy();

}  // namespace useradmin

#endif  // USERADMIN_POLICY_HPP
