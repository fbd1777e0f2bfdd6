// RateLimiter: token buckets per key (client address, actor), bounded in memory.
#ifndef USERADMIN_BEAST_RATE_LIMITER_HPP
#define USERADMIN_BEAST_RATE_LIMITER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "useradmin/export.hpp"

namespace useradmin::beast {

/// A token bucket's shape: `rate` tokens per second refill a bucket that
/// holds at most `burst` tokens; every request takes one token.
struct RateLimit {
  /// Tokens per second, > 0.
  double rate = 0;
  /// Bucket capacity, >= 1. A fresh key starts with a full bucket.
  double burst = 1;
};

/// The limiter's answer for one request.
struct RateDecision {
  bool allowed = true;
  /// When refused: whole seconds until a token is available (at least 1,
  /// rounded up), the value of the `Retry-After` header.
  std::uint32_t retry_after_seconds = 0;
};

/// Token buckets keyed by an arbitrary string. Memory is bounded: at most
/// `max_keys` buckets are kept (spread over independently locked shards);
/// when a shard is full the least recently used bucket is evicted, and
/// buckets idle long enough to be full again are dropped first, since a
/// full bucket is the same as no bucket. A flood of distinct keys therefore
/// cannot grow the limiter. Thread-safe; contention is limited to one shard.
class USERADMIN_API RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  /// `limit.rate` must be > 0 and `limit.burst` >= 1 (smaller bursts are
  /// raised to 1). `max_keys` is raised to at least the number of shards.
  explicit RateLimiter(RateLimit limit, std::size_t max_keys = 100000);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// Takes one token from `key`'s bucket at time `now`.
  RateDecision acquire(std::string_view key, Clock::time_point now);

  /// Number of buckets currently held (for tests and metrics).
  std::size_t size() const;

  const RateLimit& limit() const noexcept { return limit_; }

 private:
  struct Shard;
  RateLimit limit_;
  std::size_t per_shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_RATE_LIMITER_HPP
