// The real useradmin-server binary as a child process, for end-to-end tests:
// stdout on a pipe (to wait for the listening line), stderr in a file.
#ifndef USERADMIN_TESTS_BEAST_SERVER_PROCESS_HPP
#define USERADMIN_TESTS_BEAST_SERVER_PROCESS_HPP
#ifdef USERADMIN_SERVER_PATH

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "beast/server_fixture.hpp"
#include "support/fixtures.hpp"

extern char** environ;

namespace useradmin::test {

// A child process with stdout on a pipe and stderr in a file.
class ServerProcess {
 public:
  // `environment`: extra NAME=VALUE entries on top of this process's own.
  ServerProcess(const std::vector<std::string>& args, const std::string& stderr_path,
                const std::vector<std::string>& environment = {})
      : ServerProcess(USERADMIN_SERVER_PATH, args, stderr_path, environment) {}

  // Any program (e.g. node for the SCIM service of the directory tests).
  ServerProcess(const std::string& program, const std::vector<std::string>& args, const std::string& stderr_path,
                const std::vector<std::string>& environment = {}) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<std::string> argv_storage = {program};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage = environment;
    std::vector<char*> env;
    for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
    for (auto& e : env_storage) env.push_back(e.data());
    env.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv.data(), env.data());
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

inline void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}


inline std::uint16_t portOf(const std::string& listening_line) {
  const auto colon = listening_line.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(listening_line.substr(colon + 1)));
}

// A directory with the test key, the contract fixture and a database path.
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
  // Flags for a server on db_path with the test key and no fixture.
  std::vector<std::string> argsWithoutSeed() const {
    return {"--listen", "127.0.0.1:0", "--db", db_path, "--jwt-hs256-secret-file", secret_path,
            "--issuer", kIssuer, "--audience", kAudience, "--threads", "2", "--workers", "2"};
  }
  // The same, loading the contract fixture.
  std::vector<std::string> args() const {
    std::vector<std::string> all = argsWithoutSeed();
    all.insert(all.end(), {"--seed", seed_path});
    return all;
  }
};

}  // namespace useradmin::test

#endif  // USERADMIN_SERVER_PATH
#endif  // USERADMIN_TESTS_BEAST_SERVER_PROCESS_HPP
