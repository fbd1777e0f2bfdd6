#include "demo.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <openssl/rand.h>

#include "useradmin/clock.hpp"
#include "useradmin/jwt/jwt_issuer.hpp"

namespace useradmin::server {

namespace {

// Embedded so the binary is self-contained.
constexpr std::string_view kDemoFixture = R"json({
  "organizations": [
    {"id": "org_owner", "name": "Acme HQ", "type": "owner"},
    {"id": "org_d1", "name": "North Distribution", "type": "distributor", "parent_id": "org_owner"},
    {"id": "org_r1", "name": "Reseller One", "type": "reseller", "parent_id": "org_d1", "suspended": false},
    {"id": "org_c1", "name": "Customer One", "type": "customer", "parent_id": "org_r1"},
    {"id": "org_c2", "name": "Customer Two", "type": "customer", "parent_id": "org_r1"},
    {"id": "org_d2", "name": "South Distribution", "type": "distributor", "parent_id": "org_owner"},
    {"id": "org_r2", "name": "Reseller Two", "type": "reseller", "parent_id": "org_d2"},
    {"id": "org_c3", "name": "Customer Three", "type": "customer", "parent_id": "org_r2"}
  ],
  "users": [
    {"id": "usr_root", "username": "root", "email": "root@example.com", "name": "Root Admin",
     "organization_id": "org_owner", "roles": ["super"], "status": "active"},
    {"id": "usr_d1_admin", "username": "dana", "email": "dana@north.example.com", "name": "Dana Distributor",
     "organization_id": "org_d1", "roles": ["admin"], "status": "active"},
    {"id": "usr_r1_admin", "username": "rick", "email": "rick@reseller-one.example.com", "name": "Rick Reseller",
     "organization_id": "org_r1", "roles": ["admin"], "status": "active"},
    {"id": "usr_c1_support", "username": "sam", "email": "sam@customer-one.example.com", "name": "Sam Support",
     "organization_id": "org_c1", "roles": ["support"], "status": "active"},
    {"id": "usr_123456789", "username": "jdoe", "email": "jdoe@example.com", "name": "John Doe",
     "organization_id": "org_c1", "roles": ["support"], "status": "suspended", "suspended_by": "usr_root",
     "suspended_by_org_id": null},
    {"id": "usr_c1_alice", "username": "alice", "email": "alice@customer-one.example.com", "name": "Alice",
     "organization_id": "org_c1", "roles": ["support"], "status": "suspended", "suspended_by": "usr_r1_admin"},
    {"id": "usr_c2_bob", "username": "bob", "email": "bob@customer-two.example.com", "name": "Bob",
     "organization_id": "org_c2", "roles": ["support"], "status": "suspended", "suspended_by": "usr_d1_admin"},
    {"id": "usr_c3_carol", "username": "carol", "email": "carol@customer-three.example.com", "name": "Carol",
     "organization_id": "org_c3", "roles": ["support"], "status": "suspended", "suspended_by": "usr_root"}
  ]
})json";

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xF]);
  }
  return out;
}

Error fileError(const std::string& what, const std::string& path) {
  Error e = Error::internal(what + " " + path + ": " + std::strerror(errno));
  e.reason = "demo_setup";
  return e;
}

// One printed command: `actor` null sends no token; `path` is relative to
// the base path; `body` null sends none.
struct Persona {
  const char* title;
  const char* actor;
  const char* path;
  const char* body;
  unsigned expect;
  const char* note;
};

// In the order a reader runs them: each step's outcome depends on the ones
// before (the cascade steps show what suspending org_r1 does to its users).
constexpr Persona kPersonas[] = {
    {"Super admin usr_root (owner org_owner) reactivates usr_123456789", "usr_root",
     "/users/usr_123456789/reactivate", nullptr, 200, "the contract's example"},
    {"Reseller admin usr_r1_admin (org_r1) reactivates usr_c1_alice of its customer org_c1", "usr_r1_admin",
     "/users/usr_c1_alice/reactivate", nullptr, 200, nullptr},
    {"Reseller admin usr_r1_admin tries usr_c3_carol of another reseller's customer", "usr_r1_admin",
     "/users/usr_c3_carol/reactivate", nullptr, 404, "outside the hierarchy looks like an unknown id"},
    {"Customer support usr_c1_support (org_c1, no manage:users) tries usr_c2_bob", "usr_c1_support",
     "/users/usr_c2_bob/reactivate", nullptr, 403, nullptr},
    {"Distributor admin usr_d1_admin (org_d1) reactivates usr_c2_bob with a reason", "usr_d1_admin",
     "/users/usr_c2_bob/reactivate", R"({"reason":"customer called support"})", 200, nullptr},
    {"Reseller admin usr_r1_admin suspends usr_c1_support by hand", "usr_r1_admin", "/users/usr_c1_support/suspend",
     R"({"reason":"left the company"})", 200, "answers the user view"},
    {"Distributor admin usr_d1_admin suspends organization org_r1 and everything below it", "usr_d1_admin",
     "/organizations/org_r1/suspend", R"({"reason":"unpaid invoices"})", 200,
     "cascade: usr_r1_admin, usr_123456789, usr_c1_alice and usr_c2_bob are suspended, suspended_users_count 4"},
    {"Reseller admin usr_r1_admin, suspended by the cascade, tries usr_c1_support", "usr_r1_admin",
     "/users/usr_c1_support/reactivate", nullptr, 401, "its token stopped working at once"},
    {"Super admin usr_root tries to reactivate org_c1 while its parent org_r1 is suspended", "usr_root",
     "/organizations/org_c1/reactivate", nullptr, 400, "parent_id organization_suspended"},
    {"Distributor admin usr_d1_admin reactivates organization org_r1", "usr_d1_admin",
     "/organizations/org_r1/reactivate", nullptr, 200,
     "the four come back, reactivated_users_count 4; usr_c1_support, suspended by hand, stays suspended"},
    {"Reseller admin usr_r1_admin, active again, retries with the token printed above", "usr_r1_admin",
     "/users/usr_c1_support/reactivate", nullptr, 401, "a token issued before a suspension stays dead"},
    {"No token at all", nullptr, "/users/usr_123456789/reactivate", nullptr, 401, nullptr},
};

}  // namespace

std::string_view demoFixture() { return kDemoFixture; }

Status ensureDemoDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return okStatus();
    errno = ENOTDIR;
  }
  return fileError("cannot create demo directory", dir);
}

Result<std::string> loadOrCreateSecret(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      ::close(fd);
      ::unlink(path.c_str());
      Error e = Error::internal("RAND_bytes failed");
      e.reason = "demo_setup";
      return e;
    }
    const std::string secret = hex(bytes, sizeof bytes);
    const std::string line = secret + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const bool closed = ::close(fd) == 0;
    if (!written || !closed) {
      ::unlink(path.c_str());
      return fileError("cannot write secret file", path);
    }
    return secret;
  }
  if (errno != EEXIST) return fileError("cannot create secret file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fileError("cannot read secret file", path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

// The reads: who is suspended, and who did what.
template <class Token>
void printReadCommands(std::ostream& out, const std::string& curl, const std::string& base, int n, const Token& token) {
  out << "# " << n++ << ". Distributor admin usr_d1_admin lists the suspended users in its organization and below"
      << " (usr_c1_support, suspended by hand) -> expect 200\n"
      << curl << "\"" << base << "/users?status=suspended&limit=100\" -H \"Authorization: Bearer "
      << token("usr_d1_admin") << "\"\n\n";
  out << "# " << n++ << ". Super admin usr_root shows the audit trail of user usr_123456789"
      << " (its reactivation and both cascades) -> expect 200\n"
      << curl << "\"" << base << "/audit-events?target_id=usr_123456789\" -H \"Authorization: Bearer "
      << token("usr_root") << "\"\n\n";
  out << "# Pages: pass the response's next_after as ?after=...; it is null on the last page.\n\n";
}

void printDemo(std::ostream& out, const DemoPrintout& demo) {
  const Timestamp now = std::chrono::time_point_cast<std::chrono::seconds>(systemClock().now());
  const Timestamp expires = now + std::chrono::hours(24);
  auto token = [&](const char* actor) {
    JwtClaims claims;
    claims.sub = actor;
    claims.iat = now;
    claims.exp = expires;
    claims.iss = demo.issuer;
    if (demo.audience) claims.aud = {*demo.audience};
    return issueHs256Token(demo.secret, claims);
  };

  const std::string base = demo.url + demo.base_path;
  // With TLS every command trusts the server's certificate file.
  const std::string curl = demo.cacert.empty() ? std::string("curl ") : "curl --cacert " + demo.cacert + " ";
  out << "\nuseradmin demo\n"
      << "  database: " << demo.db_path << " (demo organizations and users reset to their initial state)\n"
      << "  HS256 secret: " << demo.secret_path << "\n"
      << "  health: " << curl << demo.url << "/healthz   readiness: " << curl << demo.url << "/readyz\n"
      << "  metrics: "
      << (demo.metrics_url.empty() ? std::string("off (start with --metrics-listen HOST:PORT)")
                                   : "curl " + demo.metrics_url)
      << "\n"
      << "  tokens below expire at " << formatRfc3339(expires) << "\n\n";
  int n = 1;
  for (const Persona& p : kPersonas) {
    out << "# " << n++ << ". " << p.title;
    if (p.note) out << " (" << p.note << ")";
    out << " -> expect " << p.expect << "\n";
    out << curl << "-X PATCH " << base << p.path;
    if (p.actor) out << " -H \"Authorization: Bearer " << token(p.actor) << "\"";
    if (p.body) out << " -H \"Content-Type: application/json\" -d '" << p.body << "'";
    out << "\n\n";
  }
  printReadCommands(out, curl, base, n, token);
  out << "# Add -i to see the status line and headers (X-Request-Id, WWW-Authenticate, Retry-After).\n"
      << "# Run the commands in order: each depends on the ones before. Restart with --demo to reset.\n\n";
}

}  // namespace useradmin::server
