// The directory outbox's rows (directory.md §4): user status changes the
// external directory has not been told of yet, written in the same unit of
// work as the change and delivered later by a DirectoryRelay.
#ifndef USERADMIN_DIRECTORY_OUTBOX_HPP
#define USERADMIN_DIRECTORY_OUTBOX_HPP

#include <cstdint>
#include <optional>
#include <string>

#include "useradmin/domain.hpp"

namespace useradmin {

/// What the directory must be told of one user: "user `external_id` is now
/// `status`", as of the user's `user_version`.
struct DirectoryUpdate {
  std::string user_id;
  /// The directory's name for the user (directoryIdOf).
  std::string external_id;
  /// `active` or `suspended`; stores refuse `deleted`.
  UserStatus status = UserStatus::active;
  /// The user's version this state belongs to.
  std::int64_t user_version = 0;

  friend bool operator==(const DirectoryUpdate& a, const DirectoryUpdate& b) {
    return a.user_id == b.user_id && a.external_id == b.external_id && a.status == b.status &&
           a.user_version == b.user_version;
  }
};

/// One pending outbox entry. A store holds at most one per user: queueing
/// an update for a user who already has one replaces it (the latest state
/// wins), keeping the first `enqueued_at` and starting the attempts afresh.
struct OutboxEntry {
  /// Assigned by the store, increasing in queue order; a replaced entry
  /// gets a new id, so an id names one queued state.
  std::int64_t id = 0;
  DirectoryUpdate update;
  /// When the oldest undelivered change of this user was queued.
  Timestamp enqueued_at{};
  /// Not to be delivered before this time.
  Timestamp next_attempt_at{};
  /// Failed deliveries of this entry so far.
  int attempts = 0;
  /// The last failure's log text (never shown to clients); empty before one.
  std::string last_error;
};

/// What is waiting in the outbox.
struct OutboxStats {
  /// Pending entries (users not yet told of their latest change).
  std::int64_t pending = 0;
  /// The smallest `enqueued_at` of a pending entry; nullopt when empty.
  std::optional<Timestamp> oldest_enqueued_at;
  /// The smallest `next_attempt_at` of a pending entry; nullopt when empty.
  std::optional<Timestamp> next_attempt_at;
};

}  // namespace useradmin

#endif  // USERADMIN_DIRECTORY_OUTBOX_HPP
