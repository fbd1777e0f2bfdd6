// Embedding useradmin on the in-memory store: load a hierarchy, reactivate a
// user, suspend an organization with its users. README.md shows this file.
#include <iostream>

#include "useradmin/useradmin.hpp"  // the core; the SQLite store: "useradmin/sqlite/sqlite_store.hpp"

int main() {
  using namespace useradmin;
  const Policy& policy = defaultPolicy();
  auto data = loadFixture(R"({
    "organizations": [
      {"id": "org_owner", "name": "Acme HQ", "type": "owner"},
      {"id": "org_r1", "name": "Reseller One", "type": "reseller", "parent_id": "org_owner"},
      {"id": "org_c1", "name": "Customer One", "type": "customer", "parent_id": "org_r1"}],
    "users": [
      {"id": "usr_root", "username": "root", "email": "root@example.com",
       "organization_id": "org_owner", "roles": ["super"], "status": "active"},
      {"id": "usr_123456789", "username": "jdoe", "email": "jdoe@example.com",
       "organization_id": "org_c1", "roles": ["support"], "status": "suspended"},
      {"id": "usr_c1_alice", "username": "alice", "email": "alice@example.com",
       "organization_id": "org_c1", "roles": ["admin"], "status": "active"}]})",
                          policy, systemClock().now());
  auto store = makeMemoryStore(policy);  // or openSqliteStore({"users.db"}), or your own UserStore
  if (!data || !store->seed(*data)) return 1;
  auto authorizer = makePolicyAuthorizer(policy);
  AdminService service({*store, *authorizer, systemClock(), /*directory=*/nullptr});

  Actor actor;
  actor.user_id = "usr_root";
  actor.credential_issued_at = systemClock().now();  // when the caller's credential was issued (rule 1)
  auto user = service.reactivateUser(actor, "usr_123456789", "ticket 42");
  if (!user) {
    std::cout << "refused: " << toString(user.error().code) << "\n";  // not_found, permission_denied, ...
    return 1;
  }
  std::cout << "reactivated " << user->id << ": " << toString(user->status) << ", version " << user->version << "\n";

  auto cascade = service.suspendOrganization(actor, "org_c1", "unpaid invoices");
  if (!cascade) return 1;
  std::cout << "suspended " << cascade->organization.id << " and " << cascade->changed_user_ids.size()
            << " users\n";
  return 0;
}
