// SQLite store specifics; the shared behaviour lives in store_conformance_test.cpp.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "sqlite/sqlite_test_support.hpp"
#include "store/store_factories.hpp"
#include "support/fixtures.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// Activates `id` and appends its event; `fail` makes the unit refuse after writing.
Status activate(UserStore& store, const std::string& id, bool fail = false) {
  return store.transact([&](UnitOfWork& unit) -> Status {
    auto current = unit.findUser(id);
    if (!current) return std::move(current).error();
    if (!*current) return Error::internal("no user " + id);
    auto swapped = unit.compareAndSetUser(activated(**current), (*current)->version);
    if (!swapped) return std::move(swapped).error();
    if (Status a = unit.appendAudit(grantedEvent(id)); !a) return a;
    if (fail) return Error::internal("deliberate");
    return okStatus();
  });
}

// Holds the writer inside a unit until released, so that units submitted
// meanwhile queue up and are committed together as one batch.
class WriterGate {
 public:
  explicit WriterGate(UserStore& store) {
    thread_ = std::thread([this, &store] {
      Status s = store.transact([this](UnitOfWork&) -> Status {
        entered_ = true;
        while (!open_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return okStatus();
      });
      ok_ = static_cast<bool>(s);
    });
    while (!entered_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~WriterGate() { release(); }
  void release() {
    open_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return ok_; }

 private:
  std::atomic<bool> entered_{false}, open_{false}, ok_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("sqlite store: an empty store answers reads with nothing", "[store][sqlite]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("empty.db")));
  CHECK_FALSE(store->findUser("usr_root").value().has_value());
  CHECK(store->auditEvents().value().events.empty());
}

TEST_CASE("sqlite store: bad options are invalid_argument naming the option", "[store][sqlite]") {
  TempDir dir;
  auto check = [](SqliteStoreOptions options, const char* key) {
    auto store = openSqliteStore(options);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == ErrorCode::invalid_argument);
    REQUIRE(store.error().fields.size() == 1);
    CHECK(store.error().fields[0].key == key);
  };
  auto options = sqliteOptions(dir.file("x.db"));
  check(sqliteOptions(""), "path");
  auto no_policy = options;
  no_policy.policy = nullptr;
  check(no_policy, "policy");
  auto no_batch = options;
  no_batch.max_batch = 0;
  check(no_batch, "max_batch");
  auto no_readers = options;
  no_readers.readers = 0;
  check(no_readers, "readers");
  auto negative = options;
  negative.busy_timeout = std::chrono::milliseconds(-1);
  check(negative, "busy_timeout");
  // None of them created the file.
  CHECK_FALSE(std::filesystem::exists(dir.file("x.db")));
}

TEST_CASE("sqlite store: a directory that does not exist is an internal error", "[store][sqlite]") {
  TempDir dir;
  auto store = openSqliteStore(sqliteOptions(dir.file("missing/sub/store.db")));
  REQUIRE_FALSE(store);
  CHECK(store.error().code == ErrorCode::internal);
  CHECK(store.error().detail.find("missing/sub/store.db") != std::string::npos);
}

TEST_CASE("sqlite store: data survives close and reopen", "[store][sqlite]") {
  TempDir dir;
  const auto path = dir.file("store.db");
  auto data = standardDataset();
  userIn(data, "usr_c1_target").roles = {"support", "admin", "super"};
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_r1";
  orgIn(data, "org_c2").suspended = true;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(data));
    REQUIRE(activate(*store, "usr_c2_target"));
  }
  auto store = openOrThrow(sqliteOptions(path));
  for (const auto& expected : data.users) {
    INFO(expected.id);
    const User found = *store->findUser(expected.id).value();
    if (expected.id == "usr_c2_target") CHECK(found == activated(expected));
    else CHECK(found == expected);
  }
  const auto events = store->auditEvents().value().events;
  REQUIRE(events.size() == 1);
  CHECK(events[0].target_id == "usr_c2_target");
  Status read = store->transact([&](UnitOfWork& unit) -> Status {
    auto chain = unit.organizationChain("org_c2");
    REQUIRE(chain);
    REQUIRE(chain->size() == 4);
    CHECK((*chain)[0] == orgIn(data, "org_c2"));
    return okStatus();
  });
  CHECK(read);
  // New events continue the sequence.
  REQUIRE(activate(*store, "usr_c3_target"));
  CHECK(store->auditEvents().value().events.back().id > events[0].id);
}

TEST_CASE("sqlite store: durability NORMAL works and persists", "[store][sqlite]") {
  TempDir dir;
  auto options = sqliteOptions(dir.file("normal.db"));
  options.durability = SqliteDurability::normal;
  {
    auto store = openOrThrow(options);
    REQUIRE(store->seed(standardDataset()));
    REQUIRE(activate(*store, "usr_c1_target"));
    REQUIRE_FALSE(activate(*store, "usr_c2_target", true));
  }
  auto store = openOrThrow(options);  // FULL or NORMAL: the file is the same
  CHECK(store->findUser("usr_c1_target").value()->status == UserStatus::active);
  CHECK(store->findUser("usr_c2_target").value()->status == UserStatus::suspended);
  CHECK(store->auditEvents().value().events.size() == 1);
}

TEST_CASE("sqlite store: the file is in WAL mode with foreign keys enforced", "[store][sqlite]") {
  TempDir dir;
  const auto path = dir.file("wal.db");
  auto store = openOrThrow(sqliteOptions(path));
  REQUIRE(store->seed(standardDataset()));
  RawDb raw(path);
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  // A unit writing a dangling organization id fails alone, inside its savepoint.
  Status s = store->transact([&](UnitOfWork& unit) -> Status {
    User u = *unit.findUser("usr_c1_target").value();
    User moved = u;
    moved.organization_id = "org_nowhere";
    moved.version += 1;
    auto swapped = unit.compareAndSetUser(moved, u.version);
    if (!swapped) return std::move(swapped).error();
    return okStatus();
  });
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::internal);
  CHECK(store->findUser("usr_c1_target").value()->organization_id == "org_c1");
}

// The store writes a lifecycle change with a narrower UPDATE when the other
// columns are unchanged, and falls back to writing every column.
TEST_CASE("sqlite store: a compare-and-set that also moves identity columns writes them all", "[store][sqlite]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("cas.db")));
  REQUIRE(store->seed(standardDataset()));
  const User before = *store->findUser("usr_c1_target").value();
  User changed = activated(before);
  changed.username = "renamed";
  changed.email = "renamed@example.com";
  changed.name = "Renamed";
  changed.organization_id = "org_c2";
  changed.external_id = "idp|7";
  auto swap = [&](const User& user, std::int64_t expected) {
    bool swapped = false;
    REQUIRE(store->transact([&](UnitOfWork& unit) -> Status {
      auto done = unit.compareAndSetUser(user, expected);
      if (!done) return std::move(done).error();
      swapped = *done;
      return okStatus();
    }));
    return swapped;
  };
  CHECK_FALSE(swap(changed, before.version + 1));  // a stale version loses on both paths
  CHECK(*store->findUser("usr_c1_target").value() == before);
  CHECK(swap(changed, before.version));
  CHECK(*store->findUser("usr_c1_target").value() == changed);
  // A cascade-style suspension names the suspending organization; then a
  // plain reactivation clears it.
  User suspended = changed;
  suspended.status = UserStatus::suspended;
  suspended.suspended_at = testEpoch();
  suspended.suspended_by = "usr_root";
  suspended.suspended_by_org_id = "org_c2";
  suspended.version += 1;
  CHECK(swap(suspended, changed.version));
  CHECK(*store->findUser("usr_c1_target").value() == suspended);
  const User back = activated(suspended);
  CHECK_FALSE(swap(back, changed.version));
  CHECK(swap(back, suspended.version));
  CHECK(*store->findUser("usr_c1_target").value() == back);
}

TEST_CASE("sqlite store: a unit that throws is rolled back and the exception reaches the caller",
          "[store][sqlite]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("throw.db")));
  REQUIRE(store->seed(standardDataset()));
  const User before = *store->findUser("usr_c1_target").value();
  CHECK_THROWS_WITH(store->transact([&](UnitOfWork& unit) -> Status {
    REQUIRE(unit.compareAndSetUser(activated(before), before.version).value());
    REQUIRE(unit.appendAudit(grantedEvent("usr_c1_target")));
    throw std::runtime_error("boom");
  }),
                    "boom");
  CHECK(*store->findUser("usr_c1_target").value() == before);
  CHECK(store->auditEvents().value().events.empty());
  // The writer carries on.
  CHECK(activate(*store, "usr_c1_target"));
}

TEST_CASE("sqlite store: a unit that calls transact gets an error instead of a deadlock", "[store][sqlite]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("nest.db")));
  REQUIRE(store->seed(standardDataset()));
  Status inner_status;
  Status outer = store->transact([&](UnitOfWork&) -> Status {
    inner_status = store->transact([](UnitOfWork&) { return okStatus(); });
    return okStatus();
  });
  CHECK(outer);
  REQUIRE_FALSE(inner_status);
  CHECK(inner_status.error().code == ErrorCode::internal);
  CHECK(inner_status.error().detail.find("must not nest") != std::string::npos);
}

TEST_CASE("sqlite store: units batched together keep their own outcomes", "[store][sqlite][concurrency]") {
  TempDir dir;
  constexpr int kUnits = 24;
  auto options = sqliteOptions(dir.file("batch.db"));
  options.max_batch = 64;
  auto store = openOrThrow(options);
  REQUIRE(store->seed(datasetWithSuspended("usr_b", kUnits)));
  std::vector<std::thread> threads;
  std::atomic<int> unexpected{0};
  {
    WriterGate gate(*store);  // everything below queues behind the gate: one batch
    for (int i = 0; i < kUnits; ++i) {
      threads.emplace_back([&, i] {
        const bool fail = i % 4 == 1;
        if (static_cast<bool>(activate(*store, "usr_b" + std::to_string(i), fail)) == fail) ++unexpected;
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Readers are not held up by the busy writer.
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(store->findUser("usr_b0").value()->status == UserStatus::suspended);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    gate.release();
    CHECK(gate.ok());
  }
  for (auto& t : threads) t.join();
  CHECK(unexpected == 0);
  for (int i = 0; i < kUnits; ++i) {
    INFO(i);
    CHECK(store->findUser("usr_b" + std::to_string(i)).value()->status ==
          (i % 4 == 1 ? UserStatus::suspended : UserStatus::active));
  }
  CHECK(store->auditEvents().value().events.size() == static_cast<std::size_t>(kUnits - kUnits / 4));
}

TEST_CASE("sqlite store: stats count commits, units, batch sizes, commit times and the queue",
          "[store][sqlite][stats]") {
  TempDir dir;
  constexpr int kUnits = 24;
  auto options = sqliteOptions(dir.file("stats.db"));
  options.max_batch = 64;
  auto store = openOrThrow(options);
  REQUIRE(store->seed(datasetWithSuspended("usr_s", kUnits)));
  const StoreStats fresh = store->stats();
  CHECK(fresh.available);
  CHECK(fresh.commits == 0);  // a seed is not a batch of units
  CHECK(fresh.units == 0);

  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  {
    WriterGate gate(*store);
    for (int i = 0; i < kUnits; ++i)
      threads.emplace_back([&, i] {
        if (!activate(*store, "usr_s" + std::to_string(i), i == 3)) ++refused;
      });
    // Every unit is queued behind the gate before it opens: one batch of 24.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (store->stats().queue_depth < static_cast<std::size_t>(kUnits) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(store->stats().queue_depth == static_cast<std::size_t>(kUnits));
    gate.release();
    CHECK(gate.ok());
  }
  for (auto& t : threads) t.join();
  CHECK(refused == 1);  // usr_s3's unit refused itself; its batch still committed

  const StoreStats s = store->stats();
  CHECK(s.queue_depth == 0);
  CHECK(s.commits == 2);  // the gate's own unit, then the 24 together
  CHECK(s.units == static_cast<std::uint64_t>(kUnits + 1));
  CHECK(s.failed_commits == 0);
  REQUIRE(s.batch_size.counts.size() == s.batch_size.upper_bounds.size() + 1);
  CHECK(s.batch_size.count == 2);
  CHECK(s.batch_size.sum == Approx(kUnits + 1));
  for (std::size_t i = 0; i < s.batch_size.upper_bounds.size(); ++i) {
    INFO("bucket <= " << s.batch_size.upper_bounds[i]);
    const double bound = s.batch_size.upper_bounds[i];
    const double below = i == 0 ? 0 : s.batch_size.upper_bounds[i - 1];
    const std::uint64_t expected = (below < 1 && 1 <= bound ? 1u : 0u) + (below < kUnits && kUnits <= bound ? 1u : 0u);
    CHECK(s.batch_size.counts[i] == expected);
  }
  CHECK(s.batch_size.counts.back() == 0);
  for (const Histogram* h : {&s.commit_seconds, &s.sync_seconds}) {
    CHECK(h->counts.size() == h->upper_bounds.size() + 1);
    CHECK(h->sum > 0);
  }
  CHECK(s.commit_seconds.count == 2);
  // With overlap_sync (the default) the syncer's fdatasync calls are
  // counted, the seed's too, and one may cover both commits.
  const auto syncs = s.sync_seconds.count - fresh.sync_seconds.count;
  CHECK(syncs >= 1);
  CHECK(syncs <= 2);
  // The gate held its transaction open while the others queued: that is
  // in the commit time (the syncs, beside the writer, are not).
  CHECK(s.commit_seconds.sum >= 0.001);
}

// The writer never checkpoints inside a commit; a background connection
// does, and the writer copies the tail it leaves. If that broke, the WAL
// would hold every frame of the run (well over 100 MB here).
TEST_CASE("sqlite store: checkpoints keep the write-ahead log bounded while writers never pause",
          "[store][sqlite][checkpoint]") {
  TempDir dir;
  const auto path = dir.file("wal.db");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1200;
  std::uintmax_t largest_wal = 0;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(datasetWithSuspended("usr_w", kThreads * kPerThread)));
    std::atomic<int> failed{0};
    std::atomic<bool> running{true};
    std::thread watcher([&] {
      while (running) {
        std::error_code missing;
        const auto size = std::filesystem::file_size(path + "-wal", missing);
        if (!missing) largest_wal = std::max(largest_wal, size);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i)
          if (!activate(*store, "usr_w" + std::to_string(i * kThreads + t))) ++failed;
      });
    for (auto& th : threads) th.join();
    running = false;
    watcher.join();
    CHECK(failed == 0);
    const StoreStats s = store->stats();
    CHECK(s.units == static_cast<std::uint64_t>(kThreads * kPerThread));
    INFO("commits " << s.commits << ", largest WAL " << largest_wal << " bytes");
    CHECK(s.commits > 100);  // enough commits that an unchecked WAL would be huge
    CHECK(largest_wal < 16u * 1024 * 1024);
  }
  // Everything acknowledged is there after a reopen, and the file is sound.
  auto store = openOrThrow(sqliteOptions(path));
  for (int i = 0; i < kThreads * kPerThread; i += 97) {
    INFO(i);
    CHECK(store->findUser("usr_w" + std::to_string(i)).value()->status == UserStatus::active);
  }
  RawDb raw(path);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  CHECK(raw.integer("SELECT count(*) FROM audit_events") == kThreads * kPerThread);
}

TEST_CASE("sqlite store: a database locked past the busy timeout is unavailable and nothing changes",
          "[store][sqlite]") {
  TempDir dir;
  const auto path = dir.file("locked.db");
  auto options = sqliteOptions(path);
  options.busy_timeout = std::chrono::milliseconds(20);
  auto store = openOrThrow(options);
  REQUIRE(store->seed(standardDataset()));
  RawDb other(path);
  REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);  // another process holds the write lock
  bool ran = false;
  Status s = store->transact([&](UnitOfWork&) {
    ran = true;
    return okStatus();
  });
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::unavailable);
  CHECK(s.error().message == "service unavailable");
  CHECK_FALSE(ran);
  Status seeded = store->seed(datasetWithSuspended("usr_late", 2));
  REQUIRE_FALSE(seeded);
  CHECK(seeded.error().code == ErrorCode::unavailable);
  // Readers still read.
  CHECK(store->findUser("usr_c1_target").value()->status == UserStatus::suspended);
  REQUIRE(other.exec("ROLLBACK") == SQLITE_OK);
  CHECK(activate(*store, "usr_c1_target"));
}

TEST_CASE("sqlite store: a seed is all or nothing and names the entry it refuses", "[store][sqlite][seed]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("seed.db")));
  REQUIRE(store->seed(standardDataset()));
  struct Case {
    const char* name;
    Dataset data;
    std::string key;
    std::string message;
  };
  std::vector<Case> cases;
  {
    Dataset d;
    d.users.push_back(makeUser("usr_x", "org_c1", {"wizard"}));
    cases.push_back({"unknown role", d, "users[usr_x]", "unknown role"});
  }
  {
    Dataset d;
    d.users.push_back(makeUser("usr_x", "org_nowhere", {}));
    cases.push_back({"dangling organization_id", d, "users[usr_x]", "organization_id does not exist"});
  }
  {
    Dataset d;
    User u = makeSuspended("usr_x", "org_c1");
    u.suspended_by_org_id = "org_nowhere";
    d.users.push_back(u);
    cases.push_back({"dangling suspended_by_org_id", d, "users[usr_x]", "suspended_by_org_id does not exist"});
  }
  {
    Dataset d;
    d.organizations.push_back(makeOrg("org_x", OrgType::customer, "org_nowhere"));
    cases.push_back({"dangling parent_id", d, "organizations[org_x]", "parent_id does not exist"});
  }
  {
    Dataset d;  // org_r1 moved under org_c1, which sits under org_r1: a cycle
    d.organizations.push_back(makeOrg("org_r1", OrgType::reseller, "org_c1"));
    cases.push_back({"cycle", d, "organizations[org_r1]", "parent chain forms a cycle"});
  }
  {
    Dataset d;  // an existing child (org_r1, reseller) would rank at its new parent's level
    d.organizations.push_back(makeOrg("org_d1", OrgType::reseller, "org_owner"));
    cases.push_back({"existing child out-ranked", d, "organizations[org_r1]",
                     "a reseller cannot be placed under a reseller"});
  }
  {
    Dataset d;
    d.users.push_back(makeUser("usr_x", "org_c1", {}));
    d.users.push_back(makeUser("usr_x", "org_c2", {}));
    cases.push_back({"duplicate user", d, "users[usr_x]", "duplicate id"});
  }
  {
    Dataset d;
    d.organizations.push_back(makeOrg("org x", OrgType::customer, "org_r1"));
    cases.push_back({"invalid id", d, "organizations[org x]", "invalid id"});
  }
  for (const auto& c : cases) {
    INFO(c.name);
    // Each bad dataset also carries a good user, which must not land either.
    Dataset data = c.data;
    data.users.push_back(makeSuspended("usr_innocent", "org_c1"));
    Status s = store->seed(data);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == ErrorCode::invalid_argument);
    REQUIRE(s.error().fields.size() == 1);
    CHECK(s.error().fields[0].key == c.key);
    CHECK(s.error().fields[0].message == c.message);
    CHECK_FALSE(store->findUser("usr_innocent").value().has_value());
    CHECK_FALSE(store->findUser("usr_x").value().has_value());
  }
  // The tree is as it was.
  Status probe = store->transact([&](UnitOfWork& unit) -> Status {
    auto chain = unit.organizationChain("org_c1").value();
    REQUIRE(chain.size() == 4);
    CHECK(chain[1].type == OrgType::reseller);
    CHECK(chain[2].type == OrgType::distributor);
    return okStatus();
  });
  CHECK(probe);
}

TEST_CASE("sqlite store: a seed may list children before parents and replaces roles", "[store][sqlite][seed]") {
  TempDir dir;
  auto store = openOrThrow(sqliteOptions(dir.file("order.db")));
  Dataset data = standardDataset();
  std::reverse(data.organizations.begin(), data.organizations.end());
  REQUIRE(store->seed(data));
  Dataset change;
  change.users.push_back(makeUser("usr_c1_admin", "org_c1", {"support"}));
  REQUIRE(store->seed(change));
  CHECK(store->findUser("usr_c1_admin").value()->roles == std::vector<std::string>{"support"});
  change.users[0].roles = {};
  REQUIRE(store->seed(change));
  CHECK(store->findUser("usr_c1_admin").value()->roles.empty());
}

TEST_CASE("sqlite store: a seed refuses stored users whose roles the policy no longer knows",
          "[store][sqlite][seed]") {
  TempDir dir;
  const auto path = dir.file("drift.db");
  auto narrow = Policy::create({{"admin", {1, {"manage:users"}}}},
                               {{OrgType::owner, {4, {}}},
                                {OrgType::distributor, {3, {}}},
                                {OrgType::reseller, {2, {}}},
                                {OrgType::customer, {1, {}}}});
  REQUIRE(narrow);
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(standardDataset()));
  }
  auto store = openOrThrow(sqliteOptions(path, *narrow));
  Dataset more;
  more.users.push_back(makeUser("usr_new", "org_c1", {"admin"}));
  Status s = store->seed(more);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::invalid_argument);
  CHECK(s.error().fields[0].message == "unknown role");
  CHECK(s.error().fields[0].key.rfind("users[", 0) == 0);
  CHECK_FALSE(store->findUser("usr_new").value().has_value());
}

TEST_CASE("sqlite store: a broken or cyclic organization chain is an internal error", "[store][sqlite]") {
  TempDir dir;
  const auto path = dir.file("chain.db");
  auto store = openOrThrow(sqliteOptions(path));
  REQUIRE(store->seed(standardDataset()));
  {
    RawDb raw(path);  // damage the tree behind the store's back (foreign keys off here)
    REQUIRE(raw.exec("INSERT INTO organizations (id, name, type, parent_id) VALUES "
                     "('org_loop_a', 'a', 'customer', 'org_loop_b'), ('org_loop_b', 'b', 'customer', 'org_loop_a'),"
                     "('org_orphan', 'o', 'customer', 'org_gone')") == SQLITE_OK);
  }
  Status s = store->transact([&](UnitOfWork& unit) -> Status {
    auto loop = unit.organizationChain("org_loop_a");
    REQUIRE_FALSE(loop);
    CHECK(loop.error().code == ErrorCode::internal);
    CHECK(loop.error().detail.find("cycle") != std::string::npos);
    auto orphan = unit.organizationChain("org_orphan");
    REQUIRE_FALSE(orphan);
    CHECK(orphan.error().detail.find("broken at org_gone") != std::string::npos);
    return okStatus();
  });
  CHECK(s);
}

// Makes the COMMIT itself fail: a child process lowers its file-size limit
// so the WAL cannot grow, queues a batch and reports what every unit got.
TEST_CASE("sqlite store: a failing COMMIT fails every unit of its batch and keeps none of it",
          "[store][sqlite][fault]") {
  TempDir dir;
  const auto path = dir.file("full.db");
  constexpr int kUnits = 8;
  {
    auto store = openOrThrow(sqliteOptions(path));
    REQUIRE(store->seed(datasetWithSuspended("usr_f", kUnits)));
  }
  Child child([&](int out) {
    signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead of killing us
    auto store = openOrThrow(sqliteOptions(path));
    rlimit limit{};
    getrlimit(RLIMIT_FSIZE, &limit);
    const auto wal = std::filesystem::file_size(path + "-wal");
    limit.rlim_cur = static_cast<rlim_t>(wal);
    setrlimit(RLIMIT_FSIZE, &limit);
    std::vector<std::thread> threads;
    std::atomic<int> failed{0}, succeeded{0};
    {
      WriterGate gate(*store);
      for (int i = 0; i < kUnits; ++i)
        threads.emplace_back([&, i] {
          Status s = activate(*store, "usr_f" + std::to_string(i));
          if (s) ++succeeded;
          else if (s.error().code == ErrorCode::internal) ++failed;
        });
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& t : threads) t.join();
    writeLine(out, std::to_string(succeeded.load()) + " " + std::to_string(failed.load()));
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_FSIZE, &limit);
    // The store recovers once the disk has room again.
    writeLine(out, activate(*store, "usr_f0") ? "recovered" : "stuck");
    return 0;
  });
  const auto lines = completeLines(child.readAll());
  CHECK(child.wait() == 0);
  REQUIRE(lines.size() == 2);
  // The gate unit itself wrote nothing, so it may commit on its own; all
  // writing units shared the failed COMMIT.
  CHECK(lines[0] == "0 " + std::to_string(kUnits));
  CHECK(lines[1] == "recovered");
  auto store = openOrThrow(sqliteOptions(path));
  CHECK(store->findUser("usr_f0").value()->status == UserStatus::active);
  for (int i = 1; i < kUnits; ++i)
    CHECK(store->findUser("usr_f" + std::to_string(i)).value()->status == UserStatus::suspended);
  CHECK(store->auditEvents().value().events.size() == 1);
  RawDb raw(path);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("sqlite store: the organization cache sees every change, whoever makes it", "[store][sqlite][cache]") {
  TempDir dir;
  const auto path = dir.file("cache.db");
  auto options = sqliteOptions(path);
  REQUIRE(options.cache_organizations);
  auto store = openOrThrow(options);
  REQUIRE(store->seed(standardDataset()));
  auto chainOf = [&](const std::string& id) {
    std::vector<Organization> chain;
    Status s = store->transact([&](UnitOfWork& unit) -> Status {
      auto c = unit.organizationChain(id);
      if (!c) return std::move(c).error();
      chain = std::move(*c);
      return okStatus();
    });
    REQUIRE(s);
    return chain;
  };
  REQUIRE(chainOf("org_c1").size() == 4);  // now cached
  CHECK_FALSE(chainOf("org_c1")[1].suspended);

  SECTION("another connection suspends a parent") {
    RawDb other(path);
    REQUIRE(other.exec("UPDATE organizations SET suspended = 1 WHERE id = 'org_r1'") == SQLITE_OK);
    CHECK(chainOf("org_c1")[1].suspended);
    // ...and the service refuses by rule 9 at once.
    auto authorizer = makePolicyAuthorizer(defaultPolicy());
    ReactivationService service(ServiceDeps{*store, *authorizer, systemClock(), nullptr});
    Actor root;
    root.user_id = "usr_root";
    root.credential_issued_at = systemClock().now();
    auto r = service.reactivateUser(root, "usr_c1_target");
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == "organization_suspended");
  }
  SECTION("this store's seed moves an organization") {
    Dataset moved;
    moved.organizations.push_back(makeOrg("org_c1", OrgType::customer, "org_r2"));
    REQUIRE(store->seed(moved));
    const auto chain = chainOf("org_c1");
    REQUIRE(chain.size() == 4);
    CHECK(chain[1].id == "org_r2");
    CHECK(chain[2].id == "org_d2");
  }
  SECTION("another connection deletes a parent row") {
    RawDb other(path);  // foreign keys are off on this raw connection
    REQUIRE(other.exec("DELETE FROM organizations WHERE id = 'org_r1'") == SQLITE_OK);
    Status s = store->transact([&](UnitOfWork& unit) -> Status {
      auto c = unit.organizationChain("org_c1");
      REQUIRE_FALSE(c);
      CHECK(c.error().detail.find("broken at org_r1") != std::string::npos);
      return okStatus();
    });
    CHECK(s);
  }
  SECTION("answers match the uncached store") {
    auto uncached_options = options;
    uncached_options.cache_organizations = false;
    store.reset();
    auto uncached = openOrThrow(uncached_options);
    for (const char* id : {"org_c1", "org_c3", "org_r3", "org_owner", "org_missing"}) {
      INFO(id);
      std::vector<Organization> a, b;
      REQUIRE(uncached->transact([&](UnitOfWork& unit) -> Status {
        a = unit.organizationChain(id).value();
        return okStatus();
      }));
      uncached.reset();
      store = openOrThrow(options);
      b = chainOf(id);
      b = chainOf(id);  // the second time from the cache
      CHECK(a == b);
      store.reset();
      uncached = openOrThrow(uncached_options);
    }
  }
}
