// Fixtures: the JSON document of organizations and users that seeds a store.
#ifndef USERADMIN_FIXTURE_HPP
#define USERADMIN_FIXTURE_HPP

#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin {

class Policy;

/// A set of organizations and users, as loaded from a fixture.
struct Dataset {
  std::vector<Organization> organizations;
  std::vector<User> users;
};

/// Parses the contract §5 fixture format. Timestamps are RFC 3339 strings;
/// a user whose status is `suspended` without `suspended_at` is taken as
/// suspended at `now` (and `tokens_valid_after` defaults to that time too).
/// `updated_at` is `now` and `version` 1, for organizations too (a suspended
/// organization is taken as suspended at `now`). Unknown keys are ignored for
/// forward compatibility. Required: organizations `id`, `name`, `type`
/// (`parent_id` unless root); users `id`, `username`, `email`,
/// `organization_id`, `roles` (an array, may be empty), `status`. Only a
/// suspended user may carry `suspended_at`, `suspended_by` or
/// `suspended_by_org_id`. Errors are `invalid_argument` naming the entry by
/// id, or by position when it has none: `users[usr_x].status`,
/// `organizations[2]`. Does not check the model; see validateDataset.
USERADMIN_API Result<Dataset> parseFixture(std::string_view json, Timestamp now);

/// Checks that `data` forms a valid model on its own: ids valid and unique
/// per kind, at most one root (an `owner` without `parent_id`; every other
/// organization needs a parent), parents and user organizations exist in `data`,
/// each child ranks strictly below its parent under `policy`, no cycles,
/// roles known to `policy`. The error is `invalid_argument` whose single
/// field error names the offending entry (key `organizations[ID]` or
/// `users[ID]`, message what is wrong).
USERADMIN_API Status validateDataset(const Dataset& data, const Policy& policy);

/// parseFixture followed by validateDataset.
USERADMIN_API Result<Dataset> loadFixture(std::string_view json, const Policy& policy, Timestamp now);

}  // namespace useradmin

#endif  // USERADMIN_FIXTURE_HPP
