#include "store_health.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace useradmin::detail {

Status checkWritable(Connection& c) {
  if (sqlite3_db_readonly(c.handle(), "main") != 1) return okStatus();
  return Error::internal(
      "the database cannot be written: the file, its directory or its file system is read-only or immutable");
}

Status checkpointAll(Connection& c) {
  int in_log = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(c.handle(), "main", SQLITE_CHECKPOINT_FULL, &in_log, &copied);
  if (rc != SQLITE_OK) return c.failure(rc, "checkpointing the write-ahead log");
  if (copied < in_log)
    return Error::internal("checkpoint copied " + std::to_string(copied) + " of " + std::to_string(in_log) +
                           " write-ahead log frames");
  return okStatus();
}

namespace {

std::string describeErrno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

Result<std::unique_ptr<FileWatch>> FileWatch::start(const std::string& db_path) {
  struct stat db{};
  if (::stat(db_path.c_str(), &db) != 0) return Error::internal(describeErrno("stat " + db_path));
  const std::string wal_path = db_path + "-wal";
  const int fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::internal(describeErrno("opening the write-ahead log " + wal_path));
  struct stat wal{};
  if (::fstat(fd, &wal) != 0) {
    Error error = Error::internal(describeErrno("fstat " + wal_path));
    ::close(fd);
    return error;
  }
  return std::unique_ptr<FileWatch>(
      new FileWatch(db_path, fd, Identity{db.st_dev, db.st_ino}, Identity{wal.st_dev, wal.st_ino}));
}

FileWatch::FileWatch(std::string db_path, int wal_fd, Identity db, Identity wal)
    : db_path_(std::move(db_path)), wal_path_(db_path_ + "-wal"), wal_fd_(wal_fd), db_(db), wal_(wal) {}

FileWatch::~FileWatch() { ::close(wal_fd_); }

Status FileWatch::look() const {
  const auto same = [](const struct stat& now, const Identity& then) {
    return now.st_dev == then.device && now.st_ino == then.inode;
  };
  struct stat now{};
  if (::fstat(wal_fd_, &now) == 0 && now.st_nlink == 0)
    return Error::internal("the write-ahead log " + wal_path_ + " was deleted while the store had it open");
  if (::stat(wal_path_.c_str(), &now) != 0 || !same(now, wal_))
    return Error::internal("the write-ahead log " + wal_path_ + " was deleted or replaced while the store had it open");
  if (::stat(db_path_.c_str(), &now) != 0 || !same(now, db_))
    return Error::internal("the database file " + db_path_ + " was deleted or replaced while the store had it open");
  return okStatus();
}

Status FileWatch::check(bool* first) {
  std::lock_guard lock(mutex_);
  if (first != nullptr) *first = false;
  if (!state_) return state_;
  state_ = look();
  if (first != nullptr) *first = !state_;
  return state_;
}

Status FileWatch::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

}  // namespace useradmin::detail
