// End-to-end tests of the real useradmin-server binary as an operator runs
// it (issue 14): --version, configuration from USERADMIN_* variables, and a
// failed start that leaves no database file behind and no demo data reset.
#ifdef USERADMIN_SERVER_PATH

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "beast/server_process.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// A loopback port held by a listening socket for the object's lifetime.
class BusyPort {
 public:
  BusyPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~BusyPort() { ::close(fd_); }
  BusyPort(const BusyPort&) = delete;
  BusyPort& operator=(const BusyPort&) = delete;
  std::string listen() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

// Runs the server to its exit; returns the exit code.
int runToExit(const std::vector<std::string>& args, const std::string& err_path,
              const std::vector<std::string>& environment = {}) {
  ServerProcess p(args, err_path, environment);
  return p.waitExit();
}

// Replaces `--flag value` in args.
std::vector<std::string> with(std::vector<std::string> args, const std::string& flag, const std::string& value) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) args[i + 1] = value;
  return args;
}

}  // namespace

TEST_CASE("process: --version prints the project version and exits 0", "[beast][process]") {
  Workspace ws;
  ServerProcess version({"--version"}, ws.err_path);
  CHECK(version.waitForLine("useradmin-server ") == std::string("useradmin-server ") + USERADMIN_TEST_VERSION);
  CHECK(version.waitExit() == 0);
}

TEST_CASE("process: every flag can come from USERADMIN_<FLAG>; the command line wins", "[beast][process][slow]") {
  Workspace ws;
  const std::string env_db = ws.dir.file("from-env.db");
  const std::vector<std::string> env = {
      "USERADMIN_LISTEN=127.0.0.1:0", "USERADMIN_DB=" + env_db, "USERADMIN_JWT_HS256_SECRET_FILE=" + ws.secret_path,
      "USERADMIN_ISSUER=" + std::string(kIssuer), "USERADMIN_AUDIENCE=" + std::string(kAudience),
      "USERADMIN_SEED=" + ws.seed_path, "USERADMIN_THREADS=2", "USERADMIN_WORKERS=2"};

  SECTION("the environment alone configures a working server") {
    ServerProcess server({}, ws.err_path, env);
    const std::string line = server.waitForLine("listening on ");
    REQUIRE_FALSE(line.empty());
    HttpClient client(portOf(line));
    CHECK(client.request(http::verb::patch, "/api/users/usr_123456789/reactivate", {bearer(tokenFor("usr_root"))})
              .status == 200);
    server.signal(SIGTERM);
    CHECK(server.waitExit() == 0);
    CHECK(exists(env_db));
  }
  SECTION("a flag overrides its variable") {
    ServerProcess server({"--db", ws.db_path}, ws.err_path, env);
    REQUIRE_FALSE(server.waitForLine("listening on ").empty());
    server.signal(SIGTERM);
    CHECK(server.waitExit() == 0);
    CHECK(exists(ws.db_path));
    CHECK_FALSE(exists(env_db));
  }
  SECTION("a malformed variable is a usage error naming it") {
    CHECK(runToExit({}, ws.err_path, {"USERADMIN_LISTEN=nohostport"}) == 2);
    CHECK(readFile(ws.err_path).find("USERADMIN_LISTEN") != std::string::npos);
  }
}

TEST_CASE("process: a failed start leaves no new database file behind", "[beast][process][slow]") {
  Workspace ws;
  BusyPort busy;
  std::vector<std::string> args;
  SECTION("a broken fixture") {
    writeFile(ws.seed_path, R"({"organizations": [)");
    args = ws.args();
  }
  SECTION("an unresolvable listen address") { args = with(ws.args(), "--listen", "no-such-host.invalid:0"); }
  SECTION("a busy port") { args = with(ws.args(), "--listen", busy.listen()); }
  CHECK(runToExit(args, ws.err_path) == 1);
  INFO(readFile(ws.err_path));
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) CHECK_FALSE(exists(ws.db_path + suffix));
}

TEST_CASE("process: a failed start keeps an existing database and does not reset the demo data",
          "[beast][process][slow]") {
  Workspace ws;
  const std::string demo_dir = ws.dir.file("demo");
  {  // First run: the demo data, then one change to it.
    ServerProcess server({"--demo", "--demo-dir", demo_dir, "--listen", "127.0.0.1:0"}, ws.err_path);
    REQUIRE_FALSE(server.waitForLine("listening on ").empty());
    server.signal(SIGTERM);
    REQUIRE(server.waitExit() == 0);
  }
  const std::string db = demo_dir + "/useradmin.db";
  {
    auto store = openSqliteStore(sqliteOptions(db));
    REQUIRE(store);
    REQUIRE((*store)->findUser("usr_123456789").value()->status == UserStatus::suspended);
    Dataset changed;
    User user = *(*store)->findUser("usr_123456789").value();
    user.status = UserStatus::active;
    user.suspended_at.reset();
    user.suspended_by.reset();
    changed.users.push_back(user);
    REQUIRE((*store)->seed(changed));
  }
  BusyPort busy;
  CHECK(runToExit({"--demo", "--demo-dir", demo_dir, "--listen", busy.listen()}, ws.err_path) == 1);
  auto store = openSqliteStore(sqliteOptions(db));
  REQUIRE(store);
  CHECK((*store)->findUser("usr_123456789").value()->status == UserStatus::active);
}

#endif  // USERADMIN_SERVER_PATH
