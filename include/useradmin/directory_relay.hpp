// DirectoryRelay: delivers the directory outbox (directory.md §4) on a
// background thread, through the DirectorySync of the single-user calls.
#ifndef USERADMIN_DIRECTORY_RELAY_HPP
#define USERADMIN_DIRECTORY_RELAY_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "useradmin/clock.hpp"
#include "useradmin/directory_sync.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin {

struct DirectoryRelayOptions {
  /// Entries claimed per round.
  std::size_t batch = 64;
  /// The delay after the first failure; each further one doubles it, up to
  /// `max_backoff`. The delay used is drawn uniformly from its upper half
  /// (jitter), and never less than the directory's `Retry-After`.
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(5)};
  /// The outbox is looked at at least this often without a wake() (for
  /// entries another process queued).
  std::chrono::milliseconds poll_interval{std::chrono::seconds(5)};
  /// While entries are pending, one state line at most this often; a change
  /// of state (delivering, failing, caught up) is logged at once.
  std::chrono::milliseconds log_interval{std::chrono::seconds(30)};
  /// Where state lines go; empty: nowhere.
  std::function<void(const std::string&)> log;
  /// Seeds the jitter; 0 takes one from std::random_device.
  std::uint64_t jitter_seed = 0;
};

/// The relay's state, for logs, metrics and readiness.
struct DirectoryRelayStats {
  /// The background thread runs (start() called, stop() not yet).
  bool running = false;
  /// Entries waiting (from the store; 0 when it could not be read).
  std::int64_t pending = 0;
  /// How long the oldest pending change has waited; nullopt when none.
  std::optional<std::chrono::milliseconds> oldest_pending_age;
  /// Entries delivered and delivery attempts failed since construction.
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  /// The last failure's log text and time; empty / nullopt before one.
  std::string last_error;
  std::optional<Timestamp> last_error_at;
  /// Failures in a row that paused all deliveries (the directory is down,
  /// overloaded or refusing our credentials); 0 after a success.
  int consecutive_failures = 0;
  /// Deliveries are paused until then (backoff or Retry-After); nullopt
  /// when not paused.
  std::optional<Timestamp> paused_until;
};

/// Delivers pending outbox entries, at least once, in order per user: for
/// each due entry it reads the user's current state from the store and
/// tells the directory (so the directory converges to what the store holds,
/// whatever the entry recorded), then marks the entry delivered — unless
/// the user changed meanwhile, when the newer state is sent first. A user
/// that no longer exists is dropped; a deleted one is told as suspended.
///
/// On failure the entry is rescheduled with exponential backoff and jitter
/// (never sooner than `Retry-After`). A failure that says the directory
/// itself is unwell — timeout, unreachable, HTTP 401/403/408/429/5xx, a
/// Retry-After, or a store error — also pauses all deliveries for the
/// backoff of the failures in a row, so a dead directory costs one call per
/// pause, not one per entry. Other refusals (a 404 for one user) only
/// reschedule that entry.
///
/// Nothing is lost on a crash: entries leave the store only once
/// delivered. Run one relay per store (claims are not exclusive). The store,
/// directory and clock must outlive the relay. Thread-safe; never throws.
class USERADMIN_API DirectoryRelay {
 public:
  DirectoryRelay(UserStore& store, DirectorySync& directory, const Clock& clock, DirectoryRelayOptions options = {});
  DirectoryRelay(const DirectoryRelay&) = delete;
  DirectoryRelay& operator=(const DirectoryRelay&) = delete;
  /// stop().
  ~DirectoryRelay();

  /// Starts the background thread (no-op when running).
  void start();
  /// Stops the thread after the call in flight, if any (at most the
  /// directory's timeout). Undelivered entries stay in the store.
  void stop();
  /// Something was queued: look at the outbox now instead of at the next
  /// poll (a pause after failures is still honoured). Cheap; any thread.
  void wake() noexcept;

  /// The current state; reads the store's outbox stats. Any thread.
  DirectoryRelayStats stats() const;

  /// One round on the calling thread, what the background thread does each
  /// time it looks: unless paused, claims up to `batch` due entries and
  /// delivers them in order until a failure pauses deliveries. Returns the
  /// number delivered. For tests and for embedders with their own loop;
  /// never concurrently with the background thread.
  std::size_t runOnce();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace useradmin

#endif  // USERADMIN_DIRECTORY_RELAY_HPP
