// Links every non-HTTP component and runs one reactivation on SQLite.
#include <cstdio>
#include <string>

#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/sqlite/sqlite_store.hpp"
#include "useradmin/useradmin.hpp"

int main(int argc, char** argv) {
  using namespace useradmin;
  if (argc != 2) return 2;
  auto store = openSqliteStore(SqliteStoreOptions{argv[1]});
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", store.error().detail.c_str());
    return 1;
  }
  auto data = loadFixture(R"({"organizations": [{"id": "org_o", "name": "HQ", "type": "owner"}],
      "users": [{"id": "usr_a", "username": "a", "email": "a@example.com", "organization_id": "org_o",
                 "roles": ["super"], "status": "active"},
                {"id": "usr_b", "username": "b", "email": "b@example.com", "organization_id": "org_o",
                 "roles": ["support"], "status": "suspended"}]})",
                          defaultPolicy(), systemClock().now());
  if (!data) {
    std::fprintf(stderr, "fixture refused: %s\n", data.error().fields.at(0).key.c_str());
    return 1;
  }
  if (Status seeded = (*store)->seed(*data); !seeded) {
    std::fprintf(stderr, "seed refused: %s\n", seeded.error().detail.c_str());
    return 1;
  }
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  ReactivationService service({**store, *authorizer, systemClock(), nullptr});
  Actor actor;
  actor.user_id = "usr_a";
  auto result = service.reactivateUser(actor, "usr_b");
  std::printf("%s\n", result ? "reactivated" : toString(result.error().code));
  if (!result) std::fprintf(stderr, "refused: %s\n", result.error().reason.c_str());
  return result ? 0 : 1;
}
