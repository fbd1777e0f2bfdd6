// A test-only SQLite VFS that wraps the default one and fails chosen file
// operations on demand: disk full, an I/O error once, a file SQLite may only
// read, handles that stop working. Stores opened with
// `options.vfs = FaultVfs::kName` go through it; everything else is the
// default VFS unchanged. Process-wide, like every SQLite VFS.
#ifndef USERADMIN_TESTS_SQLITE_FAULT_VFS_HPP
#define USERADMIN_TESTS_SQLITE_FAULT_VFS_HPP

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace useradmin::test {

class FaultVfs {
 public:
  static constexpr const char* kName = "useradmin_test_fault";

  // The registered shim, with every fault off.
  static FaultVfs& instance() {
    static FaultVfs vfs;
    vfs.reset();
    return vfs;
  }

  // The next `times` writes (xWrite) to the database or its WAL fail with
  // `code`; a negative count fails them until reset().
  void failWrites(int code, int times) {
    write_code_ = code;
    writes_to_fail_ = times;
  }
  // The same for fsync (xSync).
  void failSyncs(int code, int times) {
    sync_code_ = code;
    syncs_to_fail_ = times;
  }
  // Files opened from now on for reading and writing are opened read-only,
  // as SQLite does for a write-protected file.
  void openReadOnly(bool on) { read_only_ = on; }
  // Every file open now refuses writes and syncs from now on, with
  // SQLITE_IOERR_WRITE / _FSYNC (a descriptor that went bad for good);
  // files opened later work.
  void makeOpenFilesStale() { stale_below_ = next_generation_.load(); }
  // Faults injected so far.
  int injected() const { return injected_; }

  void reset() {
    writes_to_fail_ = 0;
    syncs_to_fail_ = 0;
    read_only_ = false;
    stale_below_ = 0;
    injected_ = 0;
  }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    int generation;
    int flags;
  };

  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = kName;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pAppData = this;
    self_ = this;
    vfs_.xOpen = &open;
    // Version 3, as the unix VFS's tables; each call goes on to the real
    // file's own table.
    methods_ = sqlite3_io_methods{3,          &close,      &read,     &write,           &truncate,
                                  &sync,      &fileSize,   &lock,     &unlock,          &checkReserved,
                                  &fileControl, &sectorSize, &deviceCharacteristics, &shmMap, &shmLock,
                                  &shmBarrier, &shmUnmap,  &fetch,    &unfetch};
    if (sqlite3_vfs_register(&vfs_, 0) != SQLITE_OK) throw std::runtime_error("cannot register the fault VFS");
  }

  static FaultVfs& self() { return *self_; }
  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  // Takes one from a countdown; true when this call must fail.
  bool take(std::atomic<int>& countdown) {
    int left = countdown.load();
    while (left != 0) {
      if (left < 0 || countdown.compare_exchange_weak(left, left - 1)) {
        ++injected_;
        return true;
      }
    }
    return false;
  }
  bool stale(sqlite3_file* f) {
    if (reinterpret_cast<File*>(f)->generation >= stale_below_) return false;
    ++injected_;
    return true;
  }
  static bool dataFile(sqlite3_file* f) {
    return (reinterpret_cast<File*>(f)->flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
  }

  static int open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    auto& shim = *static_cast<FaultVfs*>(vfs->pAppData);
    auto* f = reinterpret_cast<File*>(file);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->real->pMethods = nullptr;
    f->generation = ++shim.next_generation_;
    if (shim.read_only_ && (flags & SQLITE_OPEN_MAIN_DB) != 0 && (flags & SQLITE_OPEN_READWRITE) != 0)
      flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
    f->flags = flags;
    const int rc = shim.real_->xOpen(shim.real_, name, f->real, flags, out_flags);
    file->pMethods = f->real->pMethods != nullptr ? &shim.methods_ : nullptr;
    return rc;
  }

  static int close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
  static int read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
    return real(f)->pMethods->xRead(real(f), buf, n, off);
  }
  static int write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
    FaultVfs& shim = self();
    if (shim.stale(f)) return SQLITE_IOERR_WRITE;
    if (dataFile(f) && shim.take(shim.writes_to_fail_)) return shim.write_code_;
    return real(f)->pMethods->xWrite(real(f), buf, n, off);
  }
  static int truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (self().stale(f)) return SQLITE_IOERR_TRUNCATE;
    return real(f)->pMethods->xTruncate(real(f), size);
  }
  static int sync(sqlite3_file* f, int flags) {
    FaultVfs& shim = self();
    if (shim.stale(f)) return SQLITE_IOERR_FSYNC;
    if (dataFile(f) && shim.take(shim.syncs_to_fail_)) return shim.sync_code_;
    return real(f)->pMethods->xSync(real(f), flags);
  }
  static int fileSize(sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); }
  static int lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
  static int unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
  static int checkReserved(sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); }
  static int fileControl(sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); }
  static int sectorSize(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
  static int deviceCharacteristics(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
  static int shmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
  }
  static int shmLock(sqlite3_file* f, int offset, int n, int flags) {
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
  }
  static void shmBarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
  static int shmUnmap(sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); }
  // No memory-mapped I/O, so every page write goes through xWrite.
  static int fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
    *out = nullptr;
    return SQLITE_OK;
  }
  static int unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

  static inline FaultVfs* self_ = nullptr;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  std::atomic<int> write_code_{SQLITE_OK};
  std::atomic<int> writes_to_fail_{0};
  std::atomic<int> sync_code_{SQLITE_OK};
  std::atomic<int> syncs_to_fail_{0};
  std::atomic<bool> read_only_{false};
  std::atomic<int> next_generation_{0};
  std::atomic<int> stale_below_{0};
  std::atomic<int> injected_{0};
};

}  // namespace useradmin::test

#endif
