// Helpers for the SQLite-specific tests: a raw sqlite3 connection for looking
// at the file behind the store's back, file bytes, and forked children.
#ifndef USERADMIN_TESTS_SQLITE_SQLITE_TEST_SUPPORT_HPP
#define USERADMIN_TESTS_SQLITE_SQLITE_TEST_SUPPORT_HPP

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store_factories.hpp"
#include "support/fixtures.hpp"

namespace useradmin::test {

// A plain sqlite3 connection, independent of the store under test.
class RawDb {
 public:
  explicit RawDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string message = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  sqlite3* handle() const { return db_; }

  // Runs statements that return nothing; returns the SQLite code.
  int exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }

  // Every row of a query, each column as text ("NULL" for null).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot prepare " + sql + ": " + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        row.emplace_back(text == nullptr ? "NULL" : text);
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) throw std::runtime_error("cannot run " + sql + ": " + sqlite3_errmsg(db_));
    return out;
  }

  // The first column of the first row.
  std::string text(const std::string& sql) {
    auto all = rows(sql);
    if (all.empty() || all[0].empty()) throw std::runtime_error("no result for " + sql);
    return all[0][0];
  }
  std::int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

inline std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The standard hierarchy plus `count` suspended users `<prefix><i>`, spread
// over the customer organizations.
inline Dataset datasetWithSuspended(const std::string& prefix, int count) {
  Dataset data = standardDataset();
  const char* orgs[] = {"org_c1", "org_c2", "org_c3", "org_c4"};
  for (int i = 0; i < count; ++i) data.users.push_back(makeSuspended(prefix + std::to_string(i), orgs[i % 4]));
  return data;
}

// A forked child that reports lines through a pipe. The child runs `body`
// with the pipe's write end and leaves with _exit(body's result), so no
// test-framework state of the parent is touched in the child.
class Child {
 public:
  template <class Body>
  explicit Child(Body body) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(fds[0]);
      int code = 99;
      try {
        code = body(fds[1]);
      } catch (...) {
        code = 98;
      }
      close(fds[1]);
      _exit(code);
    }
    close(fds[1]);
    read_fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (read_fd_ >= 0) close(read_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Waits until the child wrote something (true) or `timeout_ms` passed.
  bool waitReadable(int timeout_ms) const {
    pollfd p{read_fd_, POLLIN, 0};
    return poll(&p, 1, timeout_ms) > 0;
  }

  // Reads until the output so far contains `marker`, the child closes the
  // pipe, or `timeout_ms` passes; returns everything read.
  std::string readUntil(const std::string& marker, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (so_far_.find(marker) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{read_fd_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const ssize_t n = read(read_fd_, buf, sizeof buf);
      if (n <= 0) break;
      so_far_.append(buf, static_cast<std::size_t>(n));
    }
    return so_far_;
  }

  // Reads everything up to end of file (the child exited or was killed).
  std::string readAll() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(read_fd_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  void kill9() const { kill(pid_, SIGKILL); }

  // Waits for the child; its exit code, or 128 + signal number.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string so_far_;
};

// Writes one line to a pipe in a single write (atomic below PIPE_BUF).
inline void writeLine(int fd, const std::string& line) {
  const std::string data = line + "\n";
  ssize_t ignored = write(fd, data.data(), data.size());
  static_cast<void>(ignored);
}

// Complete lines only: a line cut short by a kill is dropped.
inline std::vector<std::string> completeLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(text.substr(start, nl - start));
  return lines;
}

}  // namespace useradmin::test

#endif
