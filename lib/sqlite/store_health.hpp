// What the store checks about its files beyond what SQLite reports: that the
// database can be written at all, and that nobody deleted or replaced the
// database file or its write-ahead log while the store had them open.
#ifndef USERADMIN_LIB_SQLITE_STORE_HEALTH_HPP
#define USERADMIN_LIB_SQLITE_STORE_HEALTH_HPP

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "connection.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// `internal` when SQLite opened `c` read-only because the file, its
/// directory or its file system is write-protected (SQLite then falls back
/// to reading silently, and only writes fail).
Status checkWritable(Connection& c);

/// Copies every frame of the write-ahead log into the database file (a FULL
/// checkpoint, which waits for readers), so the data no longer depends on
/// the log file. `internal` when some frames could not be copied.
Status checkpointAll(Connection& c);

/// Watches the identity (device and inode) of the database file and of its
/// `-wal` file. A deleted or replaced WAL means every commit since the last
/// checkpoint now lives only in an unlinked file that SQLite still writes
/// to: a crash loses it and nothing else would notice. The watch keeps its
/// own read-only descriptor on the WAL (SQLite takes no locks on that file,
/// so closing it disturbs nothing) and compares it with the path.
/// Thread-safe; a detected change is permanent for the watch's life.
class FileWatch {
 public:
  /// Records the files as they are now; the WAL must exist (the database is
  /// in WAL mode and has been read).
  static Result<std::unique_ptr<FileWatch>> start(const std::string& db_path);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  /// Looks at the files again (three stat calls). Returns ok, or the error
  /// naming what changed; `first` is set when this call saw it first.
  Status check(bool* first = nullptr);
  /// The result of the last check, without looking.
  Status state() const;

 private:
  struct Identity {
    dev_t device = 0;
    ino_t inode = 0;
  };
  FileWatch(std::string db_path, int wal_fd, Identity db, Identity wal);
  Status look() const;

  const std::string db_path_;
  const std::string wal_path_;
  const int wal_fd_;
  const Identity db_;
  const Identity wal_;
  mutable std::mutex mutex_;
  Status state_;
};

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_STORE_HEALTH_HPP
