// End-to-end tests of the real useradmin-server binary: flags, the listening
// line, fixtures, and the graceful exit on SIGTERM.
#ifdef USERADMIN_SERVER_PATH

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "support/fixtures.hpp"

extern char** environ;

using namespace useradmin;
using namespace useradmin::test;

namespace {

// A child process with stdout on a pipe and stderr in a file.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& args, const std::string& stderr_path) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<std::string> argv_storage = {USERADMIN_SERVER_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, USERADMIN_SERVER_PATH, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    out_ = out[0];
    REQUIRE(rc == 0);
  }

  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // Reads stdout until a line starting with `prefix` (or EOF / timeout).
  std::string waitForLine(const std::string& prefix, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        stdout_ += line + "\n";
        if (line.rfind(prefix, 0) == 0) return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char buf[4096];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return {};
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Waits for the exit; returns the exit code, or -1 on a signal / timeout.
  int waitExit(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  void signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  const std::string& stdoutSoFar() const { return stdout_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
  std::string stdout_;
};

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}


struct Workspace {
  TempDir dir;
  std::string secret_path = dir.file("secret");
  std::string seed_path = dir.file("seed.json");
  std::string db_path = dir.file("server.db");
  std::string err_path = dir.file("stderr.txt");
  Workspace() {
    writeFile(secret_path, kBeastSecret + "\n");
    writeFile(seed_path, kContractFixture);
  }
  std::vector<std::string> args() const {
    return {"--listen", "127.0.0.1:0", "--db", db_path, "--seed", seed_path, "--jwt-hs256-secret-file", secret_path,
            "--issuer", kIssuer, "--audience", kAudience, "--threads", "2", "--workers", "2"};
  }
};

std::uint16_t portOf(const std::string& listening_line) {
  const auto colon = listening_line.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(listening_line.substr(colon + 1)));
}

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

TEST_CASE("process: usage errors exit 2, --help exits 0", "[beast][process]") {
  Workspace ws;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"}, {"--listen"}, {"--listen", "nohostport"}, {"--listen", "127.0.0.1:99999"},
        {"--threads", "zero"}, {"--durability", "sometimes"}, {"stray"}, {"--rate-limit-ip", "-3"},
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
