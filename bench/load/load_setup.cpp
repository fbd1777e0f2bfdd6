// Prepares a load-test database: 1,000 organizations in a four-level tree
// (1 owner, 9 distributors, 90 resellers, 900 customers), N suspended users
// spread over the customers (usr_0 ... usr_{N-1}), a super admin `usr_root`
// and a support user `usr_support` in the owner organization, and an active
// user `usr_active` in a customer organization (the 400 not_suspended path). Creates the
// HS256 secret file if absent and prints one token per line:
//   root=<token for usr_root>
//   support=<token for usr_support>
//
//   useradmin-load-setup --db PATH|postgresql://... --users N --secret-file FILE [--durability full|normal]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "useradmin/fixture.hpp"
#include "useradmin/jwt/jwt_issuer.hpp"
#include "useradmin/sqlite/sqlite_store.hpp"
#ifdef USERADMIN_LOAD_WITH_POSTGRES
#include "useradmin/postgres/postgres_store.hpp"
#endif

using namespace useradmin;

namespace {

Organization org(std::string id, OrgType type, std::optional<std::string> parent) {
  Organization o;
  o.name = id;
  o.id = std::move(id);
  o.type = type;
  o.parent_id = std::move(parent);
  return o;
}

User user(std::string id, std::string org_id, std::vector<std::string> roles, UserStatus status, Timestamp now) {
  User u;
  u.username = id;
  u.email = id + "@load.test";
  u.id = std::move(id);
  u.organization_id = std::move(org_id);
  u.roles = std::move(roles);
  u.status = status;
  u.updated_at = now;
  if (status == UserStatus::suspended) {
    u.suspended_at = now - std::chrono::hours(1);
    u.suspended_by = "usr_root";
    u.tokens_valid_after = u.suspended_at;
  }
  return u;
}

std::string readOrCreateSecret(const std::string& path) {
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && !secret.empty()) return secret;
  std::random_device rd;
  std::ostringstream hex;
  for (int i = 0; i < 32; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(rd() & 0xFF));
    hex << b;
  }
  std::ofstream(path) << hex.str() << "\n";
  return hex.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, secret_file, durability = "full";
  long users = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--db")) db = argv[i + 1];
    else if (!std::strcmp(argv[i], "--users")) users = std::stol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--secret-file")) secret_file = argv[i + 1];
    else if (!std::strcmp(argv[i], "--durability")) durability = argv[i + 1];
  }
  if (db.empty() || secret_file.empty() || users <= 0) {
    std::cerr << "usage: " << argv[0] << " --db PATH --users N --secret-file FILE [--durability full|normal]\n";
    return 2;
  }
  const Timestamp now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());

  Dataset data;
  data.organizations.push_back(org("org_owner", OrgType::owner, std::nullopt));
  std::vector<std::string> customers;
  for (int d = 0; d < 9; ++d) {
    const std::string did = "org_d" + std::to_string(d);
    data.organizations.push_back(org(did, OrgType::distributor, "org_owner"));
    for (int r = 0; r < 10; ++r) {
      const std::string rid = did + "_r" + std::to_string(r);
      data.organizations.push_back(org(rid, OrgType::reseller, did));
      for (int c = 0; c < 10; ++c) {
        customers.push_back(rid + "_c" + std::to_string(c));
        data.organizations.push_back(org(customers.back(), OrgType::customer, rid));
      }
    }
  }
  data.users.reserve(static_cast<std::size_t>(users) + 3);
  data.users.push_back(user("usr_root", "org_owner", {"super"}, UserStatus::active, now));
  data.users.push_back(user("usr_support", "org_owner", {"support"}, UserStatus::active, now));
  data.users.push_back(user("usr_active", customers.front(), {"support"}, UserStatus::active, now));
  for (long i = 0; i < users; ++i)
    data.users.push_back(user("usr_" + std::to_string(i), customers[static_cast<std::size_t>(i) % customers.size()],
                              {"support"}, UserStatus::suspended, now));

  Result<std::unique_ptr<UserStore>> store = Error::internal("no store");
#ifdef USERADMIN_LOAD_WITH_POSTGRES
  if (isPostgresUri(db)) {
    PostgresStoreOptions options;
    options.conninfo = db;
    options.pool_size = 1;
    store = openPostgresStore(options);
  } else
#endif
  {
    SqliteStoreOptions options;
    options.path = db;
    options.durability = durability == "normal" ? SqliteDurability::normal : SqliteDurability::full;
    store = openSqliteStore(options);
  }
  if (!store) {
    std::cerr << "cannot open " << db << ": " << store.error().detail << "\n";
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  if (Status seeded = (*store)->seed(data); !seeded) {
    std::cerr << "seed refused: " << seeded.error().detail
              << (seeded.error().fields.empty() ? "" : " " + seeded.error().fields[0].key + ": " +
                                                          seeded.error().fields[0].message)
              << "\n";
    return 1;
  }
  std::cerr << "seeded " << data.organizations.size() << " organizations and " << data.users.size() << " users in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";

  const std::string secret = readOrCreateSecret(secret_file);
  JwtClaims claims;
  claims.iat = now;
  claims.exp = now + std::chrono::hours(24);
  claims.sub = "usr_root";
  std::cout << "root=" << issueHs256Token(secret, claims) << "\n";
  claims.sub = "usr_support";
  std::cout << "support=" << issueHs256Token(secret, claims) << "\n";
  return 0;
}
