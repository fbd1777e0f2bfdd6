// The Linux immutable attribute (`chattr +i`) for storage tests: unlike
// permission bits it stops root too, so tests that run as root can make a
// file truly unwritable. Not every file system supports it.
#ifndef USERADMIN_TESTS_SUPPORT_IMMUTABLE_FILE_HPP
#define USERADMIN_TESTS_SUPPORT_IMMUTABLE_FILE_HPP

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

namespace useradmin::test {

// Sets or clears the immutable flag; false when the file system or the
// caller's privileges do not allow it.
inline bool setImmutable(const std::string& path, bool on) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  bool done = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  if (done) {
    flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
    done = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  }
  ::close(fd);
  return done;
}

// Makes a file immutable for its lifetime (if it can) and always undoes it,
// so the test's temporary directory can be removed.
class ImmutableFile {
 public:
  explicit ImmutableFile(std::string path) : path_(std::move(path)), active_(setImmutable(path_, true)) {}
  ~ImmutableFile() { release(); }
  ImmutableFile(const ImmutableFile&) = delete;
  ImmutableFile& operator=(const ImmutableFile&) = delete;

  // False when the attribute is not supported here: the caller skips.
  bool active() const { return active_; }
  void release() {
    if (active_) setImmutable(path_, false);
    active_ = false;
  }

 private:
  std::string path_;
  bool active_;
};

}  // namespace useradmin::test

#endif
