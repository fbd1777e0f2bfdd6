// End-to-end tests of the real useradmin-server binary: flags, the listening
// line, fixtures, and the graceful exit on SIGTERM.
#ifdef USERADMIN_SERVER_PATH

#include <dirent.h>
#include <sys/resource.h>

#include <sstream>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "beast/server_process.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

int runToExit(const std::vector<std::string>& args, const std::string& err_path) {
  ServerProcess p(args, err_path);
  return p.waitExit();
}

}  // namespace

TEST_CASE("process: the contract seed example over the real binary, then SIGTERM exits 0",
          "[beast][process][slow]") {
  Workspace ws;
  ServerProcess server(ws.args(), ws.err_path);
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_THAT(line, Catch::Matches("listening on http://127\\.0\\.0\\.1:[0-9]+"));
  const auto port = portOf(line);
  CHECK(port != 0);

  HttpClient idle(port);  // an idle keep-alive connection must not hold up the exit
  {
    HttpClient client(port);
    auto r = client.request(http::verb::patch, "/api/users/usr_123456789/reactivate",
                            {bearer(tokenFor("usr_root")), {"X-Request-Id", "e2e-1"}});
    CHECK(r.status == 200);
    CHECK(r.json().at("data").at("status") == "active");
    CHECK(r.header("x-request-id") == "e2e-1");
  }
  const auto start = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  CHECK(server.waitExit() == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  const std::string err = readFile(ws.err_path);
  CHECK(err.find("\"request_id\":\"e2e-1\"") != std::string::npos);
  CHECK(err.find("eyJ") == std::string::npos);  // no token in the log

  // The change is durable: the database says active.
  auto store = openSqliteStore(sqliteOptions(ws.db_path));
  REQUIRE(store);
  CHECK((*store)->findUser("usr_123456789").value()->status == UserStatus::active);
}

TEST_CASE("process: SIGINT also shuts down gracefully with exit 0", "[beast][process][slow]") {
  Workspace ws;
  ServerProcess server(ws.args(), ws.err_path);
  REQUIRE_FALSE(server.waitForLine("listening on ").empty());
  server.signal(SIGINT);
  CHECK(server.waitExit() == 0);
}

TEST_CASE("process: a fixture that breaks the model is refused whole, naming the entry", "[beast][process][slow]") {
  Workspace ws;
  std::string bad = kContractFixture;
  const std::string needle = "\"parent_id\": \"org_r1\"";
  bad.replace(bad.find(needle), needle.size(), "\"parent_id\": \"org_zz\"");
  writeFile(ws.seed_path, bad);
  const int code = runToExit(ws.args(), ws.err_path);
  CHECK(code != 0);
  CHECK(code != 2);  // not a usage error
  const std::string err = readFile(ws.err_path);
  INFO(err);
  CHECK(err.find("org_c1") != std::string::npos);
  // Nothing of it was loaded.
  auto store = openSqliteStore(sqliteOptions(ws.db_path));
  REQUIRE(store);
  CHECK_FALSE((*store)->findUser("usr_root").value().has_value());
}

TEST_CASE("process: --sync-overlap off serves the contract example, and what it acknowledged is on file",
          "[beast][process]") {
  Workspace ws;
  std::vector<std::string> args = ws.args();
  args.insert(args.end(), {"--sync-overlap", "off"});
  {
    ServerProcess server(args, ws.err_path);
    const std::string line = server.waitForLine("listening on ");
    REQUIRE_FALSE(line.empty());
    HttpClient client(portOf(line));
    CHECK(client.request(http::verb::patch, "/api/users/usr_123456789/reactivate", {bearer(tokenFor("usr_root"))})
              .status == 200);
    server.signal(SIGTERM);
    CHECK(server.waitExit() == 0);
  }
  auto store = openSqliteStore(sqliteOptions(ws.db_path));
  REQUIRE(store);
  CHECK((*store)->findUser("usr_123456789").value()->status == UserStatus::active);
}

TEST_CASE("process: usage errors exit 2, --help exits 0", "[beast][process]") {
  Workspace ws;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"}, {"--listen"}, {"--listen", "nohostport"}, {"--listen", "127.0.0.1:99999"},
        {"--threads", "zero"}, {"--durability", "sometimes"}, {"--sync-overlap", "maybe"}, {"stray"},
        {"--rate-limit-ip", "-3"},
        {"--db", ws.db_path}}) {  // the last one: no token keys at all
    INFO(args.front());
    CHECK(runToExit(args, ws.err_path) == 2);
    CHECK_FALSE(readFile(ws.err_path).empty());
  }
  ServerProcess help({"--help"}, ws.err_path);
  CHECK_FALSE(help.waitForLine("  --listen HOST:PORT").empty());
  CHECK(help.waitExit() == 0);
}

TEST_CASE("process: --demo prints working commands, and runs again on its directory", "[beast][process][slow]") {
  Workspace ws;
  const std::string demo_dir = ws.dir.file("demo");
  for (int run = 0; run < 2; ++run) {
    INFO("run " << run);
    ServerProcess server({"--demo", "--demo-dir", demo_dir, "--listen", "127.0.0.1:0"}, ws.err_path);
    const std::string line = server.waitForLine("listening on ");
    REQUIRE_FALSE(line.empty());
    const std::string url = line.substr(std::string("listening on ").size());
    const std::string out = server.stdoutSoFar();
    const std::string example = "curl -X PATCH " + url + "/api/users/usr_123456789/reactivate -H \"Authorization: Bearer ";
    const auto at = out.find(example);
    REQUIRE(at != std::string::npos);
    const auto token_start = at + example.size();
    const std::string token = out.substr(token_start, out.find('"', token_start) - token_start);
    HttpClient client(portOf(line));
    CHECK(client.request(http::verb::patch, "/api/users/usr_123456789/reactivate", {bearer(token)}).status == 200);
    server.signal(SIGTERM);
    CHECK(server.waitExit() == 0);
  }
}

namespace {

// UBSan's vptr check needs descriptors of its own (it probes memory through
// a pipe); in a process that is out of them it reports every unchecked
// virtual call as invalid and aborts. So the exhaustion test only runs in
// builds without sanitizers.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// The soft and hard "Max open files" of a process, from /proc/PID/limits.
std::pair<std::string, std::string> openFileLimits(pid_t pid) {
  std::istringstream limits(readFile("/proc/" + std::to_string(pid) + "/limits"));
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

std::size_t openDescriptors(pid_t pid) {
  std::size_t n = 0;
  if (DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') ++n;
    ::closedir(dir);
  }
  return n;
}

std::size_t countOf(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("process: the server raises its soft open-file limit to the hard limit", "[beast][process][fd]") {
  rlimit mine{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &mine) == 0);
  if (mine.rlim_max != RLIM_INFINITY && mine.rlim_max <= 256) SUCCEED("hard limit too low to tell");
  else {
    // The child inherits a low soft limit; the parent's own is restored at once.
    rlimit low = mine;
    low.rlim_cur = 256;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    Workspace ws;
    ServerProcess server(ws.args(), ws.err_path);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &mine) == 0);
    REQUIRE_FALSE(server.waitForLine("listening on ").empty());
    const auto limits = openFileLimits(server.pid());
    INFO(limits.first << " / " << limits.second);
    CHECK(limits.first != "256");
    CHECK(limits.first == limits.second);
  }
}

TEST_CASE("process: out of file descriptors, new connections are answered 503 instead of hanging",
          "[beast][process][fd]") {
  if (kSanitized) {
    WARN("not run under sanitizers: their runtime needs file descriptors too");
    return;
  }
  Workspace ws;
  ServerProcess server(ws.args(), ws.err_path);
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_FALSE(line.empty());
  const auto port = portOf(line);
  { HttpClient warm_up(port); CHECK(warm_up.request(http::verb::get, "/healthz").status == 200); }

  // Room for a handful of connections only.
  const auto limit = static_cast<rlim_t>(openDescriptors(server.pid()) + 4);
  const rlimit low{limit, limit};
  REQUIRE(::prlimit(server.pid(), RLIMIT_NOFILE, &low, nullptr) == 0);

  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 30; ++i) held.push_back(std::make_unique<RawConnection>(port));
  // The first few are served (idle, holding a descriptor); every later one
  // is answered 503 and closed at once.
  unsigned refused = 0;
  for (std::size_t i = 8; i < held.size(); ++i) {
    auto result = held[i]->readUntilClosed(std::chrono::milliseconds(2000));
    INFO("connection " << i << ": " << result.data.substr(0, 120));
    INFO("server stderr: " << readFile(ws.err_path).substr(0, 2000));
    CHECK(result.closed);
    CHECK(rawStatus(result.data) == 503);
    CHECK(result.data.find("X-Request-Id: ") != std::string::npos);
    if (rawStatus(result.data) == 503) ++refused;
  }
  CHECK(refused == held.size() - 8);
  // The failure is logged, but at most about once a second.
  const std::string err = readFile(ws.err_path);
  CHECK(countOf(err, "accept failed") >= 1);
  CHECK(countOf(err, "accept failed") <= 3);

  // Once the held connections go, the server serves again.
  held.clear();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    try {
      HttpClient client(port);
      served = client.request(http::verb::get, "/healthz").status == 200;
    } catch (const std::exception&) {
      // Still refused in one send: the request may reset the 503 away.
    }
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(served);
  server.signal(SIGTERM);
  CHECK(server.waitExit() == 0);
}
#endif  // USERADMIN_SERVER_PATH
