#include "useradmin/sqlite/sqlite_store.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <iostream>
#include <mutex>
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
      : path(options.path), vfs(options.vfs), busy_timeout(options.busy_timeout), durability(options.durability) {}
  // The writer: checked (read-only, `verify` adds quick_check), refused when
  // SQLite could only open it read-only, then configured.
  Result<std::unique_ptr<Connection>> writer(int flags, bool verify) const;
  Result<std::unique_ptr<Connection>> reader() const;

  std::string path;
  std::string vfs;
  std::chrono::milliseconds busy_timeout;
  SqliteDurability durability;
};

Status runCached(Connection& c, const char* sql) {
  auto st = c.statement(sql);
  if (!st) return std::move(st).error();
  return st->run(sql);
}

// The UnitOfWork handed to a unit: the writer connection inside the batch
// transaction, so reads see every earlier write of the batch, the unit's own
// included, and no other writer can interleave.
class SqliteUnit final : public UnitOfWork {
 public:
  SqliteUnit(Connection& c, detail::OrganizationCache* cache) : c_(c), cache_(cache) {}

  Result<std::optional<User>> findUser(std::string_view id) override { return detail::selectUser(c_, id); }

  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    if (cache_ != nullptr) return cache_->chain(c_, id);
    return detail::selectChain(c_, id);
  }

  Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) override {
    return detail::compareAndSetUser(c_, user, expected_version);
  }

  Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected_version) override {
    // Forget the cache before writing: for the rest of this transaction
    // chains come from the database, which is right whether this unit
    // commits or rolls back; the next transaction starts a fresh cache.
    if (cache_ != nullptr) cache_->clear();
    return detail::compareAndSetOrganization(c_, org, expected_version);
  }

  Result<std::vector<std::string>> suspendCascade(const Cascade& cascade) override {
    return detail::suspendCascade(c_, cascade);
  }

  Result<std::vector<std::string>> reactivateCascade(const Cascade& cascade) override {
    return detail::reactivateCascade(c_, cascade);
  }

  Status appendAudit(const AuditEvent& event) override { return detail::insertAudit(c_, event); }

  Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) override {
    return detail::queueDirectoryUpdate(c_, update, now, due);
  }

  /// For the store's own units (the outbox writes outside UnitOfWork).
  Connection& connection() { return c_; }

 private:
  Connection& c_;
  detail::OrganizationCache* cache_;  // null: always the recursive query
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

// A request waiting for the writer: a unit of work (batched) or a seed
// (run alone). Lives on the caller's stack until `done`.
// A request waiting for the writer: a unit of work (batched unless
// `alone`) or a seed (always alone). Lives on the caller's stack until `done`.
struct Job {
  const UserStore::Work* work = nullptr;
  const Dataset* seed = nullptr;
  /// A large unit (transactLarge): its own transaction, never batched.
  bool alone = false;
  Status result;
  std::exception_ptr exception;
  // The caller waits on its own mutex, not the queue's, so waking a whole
  // batch does not make the callers and the writer fight over one lock.
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
};

class SqliteStore final : public UserStore {
 public:
  SqliteStore(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
              std::unique_ptr<detail::FileWatch> watch, const SqliteStoreOptions& options)
      : policy_(*options.policy), max_batch_(options.max_batch), use_cache_(options.cache_organizations),
        opener_(options), log_(options.log), watch_(std::move(watch)), writer_(std::move(writer)),
        idle_readers_(std::move(readers)) {
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
    static_cast<void>(writer_->exec("PRAGMA optimize", "optimizing"));
  }

  Status transact(const Work& work) override {
    Job job;
    job.work = &work;
    return submit(job);
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
    return detail::selectUser(reader.connection(), id);
  }

  Status read(const ReadWork& work) override {
    ReaderLease reader(*this);
    // A read transaction pins one snapshot for every statement of the work;
    // it ends by rollback, which for a reader is the same as commit.
    ReadTransaction snapshot(reader.connection());
    if (Status begun = snapshot.begin(); !begun) return begun;
    SqliteView view(reader.connection());
    return work(view);
  }

  // The outbox: claims and stats read a reader's snapshot (never waiting
  // for the writer); the two writes are small units through the writer's
  // queue, so they share its batched commits.
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    ReaderLease reader(*this);
    return detail::claimDirectoryUpdates(reader.connection(), now, limit);
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
    return detail::directoryOutboxStats(reader.connection());
  }

  Status health() const { return watch_->check(); }

 private:
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
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return Error::internal("the store is closing");
      queue_.push_back(&job);
    }
    queued_.notify_one();
    {
      std::unique_lock lock(job.mutex);
      job.cv.wait(lock, [&] { return job.done; });
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
      for (Job* job : batch) {
        std::lock_guard lock(job->mutex);
        job->done = true;
        job->cv.notify_one();  // under the job's lock: it vanishes once its caller sees `done`
      }
    }
  }

  // A seed is the store's own code from start to end, so a failure in it
  // (out of memory on a huge fixture) is an error, not an exception.
  void runSeed(Job& job) {
    if (Status ready = prepareWriter(); !ready) {
      job.result = std::move(ready);
      return;
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
        continue;
      }
      Status committed = detail::commit(*writer_, kRetryBudget);
      if (committed) committed = watchFiles();
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
    if (writer_->fault() == SQLITE_OK) return okStatus();
    auto fresh = opener_.writer(kWriterFlags, false);
    if (!fresh) return okStatus();
    writer_ = std::move(*fresh);
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
  detail::OrganizationCache org_cache_;

  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
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
Status configureWriter(Connection& c, SqliteDurability durability) {
  auto mode = c.queryText("PRAGMA journal_mode = WAL", "switching to WAL");
  if (!mode) return std::move(mode).error();
  if (*mode != "wal") return Error::internal("the database refused WAL journaling (journal_mode " + *mode + ")");
  const char* sync = durability == SqliteDurability::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
  for (const char* sql :
       {sync, "PRAGMA foreign_keys = ON", kJournalLimit, kWriterCache, "PRAGMA temp_store = MEMORY"}) {
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
  if (Status configured = configureWriter(**c, durability); !configured) return std::move(configured).error();
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

Status sqliteStoreHealth(const UserStore& store) {
  const auto* sqlite = dynamic_cast<const SqliteStore*>(&store);
  return sqlite != nullptr ? sqlite->health() : okStatus();
}

bool sqliteStoreReady(const UserStore& store) { return static_cast<bool>(sqliteStoreHealth(store)); }

}  // namespace useradmin
