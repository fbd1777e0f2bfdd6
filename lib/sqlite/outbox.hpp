// The directory outbox table (schema version 5): queueing inside a unit,
// and the relay's claim / delivered / reschedule / stats statements.
// Callers own the transaction (or run outside one: each is one statement).
#ifndef USERADMIN_LIB_SQLITE_OUTBOX_HPP
#define USERADMIN_LIB_SQLITE_OUTBOX_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "useradmin/directory_outbox.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// UnitOfWork::queueDirectoryUpdate on `c`: one INSERT OR REPLACE on the
/// user's UNIQUE key, keeping the first `enqueued_at`.
Status queueDirectoryUpdate(Connection& c, const DirectoryUpdate& update, Timestamp now, Timestamp due);

/// UserStore::claimDirectoryUpdates: a walk of `directory_outbox_due`.
Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Connection& c, Timestamp now, std::size_t limit);

/// UserStore::markDirectoryUpdatesDelivered, for one id.
Status deleteDirectoryUpdate(Connection& c, std::int64_t entry_id);

/// UserStore::rescheduleDirectoryUpdate.
Status rescheduleDirectoryUpdate(Connection& c, std::int64_t entry_id, Timestamp next_attempt_at,
                                 std::string_view error);

/// UserStore::directoryOutboxStats.
Result<OutboxStats> directoryOutboxStats(Connection& c);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_OUTBOX_HPP
