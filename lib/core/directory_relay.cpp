#include "useradmin/directory_relay.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

namespace useradmin {

namespace {

using std::chrono::milliseconds;

// How often one entry is re-sent in a round when its user keeps changing
// while it is being told; after that the entry waits for the next round.
constexpr int kMaxSendsPerEntry = 3;
// How often the background thread refreshes the outbox stats while it is
// streaming full batches (it always does before waiting).
constexpr milliseconds kStatsInterval{1000};

// The hook, with an exception counted as a failure.
Status notify(DirectorySync& directory, const User& user) {
  try {
    return directory.userStatusChanged(user);
  } catch (const std::exception& e) {
    return Error::externalError(std::string("directory hook threw: ") + e.what());
  } catch (...) {
    return Error::externalError("directory hook threw a non-standard exception");
  }
}

// Failures that say the directory (or the store) is unwell, not one user.
bool pausesAll(const Error& e) {
  if (e.code != ErrorCode::external_error) return true;  // the store failed
  if (!e.directory_failure) return true;                 // an embedder's hook: unknown, assume the worst
  const DirectoryFailure& f = *e.directory_failure;
  if (f.retry_after) return true;
  if (f.reason == DirectoryFailureReason::timeout || f.reason == DirectoryFailureReason::unreachable) return true;
  if (!f.http_status) return false;
  const int s = *f.http_status;
  return s == 401 || s == 403 || s == 408 || s == 429 || s >= 500;
}

std::string logText(const Error& e) { return e.detail.empty() ? e.message : e.detail; }

std::string seconds(milliseconds ms) {
  const auto tenths = ms.count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

}  // namespace

struct DirectoryRelay::Impl {
  Impl(UserStore& s, DirectorySync& d, const Clock& c, DirectoryRelayOptions o)
      : store(s), directory(d), clock(c), options(std::move(o)),
        random(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()) {
    if (options.batch == 0) options.batch = 1;
    if (options.initial_backoff.count() <= 0) options.initial_backoff = milliseconds(1);
    options.max_backoff = std::max(options.max_backoff, options.initial_backoff);
  }

  // ---- Delivery (the round's thread only, apart from the counters) ----

  // The backoff after `failures` failures in a row (1, 2, ...), jittered
  // over its upper half.
  milliseconds backoff(int failures) {
    milliseconds d = options.initial_backoff;
    for (int i = 1; i < failures && d < options.max_backoff; ++i) d *= 2;
    d = std::min(d, options.max_backoff);
    std::uniform_int_distribution<std::int64_t> half(0, d.count() / 2);
    return milliseconds(d.count() - d.count() / 2 + half(random));
  }

  // Tells the directory the user's current state; true when delivered (or
  // nothing to tell: the caller marks it), false when the user kept
  // changing (it stays pending for the next round).
  Result<bool> deliver(const OutboxEntry& entry) {
    for (int send = 0; send < kMaxSendsPerEntry; ++send) {
      auto found = store.findUser(entry.update.user_id);
      if (!found) return std::move(found).error();
      if (!*found) return true;  // gone: nothing to converge to
      User user = std::move(**found);
      // A deleted user must not sign in through the directory either.
      if (user.status == UserStatus::deleted) user.status = UserStatus::suspended;
      if (Status told = notify(directory, user); !told) return std::move(told).error();
      auto after = store.findUser(entry.update.user_id);
      if (!after) return std::move(after).error();
      if (*after && (*after)->version != user.version) continue;  // changed while we spoke: send the new state
      return true;
    }
    return false;  // still pending: the next round sends the newest state
  }

  // A failed delivery: reschedules the entry and, when the failure is
  // about the directory as a whole, pauses everything.
  void failed(const OutboxEntry& entry, const Error& error, Timestamp now, bool& paused) {
    const bool all = pausesAll(error);
    int in_a_row = 0;
    {
      std::lock_guard lock(mutex);
      ++failed_count;
      last_error = logText(error);
      last_error_at = now;
      if (all) in_a_row = ++consecutive_failures;
    }
    milliseconds delay = backoff(std::max(entry.attempts + 1, in_a_row));
    if (error.directory_failure && error.directory_failure->retry_after)
      delay = std::max<milliseconds>(delay, *error.directory_failure->retry_after);
    const Timestamp next = now + delay;
    // A store failure here leaves the entry due; the pause still holds.
    static_cast<void>(store.rescheduleDirectoryUpdate(entry.id, next, logText(error)));
    if (all) {
      std::lock_guard lock(mutex);
      paused_until = next;
      paused = true;
    }
  }

  // One round; `full` tells whether a whole batch was claimed (more may be due).
  std::size_t round(bool& full) {
    full = false;
    const Timestamp now = clock.now();
    {
      std::lock_guard lock(mutex);
      if (paused_until && now < *paused_until) return 0;
      paused_until.reset();
    }
    auto claimed = store.claimDirectoryUpdates(now, options.batch);
    if (!claimed) {
      bool paused = false;
      failed(OutboxEntry{}, claimed.error(), now, paused);
      return 0;
    }
    full = claimed->size() == options.batch;
    // Delivered entries are marked together at the end of the round: one
    // commit per round, not per entry. A crash before it re-sends them.
    std::vector<std::int64_t> delivered;
    for (const OutboxEntry& entry : *claimed) {
      if (stopping.load()) break;
      auto outcome = deliver(entry);
      if (!outcome) {
        bool paused = false;
        failed(entry, outcome.error(), clock.now(), paused);
        if (paused) {
          full = false;
          break;
        }
        continue;
      }
      if (*outcome) {
        delivered.push_back(entry.id);
        std::lock_guard lock(mutex);
        consecutive_failures = 0;
      }
    }
    if (delivered.empty()) return 0;
    if (Status marked = store.markDirectoryUpdatesDelivered(delivered); !marked) {
      bool paused = false;
      failed(OutboxEntry{}, marked.error(), clock.now(), paused);
      return 0;
    }
    std::lock_guard lock(mutex);
    delivered_count += delivered.size();
    return delivered.size();
  }

  // ---- Stats and logging ----

  DirectoryRelayStats snapshot() const {
    DirectoryRelayStats s;
    {
      std::lock_guard lock(mutex);
      s.running = thread.joinable();
      s.delivered = delivered_count;
      s.failed = failed_count;
      s.last_error = last_error;
      s.last_error_at = last_error_at;
      s.consecutive_failures = consecutive_failures;
      s.paused_until = paused_until;
    }
    if (auto outbox = store.directoryOutboxStats()) {
      s.pending = outbox->pending;
      if (outbox->oldest_enqueued_at)
        s.oldest_pending_age = std::max(milliseconds(0), clock.now() - *outbox->oldest_enqueued_at);
    }
    return s;
  }

  enum class State { idle, delivering, failing };

  // Logs on a change of state, and every log_interval while not idle.
  void maybeLog(const DirectoryRelayStats& s) {
    if (!options.log) return;
    const State state = s.pending == 0 ? State::idle : s.consecutive_failures > 0 ? State::failing : State::delivering;
    const auto now = std::chrono::steady_clock::now();
    if (state == logged_state && (state == State::idle || now - logged_at < options.log_interval)) return;
    std::string line = "directory relay: ";
    if (state == State::idle) {
      line += "caught up";
    } else {
      line += state == State::failing ? "failing, " : "delivering, ";
      line += std::to_string(s.pending) + " pending";
      if (s.oldest_pending_age) line += ", oldest " + seconds(*s.oldest_pending_age);
    }
    line += "; delivered " + std::to_string(s.delivered) + ", failed " + std::to_string(s.failed);
    if (state == State::failing) {
      line += "; last error: " + s.last_error;
      if (s.paused_until) line += "; next try in " + seconds(std::max(milliseconds(0), *s.paused_until - clock.now()));
    }
    // "caught up" only after something happened: not at start-up.
    if (!(state == State::idle && logged_state == State::idle)) options.log(line);
    logged_state = state;
    logged_at = now;
  }

  // ---- The background thread ----

  void loop() {
    auto last_stats = std::chrono::steady_clock::time_point{};
    while (!stopping.load()) {
      bool full = false;
      try {
        round(full);
      } catch (...) {
        // Out of memory in our own code: try again after a pause.
        full = false;
      }
      if (stopping.load()) break;
      const auto steady_now = std::chrono::steady_clock::now();
      if (full && steady_now - last_stats < kStatsInterval) continue;
      last_stats = steady_now;
      DirectoryRelayStats s = snapshot();
      maybeLog(s);
      if (full) continue;
      // Sleep until the next entry is due, the pause ends, the poll
      // interval runs out, or a wake().
      milliseconds wait = options.poll_interval;
      const Timestamp now = clock.now();
      if (s.paused_until) wait = std::min(wait, std::max(milliseconds(0), *s.paused_until - now));
      if (auto outbox = store.directoryOutboxStats(); outbox && outbox->next_attempt_at && !s.paused_until)
        wait = std::min(wait, std::max(milliseconds(0), *outbox->next_attempt_at - now));
      std::unique_lock lock(mutex);
      woken.wait_for(lock, wait, [&] { return wake_pending || stopping.load(); });
      wake_pending = false;
    }
  }

  UserStore& store;
  DirectorySync& directory;
  const Clock& clock;
  DirectoryRelayOptions options;
  std::mt19937_64 random;

  mutable std::mutex mutex;
  std::condition_variable woken;
  bool wake_pending = false;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::uint64_t delivered_count = 0;
  std::uint64_t failed_count = 0;
  std::string last_error;
  std::optional<Timestamp> last_error_at;
  int consecutive_failures = 0;
  std::optional<Timestamp> paused_until;
  // The background thread's own.
  State logged_state = State::idle;
  std::chrono::steady_clock::time_point logged_at{};
};

DirectoryRelay::DirectoryRelay(UserStore& store, DirectorySync& directory, const Clock& clock,
                               DirectoryRelayOptions options)
    : impl_(std::make_unique<Impl>(store, directory, clock, std::move(options))) {}

DirectoryRelay::~DirectoryRelay() { stop(); }

void DirectoryRelay::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

void DirectoryRelay::stop() {
  std::thread thread;
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->thread.joinable()) return;
    impl_->stopping = true;
    thread = std::move(impl_->thread);
  }
  impl_->woken.notify_all();
  thread.join();
}

void DirectoryRelay::wake() noexcept {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->wake_pending = true;
  }
  impl_->woken.notify_all();
}

DirectoryRelayStats DirectoryRelay::stats() const { return impl_->snapshot(); }

std::size_t DirectoryRelay::runOnce() {
  bool full = false;
  try {
    return impl_->round(full);
  } catch (...) {
    return 0;
  }
}

}  // namespace useradmin
