#include "useradmin/postgres/postgres_store.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "pg.hpp"
#include "rows.hpp"
#include "schema.hpp"
#include "statements.hpp"
#include "useradmin/fixture.hpp"

namespace useradmin {

namespace {

using pg::Connection;

// Units of work run READ COMMITTED with compare-and-set and locks, not
// SERIALIZABLE: users are never locked on reading; a user change is an
// `UPDATE ... WHERE version = expected`, which waits for a concurrent
// writer of the row and then re-checks the version against the committed
// row (a loser changes nothing and the core decides again: rule 10). The
// organizations of every chain a unit reads are locked shared (advisory
// locks, kLockChainShared), so an organization's state a unit decided on
// cannot change before it commits; a unit changing an organization (a
// cascade) takes its lock exclusively first, waiting for those units, and
// then changes the users with a fresh statement snapshot that includes
// every unit that committed before. SERIALIZABLE was tried first:
// it is correct too, but its index-page predicate locks made about a third
// of the reactivations of *distinct* users fail with 40001 under load
// (their non-HOT updates insert index entries into pages neighbours read),
// and the retries cost more than the isolation bought. 40001/40P01 are
// still retried (a deadlock between two units locking the same chain).
constexpr const char* kBeginUnit = "BEGIN ISOLATION LEVEL READ COMMITTED";
// A seed holds the tables against writers (readers go on): instances
// seeding the same fixture at once apply it one after the other.
constexpr const char* kLockForSeed = "LOCK TABLE organizations, users, user_roles IN EXCLUSIVE MODE";
// Reads: one snapshot for the whole read, never waiting for writers.
constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

// Set while a thread runs a unit of work of some store: units must not nest
// (the inner one would wait for a pooled connection the outer one holds).
thread_local bool t_in_unit = false;

class UnitFlag {
 public:
  UnitFlag() { t_in_unit = true; }
  ~UnitFlag() { t_in_unit = false; }
  UnitFlag(const UnitFlag&) = delete;
  UnitFlag& operator=(const UnitFlag&) = delete;
};

class PgUnit final : public UnitOfWork {
 public:
  explicit PgUnit(Connection& c) : c_(c) {}
  Result<std::optional<User>> findUser(std::string_view id) override { return pg::selectUser(c_, id); }
  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    return pg::selectChain(c_, id, /*lock=*/true);
  }
  Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) override {
    return pg::compareAndSetUser(c_, user, expected_version);
  }
  Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected_version) override {
    return pg::compareAndSetOrganization(c_, org, expected_version);
  }
  Result<std::vector<std::string>> suspendCascade(const Cascade& cascade) override {
    return pg::suspendCascade(c_, cascade);
  }
  Result<std::vector<std::string>> reactivateCascade(const Cascade& cascade) override {
    return pg::reactivateCascade(c_, cascade);
  }
  Status appendAudit(const AuditEvent& event) override { return pg::insertAudit(c_, event); }
  Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) override {
    return pg::queueDirectoryUpdate(c_, update, now, due);
  }

 private:
  Connection& c_;
};

class PgView final : public ReadView {
 public:
  explicit PgView(Connection& c) : c_(c) {}
  Result<std::optional<User>> findUser(std::string_view id) override { return pg::selectUser(c_, id); }
  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    return pg::selectChain(c_, id);
  }
  Result<UserPage> listUsers(const UserQuery& query) override { return pg::selectUserPage(c_, query); }
  Result<AuditPage> auditEvents(const AuditQuery& query) override { return pg::selectAuditPage(c_, query); }

 private:
  Connection& c_;
};

// What every pooled connection needs after (re)connecting.
Status setUp(Connection& c, const std::string& schema) {
  if (!schema.empty()) {
    const std::string set = "SET search_path TO " + c.quoteIdentifier(schema);
    if (auto r = c.exec(set.c_str(), "setting the search_path"); !r) return std::move(r).error();
  }
  return c.prepare(pg::sql::all());
}

// A histogram of seconds that any pool thread can add to without a lock:
// relaxed atomics, because stats() is a report, not a synchronisation
// point (a reader may see a count before its sum, never a torn value).
class SecondsHistogram {
 public:
  static constexpr std::array<double, 14> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  void observe(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    nanos_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  Histogram snapshot() const {
    Histogram h;
    h.upper_bounds.assign(kBounds.begin(), kBounds.end());
    for (const auto& c : counts_) {
      h.counts.push_back(c.load(std::memory_order_relaxed));
      h.count += h.counts.back();
    }
    h.sum = static_cast<double>(nanos_.load(std::memory_order_relaxed)) / 1e9;
    return h;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> nanos_{0};
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class PostgresStore final : public UserStore {
 public:
  PostgresStore(std::vector<std::unique_ptr<Connection>> connections, const PostgresStoreOptions& options)
      : policy_(*options.policy), conninfo_(options.conninfo), schema_(options.schema), max_retries_(options.max_retries),
        idle_(std::move(connections)) {}

  Status transact(const Work& work) override {
    if (t_in_unit) return Error::internal("transact() or seed() called from inside a unit of work; units must not nest");
    Lease lease(*this);
    if (!lease) return lease.error();
    Connection& c = lease.connection();
    Status last;
    const auto started = std::chrono::steady_clock::now();
    for (int attempt = 0; attempt <= max_retries_; ++attempt) {
      if (attempt > 0) {
        retries_.fetch_add(1, std::memory_order_relaxed);
        backoff(attempt);
      }
      c.clearRetryFlag();
      if (Status begun = begin(lease, kBeginUnit, "starting a unit of work"); !begun) return begun;
      Status status;
      try {
        UnitFlag flag;
        PgUnit unit(c);
        status = work(unit);
      } catch (...) {
        rollback(c);
        throw;
      }
      if (c.retryFlag()) {  // the unit met a serialization failure or deadlock: run it again
        rollback(c);
        last = status ? Status(Error::unavailable("serialization failure")) : std::move(status);
        continue;
      }
      if (!status) {
        rollback(c);
        return status;
      }
      const auto commit_started = std::chrono::steady_clock::now();
      auto committed = c.exec("COMMIT", "committing a unit of work");
      if (committed) {
        commits_.fetch_add(1, std::memory_order_relaxed);
        sync_seconds_.observe(secondsSince(commit_started));
        commit_seconds_.observe(secondsSince(started));  // retries included: what the caller waited for
        return okStatus();
      }
      if (!c.retryFlag()) {
        failed_commits_.fetch_add(1, std::memory_order_relaxed);
        return std::move(committed).error();
      }
      last = std::move(committed).error();
    }
    failed_commits_.fetch_add(1, std::memory_order_relaxed);
    return Error::unavailable("the unit of work still met serialization failures after " +
                              std::to_string(max_retries_) + " retries" + (last ? std::string() : ": " + last.error().detail));
  }

  Status seed(const Dataset& data) override {
    if (t_in_unit) return Error::internal("transact() or seed() called from inside a unit of work; units must not nest");
    if (Status ids = pg::checkFixtureIds(data); !ids) return ids;
    Lease lease(*this);
    if (!lease) return lease.error();
    Connection& c = lease.connection();
    for (int attempt = 0; attempt <= max_retries_; ++attempt) {
      if (attempt > 0) backoff(attempt);
      c.clearRetryFlag();
      if (Status begun = begin(lease, kBeginUnit, "starting a seed"); !begun) return begun;
      Status written = okStatus();
      if (auto locked = c.exec(kLockForSeed, "locking the tables for a seed"); !locked) written = std::move(locked).error();
      if (written) written = pg::seedInTransaction(c, data, policy_);
      if (!written) {
        rollback(c);
        if (c.retryFlag()) continue;
        return written;
      }
      auto committed = c.exec("COMMIT", "committing a seed");
      if (committed) return okStatus();
      if (!c.retryFlag()) return std::move(committed).error();
    }
    return Error::unavailable("the seed still met serialization failures after " + std::to_string(max_retries_) +
                              " retries");
  }

  Status read(const ReadWork& work) override {
    Lease lease(*this);
    if (!lease) return lease.error();
    Connection& c = lease.connection();
    for (int attempt = 0; attempt <= max_retries_; ++attempt) {
      if (attempt > 0) {
        retries_.fetch_add(1, std::memory_order_relaxed);
        backoff(attempt);
      }
      c.clearRetryFlag();
      if (Status begun = begin(lease, kBeginRead, "starting a read"); !begun) return begun;
      Status status;
      try {
        PgView view(c);
        status = work(view);
      } catch (...) {
        rollback(c);
        throw;
      }
      rollback(c);  // read only: ending it either way is the same
      if (c.retryFlag()) continue;
      return status;
    }
    return Error::unavailable("the read still met serialization failures");
  }

  Result<std::optional<User>> findUser(std::string_view id) override {
    Lease lease(*this);
    if (!lease) return lease.error();
    auto found = pg::selectUser(lease.connection(), id);
    if (!found && lease.revive()) found = pg::selectUser(lease.connection(), id);  // a read: safe to repeat
    return found;
  }

  // The directory outbox: each call is one statement in autocommit, so
  // atomic on its own. Claiming marks nothing, so in a fleet only the
  // instance holding the relay lead claims (see holdRelayLead); the others
  // get nothing and stand by. Were two to deliver for a moment (a lead
  // lost mid-round), a delivery is a state ("user X is now S as of version
  // V") that the relay re-checks after the call, so a repeat changes
  // nothing.
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    auto lead = holdRelayLead();
    if (!lead) return std::move(lead).error();
    if (!*lead) return std::vector<OutboxEntry>{};
    Lease lease(*this);
    if (!lease) return lease.error();
    return pg::claimDirectoryUpdates(lease.connection(), now, limit);
  }

  // One relay per database (per schema): the lead is a session-level
  // advisory lock held on a connection of its own, outside the pool. The
  // holder keeps it while its session lives; when its process dies or its
  // connection breaks, PostgreSQL releases the lock and the next instance
  // that claims takes it over. Checked with a round trip at every claim,
  // so a silently lost session is noticed before entries are handed out.
  // A standby keeps its lead connection too and only asks for the lock
  // again, so a fleet's standbys do not reconnect at every poll.
  Result<bool> holdRelayLead() {
    std::lock_guard<std::mutex> lock(relay_mutex_);
    if (relay_lead_ && relay_lead_->broken()) {
      relay_lead_.reset();  // its session, and any lock it held, are gone
      relay_lead_held_ = false;
    }
    if (relay_lead_held_) {
      if (relay_lead_->exec("SELECT 1", "checking the relay lead")) return true;
      relay_lead_.reset();
      relay_lead_held_ = false;
    }
    if (!relay_lead_) {
      auto c = Connection::open(conninfo_);
      if (!c) return std::move(c).error();
      if (Status ready = setUp(**c, schema_); !ready) return std::move(ready).error();
      relay_lead_ = std::move(*c);
    }
    auto taken = relay_lead_->exec(
        "SELECT pg_try_advisory_lock(" USERADMIN_PG_RELAY_LOCK_SPACE ", hashtext(current_schema()))",
        "taking the relay lead");
    if (!taken) {
      relay_lead_.reset();
      return std::move(taken).error();
    }
    relay_lead_held_ = taken->rows() == 1 && taken->boolean(0, 0);
    return relay_lead_held_;  // false: another instance delivers
  }

  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& entry_ids) override {
    if (entry_ids.empty()) return okStatus();
    Lease lease(*this);
    if (!lease) return lease.error();
    return pg::deleteDirectoryUpdates(lease.connection(), entry_ids);
  }

  Status rescheduleDirectoryUpdate(std::int64_t entry_id, Timestamp next_attempt_at, std::string_view error) override {
    Lease lease(*this);
    if (!lease) return lease.error();
    return pg::rescheduleDirectoryUpdate(lease.connection(), entry_id, next_attempt_at, error);
  }

  Result<OutboxStats> directoryOutboxStats() override {
    Lease lease(*this);
    if (!lease) return lease.error();
    return pg::directoryOutboxStats(lease.connection());
  }

  StoreStats stats() const override {
    StoreStats s;
    s.available = true;
    s.commits = commits_.load(std::memory_order_relaxed);
    s.units = s.commits;  // one unit per transaction
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    // Every transaction carries one unit: the batch histogram is all ones.
    s.batch_size.upper_bounds = {1};
    s.batch_size.counts = {s.commits, 0};
    s.batch_size.sum = static_cast<double>(s.commits);
    s.batch_size.count = s.commits;
    s.commit_seconds = commit_seconds_.snapshot();
    s.sync_seconds = sync_seconds_.snapshot();
    s.retries = retries_.load(std::memory_order_relaxed);
    s.pool_waits = pool_waits_.load(std::memory_order_relaxed);
    s.pool_wait_seconds = static_cast<double>(pool_wait_nanos_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

  bool ping() {
    Lease lease(*this);
    if (!lease) return false;
    return static_cast<bool>(lease.connection().run(pg::sql::kPing, pg::Params(), "checking the connection"));
  }

 private:
  // One pooled connection for one call. A connection libpq reports broken
  // is reconnected (and set up again) here; when that fails the lease is
  // `unavailable` and the connection goes back for a later try.
  class Lease {
   public:
    explicit Lease(PostgresStore& store) : store_(store) {
      {
        std::unique_lock lock(store_.mutex_);
        if (store_.idle_.empty()) {  // only the slow path reads the clock
          const auto waiting = std::chrono::steady_clock::now();
          store_.free_.wait(lock, [&] { return !store_.idle_.empty(); });
          store_.pool_waits_.fetch_add(1, std::memory_order_relaxed);
          store_.pool_wait_nanos_.fetch_add(
              static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now() - waiting)
                                             .count()),
              std::memory_order_relaxed);
        }
        c_ = std::move(store_.idle_.back());
        store_.idle_.pop_back();
      }
      if (c_->broken()) {
        if (!c_->reset()) {
          status_ = Error::unavailable("the connection to PostgreSQL was lost and cannot be re-established");
        } else {
          status_ = setUp(*c_, store_.schema_);
        }
      }
    }
    ~Lease() {
      if (c_->inTransaction() && !c_->broken()) static_cast<void>(c_->exec("ROLLBACK", "ending a transaction"));
      {
        std::lock_guard lock(store_.mutex_);
        store_.idle_.push_back(std::move(c_));
      }
      store_.free_.notify_one();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    explicit operator bool() const { return static_cast<bool>(status_); }
    // After a statement found the connection broken (the server restarted,
    // an administrator ended the backend): reconnects and sets it up again.
    // Only for a call that has not written anything yet.
    bool revive() {
      if (!c_->broken() || !c_->reset()) return false;
      return static_cast<bool>(setUp(*c_, store_.schema_));
    }
    Error error() const { return status_.error(); }
    Connection& connection() { return *c_; }

   private:
    PostgresStore& store_;
    std::unique_ptr<Connection> c_;
    Status status_;
  };

  // BEGIN; when it finds the connection broken (nothing was sent to the
  // server yet, so nothing can have happened), reconnects once and retries.
  static Status begin(Lease& lease, const char* sql, std::string_view what) {
    auto begun = lease.connection().exec(sql, what);
    if (!begun && lease.revive()) begun = lease.connection().exec(sql, what);
    if (!begun) return std::move(begun).error();
    return okStatus();
  }

  static void rollback(Connection& c) {
    if (!c.broken()) static_cast<void>(c.exec("ROLLBACK", "rolling back"));
  }

  // Randomised exponential backoff, 1 ms doubling up to 64 ms, so units
  // that collided do not collide again in lockstep.
  static void backoff(int attempt) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int ceiling = 1 << std::min(attempt, 6);
    std::uniform_int_distribution<int> pick(0, ceiling * 1000);
    std::this_thread::sleep_for(std::chrono::microseconds(pick(rng)));
  }

  const Policy& policy_;
  const std::string conninfo_;
  const std::string schema_;
  const int max_retries_;
  std::mutex mutex_;
  std::condition_variable free_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::mutex relay_mutex_;
  std::unique_ptr<Connection> relay_lead_;  // asks for, then holds, the relay lead's lock
  bool relay_lead_held_ = false;
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> failed_commits_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> pool_waits_{0};
  std::atomic<std::uint64_t> pool_wait_nanos_{0};
  SecondsHistogram commit_seconds_;
  SecondsHistogram sync_seconds_;
};

Error badOption(const char* key, const char* message) {
  return Error::invalidArgument({key, message, {}}, "invalid_options");
}

}  // namespace

bool isPostgresUri(std::string_view text) noexcept {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

Result<std::unique_ptr<UserStore>> openPostgresStore(const PostgresStoreOptions& options) {
  if (options.conninfo.empty()) return badOption("conninfo", "is required");
  if (options.policy == nullptr) return badOption("policy", "is required");
  if (options.pool_size == 0) return badOption("pool_size", "must be at least 1");
  if (options.max_retries < 0) return badOption("max_retries", "must not be negative");

  auto first = Connection::open(options.conninfo);
  if (!first) return std::move(first).error();
  if (!options.schema.empty()) {
    // Under the migrations' lock: two instances creating one schema at once
    // would otherwise race past IF NOT EXISTS into a unique violation.
    const std::string create = "BEGIN; SELECT pg_advisory_xact_lock(1430340685); CREATE SCHEMA IF NOT EXISTS " +
                               (*first)->quoteIdentifier(options.schema) + "; COMMIT";
    if (auto made = (*first)->exec(create.c_str(), "creating the schema"); !made) {
      static_cast<void>((*first)->exec("ROLLBACK", "rolling back"));
      return std::move(made).error();
    }
    const std::string set = "SET search_path TO " + (*first)->quoteIdentifier(options.schema);
    if (auto r = (*first)->exec(set.c_str(), "setting the search_path"); !r) return std::move(r).error();
  }
  if (auto migrated = pg::migrate(**first, pg::schemaMigrations()); !migrated) return std::move(migrated).error();
  if (Status ready = setUp(**first, options.schema); !ready) return std::move(ready).error();

  std::vector<std::unique_ptr<Connection>> connections;
  connections.push_back(std::move(*first));
  for (std::size_t i = 1; i < options.pool_size; ++i) {
    auto c = Connection::open(options.conninfo);
    if (!c) return std::move(c).error();
    if (Status ready = setUp(**c, options.schema); !ready) return std::move(ready).error();
    connections.push_back(std::move(*c));
  }
  return std::unique_ptr<UserStore>(std::make_unique<PostgresStore>(std::move(connections), options));
}

bool postgresStoreReady(UserStore& store) {
  auto* postgres = dynamic_cast<PostgresStore*>(&store);
  return postgres == nullptr || postgres->ping();
}

}  // namespace useradmin
