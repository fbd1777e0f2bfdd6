#include "useradmin/sqlite/sqlite_store.hpp"

#if defined(__linux__)
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "cascade.hpp"
#include "connection.hpp"
#include "organization_cache.hpp"
#include "outbox.hpp"
#include "reads.hpp"
#include "rows.hpp"
#include "schema.hpp"
#include "seed.hpp"
#include "store_health.hpp"
#include "useradmin/fixture.hpp"

namespace useradmin {

namespace {

using detail::Connection;

// Transaction control and savepoints, prepared once on the writer.
constexpr const char* kSavepoint = "SAVEPOINT unit";
constexpr const char* kRelease = "RELEASE unit";
constexpr const char* kRollbackTo = "ROLLBACK TO unit";

// How long transaction control keeps retrying once SQLite's own busy
// timeout has expired: three more tries, 10, 20 and 40 ms apart (+ jitter).
constexpr detail::RetryBudget kRetryBudget{3, std::chrono::milliseconds(10)};

// The writer's page cache: large enough for bulk seeds to stay in memory.
constexpr const char* kWriterCache = "PRAGMA cache_size = -65536";  // KiB, i.e. 64 MiB
// After a checkpoint the WAL is cut back to this size (bulk seeds grow it).
constexpr const char* kJournalLimit = "PRAGMA journal_size_limit = 67108864";
// How often an idle writer looks at its files (see detail::FileWatch);
// every commit looks too.
constexpr std::chrono::seconds kWatchInterval{1};
// WAL frames after a commit that wake the background checkpointer (SQLite's
// own autocheckpoint threshold). The writer never checkpoints by itself:
// its WAL hook replaces SQLite's autocheckpoint, so no commit (and no
// caller waiting for one) pays for copying the WAL into the database.
constexpr int kCheckpointFrames = 1000;

// NOMUTEX: each connection is used by one thread at a time (the writer
// thread, or the holder of a reader lease), so SQLite's own locking of the
// handle is not needed. Only the first open may create the file: a reopen
// must not conjure an empty database where the real one vanished.
constexpr int kCreateWriterFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
constexpr int kWriterFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
constexpr int kReaderFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

// Opens connections, first at openSqliteStore and again to replace one that
// met a fault (an I/O error can leave a handle that never works again).
struct ConnectionOpener {
  explicit ConnectionOpener(const SqliteStoreOptions& options)
      : path(options.path), vfs(options.vfs), busy_timeout(options.busy_timeout), durability(options.durability),
        overlap_sync(overlapsSync(options)) {}

  /// Whether the writer commits without syncing and a Syncer makes its
  /// commits durable: only where the syncer's fdatasync is the sync SQLite
  /// would have made (Linux, the default VFS, FULL durability).
  static bool overlapsSync(const SqliteStoreOptions& options) {
#if defined(__linux__)
    return options.overlap_sync && options.durability == SqliteDurability::full && options.vfs.empty();
#else
    return false;
#endif
  }
  // The writer: checked (read-only, `verify` adds quick_check), refused when
  // SQLite could only open it read-only, then configured.
  Result<std::unique_ptr<Connection>> writer(int flags, bool verify) const;
  Result<std::unique_ptr<Connection>> reader() const;
  /// The background checkpointer's connection: no schema checks (the
  /// writer did them), the writer's `synchronous`.
  Result<std::unique_ptr<Connection>> checkpointer() const;

  std::string path;
  std::string vfs;
  std::chrono::milliseconds busy_timeout;
  SqliteDurability durability;
  bool overlap_sync;
};

Status runCached(Connection& c, const char* sql) {
  auto st = c.statement(sql);
  if (!st) return std::move(st).error();
  return st->run(sql);
}

// The writer's `synchronous` while it commits, and while it copies the WAL
// into the database or seeds (always FULL then: a checkpoint must sync the
// WAL before and the database after copying, or a restarted WAL could
// overwrite frames the database file does not durably hold yet).
constexpr const char* kSyncFull = "PRAGMA synchronous = FULL";
constexpr const char* kSyncNormal = "PRAGMA synchronous = NORMAL";
constexpr const char* kSyncOff = "PRAGMA synchronous = OFF";

// The UnitOfWork handed to a unit: the writer connection inside the batch
// transaction, so reads see every earlier write of the batch, the unit's own
// included, and no other writer can interleave.
class SqliteUnit final : public UnitOfWork {
 public:
  SqliteUnit(Connection& c, detail::OrganizationCache* cache) : c_(c), cache_(cache) {}

  Result<std::optional<User>> findUser(std::string_view id) override {
    auto found = detail::selectUser(c_, id);
    if (found && *found) remember(**found);
    else known_ = false;
    return found;
  }

  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    if (cache_ != nullptr) return cache_->chain(c_, id);
    return detail::selectChain(c_, id);
  }

  // A compare-and-set of the user this unit read last, at the version it
  // read, needs no query for the stored roles: nothing but this unit can
  // have written in between (one writer; the transaction is open), and any
  // write to the user (this unit's own included) moves its version.
  Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) override {
    const bool known = known_ && known_version_ == expected_version && known_id_ == user.id;
    auto swapped = detail::compareAndSetUser(c_, user, expected_version, known ? &known_roles_ : nullptr);
    if (swapped && *swapped) remember(user);
    else known_ = false;
    return swapped;
  }

  Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected_version) override {
    // Forget the cache before writing: for the rest of this transaction
    // chains come from the database, which is right whether this unit
    // commits or rolls back; the next transaction starts a fresh cache.
    if (cache_ != nullptr) cache_->clear();
    return detail::compareAndSetOrganization(c_, org, expected_version);
  }

  Result<std::vector<std::string>> suspendCascade(const Cascade& cascade) override {
    known_ = false;
    return detail::suspendCascade(c_, cascade);
  }

  Result<std::vector<std::string>> reactivateCascade(const Cascade& cascade) override {
    known_ = false;
    return detail::reactivateCascade(c_, cascade);
  }

  Status appendAudit(const AuditEvent& event) override { return detail::insertAudit(c_, event); }

  Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) override {
    return detail::queueDirectoryUpdate(c_, update, now, due);
  }

  /// For the store's own units (the outbox writes outside UnitOfWork).
  Connection& connection() { return c_; }

 private:
  void remember(const User& user) {
    known_id_ = user.id;
    known_version_ = user.version;
    known_roles_ = user.roles;
    known_ = true;
  }

  Connection& c_;
  detail::OrganizationCache* cache_;  // null: always the recursive query
  // The user this unit read (or wrote) last, with the roles stored for it.
  bool known_ = false;
  std::string known_id_;
  std::int64_t known_version_ = 0;
  std::vector<std::string> known_roles_;
};

// The ReadView handed to a read: a reader connection inside a read
// transaction, i.e. one WAL snapshot of committed state.
class SqliteView final : public ReadView {
 public:
  explicit SqliteView(Connection& c) : c_(c) {}

  Result<std::optional<User>> findUser(std::string_view id) override { return detail::selectUser(c_, id); }
  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    return detail::selectChain(c_, id);
  }
  Result<UserPage> listUsers(const UserQuery& query) override { return detail::selectUserPage(c_, query); }
  Result<AuditPage> auditEvents(const AuditQuery& query) override { return detail::selectAuditPage(c_, query); }

 private:
  Connection& c_;
};

// Ends a reader's transaction however the read leaves (an exception too).
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& c) : c_(c) {}
  ~ReadTransaction() { detail::rollback(c_); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  Status begin() { return runCached(c_, "BEGIN"); }

 private:
  Connection& c_;
};

// Copies the WAL into the database file on its own thread and connection
// (a PASSIVE checkpoint: it never blocks the writer or the readers), woken
// by the writer's WAL hook once kCheckpointFrames frames wait to be copied;
// the writer copies the short tail left after it (see committed()) and then
// restarts the WAL at its next transaction.
// Its connection has the writer's `synchronous`, so a checkpoint syncs the
// WAL before and the database after copying, as SQLite's own would.
class Checkpointer {
 public:
  /// `defer_tail`: the writer commits with synchronous=OFF (overlap_sync),
  /// so its hook must not copy the tail at once (the copy would not sync);
  /// copyDeferredTail does it after the COMMIT, at FULL.
  Checkpointer(std::function<Result<std::unique_ptr<Connection>>()> open, bool defer_tail)
      : open_(std::move(open)), defer_tail_(defer_tail) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Installs the hook on a writer connection (again after a reopen).
  void attach(Connection& writer) { sqlite3_wal_hook(writer.handle(), &Checkpointer::walHook, this); }
  /// Removes it (before the Checkpointer goes; later commits do not checkpoint).
  static void detach(Connection& writer) { sqlite3_wal_hook(writer.handle(), nullptr, nullptr); }

  /// On the writer thread, after a COMMIT returned: the tail copy the hook
  /// deferred, at FULL (which first syncs the WAL, then the database).
  void copyDeferredTail(Connection& writer) {
    if (!tail_wanted_) return;
    tail_wanted_ = false;
    if (!writer.exec(kSyncFull, kSyncFull)) return;  // no copy then; the next commit asks again
    copyTail(writer.handle());
    static_cast<void>(writer.exec(kSyncOff, kSyncOff));
  }



 private:
  static int walHook(void* self, sqlite3* db, const char*, int frames) {
    static_cast<Checkpointer*>(self)->committed(db, frames);
    return SQLITE_OK;
  }

  // After every commit, on the writer thread, with the WAL's size in frames.
  // A PASSIVE checkpoint beside a busy writer never catches up with it (the
  // writer appends while it copies), and SQLite only restarts the WAL from
  // its beginning once every frame was copied; so once the background copy
  // is done, the writer copies the tail committed meanwhile itself, a small
  // fraction of the WAL, and its next transaction restarts the WAL.
  void committed(sqlite3* db, int frames) {
    if (frames < kCheckpointFrames || busy_.load(std::memory_order_acquire)) return;
    int copied = copied_.load(std::memory_order_relaxed);
    if (frames < logged_.load(std::memory_order_relaxed)) copied = 0;  // the WAL was restarted since
    if (frames - copied >= kCheckpointFrames) {
      request();
      return;
    }
    if (defer_tail_) tail_wanted_ = true;
    else copyTail(db);
  }

  void copyTail(sqlite3* db) {
    int logged = 0, copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &logged, &copied) == SQLITE_OK) {
      logged_.store(logged, std::memory_order_relaxed);
      copied_.store(copied, std::memory_order_relaxed);
    }
  }

  void request() {
    busy_.store(true, std::memory_order_release);
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    wake_.notify_one();
  }

  void loop() {
    std::unique_ptr<Connection> c;
    while (true) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return requested_ || stopping_; });
        if (stopping_) return;
        requested_ = false;
      }
      if (c == nullptr || c->fault() != SQLITE_OK) {
        auto opened = open_();
        if (opened) c = std::move(*opened);
      }
      // Busy (another checkpoint, e.g. the writer's salvage) or a failure:
      // nothing is lost, the WAL keeps the frames until the next try.
      if (c != nullptr) {
        int logged = 0, copied = 0;
        const int rc = sqlite3_wal_checkpoint_v2(c->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &logged, &copied);
        if (rc == SQLITE_OK) {
          logged_.store(logged, std::memory_order_relaxed);
          copied_.store(copied, std::memory_order_relaxed);
        }
        if (detail::isConnectionFault(rc)) c.reset();
      }
      busy_.store(false, std::memory_order_release);
    }
  }

  const std::function<Result<std::unique_ptr<Connection>>()> open_;
  const bool defer_tail_;
  bool tail_wanted_ = false;  // writer thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  // Set from request() until the checkpoint it asked for has ended.
  std::atomic<bool> busy_{false};
  // The WAL's size and the frames copied, as the last checkpoint left them.
  std::atomic<int> logged_{0};
  std::atomic<int> copied_{0};
  std::thread thread_;
};

// The writer's commit statistics (StoreStats). The writer records once per
// transaction under `mutex_`; stats() copies under the same lock. Seeds are
// not counted (they commit in their own chunks); large units are batches of 1.
class WriterStats {
 public:
  static constexpr std::array<double, 8> kBatchBounds{1, 2, 4, 8, 16, 32, 64, 128};
  static constexpr std::array<double, 14> kSecondsBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                         0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

  /// `sync_seconds`: the COMMIT's own time, when it synced (not with overlap_sync).
  void committed(std::size_t units, double commit_seconds, std::optional<double> sync_seconds) {
    std::lock_guard lock(mutex_);
    ++commits_;
    units_ += units;
    batch_.observe(kBatchBounds, static_cast<double>(units));
    commit_.observe(kSecondsBounds, commit_seconds);
    if (sync_seconds) sync_.observe(kSecondsBounds, *sync_seconds);
  }

  /// One fdatasync of the Syncer.
  void synced(double seconds) {
    std::lock_guard lock(mutex_);
    sync_.observe(kSecondsBounds, seconds);
  }

  void failed() {
    std::lock_guard lock(mutex_);
    ++failed_;
  }

  StoreStats snapshot() const {
    StoreStats out;
    out.available = true;
    std::lock_guard lock(mutex_);
    out.commits = commits_;
    out.units = units_;
    out.failed_commits = failed_;
    out.batch_size = batch_.histogram(kBatchBounds);
    out.commit_seconds = commit_.histogram(kSecondsBounds);
    out.sync_seconds = sync_.histogram(kSecondsBounds);
    return out;
  }

 private:
  template <std::size_t N>
  struct Buckets {
    std::array<std::uint64_t, N + 1> counts{};
    double sum = 0;
    std::uint64_t count = 0;

    void observe(const std::array<double, N>& bounds, double value) {
      std::size_t i = 0;
      while (i < N && value > bounds[i]) ++i;
      ++counts[i];
      sum += value;
      ++count;
    }
    Histogram histogram(const std::array<double, N>& bounds) const {
      Histogram h;
      h.upper_bounds.assign(bounds.begin(), bounds.end());
      h.counts.assign(counts.begin(), counts.end());
      h.sum = sum;
      h.count = count;
      return h;
    }
  };

  mutable std::mutex mutex_;
  std::uint64_t commits_ = 0;
  std::uint64_t units_ = 0;
  std::uint64_t failed_ = 0;
  Buckets<kBatchBounds.size()> batch_;
  Buckets<kSecondsBounds.size()> commit_;
  Buckets<kSecondsBounds.size()> sync_;
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One-shot "your job is done" from the writer to its caller. On Linux a
// futex word: the writer's signal is one atomic exchange, plus one wake-up
// call only if the caller is already asleep; the woken caller needs no lock
// (a mutex and condition variable cost the caller a second wake-up when it
// finds the writer still holding the mutex). The caller may return, and the
// Job vanish, as soon as it sees the flag: the writer's FUTEX_WAKE only
// names the address, which the kernel does not read for a wake, and a stray
// wake of whatever lives there later is a spurious wake-up, which every
// futex waiter tolerates. Elsewhere a mutex and condition variable.
class Completion {
 public:
#if defined(__linux__)
  void wait() {
    int seen = kPending;
    if (state_.compare_exchange_strong(seen, kSleeping, std::memory_order_acquire)) seen = kSleeping;
    while (seen != kDone) {
      syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAIT_PRIVATE, kSleeping, nullptr, nullptr, 0);
      seen = state_.load(std::memory_order_acquire);
    }
  }
  void signal() {
    if (state_.exchange(kDone, std::memory_order_acq_rel) == kSleeping)
      syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  static constexpr int kPending = 0, kSleeping = 1, kDone = 2;
  static_assert(sizeof(std::atomic<int>) == sizeof(int), "a futex word is an int");
  std::atomic<int> state_{kPending};
#else
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
  }
  void signal() {
    std::lock_guard lock(mutex_);
    done_ = true;
    cv_.notify_one();  // under the lock: the Job vanishes once its caller sees `done_`
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
#endif
};

// A request waiting for the writer: a unit of work (batched unless
// `alone`) or a seed (always alone). Lives on the caller's stack until `done`.
struct Job {
  const UserStore::Work* work = nullptr;
  const Dataset* seed = nullptr;
  /// A large unit (transactLarge): its own transaction, never batched.
  bool alone = false;
  Status result;
  std::exception_ptr exception;
  // The caller waits on its own flag, not the queue's lock, so waking a
  // whole batch does not make the callers and the writer fight over one lock.
  Completion done;
  // transactAsync: the Job is the store's (on the heap) and owns the unit;
  // the writer calls `completion` instead of signalling `done`.
  UserStore::Work owned_work;
  UserStore::Done completion;
};

// Tells the callers of a finished batch: blocked callers first; then the
// completions of transactAsync, which may queue new units (not wait for
// them). A blocked caller's Job is gone once signalled, so the
// asynchronous ones are set apart before any signal.
void answerJobs(const std::vector<Job*>& jobs) {
  std::vector<Job*> owned_jobs;
  for (Job* job : jobs) {
    if (job->completion) owned_jobs.push_back(job);
    else job->done.signal();
  }
  for (Job* job : owned_jobs) {
    std::unique_ptr<Job> owned(job);
    Status result = std::move(job->result);
    if (job->exception && result) result = Error::internal("the unit of work threw an exception");
    try {
      job->completion(std::move(result));
    } catch (...) {
      // A completion must not throw; the answering thread carries on regardless.
    }
  }
}

#if defined(__linux__)
// overlap_sync: makes the writer's commits durable on a thread of its own.
// The writer commits at synchronous=OFF (its frames reach the OS, not the
// disk) and hands each finished batch here; one fdatasync of the WAL file
// then covers every commit handed before it (Linux syncs a file's data
// whichever descriptor wrote it), and only after it returned are those
// batches' callers answered, in order. So the writer runs batch N+1 while
// batch N's sync is in flight, and a crowd shares syncs as it shares
// commits. Readers may see a commit before it is durable; read() and the
// other snapshot reads therefore wait (waitDurable) until everything that
// was committed when they finished is on disk, so no answer reports a
// state a power loss could take back. A failed sync fails its batches and,
// for good, every later write: what the OS failed to write is unknown.
class Syncer {
 public:
  Syncer(std::string wal_path, WriterStats& stats) : wal_path_(std::move(wal_path)), stats_(stats) {
    thread_ = std::thread([this] { loop(); });
  }
  /// Syncs and answers what is still handed over, then stops.
  ~Syncer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    handed_.notify_one();
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  /// On the writer thread, right before a COMMIT: from here on a reader may
  /// see this commit, so waitDurable waits for it.
  void committing() { committing_.fetch_add(1, std::memory_order_acq_rel); }

  /// On the writer thread, after a batch (committed or not): its callers
  /// are answered once a sync that started after this call has returned.
  void hand(std::vector<Job*> jobs) {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(Pending{committing_.load(std::memory_order_acquire), std::move(jobs)});
    }
    handed_.notify_one();
  }

  /// Blocks until every commit a snapshot read so far could have seen is
  /// durable; the failed sync's error if one failed.
  Status waitDurable() {
    const std::uint64_t seen = committing_.load(std::memory_order_acquire);
    std::unique_lock lock(mutex_);
    if (onThread()) {
      // A completion reading on this thread: nobody else would sync for it.
      lock.unlock();
      return sync(seen);
    }
    synced_.wait(lock, [&] { return durable_ >= seen || !failure_; });
    return failure_;
  }

  /// Whether the caller is the syncer thread (which answers the callers).
  bool onThread() const { return std::this_thread::get_id() == thread_.get_id(); }

  /// Ok until a sync failed; then why, for every later write.
  Status failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  struct Pending {
    std::uint64_t commits;  // every commit up to this one is in this hand-over's past
    std::vector<Job*> jobs;
  };

  void loop() {
    std::vector<Pending> taken;
    while (true) {
      {
        std::unique_lock lock(mutex_);
        handed_.wait(lock, [&] { return !pending_.empty() || stopping_; });
        if (pending_.empty()) return;
        taken.swap(pending_);
      }
      Status synced = sync(taken.back().commits);
      for (Pending& p : taken) {
        if (!synced) {
          for (Job* job : p.jobs)
            if (job->result) job->result = synced;
        }
        answerJobs(p.jobs);
      }
      taken.clear();
    }
  }

  // Syncs the WAL, then marks commits up to `commits` durable. On this
  // thread only (fd_).
  Status sync(std::uint64_t commits) {
    if (Status failed = failure(); !failed) return failed;
    const auto start = std::chrono::steady_clock::now();
    Status synced = syncWal();
    {
      std::lock_guard lock(mutex_);
      if (synced) durable_ = std::max(durable_, commits);
      else if (failure_) failure_ = synced;
    }
    synced_.notify_all();
    if (synced) stats_.synced(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return synced;
  }

  Status syncWal() {
    if (fd_ < 0) fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return Error::internal("the write-ahead log could not be opened to sync it: " + errnoText());
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return Error::internal("syncing the write-ahead log failed: " + errnoText());
    }
    return okStatus();
  }

  static std::string errnoText() { return std::strerror(errno); }

  const std::string wal_path_;
  WriterStats& stats_;
  std::atomic<std::uint64_t> committing_{0};
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable handed_;
  std::condition_variable synced_;
  std::vector<Pending> pending_;
  std::uint64_t durable_ = 0;
  Status failure_;
  bool stopping_ = false;
  std::thread thread_;
};
#else
// Elsewhere the writer's COMMIT syncs (overlapsSync is false); this stands in.
class Syncer {
 public:
  Syncer(std::string, WriterStats&) {}
  void committing() {}
  void hand(std::vector<Job*> jobs) { answerJobs(jobs); }
  bool onThread() const { return false; }
  Status waitDurable() { return okStatus(); }
  Status failure() const { return okStatus(); }
};
#endif

class SqliteStore final : public UserStore {
 public:
  SqliteStore(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
              std::unique_ptr<detail::FileWatch> watch, const SqliteStoreOptions& options)
      : policy_(*options.policy), max_batch_(options.max_batch), use_cache_(options.cache_organizations),
        opener_(options), log_(options.log), watch_(std::move(watch)), writer_(std::move(writer)),
        checkpointer_(
            std::make_unique<Checkpointer>([this] { return opener_.checkpointer(); }, opener_.overlap_sync)),
        syncer_(opener_.overlap_sync ? std::make_unique<Syncer>(options.path + "-wal", stats_) : nullptr),
        idle_readers_(std::move(readers)) {
    checkpointer_->attach(*writer_);
    thread_ = std::thread([this] { writerLoop(); });
    writer_id_ = thread_.get_id();
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_all();
    thread_.join();  // the writer drains the queue first
    // Then the last syncs and answers; the writer's close checkpoints, at FULL.
    if (syncer_ != nullptr) {
      syncer_.reset();
      static_cast<void>(writer_->exec(kSyncFull, kSyncFull));
    }
    // The hook goes before the checkpointer it points to; its connection
    // closes before the writer's, which checkpoints last.
    Checkpointer::detach(*writer_);
    checkpointer_.reset();
    static_cast<void>(writer_->exec("PRAGMA optimize", "optimizing"));
  }

  Status transact(const Work& work) override {
    Job job;
    job.work = &work;
    return submit(job);
  }

  bool transactsAsynchronously() const noexcept override { return true; }

  void transactAsync(Work work, Done done) override {
    auto job = std::make_unique<Job>();
    job->owned_work = std::move(work);
    job->work = &job->owned_work;
    job->completion = std::move(done);
    {
      std::unique_lock lock(mutex_);
      if (stopping_) {
        lock.unlock();
        job->completion(Error::internal("the store is closing"));
        return;
      }
      queue_.push_back(job.release());  // the writer deletes it after its completion
      queue_depth_.store(queue_.size(), std::memory_order_relaxed);
    }
    queued_.notify_one();
  }

  Status transactLarge(const Work& work) override {
    Job job;
    job.work = &work;
    job.alone = true;
    return submit(job);
  }

  Status seed(const Dataset& data) override {
    Job job;
    job.seed = &data;
    job.alone = true;
    return submit(job);
  }

  Result<std::optional<User>> findUser(std::string_view id) override {
    ReaderLease reader(*this);
    return durable(detail::selectUser(reader.connection(), id));
  }

  Status read(const ReadWork& work) override {
    ReaderLease reader(*this);
    // A read transaction pins one snapshot for every statement of the work;
    // it ends by rollback, which for a reader is the same as commit.
    ReadTransaction snapshot(reader.connection());
    if (Status begun = snapshot.begin(); !begun) return begun;
    SqliteView view(reader.connection());
    Status done = work(view);
    if (Status on_disk = waitDurable(); !on_disk) return on_disk;
    return done;
  }

  // The outbox: claims and stats read a reader's snapshot (never waiting
  // for the writer); the two writes are small units through the writer's
  // queue, so they share its batched commits.
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    ReaderLease reader(*this);
    return durable(detail::claimDirectoryUpdates(reader.connection(), now, limit));
  }

  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& entry_ids) override {
    if (entry_ids.empty()) return okStatus();
    return transact([&](UnitOfWork& unit) -> Status {
      for (const std::int64_t id : entry_ids) {
        if (Status deleted = detail::deleteDirectoryUpdate(static_cast<SqliteUnit&>(unit).connection(), id); !deleted)
          return deleted;
      }
      return okStatus();
    });
  }

  Status rescheduleDirectoryUpdate(std::int64_t entry_id, Timestamp next_attempt_at, std::string_view error) override {
    return transact([&](UnitOfWork& unit) {
      return detail::rescheduleDirectoryUpdate(static_cast<SqliteUnit&>(unit).connection(), entry_id, next_attempt_at,
                                               error);
    });
  }

  Result<OutboxStats> directoryOutboxStats() override {
    ReaderLease reader(*this);
    return durable(detail::directoryOutboxStats(reader.connection()));
  }

  Status health() const { return watch_->check(); }

  StoreStats stats() const override {
    StoreStats out = stats_.snapshot();
    out.queue_depth = queue_depth_.load(std::memory_order_relaxed);
    return out;
  }

 private:
  // A snapshot read's answer only once what it could have seen is durable
  // (overlap_sync; immediate otherwise).
  Status waitDurable() { return syncer_ != nullptr ? syncer_->waitDurable() : okStatus(); }
  template <class T>
  Result<T> durable(Result<T> answer) {
    if (Status on_disk = waitDurable(); !on_disk) return std::move(on_disk).error();
    return answer;
  }

  // Borrows a reader connection for one call; readers are interchangeable
  // and, in WAL mode, never wait for the writer.
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteStore& store) : store_(store) {
      std::unique_lock lock(store_.readers_mutex_);
      store_.reader_free_.wait(lock, [&] { return !store_.idle_readers_.empty(); });
      connection_ = std::move(store_.idle_readers_.back());
      store_.idle_readers_.pop_back();
    }
    ~ReaderLease() {
      store_.renewIfFaulted(connection_);
      {
        std::lock_guard lock(store_.readers_mutex_);
        store_.idle_readers_.push_back(std::move(connection_));
      }
      store_.reader_free_.notify_one();
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    Connection& connection() { return *connection_; }

   private:
    SqliteStore& store_;
    std::unique_ptr<Connection> connection_;
  };

  // Queues `job` for the writer and blocks until it has been committed (or
  // refused). An exception thrown by the unit is rethrown here, on the
  // caller's thread, after its writes were rolled back.
  Status submit(Job& job) {
    if (std::this_thread::get_id() == writer_id_)
      return Error::internal("transact() or seed() called from inside a unit of work; units must not nest");
    // It would wait for the very thread that answers it.
    if (syncer_ != nullptr && syncer_->onThread())
      return Error::internal("transact() or seed() called from a transactAsync completion; it must not block");
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return Error::internal("the store is closing");
      queue_.push_back(&job);
      queue_depth_.store(queue_.size(), std::memory_order_relaxed);
    }
    queued_.notify_one();
    {
      job.done.wait();
    }
    if (job.exception) std::rethrow_exception(job.exception);
    return std::move(job.result);
  }

  // The writer thread: takes what is queued (up to max_batch units, or one
  // seed or large unit), runs it, and only then wakes the callers. No
  // waiting to fill a batch: units that arrive while a batch commits form
  // the next one, so a lone caller pays one commit and a crowd shares them.
  // A large unit is never batched: small units queued before it commit
  // first, those queued behind it wait only for its own transaction, and
  // its failure can touch no one else's writes.
  void writerLoop() {
    std::vector<Job*> batch;
    while (true) {
      batch.clear();
      {
        std::unique_lock lock(mutex_);
        if (!queued_.wait_for(lock, kWatchInterval, [&] { return !queue_.empty() || stopping_; })) {
          lock.unlock();
          static_cast<void>(watchFiles());  // it reports what it finds itself
          continue;
        }
        if (queue_.empty()) return;
        if (queue_.front()->alone) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        } else {
          while (!queue_.empty() && batch.size() < max_batch_ && !queue_.front()->alone) {
            batch.push_back(queue_.front());
            queue_.pop_front();
          }
        }
        queue_depth_.store(queue_.size(), std::memory_order_relaxed);
      }
      try {
        if (batch.front()->seed != nullptr) runSeed(*batch.front());
        else runBatch(batch);
      } catch (...) {
        // Our own code failed (out of memory): nothing of this batch was
        // committed, so no caller may be told otherwise.
        detail::rollback(*writer_);
        for (Job* job : batch)
          if (job->result) job->result = Error::internal("the store's writer failed while running the batch");
      }
      // With overlap_sync the callers are answered once the batch is on disk.
      if (syncer_ != nullptr) syncer_->hand(batch);
      else answerJobs(batch);
    }
  }

  // A seed is the store's own code from start to end, so a failure in it
  // (out of memory on a huge fixture) is an error, not an exception.
  void runSeed(Job& job) {
    if (Status ready = prepareWriter(); !ready) {
      job.result = std::move(ready);
      return;
    }
    // A seed commits in chunks of its own: each syncs, as without overlap_sync.
    struct FullWhileSeeding {
      Connection* c;
      ~FullWhileSeeding() {
        if (c != nullptr) static_cast<void>(c->exec(kSyncOff, kSyncOff));
      }
    } full{nullptr};
    if (syncer_ != nullptr) {
      if (Status set = writer_->exec(kSyncFull, kSyncFull); !set) {
        job.result = std::move(set);
        return;
      }
      full.c = writer_.get();
    }
    try {
      job.result = detail::seedDataset(*writer_, *job.seed, policy_, kRetryBudget);
      if (job.result) job.result = watchFiles();
    } catch (const std::exception& e) {
      detail::rollback(*writer_);
      job.result = Error::internal(std::string("seed failed: ") + e.what());
    } catch (...) {
      detail::rollback(*writer_);
      job.result = Error::internal("seed failed with an unknown exception");
    }
  }

  // One or more transactions for `jobs`: normally one BEGIN IMMEDIATE ...
  // COMMIT with a savepoint per unit. If SQLite abandons the transaction
  // under a unit (I/O error, out of memory), the units already run lose
  // their writes and are answered with the error; the rest start afresh.
  void runBatch(const std::vector<Job*>& jobs) {
    std::size_t next = 0;
    while (next < jobs.size()) {
      Status begun = prepareWriter();
      const auto started = std::chrono::steady_clock::now();
      if (begun) begun = detail::beginImmediate(*writer_, kRetryBudget);
      if (!begun) {
        for (std::size_t i = next; i < jobs.size(); ++i) jobs[i]->result = begun.error();
        return;
      }
      if (use_cache_) org_cache_.beginTransaction(*writer_);
      const std::size_t first = next;
      bool alive = true;
      while (alive && next < jobs.size()) alive = runUnit(*jobs[next++]);
      if (!alive) {
        const Error lost = Error::internal("the transaction was rolled back by SQLite while running a unit");
        for (std::size_t i = first; i < next; ++i)
          if (jobs[i]->result) jobs[i]->result = lost;
        stats_.failed();
        continue;
      }
      if (syncer_ != nullptr) syncer_->committing();
      const auto syncing = std::chrono::steady_clock::now();
      Status committed = detail::commit(*writer_, kRetryBudget);
      const double commit_statement_seconds = secondsSince(syncing);
      if (committed && syncer_ != nullptr) checkpointer_->copyDeferredTail(*writer_);
      if (committed) committed = watchFiles();
      if (committed)
        stats_.committed(next - first, secondsSince(started),
                         syncer_ != nullptr ? std::nullopt : std::optional<double>(commit_statement_seconds));
      else stats_.failed();
      if (!committed) {
        // Nothing of the batch persisted: every unit that had succeeded learns why.
        for (std::size_t i = first; i < next; ++i)
          if (jobs[i]->result) jobs[i]->result = committed.error();
      }
    }
  }

  // Runs one unit under its own savepoint: released when the unit succeeds,
  // rolled back (and released) when it fails, so its neighbours in the
  // batch are unaffected. Returns false when the transaction is gone.
  bool runUnit(Job& job) {
    if (Status opened = runCached(*writer_, kSavepoint); !opened) {
      job.result = std::move(opened);
      return !writer_->autocommit();
    }
    Status status;
    try {
      SqliteUnit unit(*writer_, use_cache_ ? &org_cache_ : nullptr);
      status = (*job.work)(unit);
    } catch (...) {
      job.exception = std::current_exception();
      status = Error::internal("the unit of work threw an exception");
    }
    if (writer_->autocommit()) {
      job.result = status ? Status(Error::internal("the transaction ended inside the unit")) : std::move(status);
      return false;
    }
    if (status) {
      Status released = runCached(*writer_, kRelease);
      if (released) {
        job.result = okStatus();
        return true;
      }
      status = std::move(released);
    }
    job.result = std::move(status);
    if (Status undone = runCached(*writer_, kRollbackTo); undone) {
      if (Status released = runCached(*writer_, kRelease); released) return true;
    }
    // The savepoint could not be undone: give up the whole transaction.
    detail::rollback(*writer_);
    return false;
  }

  // Before a batch: refuses writes once the files were tampered with, and
  // replaces a writer connection that met a fault. If the new one cannot
  // be opened yet (the cause persists), the old one is tried again: SQLite
  // recovers from most transient errors on the same handle.
  Status prepareWriter() {
    if (Status files = watch_->state(); !files) {
      static_cast<void>(watchFiles());  // reported and salvaged once, maybe first seen by health()
      return files;
    }
    if (syncer_ != nullptr) {
      if (Status synced = syncer_->failure(); !synced) return synced;
    }
    if (writer_->fault() == SQLITE_OK) return okStatus();
    auto fresh = opener_.writer(kWriterFlags, false);
    if (!fresh) return okStatus();
    writer_ = std::move(*fresh);
    checkpointer_->attach(*writer_);
    org_cache_.clear();
    return okStatus();
  }

  // A reader that met a fault is swapped for a new connection when its
  // lease ends; if that fails the old one stays and is tried again.
  void renewIfFaulted(std::unique_ptr<Connection>& reader) {
    if (reader->fault() == SQLITE_OK) return;
    if (auto fresh = opener_.reader()) reader = std::move(*fresh);
  }

  // On the writer thread, after every commit and when idle: if the WAL or
  // the database file was deleted or replaced, copies what the WAL holds
  // into the database file (so nothing acknowledged depends on an unlinked
  // file), says so once, and from then on refuses writes. Returns whether
  // the last commit is durable.
  Status watchFiles() {
    Status files = watch_->check();
    if (files || salvage_tried_) return files ? files : salvaged_;
    salvage_tried_ = true;
    if (syncer_ != nullptr) static_cast<void>(writer_->exec(kSyncFull, kSyncFull));  // the copy must sync
    salvaged_ = detail::checkpointAll(*writer_);
    std::string line = "useradmin sqlite store: " + files.error().detail + "; ";
    line += salvaged_ ? "its committed changes were copied into the database file"
                      : "copying its changes into the database file FAILED (" + salvaged_.error().detail + ")";
    line += "; writes are refused until the store is reopened";
    if (log_) log_(line);
    else std::cerr << line << std::endl;
    return salvaged_;
  }

  const Policy& policy_;
  const std::size_t max_batch_;
  const bool use_cache_;
  const ConnectionOpener opener_;
  const std::function<void(const std::string&)> log_;
  const std::unique_ptr<detail::FileWatch> watch_;
  // Used by the writer thread only.
  bool salvage_tried_ = false;
  Status salvaged_;
  std::unique_ptr<Connection> writer_;
  std::unique_ptr<Checkpointer> checkpointer_;
  detail::OrganizationCache org_cache_;

  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Job*> queue_;
  std::atomic<std::size_t> queue_depth_{0};
  bool stopping_ = false;
  WriterStats stats_;
  std::unique_ptr<Syncer> syncer_;  // overlap_sync only; declared after stats_, which it records in
  std::thread thread_;
  std::thread::id writer_id_;

  std::mutex readers_mutex_;
  std::condition_variable reader_free_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

Error badOption(const char* key, const char* message) {
  return Error::invalidArgument({key, message, {}}, "invalid_options");
}

Status checkOptions(const SqliteStoreOptions& options) {
  if (options.path.empty()) return badOption("path", "is required");
  if (options.policy == nullptr) return badOption("policy", "is required");
  if (options.max_batch == 0) return badOption("max_batch", "must be at least 1");
  if (options.readers == 0) return badOption("readers", "must be at least 1");
  if (options.busy_timeout.count() < 0) return badOption("busy_timeout", "must not be negative");
  return okStatus();
}

// Per-connection settings of the writer. WAL lets readers work beside the
// writer; `synchronous` decides what an acknowledged commit survives.
Status configureWriter(Connection& c, SqliteDurability durability, bool overlap_sync) {
  auto mode = c.queryText("PRAGMA journal_mode = WAL", "switching to WAL");
  if (!mode) return std::move(mode).error();
  if (*mode != "wal") return Error::internal("the database refused WAL journaling (journal_mode " + *mode + ")");
  // overlap_sync: the Syncer syncs instead of the COMMIT.
  const char* sync = overlap_sync ? kSyncOff : durability == SqliteDurability::full ? kSyncFull : kSyncNormal;
  // secure_delete off: Debian builds SQLite with it on, which zeroes every
  // freed cell and page (3.6% of the writer's instructions under load). The
  // rows this store deletes (outbox entries, old index entries) hold nothing
  // that needs shredding; the audit trail is never deleted.
  for (const char* sql : {sync, "PRAGMA foreign_keys = ON", kJournalLimit, kWriterCache, "PRAGMA temp_store = MEMORY",
                          "PRAGMA secure_delete = OFF"}) {
    if (Status set = c.exec(sql, sql); !set) return set;
  }
  return okStatus();
}

Result<std::unique_ptr<Connection>> ConnectionOpener::writer(int flags, bool verify) const {
  auto c = Connection::open(path, flags, busy_timeout, vfs.empty() ? nullptr : vfs.c_str());
  if (!c) return c;
  // Read-only checks first: a file we refuse is not written to at all.
  if (Status usable = detail::inspectDatabase(**c, detail::schemaMigrations(), verify); !usable)
    return std::move(usable).error();
  if (Status writable = detail::checkWritable(**c); !writable) return std::move(writable).error();
  if (Status configured = configureWriter(**c, durability, overlap_sync); !configured) return std::move(configured).error();
  return c;
}

Result<std::unique_ptr<Connection>> ConnectionOpener::checkpointer() const {
  auto c = Connection::open(path, kWriterFlags, busy_timeout, vfs.empty() ? nullptr : vfs.c_str());
  if (!c) return c;
  const char* sync = durability == SqliteDurability::full ? kSyncFull : kSyncNormal;
  if (Status set = (*c)->exec(sync, sync); !set) return std::move(set).error();
  return c;
}

Result<std::unique_ptr<Connection>> ConnectionOpener::reader() const {
  auto c = Connection::open(path, kReaderFlags, busy_timeout, vfs.empty() ? nullptr : vfs.c_str());
  if (!c) return c;
  if (Status set = (*c)->exec("PRAGMA query_only = ON", "making a reader read-only"); !set)
    return std::move(set).error();
  return c;
}

}  // namespace

Result<std::unique_ptr<UserStore>> openSqliteStore(const SqliteStoreOptions& options) {
  if (Status valid = checkOptions(options); !valid) return std::move(valid).error();
  const ConnectionOpener opener(options);
  auto writer = opener.writer(kCreateWriterFlags, options.verify_on_open);
  if (!writer) return std::move(writer).error();
  if (auto migrated = detail::migrate(**writer, detail::schemaMigrations(), kRetryBudget); !migrated)
    return std::move(migrated).error();

  std::vector<std::unique_ptr<Connection>> readers;
  readers.reserve(options.readers);
  for (std::size_t i = 0; i < options.readers; ++i) {
    auto reader = opener.reader();
    if (!reader) return std::move(reader).error();
    readers.push_back(std::move(*reader));
  }
  auto watch = detail::FileWatch::start(options.path);
  if (!watch) return std::move(watch).error();
  return std::unique_ptr<UserStore>(
      std::make_unique<SqliteStore>(std::move(*writer), std::move(readers), std::move(*watch), options));
}

bool tuneSqliteForThisProcess() {
  // Must come before SQLite's initialization (the first open): afterwards
  // sqlite3_config refuses with SQLITE_MISUSE and nothing changes.
  return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}

Status sqliteStoreHealth(const UserStore& store) {
  const auto* sqlite = dynamic_cast<const SqliteStore*>(&store);
  return sqlite != nullptr ? sqlite->health() : okStatus();
}

bool sqliteStoreReady(const UserStore& store) { return static_cast<bool>(sqliteStoreHealth(store)); }

}  // namespace useradmin
