// What useradmin-server checks and undoes around its start, so that a start
// that fails leaves the machine as it found it (no new database file, no
// demo data reset).
#ifndef USERADMIN_EXAMPLES_SERVER_STARTUP_HPP
#define USERADMIN_EXAMPLES_SERVER_STARTUP_HPP

#include <cstdint>
#include <string>

namespace useradmin::server {

/// Resolves HOST and binds a throw-away socket to HOST:PORT (with
/// SO_REUSEADDR, as the server's listener does), so an unresolvable name or
/// a busy port is found before anything is written. Returns an empty string
/// when the address is usable, else why not. A port taken between this check
/// and the real bind is still caught by the server's start.
std::string checkListenAddress(const std::string& host, std::uint16_t port);

/// Removes a SQLite database this run created (with its -wal, -shm and
/// -journal files) unless keep() is called: declare it before the store is
/// opened, so the store is closed first. Does nothing for a database that
/// already existed.
class CreatedDatabaseGuard {
 public:
  explicit CreatedDatabaseGuard(std::string path);
  ~CreatedDatabaseGuard();
  CreatedDatabaseGuard(const CreatedDatabaseGuard&) = delete;
  CreatedDatabaseGuard& operator=(const CreatedDatabaseGuard&) = delete;

  /// The start succeeded: leave the files.
  void keep() { created_ = false; }

 private:
  std::string path_;
  bool created_;
};

/// Whether `--db` names a PostgreSQL database (a libpq URI starting with
/// postgresql:// or postgres://) rather than a SQLite file.
bool isPostgresUri(const std::string& db);

/// `--db` for messages: a URI's password replaced by "***".
std::string redactedDatabase(const std::string& db);

}  // namespace useradmin::server

#endif  // USERADMIN_EXAMPLES_SERVER_STARTUP_HPP
