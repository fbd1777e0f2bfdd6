#include "seed.hpp"

#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "rows.hpp"

namespace useradmin::detail {

namespace {

constexpr const char* kSelectOrganizations = "SELECT " USERADMIN_ORGANIZATION_COLUMNS " FROM organizations";
constexpr const char* kAnyUser = "SELECT EXISTS (SELECT 1 FROM users)";
constexpr const char* kDistinctRoles = "SELECT DISTINCT role FROM user_roles";
constexpr const char* kUserWithRole = "SELECT user_id FROM user_roles WHERE role = ?1 ORDER BY user_id LIMIT 1";
constexpr const char* kDeferForeignKeys = "PRAGMA defer_foreign_keys = ON";

// The same shape validateDataset reports, so callers see one kind of error
// whichever check caught the entry.
Error fixtureError(std::string key, std::string message, std::string value = {}) {
  return Error::invalidArgument({std::move(key), std::move(message), std::move(value)}, "invalid_fixture");
}

// Ids valid and unique within the fixture. The merged model cannot show a
// duplicate (the second row would silently replace the first), so this is
// checked on the fixture itself.
template <class Entry>
Status checkIds(const std::vector<Entry>& entries, const char* kind) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(entries.size());
  for (const auto& entry : entries) {
    if (!isValidId(entry.id)) return fixtureError(std::string(kind) + "[" + entry.id + "]", "invalid id", entry.id);
    if (!seen.insert(entry.id).second)
      return fixtureError(std::string(kind) + "[" + entry.id + "]", "duplicate id", entry.id);
  }
  return okStatus();
}

Result<std::vector<Organization>> loadOrganizations(Connection& c) {
  auto st = c.statement(kSelectOrganizations);
  if (!st) return std::move(st).error();
  std::vector<Organization> orgs;
  while (true) {
    auto row = st->next("reading organizations");
    if (!row) return std::move(row).error();
    if (!*row) break;
    auto org = readOrganization(*st);
    if (!org) return std::move(org).error();
    orgs.push_back(std::move(*org));
  }
  return orgs;
}

// The model after the load: the fixture's organizations first (so that
// when several entries are wrong, the one reported is the fixture's own),
// then the stored ones it does not replace.
std::vector<Organization> mergeOrganizations(std::vector<Organization> stored, const Dataset& data) {
  std::unordered_set<std::string_view> replaced;
  replaced.reserve(data.organizations.size());
  for (const auto& org : data.organizations) replaced.insert(org.id);
  std::vector<Organization> merged(data.organizations.begin(), data.organizations.end());
  merged.reserve(data.organizations.size() + stored.size());
  for (auto& org : stored) {
    if (replaced.find(org.id) == replaced.end()) merged.push_back(std::move(org));
  }
  return merged;
}

// The user checks of validateDataset, against the merged organization ids
// (stored users need none of them again: organizations are never removed).
Status checkUsers(const Dataset& data, const std::unordered_set<std::string_view>& org_ids, const Policy& policy) {
  for (const auto& user : data.users) {
    if (org_ids.find(user.organization_id) == org_ids.end())
      return fixtureError("users[" + user.id + "]", "organization_id does not exist", user.organization_id);
    for (const auto& role : user.roles) {
      if (policy.role(role) == nullptr) return fixtureError("users[" + user.id + "]", "unknown role", role);
    }
    if (user.suspended_by_org_id && org_ids.find(*user.suspended_by_org_id) == org_ids.end())
      return fixtureError("users[" + user.id + "]", "suspended_by_org_id does not exist", *user.suspended_by_org_id);
  }
  return okStatus();
}

// Roles of stored users the fixture did not replace were checked when they
// were loaded, but perhaps under another policy: check the whole table.
Status checkStoredRoles(Connection& c, const Policy& policy) {
  std::vector<std::string> unknown;
  {
    auto st = c.statement(kDistinctRoles);
    if (!st) return std::move(st).error();
    while (true) {
      auto row = st->next("reading stored roles");
      if (!row) return std::move(row).error();
      if (!*row) break;
      std::string role = st->text(0);
      if (policy.role(role) == nullptr) unknown.push_back(std::move(role));
    }
  }
  if (unknown.empty()) return okStatus();
  auto st = c.statement(kUserWithRole);
  if (!st) return std::move(st).error();
  st->bindText(1, unknown.front());
  auto row = st->next("finding a user with an unknown role");
  if (!row) return std::move(row).error();
  const std::string user_id = *row ? st->text(0) : std::string("?");
  return fixtureError("users[" + user_id + "]", "unknown role", unknown.front());
}

Result<bool> anyUser(Connection& c) {
  auto st = c.statement(kAnyUser);
  if (!st) return std::move(st).error();
  auto row = st->next("counting users");
  if (!row) return std::move(row).error();
  return *row && st->integer(0) != 0;
}

// Everything between BEGIN and COMMIT; the caller rolls back on failure.
Status validateAndWrite(Connection& c, const Dataset& data, const Policy& policy) {
  auto stored = loadOrganizations(c);
  if (!stored) return std::move(stored).error();
  Dataset tree;
  tree.organizations = mergeOrganizations(std::move(*stored), data);
  if (Status valid = validateDataset(tree, policy); !valid) return valid;

  std::unordered_set<std::string_view> org_ids;
  org_ids.reserve(tree.organizations.size());
  for (const auto& org : tree.organizations) org_ids.insert(org.id);
  if (Status valid = checkUsers(data, org_ids, policy); !valid) return valid;

  auto had_users = anyUser(c);
  if (!had_users) return std::move(had_users).error();

  // A fixture may list a child before its parent: check references at COMMIT.
  if (Status deferred = c.exec(kDeferForeignKeys, "deferring foreign keys"); !deferred) return deferred;
  for (const auto& org : data.organizations) {
    if (Status written = upsertOrganization(c, org); !written) return written;
  }
  for (const auto& user : data.users) {
    if (Status written = upsertUser(c, user, !*had_users); !written) return written;
  }
  // Only stored users can carry a role the fixture checks did not see.
  if (*had_users) return checkStoredRoles(c, policy);
  return okStatus();
}

}  // namespace

Status seedDataset(Connection& c, const Dataset& data, const Policy& policy, const RetryBudget& budget) {
  if (Status ids = checkIds(data.organizations, "organizations"); !ids) return ids;
  if (Status ids = checkIds(data.users, "users"); !ids) return ids;
  if (Status begun = beginImmediate(c, budget); !begun) return begun;
  if (Status done = validateAndWrite(c, data, policy); !done) {
    rollback(c);
    return done;
  }
  return commit(c, budget);
}

}  // namespace useradmin::detail
