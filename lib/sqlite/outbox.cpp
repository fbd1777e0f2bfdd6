#include "outbox.hpp"

#include <limits>
#include <string>

namespace useradmin::detail {

namespace {

// The user's pending entry, if any, is replaced (REPLACE deletes it and the
// new row takes the next AUTOINCREMENT id); its first enqueue time stays.
constexpr const char* kQueue = R"sql(
INSERT OR REPLACE INTO directory_outbox
  (user_id, external_id, status, user_version, enqueued_at, next_attempt_at, attempts, last_error)
VALUES (?1, ?2, ?3, ?4, COALESCE((SELECT enqueued_at FROM directory_outbox WHERE user_id = ?1), ?5), ?6, 0, ''))sql";

constexpr const char* kClaim = R"sql(
SELECT id, user_id, external_id, status, user_version, enqueued_at, next_attempt_at, attempts, last_error
  FROM directory_outbox WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2)sql";

constexpr const char* kDelete = "DELETE FROM directory_outbox WHERE id = ?1";

constexpr const char* kReschedule = R"sql(
UPDATE directory_outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1)sql";

constexpr const char* kStats =
    "SELECT count(*), min(enqueued_at), min(next_attempt_at) FROM directory_outbox";

}  // namespace

Status queueDirectoryUpdate(Connection& c, const DirectoryUpdate& update, Timestamp now, Timestamp due) {
  if (update.status == UserStatus::deleted)
    return Error::invalidArgument({"status", "must be active or suspended", "deleted"}, "invalid_directory_update");
  auto st = c.statement(kQueue);
  if (!st) return std::move(st).error();
  st->bindText(1, update.user_id);
  st->bindText(2, update.external_id);
  st->bindText(3, toString(update.status));
  st->bindInt(4, update.user_version);
  st->bindInt(5, toMillis(now));
  st->bindInt(6, toMillis(due));
  return st->run("queueing a directory update");
}

Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Connection& c, Timestamp now, std::size_t limit) {
  std::vector<OutboxEntry> entries;
  if (limit == 0) return entries;
  auto st = c.statement(kClaim);
  if (!st) return std::move(st).error();
  st->bindInt(1, toMillis(now));
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  st->bindInt(2, static_cast<std::int64_t>(limit < max ? limit : max));
  while (true) {
    auto row = st->next("claiming directory updates");
    if (!row) return std::move(row).error();
    if (!*row) break;
    OutboxEntry e;
    e.id = st->integer(0);
    e.update.user_id = st->text(1);
    e.update.external_id = st->text(2);
    const auto status = parseUserStatus(st->text(3));
    if (!status) return Error::internal("directory_outbox row " + std::to_string(e.id) + " has a bad status");
    e.update.status = *status;
    e.update.user_version = st->integer(4);
    e.enqueued_at = timestampFromMillis(st->integer(5));
    e.next_attempt_at = timestampFromMillis(st->integer(6));
    e.attempts = static_cast<int>(st->integer(7));
    e.last_error = st->text(8);
    entries.push_back(std::move(e));
  }
  return entries;
}

Status deleteDirectoryUpdate(Connection& c, std::int64_t entry_id) {
  auto st = c.statement(kDelete);
  if (!st) return std::move(st).error();
  st->bindInt(1, entry_id);
  return st->run("removing a delivered directory update");
}

Status rescheduleDirectoryUpdate(Connection& c, std::int64_t entry_id, Timestamp next_attempt_at,
                                 std::string_view error) {
  auto st = c.statement(kReschedule);
  if (!st) return std::move(st).error();
  st->bindInt(1, entry_id);
  st->bindInt(2, toMillis(next_attempt_at));
  st->bindText(3, error);
  return st->run("rescheduling a directory update");
}

Result<OutboxStats> directoryOutboxStats(Connection& c) {
  auto st = c.statement(kStats);
  if (!st) return std::move(st).error();
  auto row = st->next("reading the directory outbox");
  if (!row) return std::move(row).error();
  OutboxStats stats;
  if (!*row) return stats;
  stats.pending = st->integer(0);
  if (!st->isNull(1)) stats.oldest_enqueued_at = timestampFromMillis(st->integer(1));
  if (!st->isNull(2)) stats.next_attempt_at = timestampFromMillis(st->integer(2));
  return stats;
}

}  // namespace useradmin::detail
