// The statements behind the store: reading and writing organizations, users
// and audit events on one connection. Callers own the transaction.
#ifndef USERADMIN_LIB_SQLITE_ROWS_HPP
#define USERADMIN_LIB_SQLITE_ROWS_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// Longest organization chain accepted; a longer one means a cycle (the
/// ranks allow four levels, so this is only a guard).
inline constexpr std::int64_t kMaxChainLength = 64;

/// The user in the current row of a statement selecting the columns of
/// `users` in table order (id ... version), roles not included.
Result<User> readUserRow(StatementUse& st);

/// The user's roles in their stored order.
Result<std::vector<std::string>> selectRoles(Connection& c, std::string_view user_id);

/// The user with its roles in their stored order, or nullopt. One
/// statement, so it reads one consistent snapshot even outside a transaction.
Result<std::optional<User>> selectUser(Connection& c, std::string_view id);

/// The organization in the current row of a statement selecting
/// USERADMIN_ORGANIZATION_COLUMNS, in that order.
Result<Organization> readOrganization(StatementUse& st);

/// The columns readOrganization reads.
#define USERADMIN_ORGANIZATION_COLUMNS \
  "id, name, type, parent_id, suspended, deleted, suspended_at, suspended_by, updated_at, version"

/// `[org, parent, ..., root]` in one recursive query; empty when `id` is
/// unknown; `internal` when the chain is broken or longer than
/// kMaxChainLength (a cycle).
Result<std::vector<Organization>> selectChain(Connection& c, std::string_view id);

/// `UPDATE users ... WHERE id = ? AND version = ?`; true when exactly that
/// row changed. Roles are rewritten only when they differ from the stored ones.
/// `stored_roles`, when given, are the roles stored with `expected_version`
/// as read in this transaction: the roles are then compared without a query.
Result<bool> compareAndSetUser(Connection& c, const User& user, std::int64_t expected_version,
                               const std::vector<std::string>* stored_roles = nullptr);

/// `UPDATE organizations ... WHERE id = ? AND version = ?`; true when that row changed.
Result<bool> compareAndSetOrganization(Connection& c, const Organization& org, std::int64_t expected_version);

/// Appends an audit event (its id is assigned by the table).
Status insertAudit(Connection& c, const AuditEvent& event);

/// Inserts or replaces (by id) an organization.
Status upsertOrganization(Connection& c, const Organization& org);

/// Inserts or replaces (by id) a user and its roles. `fresh` promises the
/// user has no stored roles yet (a bulk load into an empty table), which
/// saves a delete per user.
Status upsertUser(Connection& c, const User& user, bool fresh);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_ROWS_HPP
