// Builders for organizations, users and the standard test hierarchy.
#ifndef USERADMIN_TESTS_SUPPORT_FIXTURES_HPP
#define USERADMIN_TESTS_SUPPORT_FIXTURES_HPP

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "useradmin/fixture.hpp"

namespace useradmin::test {

// 2026-11-01T10:00:00Z: the clock's start in every test.
inline Timestamp testEpoch() { return timestampFromMillis(1793527200000); }

inline Organization makeOrg(std::string id, OrgType type, std::optional<std::string> parent = std::nullopt) {
  Organization o;
  o.name = "Org " + id;
  o.id = std::move(id);
  o.type = type;
  o.parent_id = std::move(parent);
  return o;
}

inline User makeUser(std::string id, std::string org, std::vector<std::string> roles,
                     UserStatus status = UserStatus::active) {
  User u;
  u.username = id;
  u.email = id + "@example.com";
  u.name = "User " + id;
  u.id = std::move(id);
  u.organization_id = std::move(org);
  u.roles = std::move(roles);
  u.status = status;
  u.updated_at = testEpoch() - std::chrono::hours(24);
  if (status == UserStatus::suspended) {
    u.suspended_at = testEpoch() - std::chrono::hours(1);
    u.suspended_by = "usr_root";
    u.tokens_valid_after = u.suspended_at;
  }
  return u;
}

inline User makeSuspended(std::string id, std::string org, std::vector<std::string> roles = {"support"}) {
  return makeUser(std::move(id), std::move(org), std::move(roles), UserStatus::suspended);
}

// The standard hierarchy:
//   org_owner (owner)
//   ├── org_d1 (distributor)
//   │   ├── org_r1 (reseller)
//   │   │   ├── org_c1 (customer)
//   │   │   └── org_c2 (customer)
//   │   └── org_c3 (customer, directly under a distributor)
//   ├── org_d2 (distributor)          a sibling subtree
//   │   └── org_r2 (reseller)
//   │       └── org_c4 (customer)
//   └── org_r3 (reseller, directly under the owner)
// Active administrators: usr_root (super) in org_owner, usr_owner_admin,
// usr_d1_admin, usr_r1_admin, usr_r1_super, usr_c1_admin (admin) in their
// organizations, usr_d2_admin, usr_r3_admin; usr_r1_support (support, no
// manage:users). Suspended targets: usr_c1_target (support) in org_c1,
// usr_c2_target in org_c2, usr_c3_target in org_c3, usr_c4_target in org_c4,
// usr_r1_target (admin) and usr_r1_super_target (super) in org_r1,
// usr_d1_target in org_d1, usr_r3_target in org_r3.
inline Dataset standardDataset() {
  Dataset d;
  d.organizations = {
      makeOrg("org_owner", OrgType::owner),
      makeOrg("org_d1", OrgType::distributor, "org_owner"),
      makeOrg("org_r1", OrgType::reseller, "org_d1"),
      makeOrg("org_c1", OrgType::customer, "org_r1"),
      makeOrg("org_c2", OrgType::customer, "org_r1"),
      makeOrg("org_c3", OrgType::customer, "org_d1"),
      makeOrg("org_d2", OrgType::distributor, "org_owner"),
      makeOrg("org_r2", OrgType::reseller, "org_d2"),
      makeOrg("org_c4", OrgType::customer, "org_r2"),
      makeOrg("org_r3", OrgType::reseller, "org_owner"),
  };
  d.users = {
      makeUser("usr_root", "org_owner", {"super"}),
      makeUser("usr_owner_admin", "org_owner", {"admin"}),
      makeUser("usr_d1_admin", "org_d1", {"admin"}),
      makeUser("usr_d2_admin", "org_d2", {"admin"}),
      makeUser("usr_r1_admin", "org_r1", {"admin"}),
      makeUser("usr_r1_super", "org_r1", {"super"}),
      makeUser("usr_r1_support", "org_r1", {"support"}),
      makeUser("usr_r3_admin", "org_r3", {"admin"}),
      makeUser("usr_c1_admin", "org_c1", {"admin"}),
      makeSuspended("usr_c1_target", "org_c1"),
      makeSuspended("usr_c2_target", "org_c2"),
      makeSuspended("usr_c3_target", "org_c3"),
      makeSuspended("usr_c4_target", "org_c4"),
      makeSuspended("usr_r1_target", "org_r1", {"admin"}),
      makeSuspended("usr_r1_super_target", "org_r1", {"super"}),
      makeSuspended("usr_d1_target", "org_d1", {"admin"}),
      makeSuspended("usr_r3_target", "org_r3"),
  };
  return d;
}

// `u` as a reactivation leaves it: active, suspension cleared, next version.
inline User activated(User u) {
  u.status = UserStatus::active;
  u.suspended_at.reset();
  u.suspended_by.reset();
  u.suspended_by_org_id.reset();
  u.version += 1;
  u.updated_at = testEpoch();
  return u;
}

// An audit event as a granted reactivation by usr_root writes it.
inline AuditEvent grantedEvent(std::string target) {
  AuditEvent e;
  e.time = testEpoch();
  e.action = "user.reactivate";
  e.actor_id = "usr_root";
  e.target_id = std::move(target);
  e.outcome = "granted";
  e.reason = "test";
  e.request_id = "req";
  e.client_address = "127.0.0.1";
  e.note = "note";
  return e;
}

// The contract's own §5 fixture document, byte for byte.
inline constexpr const char* kContractFixture = R"({
  "organizations": [
    {"id": "org_owner", "name": "Acme HQ", "type": "owner"},
    {"id": "org_d1", "name": "North Distribution", "type": "distributor", "parent_id": "org_owner"},
    {"id": "org_r1", "name": "Reseller One", "type": "reseller", "parent_id": "org_d1", "suspended": false},
    {"id": "org_c1", "name": "Customer One", "type": "customer", "parent_id": "org_r1"}
  ],
  "users": [
    {"id": "usr_root", "username": "root", "email": "root@example.com", "organization_id": "org_owner", "roles": ["super"], "status": "active"},
    {"id": "usr_123456789", "username": "jdoe", "email": "jdoe@example.com", "organization_id": "org_c1", "roles": ["support"],
     "status": "suspended", "suspended_by_org_id": null}
  ]
})";

inline Organization& orgIn(Dataset& d, const std::string& id) {
  for (auto& o : d.organizations)
    if (o.id == id) return o;
  throw std::logic_error("no organization " + id);
}

inline User& userIn(Dataset& d, const std::string& id) {
  for (auto& u : d.users)
    if (u.id == id) return u;
  throw std::logic_error("no user " + id);
}

}  // namespace useradmin::test

#endif
