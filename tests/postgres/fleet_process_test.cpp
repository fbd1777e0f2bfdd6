// Three real useradmin-server processes on one PostgreSQL database, over
// real HTTP: the fleet behaves as one server (issue 12). Runs in the ctest
// entry store.postgres, on the throwaway test cluster.
#ifdef USERADMIN_SERVER_PATH

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "beast/http_client.hpp"
#include "beast/server_process.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "store/store_factories.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// A database of its own on the test cluster, dropped at the end.
class TestDatabase {
 public:
  TestDatabase() : admin_(testConninfo()), name_("fleet_" + freshSchemaName()) {
    pgExecOrThrow(admin_, "CREATE DATABASE " + name_);
  }
  ~TestDatabase() {
    try {
      pgExecOrThrow(admin_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // keyword/value conninfo, for the store and for checks.
  std::string conninfo() const { return admin_ + " dbname=" + name_; }
  // The URI the servers get: postgresql:///NAME?host=...&port=...&user=...
  std::string uri() const {
    return "postgresql:///" + name_ + "?host=" + field("host") + "&port=" + field("port") + "&user=" + field("user");
  }
  // The first column of every row a query returns.
  std::set<std::string> column(const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo().c_str());
    PGresult* r = PQexec(c, sql.c_str());
    std::set<std::string> out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
      for (int i = 0; i < PQntuples(r); ++i) out.insert(PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return out;
  }
  // One integer a query returns.
  std::int64_t integer(const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo().c_str());
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    const std::int64_t value = ok ? std::stoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return value;
  }

 private:
  std::string field(const std::string& key) const {
    const auto at = admin_.find(key + "=");
    if (at == std::string::npos) return {};
    const auto start = at + key.size() + 1;
    return admin_.substr(start, admin_.find(' ', start) - start);
  }
  std::string admin_;
  std::string name_;
};

// Three servers on one database, each with its own port.
struct Fleet {
  TempDir dir;
  TestDatabase db;
  std::vector<std::unique_ptr<ServerProcess>> servers;
  std::vector<std::uint16_t> ports;

  explicit Fleet(const Dataset& data, int instances = 3) {
    writeFile(dir.file("secret"), kBeastSecret + "\n");
    {
      PostgresStoreOptions options;
      options.conninfo = db.conninfo();
      options.pool_size = 1;
      auto store = openOrThrow(options);
      REQUIRE(store->seed(data));
    }
    for (int i = 0; i < instances; ++i) {
      servers.push_back(std::make_unique<ServerProcess>(
          std::vector<std::string>{"--listen", "127.0.0.1:0", "--db", db.uri(), "--jwt-hs256-secret-file",
                                   dir.file("secret"), "--issuer", kIssuer, "--audience", kAudience, "--threads", "2",
                                   "--workers", "16", "--db-pool", "8", "--access-log", "off"},
          dir.file("stderr" + std::to_string(i) + ".txt")));
    }
    for (auto& server : servers) {
      const std::string line = server->waitForLine("listening on ");
      REQUIRE_FALSE(line.empty());
      ports.push_back(portOf(line));
    }
  }
};

HttpResponse reactivate(HttpClient& client, const std::string& id, const std::string& actor = "usr_root") {
  return client.request(http::verb::patch, reactivatePath(id), {bearer(tokenFor(actor))});
}

}  // namespace

TEST_CASE("fleet: 64 clients over three instances reactivate one user, exactly one 200",
          "[postgres][process][fleet]") {
  Fleet fleet(datasetWithSuspended("usr_fleet_", 4));
  constexpr int kClients = 64;
  std::mutex mutex;
  std::map<unsigned, int> statuses;
  std::atomic<int> connected{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      unsigned status = 0;
      try {
        HttpClient client(fleet.ports[static_cast<std::size_t>(i % 3)]);
        // Every client connected before any sends: they race for real.
        ++connected;
        while (connected.load() < kClients) std::this_thread::yield();
        status = reactivate(client, "usr_fleet_0").status;
      } catch (...) {
        status = 0;  // no answer
      }
      std::lock_guard lock(mutex);
      ++statuses[status];
    });
  }
  for (auto& t : clients) t.join();
  CHECK(statuses[200] == 1);
  CHECK(statuses[400] == kClients - 1);  // rule 10: not_suspended
  CHECK(statuses.size() == 2);
  CHECK(fleet.db.integer("SELECT count(*) FROM audit_events WHERE target_id = 'usr_fleet_0' AND outcome = 'granted'") ==
        1);
}

TEST_CASE("fleet: 10,000 distinct users over three instances all succeed, one audit event each",
          "[postgres][process][fleet]") {
  constexpr int kUsers = 10000, kClients = 24;
  Fleet fleet(datasetWithSuspended("usr_fleet_", kUsers));
  std::atomic<int> ok{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      try {
        HttpClient client(fleet.ports[static_cast<std::size_t>(c % 3)]);
        for (int u = c; u < kUsers; u += kClients) {
          if (reactivate(client, "usr_fleet_" + std::to_string(u)).status == 200) ++ok;
          else ++other;
        }
      } catch (...) {
        ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(ok.load() == kUsers);
  CHECK(other.load() == 0);
  CHECK(fleet.db.integer("SELECT count(*) FROM users WHERE id LIKE 'usr\\_fleet\\_%' AND status = 'active'") == kUsers);
  CHECK(fleet.db.integer("SELECT count(*) FROM audit_events WHERE target_id LIKE 'usr\\_fleet\\_%'") == kUsers);
  CHECK(fleet.db.integer("SELECT count(DISTINCT target_id) FROM audit_events WHERE target_id LIKE 'usr\\_fleet\\_%'") ==
        kUsers);
}

TEST_CASE("fleet: an organization suspended through one instance refuses its users' tokens on the others at once",
          "[postgres][process][fleet]") {
  Fleet fleet(standardDataset());
  HttpClient a(fleet.ports[0]), b(fleet.ports[1]), c(fleet.ports[2]);
  // Warm B and C: a request that reads org_r1's chain there first.
  REQUIRE(reactivate(b, "usr_c1_target", "usr_r1_admin").status == 200);
  const auto suspended = a.request(http::verb::patch, "/api/organizations/org_r1/suspend",
                                   {bearer(tokenFor("usr_d1_admin")), {"Content-Type", "application/json"}},
                                   R"({"reason":"unpaid invoices"})");
  REQUIRE(suspended.status == 200);
  // The very next request on B and on C, with a token of a user of org_r1.
  CHECK(b.request(http::verb::get, "/api/users/usr_c1_target", {bearer(tokenFor("usr_r1_admin"))}).status == 401);
  CHECK(c.request(http::verb::get, "/api/users/usr_c1_target", {bearer(tokenFor("usr_r1_admin"))}).status == 401);
  // Back through C: B answers for the organization as it is now.
  const auto back = c.request(http::verb::patch, "/api/organizations/org_r1/reactivate",
                              {bearer(tokenFor("usr_d1_admin")), {"Content-Type", "application/json"}}, "{}");
  REQUIRE(back.status == 200);
  const auto org = b.request(http::verb::get, "/api/organizations/org_r1", {bearer(tokenFor("usr_d1_admin"))});
  REQUIRE(org.status == 200);
  CHECK(org.json().at("data").at("suspended") == false);
}

TEST_CASE("fleet: an instance killed mid-load loses no acknowledged change and the others keep serving",
          "[postgres][process][fleet]") {
  constexpr int kUsers = 3000, kClients = 12;
  Fleet fleet(datasetWithSuspended("usr_fleet_", kUsers));
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<int> survivors_failed{0}, done{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::size_t instance = static_cast<std::size_t>(c % 3);
      std::unique_ptr<HttpClient> client;
      for (int u = c; u < kUsers; u += kClients) {
        const std::string id = "usr_fleet_" + std::to_string(u);
        try {
          if (!client) client = std::make_unique<HttpClient>(fleet.ports[instance]);
          const auto res = reactivate(*client, id);
          if (res.status == 200) {
            std::lock_guard lock(mutex);
            acknowledged.insert(id);
          } else if (instance != 1) {
            ++survivors_failed;
          }
        } catch (...) {
          client.reset();  // instance 1 is gone: its clients stop there
          if (instance != 1) ++survivors_failed;
          else break;
        }
        ++done;
      }
    });
  }
  while (done.load() < kUsers / 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  fleet.servers[1]->signal(SIGKILL);
  for (auto& t : clients) t.join();
  CHECK(fleet.servers[1]->waitExit() == -1);  // killed
  CHECK(survivors_failed.load() == 0);
  // Every acknowledged reactivation is in the database, with its event.
  const std::int64_t active =
      fleet.db.integer("SELECT count(*) FROM users WHERE id LIKE 'usr\\_fleet\\_%' AND status = 'active'");
  const std::int64_t events = fleet.db.integer("SELECT count(*) FROM audit_events WHERE target_id LIKE 'usr\\_fleet\\_%'");
  CHECK(static_cast<std::size_t>(active) >= acknowledged.size());
  CHECK(events == active);  // a change and its event commit together
  const auto active_ids = fleet.db.column("SELECT id FROM users WHERE id LIKE 'usr\\_fleet\\_%' AND status = 'active'");
  std::vector<std::string> missing;
  for (const std::string& id : acknowledged)
    if (active_ids.count(id) == 0) missing.push_back(id);
  CHECK(missing.empty());
  CHECK(acknowledged.size() > static_cast<std::size_t>(kUsers / 2));  // the load did run, mostly on the survivors
  // The survivors still answer, reads and writes.
  for (const std::size_t instance : {std::size_t{0}, std::size_t{2}}) {
    HttpClient client(fleet.ports[instance]);
    CHECK(client.request(http::verb::get, "/readyz").status == 200);
    CHECK(client.request(http::verb::get, "/api/users/usr_c1_target", {bearer(tokenFor("usr_root"))}).status == 200);
  }
}

#endif  // USERADMIN_SERVER_PATH
