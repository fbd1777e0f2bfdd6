// FakeClock: a Clock the test sets and advances by hand.
#ifndef USERADMIN_TESTS_SUPPORT_FAKE_CLOCK_HPP
#define USERADMIN_TESTS_SUPPORT_FAKE_CLOCK_HPP

#include <atomic>
#include <chrono>

#include "useradmin/clock.hpp"

namespace useradmin::test {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start) : ms_(toMillis(start)) {}
  Timestamp now() const override { return timestampFromMillis(ms_.load()); }
  void set(Timestamp t) { ms_.store(toMillis(t)); }
  void advance(std::chrono::milliseconds d) { ms_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace useradmin::test

#endif
