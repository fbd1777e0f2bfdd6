// Token buckets: refill, Retry-After, bounded memory, thread safety.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "useradmin/beast/rate_limiter.hpp"

using namespace useradmin::beast;
using namespace std::chrono_literals;

TEST_CASE("rate limiter: a burst, then one token per 1/rate seconds", "[beast][ratelimit]") {
  RateLimiter limiter({2.0, 3.0});
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("a", t0).allowed);
  auto refused = limiter.acquire("a", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_seconds == 1);  // 0.5 s, rounded up
  CHECK_FALSE(limiter.acquire("a", t0 + 400ms).allowed);
  CHECK(limiter.acquire("a", t0 + 500ms).allowed);
  // Other keys are independent.
  CHECK(limiter.acquire("b", t0).allowed);
}

TEST_CASE("rate limiter: Retry-After is whole seconds rounded up", "[beast][ratelimit]") {
  RateLimiter limiter({0.1, 1.0});  // one token per 10 s
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  CHECK(limiter.acquire("k", t0).allowed);
  auto refused = limiter.acquire("k", t0 + 1500ms);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_seconds == 9);  // 8.5 s left
  CHECK(limiter.acquire("k", t0 + 10s).allowed);
}

TEST_CASE("rate limiter: memory stays bounded under a flood of keys", "[beast][ratelimit]") {
  RateLimiter limiter({1.0, 5.0}, 1600);
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  for (int i = 0; i < 100000; ++i) limiter.acquire("10.0." + std::to_string(i), t0);
  CHECK(limiter.size() <= 1600);
  CHECK(limiter.size() > 0);
  // Buckets that refilled completely are dropped first.
  limiter.acquire("fresh", t0 + 10s);
  CHECK(limiter.size() <= 1600);
}

TEST_CASE("rate limiter: concurrent acquires never over-grant", "[beast][ratelimit]") {
  RateLimiter limiter({0.001, 100.0});
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i)
        if (limiter.acquire("shared", t0).allowed) ++granted;
    });
  for (auto& t : threads) t.join();
  CHECK(granted.load() == 100);
}
