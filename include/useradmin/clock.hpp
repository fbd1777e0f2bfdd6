// Clock: where the library gets the current time, so tests can control it.
#ifndef USERADMIN_CLOCK_HPP
#define USERADMIN_CLOCK_HPP

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"

namespace useradmin {

/// A source of the current time. Implementations must be safe to call from
/// many threads at once.
class USERADMIN_API Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock();

  /// The current UTC time.
  virtual Timestamp now() const = 0;
};

/// The process-wide wall clock (std::chrono::system_clock). Never null;
/// lives for the whole program.
USERADMIN_API const Clock& systemClock();

}  // namespace useradmin

#endif  // USERADMIN_CLOCK_HPP
