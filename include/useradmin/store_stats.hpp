// StoreStats: what a store reports about its commit path (for metrics, load
// reports and operators), read without stopping it.
#ifndef USERADMIN_STORE_STATS_HPP
#define USERADMIN_STORE_STATS_HPP

#include <cstddef>
#include <cstdint>
#include <vector>

namespace useradmin {

/// A histogram in the Prometheus sense: `counts[i]` counts the observations
/// `<= upper_bounds[i]` that were not counted in an earlier bucket (so the
/// buckets are not cumulative here), and `counts` has one more entry than
/// `upper_bounds`, for the observations above the last bound (+Inf).
struct Histogram {
  std::vector<double> upper_bounds;
  std::vector<std::uint64_t> counts;
  double sum = 0;
  std::uint64_t count = 0;
};

/// Totals since the store was opened. Fields a store cannot measure stay
/// zero (histograms empty); `available` is false for a store that measures
/// nothing at all.
struct StoreStats {
  bool available = false;
  /// Transactions committed, and the units of work they carried.
  std::uint64_t commits = 0;
  std::uint64_t units = 0;
  /// Transactions that failed to commit (their units were told why).
  std::uint64_t failed_commits = 0;
  /// Units of work per committed transaction.
  Histogram batch_size;
  /// Seconds from a transaction's start to its commit returning: durable,
  /// or (SQLite's overlap_sync) written and handed to the syncer.
  Histogram commit_seconds;
  /// Seconds spent making commits durable: the COMMIT statement alone, or
  /// with SQLite's overlap_sync each fdatasync of the syncer thread (one
  /// sync may cover several commits, so `count` can be below `commits`).
  Histogram sync_seconds;
  /// Units waiting for the writer at the moment of the call.
  std::size_t queue_depth = 0;
  /// Units run again after a serialization failure or deadlock (SQLSTATE
  /// 40001 / 40P01), counted once per repeat (a store with one writer
  /// never retries).
  std::uint64_t retries = 0;
  /// Calls that found every pooled connection busy and waited for one, and
  /// their total wait in seconds (a store without a pool never waits).
  std::uint64_t pool_waits = 0;
  double pool_wait_seconds = 0;
};

}  // namespace useradmin

#endif  // USERADMIN_STORE_STATS_HPP
