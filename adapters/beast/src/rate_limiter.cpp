#include "useradmin/beast/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace useradmin::beast {

namespace {
constexpr std::size_t kShards = 16;
}

// One independently locked part of the key space: buckets in LRU order
// (front = most recently used) plus an index into that list.
struct RateLimiter::Shard {
  struct Bucket {
    std::string key;
    double tokens = 0;
    Clock::time_point last{};
  };
  std::mutex mutex;
  std::list<Bucket> lru;
  // Keys view the strings inside the list nodes, which never move.
  std::unordered_map<std::string_view, std::list<Bucket>::iterator> index;
};

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_keys)
    : limit_(limit),
      per_shard_capacity_(std::max<std::size_t>(1, max_keys / kShards)),
      shards_(new Shard[kShards]) {
  limit_.burst = std::max(1.0, limit_.burst);
  if (!(limit_.rate > 0)) limit_.rate = 1e-9;  // effectively "burst, then nothing"
}

RateLimiter::~RateLimiter() = default;

RateDecision RateLimiter::acquire(std::string_view key, Clock::time_point now) {
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  const std::lock_guard<std::mutex> lock(shard.mutex);

  auto found = shard.index.find(key);
  Shard::Bucket* bucket;
  if (found == shard.index.end()) {
    // A bucket idle long enough to be full again carries no information:
    // drop such buckets from the cold end first, then plain LRU if still full.
    const auto refill_time = std::chrono::duration<double>(limit_.burst / limit_.rate);
    while (!shard.lru.empty() && now - shard.lru.back().last >= refill_time) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
    if (shard.lru.size() >= per_shard_capacity_) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
    shard.lru.push_front(Shard::Bucket{std::string(key), limit_.burst, now});
    shard.index.emplace(shard.lru.front().key, shard.lru.begin());
    bucket = &shard.lru.front();
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);  // iterators stay valid
    bucket = &*found->second;
    const double elapsed = std::chrono::duration<double>(now - bucket->last).count();
    if (elapsed > 0) {
      bucket->tokens = std::min(limit_.burst, bucket->tokens + elapsed * limit_.rate);
      bucket->last = now;
    }
  }

  if (bucket->tokens >= 1.0) {
    bucket->tokens -= 1.0;
    return {true, 0};
  }
  const double wait = (1.0 - bucket->tokens) / limit_.rate;
  const double seconds = std::min(std::ceil(wait), 86400.0);
  return {false, static_cast<std::uint32_t>(std::max(1.0, seconds))};
}

std::size_t RateLimiter::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    const std::lock_guard<std::mutex> lock(shards_[i].mutex);
    total += shards_[i].lru.size();
  }
  return total;
}

}  // namespace useradmin::beast
