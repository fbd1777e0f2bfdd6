// The operations' preconditions and state transitions: pure functions of
// what step D loaded.
#include <algorithm>

#include "pipeline.hpp"

namespace useradmin::detail {

namespace {

const Organization* firstSuspended(std::vector<Organization>::const_iterator begin,
                                   std::vector<Organization>::const_iterator end) {
  const auto it = std::find_if(begin, end, [](const Organization& o) { return o.suspended; });
  return it == end ? nullptr : &*it;
}

}  // namespace

Status organizationNotSuspended(const UserTarget& target) {
  if (firstSuspended(target.chain.begin(), target.chain.end()) == nullptr) return okStatus();
  return Error::failedPrecondition({"organization_id", "organization_suspended", target.user.organization_id},
                                   "organization_suspended");
}

Status userIsSuspended(const User& user) {
  if (user.status == UserStatus::suspended) return okStatus();
  return Error::failedPrecondition({"status", "not_suspended", toString(user.status)}, "not_suspended");
}

Status userIsActive(const User& user) {
  if (user.status == UserStatus::active) return okStatus();
  return Error::failedPrecondition({"status", "not_active", toString(user.status)}, "not_active");
}

Status organizationNotSuspended(const OrganizationTarget& target) {
  if (!target.organization().suspended) return okStatus();
  return Error::failedPrecondition({"suspended", "already_suspended", "true"}, "already_suspended");
}

Status parentNotSuspended(const OrganizationTarget& target) {
  // The nearest suspended ancestor is the one whose reactivation comes first.
  const Organization* blocker = firstSuspended(target.chain.begin() + 1, target.chain.end());
  if (blocker == nullptr) return okStatus();
  return Error::failedPrecondition({"parent_id", "organization_suspended", blocker->id}, "parent_suspended");
}

Status organizationIsSuspended(const OrganizationTarget& target) {
  if (target.organization().suspended) return okStatus();
  return Error::failedPrecondition({"suspended", "not_suspended", "false"}, "not_suspended");
}

User reactivated(User user, Timestamp now) {
  user.status = UserStatus::active;
  user.suspended_at.reset();
  user.suspended_by.reset();
  user.suspended_by_org_id.reset();
  user.updated_at = now;
  return user;
}

User suspended(User user, const std::string& by, Timestamp now) {
  user.status = UserStatus::suspended;
  user.suspended_at = now;
  user.suspended_by = by;
  user.suspended_by_org_id.reset();
  user.tokens_valid_after = now;
  user.updated_at = now;
  return user;
}

Organization suspended(Organization org, const std::string& by, Timestamp now) {
  org.suspended = true;
  org.suspended_at = now;
  org.suspended_by = by;
  org.updated_at = now;
  return org;
}

Organization reactivated(Organization org, Timestamp now) {
  org.suspended = false;
  org.suspended_at.reset();
  org.suspended_by.reset();
  org.updated_at = now;
  return org;
}

}  // namespace useradmin::detail
