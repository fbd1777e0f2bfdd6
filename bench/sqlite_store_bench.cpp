// SQLite store benchmarks: group commit throughput, reactivations through the
// service, the organization-chain query, point reads and bulk seeding.
// Files live under $USERADMIN_BENCH_DIR (default: the system temp dir); use
// a real disk there, since tmpfs makes synchronous=FULL free.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "store/store_factories.hpp"
#include "store/sqlite_store_factory.hpp"
#include "support/fixtures.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// A store on a fresh file; the directory goes when the bench store does.
struct BenchStore {
  explicit BenchStore(SqliteDurability durability, std::size_t max_batch = 64, bool cache = true) {
    if (const char* base = std::getenv("USERADMIN_BENCH_DIR")) setenv("TMPDIR", base, 1);
    dir = std::make_unique<TempDir>();
    auto options = sqliteOptions(dir->file("bench.db"));
    options.durability = durability;
    options.max_batch = max_batch;
    options.cache_organizations = cache;
    store = openOrThrow(options);
  }
  ~BenchStore() {
    store.reset();  // close before the directory goes
  }
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<UserStore> store;
};

SqliteDurability durabilityArg(const benchmark::State& state) {
  return state.range(0) == 0 ? SqliteDurability::full : SqliteDurability::normal;
}

Dataset withBenchUsers(int count, UserStatus status) {
  Dataset data = standardDataset();
  data.users.reserve(data.users.size() + static_cast<std::size_t>(count));
  const char* orgs[] = {"org_c1", "org_c2", "org_c3", "org_c4"};
  for (int i = 0; i < count; ++i)
    data.users.push_back(makeUser("usr_b" + std::to_string(i), orgs[i % 4], {"support"}, status));
  return data;
}

Dataset withSuspended(int count) { return withBenchUsers(count, UserStatus::suspended); }

AuditEvent benchEvent(std::int64_t n) {
  AuditEvent e;
  e.time = testEpoch();
  e.action = "user.reactivate";
  e.actor_id = "usr_root";
  e.target_id = "usr_" + std::to_string(n);
  e.outcome = "granted";
  e.reason = "bench";
  e.request_id = "req";
  e.client_address = "127.0.0.1";
  return e;
}

// ---- Group commit: units per second for a crowd of 64 callers ----------------------
// Args: durability (0 FULL, 1 NORMAL), max_batch. Each unit appends one audit
// row. With max_batch 1 every unit is its own COMMIT (and fsync at FULL).

BenchStore* g_commit_store = nullptr;

void BM_GroupCommit(benchmark::State& state) {
  if (state.thread_index() == 0)
    g_commit_store = new BenchStore(durabilityArg(state), static_cast<std::size_t>(state.range(1)));
  std::int64_t n = 0;
  for (auto _ : state) {
    Status s = g_commit_store->store->transact([&](UnitOfWork& unit) { return unit.appendAudit(benchEvent(n)); });
    if (!s) state.SkipWithError("transact failed");
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete g_commit_store;
    g_commit_store = nullptr;
  }
}
BENCHMARK(BM_GroupCommit)
    ->ArgNames({"normal", "max_batch"})
    ->ArgsProduct({{0, 1}, {1, 16, 64}})
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);

// ---- Reactivations through the real service ----------------------------------------
// Args: durability (0 FULL, 1 NORMAL), organization cache (0 off, 1 on).
// Every iteration reactivates a distinct suspended user.

constexpr int kPerThread = 1000;
BenchStore* g_service_store = nullptr;
std::unique_ptr<Authorizer> g_authorizer;
std::unique_ptr<ReactivationService> g_service;
std::atomic<int> g_next_user{0};

// Arg `active` (BM_DenyNotSuspended): the users are active, so every
// iteration is the 400 `not_suspended` denial (reads + audit event, no update).
void reactivateEach(benchmark::State& state, UserStatus seeded, bool expect_granted) {
  if (state.thread_index() == 0) {
    g_service_store = new BenchStore(durabilityArg(state), 64, state.range(1) != 0);
    if (!g_service_store->store->seed(withBenchUsers(state.threads() * kPerThread, seeded)))
      state.SkipWithError("seed failed");
    g_authorizer = makePolicyAuthorizer(defaultPolicy());
    g_service = std::make_unique<ReactivationService>(
        ServiceDeps{*g_service_store->store, *g_authorizer, systemClock(), nullptr});
    g_next_user = 0;
  }
  Actor actor;
  actor.user_id = "usr_root";
  actor.credential_issued_at = systemClock().now();
  for (auto _ : state) {
    const std::string id = "usr_b" + std::to_string(g_next_user++);
    if (static_cast<bool>(g_service->reactivateUser(actor, id)) != expect_granted)
      state.SkipWithError(expect_granted ? "reactivation refused" : "reactivation not refused");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    g_service.reset();
    g_authorizer.reset();
    delete g_service_store;
    g_service_store = nullptr;
  }
}
void BM_Reactivate(benchmark::State& state) { reactivateEach(state, UserStatus::suspended, true); }
BENCHMARK(BM_Reactivate)
    ->ArgNames({"normal", "cache"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Threads(1)
    ->Threads(16)
    ->Iterations(kPerThread)
    ->UseRealTime();

void BM_DenyNotSuspended(benchmark::State& state) { reactivateEach(state, UserStatus::active, false); }
BENCHMARK(BM_DenyNotSuspended)
    ->ArgNames({"normal", "cache"})
    ->Args({0, 1})
    ->Threads(16)
    ->Iterations(kPerThread)
    ->UseRealTime();

// ---- Reads inside a unit of work -----------------------------------------------------
// Arg: 0 organizationChain (4 levels) through the cache, 1 the same with the
// cache off (recursive CTE every time), 2 findUser (a point read with roles);
// all on the writer connection inside one transaction.

void BM_UnitRead(benchmark::State& state) {
  BenchStore bench(SqliteDurability::full, 64, state.range(0) == 0);
  if (!bench.store->seed(withSuspended(10000))) state.SkipWithError("seed failed");
  const bool chain = state.range(0) != 2;
  Status s = bench.store->transact([&](UnitOfWork& unit) -> Status {
    for (auto _ : state) {
      if (chain) {
        auto c = unit.organizationChain("org_c1");
        if (!c || c->size() != 4) return Error::internal("bad chain");
        benchmark::DoNotOptimize(c);
      } else {
        auto u = unit.findUser("usr_b5000");
        if (!u || !*u) return Error::internal("no user");
        benchmark::DoNotOptimize(u);
      }
    }
    return okStatus();
  });
  if (!s) state.SkipWithError("unit failed");
}
BENCHMARK(BM_UnitRead)->ArgName("read")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

// ---- Point reads through the reader pool ---------------------------------------------

BenchStore* g_read_store = nullptr;

void BM_FindUser(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_read_store = new BenchStore(SqliteDurability::full);
    if (!g_read_store->store->seed(withSuspended(10000))) state.SkipWithError("seed failed");
  }
  int i = state.thread_index();
  for (auto _ : state) {
    auto u = g_read_store->store->findUser("usr_b" + std::to_string((i += 7919) % 10000));
    if (!u || !*u) state.SkipWithError("no user");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete g_read_store;
    g_read_store = nullptr;
  }
}
BENCHMARK(BM_FindUser)->Threads(1)->Threads(4)->UseRealTime();

// ---- Bulk seed --------------------------------------------------------------------------
// Arg: number of users loaded into an empty database in one seed() call.

// Counters: `small_seed_ms`, a later seed of 100 users into that database
// (it re-checks the stored roles, a scan of user_roles); `reopen_ms`,
// opening the file again (quick_check included; the close before it
// checkpoints the WAL); `wal_mb`, the WAL after the big seed.

void BM_Seed(benchmark::State& state) {
  const Dataset data = withSuspended(static_cast<int>(state.range(0)));
  Dataset small;
  for (int i = 0; i < 100; ++i) small.users.push_back(makeSuspended("usr_late" + std::to_string(i), "org_c1"));
  double small_ms = 0, reopen_ms = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto bench = std::make_unique<BenchStore>(SqliteDurability::full);
    state.ResumeTiming();
    if (!bench->store->seed(data)) state.SkipWithError("seed failed");
    state.PauseTiming();
    state.counters["wal_mb"] = static_cast<double>(std::filesystem::file_size(bench->dir->file("bench.db-wal"))) / 1e6;
    const auto t0 = std::chrono::steady_clock::now();
    if (!bench->store->seed(small)) state.SkipWithError("small seed failed");
    small_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    // Reopening runs the quick_check of verify_on_open over the whole file.
    bench->store.reset();
    const auto t1 = std::chrono::steady_clock::now();
    bench->store = openOrThrow(sqliteOptions(bench->dir->file("bench.db")));
    reopen_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    bench.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["small_seed_ms"] = small_ms;
  state.counters["reopen_ms"] = reopen_ms;
}
BENCHMARK(BM_Seed)
    ->ArgName("users")
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
