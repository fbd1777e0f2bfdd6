// Reading and writing the store's rows on one connection; callers own the
// transaction.
#ifndef USERADMIN_LIB_POSTGRES_ROWS_HPP
#define USERADMIN_LIB_POSTGRES_ROWS_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg.hpp"
#include "useradmin/directory_outbox.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin::pg {

/// Parses PostgreSQL's text form of a one-dimensional text[] ('{a,"b c"}').
std::vector<std::string> parseTextArray(std::string_view text);

Result<std::optional<User>> selectUser(Connection& c, std::string_view id);
/// `[org, ..., root]`; with `lock`, every organization's advisory lock is
/// taken shared until the transaction ends (units of work), then the chain
/// is read.
Result<std::vector<Organization>> selectChain(Connection& c, std::string_view id, bool lock = false);
Result<bool> compareAndSetUser(Connection& c, const User& user, std::int64_t expected_version);
/// Takes the organization's advisory lock exclusively (waiting for every
/// unit that read its chain), then compare-and-sets.
Result<bool> compareAndSetOrganization(Connection& c, const Organization& org, std::int64_t expected_version);
Result<std::vector<std::string>> suspendCascade(Connection& c, const Cascade& cascade);
Result<std::vector<std::string>> reactivateCascade(Connection& c, const Cascade& cascade);
Status insertAudit(Connection& c, const AuditEvent& event);
Result<UserPage> selectUserPage(Connection& c, const UserQuery& query);
Result<AuditPage> selectAuditPage(Connection& c, const AuditQuery& query);

/// The directory outbox (directory.md §4); see UnitOfWork and UserStore.
Status queueDirectoryUpdate(Connection& c, const DirectoryUpdate& update, Timestamp now, Timestamp due);
Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Connection& c, Timestamp now, std::size_t limit);
/// One statement: atomic on its own.
Status deleteDirectoryUpdates(Connection& c, const std::vector<std::int64_t>& entry_ids);
Status rescheduleDirectoryUpdate(Connection& c, std::int64_t entry_id, Timestamp next_attempt_at,
                                 std::string_view error);
Result<OutboxStats> directoryOutboxStats(Connection& c);

/// The ids of a fixture are valid and unique (checked before any transaction).
Status checkFixtureIds(const Dataset& data);
/// The seed inside an open transaction: validates the merged model and
/// writes every row; the caller commits or rolls back.
Status seedInTransaction(Connection& c, const Dataset& data, const Policy& policy);

}  // namespace useradmin::pg

#endif  // USERADMIN_LIB_POSTGRES_ROWS_HPP
