// The real useradmin-server against a real SCIM 2.0 service (scimmy) on
// 127.0.0.1: single-user operations reach SCIM's `active`, every kind of
// directory failure is the documented 400 with the user left unchanged and
// a compensation queued, and the outbox relay delivers cascades and
// compensations after the answer, also across a SIGKILL of the server.
#include "directory/scim_service.hpp"
#if defined(USERADMIN_SERVER_PATH) && defined(USERADMIN_SCIM_SERVER_DIR)

#include <cstdio>
#include <functional>
#include <future>
#include <memory>

#include "beast/server_fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

std::string bigUser(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "usr_b%04d", i);
  return id;
}

// useradmin-server with --directory scim at `url`, on `fixture`.
class DirectoryServer {
 public:
  DirectoryServer(const std::string& url, std::vector<std::string> extra = {},
                  const std::string& fixture = kDirectoryFixture)
      : url_(url), extra_(std::move(extra)) {
    writeFile(ws.seed_path, fixture);
    writeFile(token_path, kScimToken + "\n");
    start(ws.args(), ws.err_path);
  }

  // SIGKILL, then a new server on the same database (no fixture: the
  // database is the state), logging to `err_path`.
  void killAndRestart(const std::string& err_path) {
    process->signal(SIGKILL);
    CHECK(process->waitExit() == -1);
    process.reset();
    start(ws.argsWithoutSeed(), err_path);
  }

  HttpResponse patch(const std::string& id, const std::string& action) {
    HttpClient c(port);
    return c.request(http::verb::patch, "/api/users/" + id + "/" + action, {bearer(tokenFor("usr_root"))});
  }

  HttpResponse patchOrganization(const std::string& id, const std::string& action) {
    HttpClient c(port, std::chrono::seconds(30));
    return c.request(http::verb::patch, "/api/organizations/" + id + "/" + action, {bearer(tokenFor("usr_root"))});
  }

  std::string localStatus(const std::string& id) {
    HttpClient c(port);
    const auto r = c.request(http::verb::get, "/api/users/" + id, {bearer(tokenFor("usr_root"))});
    REQUIRE(r.status == 200);
    return std::string(r.json().at("data").at("status").as_string());
  }

  std::string log() const { return readFile(ws.err_path); }

  Workspace ws;
  std::string token_path = ws.dir.file("scim-token");
  std::unique_ptr<ServerProcess> process;
  std::uint16_t port = 0;

 private:
  void start(std::vector<std::string> args, const std::string& err_path) {
    args.insert(args.end(), {"--directory", "scim", "--directory-url", url_, "--directory-token-file", token_path});
    args.insert(args.end(), extra_.begin(), extra_.end());
    process = std::make_unique<ServerProcess>(args, err_path);
    const std::string line = process->waitForLine("listening on ");
    REQUIRE_FALSE(line.empty());
    port = portOf(line);
  }

  std::string url_;
  std::vector<std::string> extra_;
};

// Polls `done` every 100 ms for at most `timeout`; its last answer. (Not
// faster: reading 1,000 users back costs the SCIM service time too.)
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

// kDirectoryFixture plus org_big (a customer) with `n` active users
// usr_b0000, usr_b0001, ... (known to SCIM by their ids).
std::string bigFixture(int n) {
  std::string users;
  for (int i = 0; i < n; ++i) users += ",\n" + std::string(R"({"id": ")") + bigUser(i) +
                                       R"(", "username": "b)" + std::to_string(i) + R"(", "email": "b)" +
                                       std::to_string(i) + R"(@example.com", "organization_id": "org_big", )"
                                       R"("roles": ["support"], "status": "active"})";
  std::string fixture = kDirectoryFixture;
  const auto orgs_end = fixture.find("\n  ],\n  \"users\"");
  fixture.insert(orgs_end, R"(,
    {"id": "org_big", "name": "Big Customer", "type": "customer", "parent_id": "org_owner"})");
  fixture.insert(fixture.rfind("\n  ]"), users);
  return fixture;
}

std::vector<std::string> bigUsers(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(bigUser(i));
  return ids;
}

// How many of `ids` SCIM holds with `active` == `active`.
std::size_t countActive(ScimService& scim, const std::vector<std::string>& ids, bool active) {
  const auto state = scim.allActive();
  std::size_t n = 0;
  for (const auto& id : ids) {
    const auto it = state.find(id);
    if (it != state.end() && it->second == active) ++n;
  }
  return n;
}

// The documented external_api_error, with the given reason and status.
void checkExternalError(const HttpResponse& r, const std::string& reason, const std::string& status) {
  CHECK(r.status == 400);
  CHECK(r.body == R"({"code":400,"message":"external service error","data":{"type":"external_api_error","errors":[],)"
                  R"("details":{"directory":"scim","reason":")" +
                      reason + R"(","status":)" + status + "}}}");
}

// Nothing secret or upstream in the server's log (access log included).
void checkLogClean(const std::string& log) {
  CHECK(log.find(kScimToken) == std::string::npos);
  CHECK(log.find("secret upstream text") == std::string::npos);
  CHECK(log.find("Resource scim-jdoe not found") == std::string::npos);
}

}  // namespace

TEST_CASE("directory scim: reactivate and suspend reach the SCIM user's active, by external_id",
          "[directory][scim][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  scim.createUser("scim-jdoe", false);
  scim.createUser("usr_alice", true);
  DirectoryServer server(scim.url());

  CHECK(server.patch("usr_123456789", "reactivate").status == 200);
  CHECK(scim.active("scim-jdoe"));
  CHECK(server.patch("usr_123456789", "suspend").status == 200);
  CHECK_FALSE(scim.active("scim-jdoe"));
  // No external_id: the directory knows the user by its id.
  CHECK(server.patch("usr_alice", "suspend").status == 200);
  CHECK_FALSE(scim.active("usr_alice"));
  CHECK(server.localStatus("usr_alice") == "suspended");
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a 4xx, a 5xx and a timeout are external_api_error and leave the user as it was",
          "[directory][scim][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  DirectoryServer server(scim.url(), {"--directory-timeout", "0.5"});

  // SCIM itself refuses a user it does not know: 404.
  checkExternalError(server.patch("usr_123456789", "reactivate"), "rejected", "404");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  scim.createUser("scim-jdoe", false);
  scim.setFault(R"({"status":503,"retryAfter":7})");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "rejected", "503");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  scim.setFault(R"({"delayMs":3000})");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "timeout", "null");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  // And a suspend is undone the same way.
  scim.createUser("usr_alice", true);
  scim.setFault(R"({"status":500})");
  checkExternalError(server.patch("usr_alice", "suspend"), "rejected", "500");
  CHECK(server.localStatus("usr_alice") == "active");
  CHECK(scim.active("usr_alice"));

  scim.setFault("{}");
  CHECK(server.patch("usr_123456789", "reactivate").status == 200);
  CHECK(scim.active("scim-jdoe"));
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a directory that is down is external_api_error (unreachable)", "[directory][scim][npm][slow]") {
  DirectoryServer server("http://127.0.0.1:1/scim");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "unreachable", "null");
  CHECK(server.localStatus("usr_123456789") == "suspended");
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a slow directory does not slow requests that do not need it", "[directory][scim][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  scim.createUser("scim-jdoe", false);
  DirectoryServer server(scim.url());
  scim.setFault(R"({"delayMs":2500})");

  const auto started = std::chrono::steady_clock::now();
  auto slow = std::async(std::launch::async, [&] { return server.patch("usr_123456789", "reactivate"); });
  // Wait until the slow call has reached the directory.
  while (scim.patches("scim-jdoe") == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(scim.patches("scim-jdoe") == 1);

  const auto before = std::chrono::steady_clock::now();
  CHECK(server.localStatus("usr_alice") == "active");
  {
    HttpClient c(server.port);
    CHECK(c.request(http::verb::patch, "/api/users/usr_alice/suspend", {bearer("not-a-token")}).status == 401);
  }
  const auto quick = std::chrono::steady_clock::now() - before;
  CHECK(quick < std::chrono::milliseconds(1000));
  CHECK(slow.wait_for(std::chrono::seconds(0)) != std::future_status::ready);  // still held by SCIM
  CHECK(slow.get().status == 200);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(2500));
}

TEST_CASE("directory scim: https with a throwaway CA; an untrusted certificate or a wrong host name fails",
          "[directory][scim][tls][npm][slow]") {
  TempDir dir;
  const std::string d = dir.file("");
  // A CA, and a server certificate for "localhost" only (no IP address).
  REQUIRE(shell("cd '" + d + "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
                "-subj /CN=useradmin-test-ca >/dev/null 2>&1"));
  REQUIRE(shell("cd '" + d + "' && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
                "-subj /CN=localhost >/dev/null 2>&1 && printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
                "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 "
                "-extfile ext.cnf >/dev/null 2>&1"));
  ScimService scim(dir.file("scim.err"), dir.file("server.pem"), dir.file("server.key"));
  scim.createUser("scim-jdoe", false);
  const std::string port = std::to_string(scim.port());

  {
    DirectoryServer trusted("https://localhost:" + port + "/scim", {"--directory-ca-file", dir.file("ca.pem")});
    CHECK(trusted.patch("usr_123456789", "reactivate").status == 200);
    CHECK(scim.active("scim-jdoe"));
    CHECK(trusted.patch("usr_123456789", "suspend").status == 200);
    CHECK_FALSE(scim.active("scim-jdoe"));
  }
  {
    DirectoryServer untrusted("https://localhost:" + port + "/scim");
    checkExternalError(untrusted.patch("usr_123456789", "reactivate"), "unreachable", "null");
    CHECK(untrusted.localStatus("usr_123456789") == "suspended");
  }
  {
    DirectoryServer wrong_host("https://127.0.0.1:" + port + "/scim", {"--directory-ca-file", dir.file("ca.pem")});
    checkExternalError(wrong_host.patch("usr_123456789", "reactivate"), "unreachable", "null");
    CHECK(wrong_host.localStatus("usr_123456789") == "suspended");
  }
  CHECK_FALSE(scim.active("scim-jdoe"));
  CHECK(scim.patches("scim-jdoe") == 2);  // the refused handshakes sent nothing
}

TEST_CASE("directory scim: each failed call queues a compensation that brings SCIM back to the store's state",
          "[directory][scim][outbox][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  scim.createUser("scim-jdoe", false);
  scim.createUser("usr_alice", true);
  DirectoryServer server(scim.url(), {"--directory-timeout", "0.5"});
  using std::chrono::seconds;

  // 4xx and 5xx: not applied upstream; the compensation (the store's state)
  // follows the refused call at once.
  scim.setFault(R"({"status":409,"count":1})");
  checkExternalError(server.patch("usr_alice", "suspend"), "rejected", "409");
  CHECK(server.localStatus("usr_alice") == "active");
  CHECK(eventually([&] { return scim.patches("usr_alice") == 2; }, seconds(5)));
  CHECK(scim.active("usr_alice"));
  scim.setFault(R"({"status":503,"count":1})");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "rejected", "503");
  CHECK(server.localStatus("usr_123456789") == "suspended");
  CHECK(eventually([&] { return scim.patches("scim-jdoe") == 2; }, seconds(5)));
  CHECK_FALSE(scim.active("scim-jdoe"));

  // A timeout that SCIM applies late: SCIM says active while the store says
  // suspended, until the compensation (due 5 s after the undo) lands.
  scim.setFault(R"({"delayMs":1500,"count":1})");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "timeout", "null");
  CHECK(server.localStatus("usr_123456789") == "suspended");
  CHECK(eventually([&] { return scim.active("scim-jdoe"); }, seconds(3)));  // the late write
  CHECK(eventually([&] { return !scim.active("scim-jdoe"); }, seconds(10)));
  CHECK(server.localStatus("usr_123456789") == "suspended");
  CHECK(scim.patches("scim-jdoe") == 4);
  checkLogClean(server.log());
}

TEST_CASE("directory scim: SCIM down, then back: the outbox converges both sides", "[directory][scim][outbox][npm][slow]") {
  TempDir dir;
  std::uint16_t scim_port = 0;
  {
    ScimService probe(dir.file("probe.err"));
    scim_port = probe.port();
  }  // the port is free again: SCIM is down
  DirectoryServer server("http://127.0.0.1:" + std::to_string(scim_port) + "/scim", {"--directory-timeout", "0.5"});
  checkExternalError(server.patch("usr_123456789", "reactivate"), "unreachable", "null");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  // SCIM comes back holding the wrong state for the user.
  ScimService scim(dir.file("scim.err"), {}, {}, scim_port);
  scim.createUser("scim-jdoe", true);
  CHECK(eventually([&] { return !scim.active("scim-jdoe"); }, std::chrono::seconds(10)));
  CHECK(server.localStatus("usr_123456789") == "suspended");
  CHECK(eventually([&] { return server.log().find("directory relay: caught up") != std::string::npos; },
                   std::chrono::seconds(10)));
  CHECK(server.log().find("directory relay: failing, 1 pending") != std::string::npos);
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a 1,000-user cascade answers first and reaches SCIM for every user; requests stay fast",
          "[directory][scim][outbox][npm][slow]") {
  constexpr int kUsers = 1000;
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  const auto ids = bigUsers(kUsers);
  scim.createUsers(ids, true);
  scim.createUser("usr_alice", true);
  DirectoryServer server(scim.url(), {}, bigFixture(kUsers));
  // Each PATCH takes a few ms upstream: the relay needs seconds for all.
  scim.setFault(R"({"delayMs":3})");

  const auto started = std::chrono::steady_clock::now();
  const auto suspended = server.patchOrganization("org_big", "suspend");
  const auto answered = std::chrono::steady_clock::now() - started;
  REQUIRE(suspended.status == 200);
  CHECK(suspended.json().at("data").at("suspended_users_count").as_int64() == kUsers);
  const std::size_t told_at_answer = countActive(scim, ids, false);
  INFO("answered in " << std::chrono::duration_cast<std::chrono::milliseconds>(answered).count() << " ms, "
                      << told_at_answer << " users told by then");
  CHECK(told_at_answer < static_cast<std::size_t>(kUsers));
  CHECK(answered < std::chrono::seconds(2));

  // While the relay works through SCIM: other routes and 401s are quick.
  for (int i = 0; i < 5; ++i) {
    const auto before = std::chrono::steady_clock::now();
    CHECK(server.localStatus("usr_alice") == "active");
    HttpClient c(server.port);
    CHECK(c.request(http::verb::patch, "/api/users/usr_alice/suspend", {bearer("not-a-token")}).status == 401);
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(500));
  }
  CHECK(eventually([&] { return countActive(scim, ids, false) == ids.size(); }, std::chrono::seconds(30)));

  scim.setFault("{}");
  REQUIRE(server.patchOrganization("org_big", "reactivate").status == 200);
  CHECK(eventually([&] { return countActive(scim, ids, true) == ids.size(); }, std::chrono::seconds(30)));
  CHECK(scim.active("usr_alice"));
  CHECK(eventually([&] { return server.log().find("directory relay: caught up") != std::string::npos; },
                   std::chrono::seconds(10)));
}

TEST_CASE("directory scim: entries pending at a SIGKILL are all delivered after the restart",
          "[directory][scim][outbox][npm][slow]") {
  constexpr int kUsers = 300;
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  const auto ids = bigUsers(kUsers);
  scim.createUsers(ids, true);
  DirectoryServer server(scim.url(), {"--directory-timeout", "0.5"}, bigFixture(kUsers));

  // SCIM refuses everything: the cascade commits, its entries stay queued.
  scim.setFault(R"({"status":503})");
  REQUIRE(server.patchOrganization("org_big", "suspend").status == 200);
  CHECK(eventually([&] { return server.log().find("directory relay: failing") != std::string::npos; },
                   std::chrono::seconds(10)));
  CHECK(countActive(scim, ids, false) == 0);

  server.killAndRestart(dir.file("restarted.err"));
  scim.setFault("{}");
  CHECK(eventually([&] { return countActive(scim, ids, false) == ids.size(); }, std::chrono::seconds(20)));
  // The directory now holds exactly what the store holds.
  for (int i = 0; i < kUsers; i += 37) CHECK(server.localStatus(ids[static_cast<std::size_t>(i)]) == "suspended");
  CHECK(eventually([&] { return readFile(dir.file("restarted.err")).find("directory relay: caught up") !=
                                std::string::npos; },
                   std::chrono::seconds(10)));
  // Re-sent at most a little: each user's PATCHes are its failed tries
  // before the kill plus one delivery after it.
  for (int i = 0; i < kUsers; i += 37) CHECK(scim.patches(ids[static_cast<std::size_t>(i)]) >= 1);
}

#endif
