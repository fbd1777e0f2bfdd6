#include "startup.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace useradmin::server {

namespace {

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};

// The host as getaddrinfo wants it: "[::1]" is written "::1".
std::string bareHost(const std::string& host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

// Empty when a socket for `address` binds; else the error.
std::string tryBind(const addrinfo& address) {
  const int fd = ::socket(address.ai_family, address.ai_socktype, address.ai_protocol);
  if (fd < 0) return std::strerror(errno);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  std::string error;
  if (::bind(fd, address.ai_addr, address.ai_addrlen) != 0) error = std::strerror(errno);
  ::close(fd);
  return error;
}

bool fileExists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

}  // namespace

std::string checkListenAddress(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;  // as the server's resolver
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(bareHost(host).c_str(), service.c_str(), &hints, &found); rc != 0)
    return "cannot resolve " + host + ": " + ::gai_strerror(rc);
  std::unique_ptr<addrinfo, AddrinfoDeleter> list(found);
  // The server listens on the first address the name resolves to.
  if (std::string error = tryBind(*list); !error.empty())
    return "cannot bind " + host + ":" + service + ": " + error;
  return {};
}

CreatedDatabaseGuard::CreatedDatabaseGuard(std::string path) : path_(std::move(path)), created_(!fileExists(path_)) {}

CreatedDatabaseGuard::~CreatedDatabaseGuard() {
  if (!created_) return;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path_ + suffix).c_str());
}

bool isPostgresUri(const std::string& db) {
  return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

std::string redactedDatabase(const std::string& db) {
  if (!isPostgresUri(db)) return db;
  const std::size_t authority = db.find("://") + 3;
  const std::size_t end = db.find_first_of("/?", authority);
  const std::size_t at = db.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < authority) return db;
  const std::size_t colon = db.find(':', authority);
  if (colon == std::string::npos || colon > at) return db;
  return db.substr(0, colon + 1) + "***" + db.substr(at);
}

}  // namespace useradmin::server
