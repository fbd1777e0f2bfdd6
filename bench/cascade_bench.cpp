// useradmin-cascade-bench: how long an organization cascade over many users
// takes on the SQLite store at FULL durability, and how long a single
// reactivation elsewhere in the tree waits while it runs (lifecycle §4
// "must not stall other requests for longer than it takes").
//
//   useradmin-cascade-bench [--users N] [--db PATH] [--rounds R] [--directory 0|1]
//
// Seeds org_big (a reseller with N active users spread over 100 customer
// organizations) beside org_small (a customer holding suspended users),
// then R times: suspend org_big, reactivate org_big, each while a second
// thread reactivates org_small's users back-to-back. Prints one line per
// cascade and the probe's latencies before and during the cascades. With
// `--directory 1` a (no-op) directory is configured, so each cascade also
// queues one outbox entry per changed user in its transaction (nothing
// delivers them: the suspend queues N, the reactivation replaces N).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "useradmin/admin_service.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/sqlite/sqlite_store.hpp"

using namespace useradmin;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  int users = 100000;
  int rounds = 3;
  std::string db;
  bool directory = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--users") o.users = std::atoi(argv[i + 1]);
    else if (flag == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (flag == "--db") o.db = argv[i + 1];
    else if (flag == "--directory") o.directory = std::string(argv[i + 1]) == "1";
  }
  if (o.db.empty()) o.db = (std::filesystem::temp_directory_path() / "useradmin-cascade-bench.db").string();
  return o;
}

Organization org(const char* id, OrgType type, const char* parent) {
  Organization o;
  o.id = id;
  o.name = id;
  o.type = type;
  if (parent != nullptr) o.parent_id = parent;
  return o;
}

User user(std::string id, std::string organization, UserStatus status, const char* role = "support") {
  User u;
  u.username = id;
  u.email = id + "@example.com";
  u.id = std::move(id);
  u.organization_id = std::move(organization);
  u.roles = {role};
  u.status = status;
  if (status == UserStatus::suspended) u.suspended_at = u.tokens_valid_after = Timestamp{};
  return u;
}

constexpr int kProbeUsers = 100000;  // more than the probe can reactivate in a run

Dataset dataset(int users) {
  Dataset d;
  d.organizations = {org("org_owner", OrgType::owner, nullptr), org("org_d1", OrgType::distributor, "org_owner"),
                     org("org_big", OrgType::reseller, "org_d1"), org("org_small", OrgType::customer, "org_d1")};
  std::vector<std::string> customers;
  for (int c = 0; c < 100; ++c) {
    customers.push_back("org_big_c" + std::to_string(c));
    d.organizations.push_back(org("", OrgType::customer, "org_big"));
    d.organizations.back().id = d.organizations.back().name = customers.back();
  }
  d.users.push_back(user("usr_root", "org_owner", UserStatus::active, "super"));
  for (int i = 0; i < users; ++i)
    d.users.push_back(user("usr_big_" + std::to_string(i), customers[static_cast<std::size_t>(i % 100)], UserStatus::active));
  for (int i = 0; i < kProbeUsers; ++i)
    d.users.push_back(user("usr_small_" + std::to_string(i), "org_small", UserStatus::suspended));
  return d;
}

double ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Actor root() {
  Actor a;
  a.user_id = "usr_root";
  a.credential_issued_at = systemClock().now();
  return a;
}

// Reactivates org_small's users one after another until `stop`, recording
// each call's latency in `out`.
void probe(AdminService& service, std::atomic<int>& next, const std::atomic<bool>& stop, std::vector<double>& out) {
  while (!stop) {
    const auto start = Steady::now();
    auto r = service.reactivateUser(root(), "usr_small_" + std::to_string(next++));
    out.push_back(ms(Steady::now() - start));
    if (!r) std::fprintf(stderr, "probe reactivation failed: %s\n", r.error().reason.c_str());
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void report(const char* what, const std::vector<double>& v) {
  std::printf("%-34s n=%-6zu p50=%7.2f ms  p99=%7.2f ms  max=%7.2f ms\n", what, v.size(), percentile(v, 0.5),
              percentile(v, 0.99), v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()));
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::filesystem::remove(o.db);
  std::filesystem::remove(o.db + "-wal");
  SqliteStoreOptions options;
  options.path = o.db;
  options.durability = SqliteDurability::full;
  auto store = openSqliteStore(options);
  if (!store) return std::fprintf(stderr, "open: %s\n", store.error().detail.c_str()), 1;
  auto seeded = (*store)->seed(dataset(o.users));
  if (!seeded) return std::fprintf(stderr, "seed: %s\n", seeded.error().detail.c_str()), 1;
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  auto directory = makeNoopDirectorySync();
  AdminService service(ServiceDeps{**store, *authorizer, systemClock(), o.directory ? directory.get() : nullptr});
  std::printf("%d users in org_big's subtree, SQLite %s, synchronous=FULL, outbox %s\n", o.users, o.db.c_str(),
              o.directory ? "on" : "off");

  std::atomic<int> next{0};
  std::atomic<bool> stop{false};
  std::vector<double> idle, during;
  {
    std::thread t([&] { probe(service, next, stop, idle); });
    std::this_thread::sleep_for(std::chrono::seconds(1));
    stop = true;
    t.join();
  }
  for (int round = 0; round < 2 * o.rounds; ++round) {
    stop = false;
    std::vector<double> mine;
    std::thread t([&] { probe(service, next, stop, mine); });
    const auto start = Steady::now();
    auto change = round % 2 == 0 ? service.suspendOrganization(root(), "org_big")
                                 : service.reactivateOrganization(root(), "org_big");
    const double took = ms(Steady::now() - start);
    stop = true;
    t.join();
    if (!change) return std::fprintf(stderr, "cascade: %s\n", change.error().detail.c_str()), 1;
    std::printf("%-11s %zu users in %8.1f ms; probe waited at most %7.1f ms\n",
                round % 2 == 0 ? "suspend" : "reactivate", change->changed_user_ids.size(), took,
                mine.empty() ? 0.0 : *std::max_element(mine.begin(), mine.end()));
    during.insert(during.end(), mine.begin(), mine.end());
  }
  report("single reactivation, no cascade", idle);
  report("single reactivation, during", during);
  return 0;
}
