// The paged reads behind ReadView: users of a subtree and audit events.
// Callers own the (read) transaction that makes a page one snapshot.
#ifndef USERADMIN_LIB_SQLITE_READS_HPP
#define USERADMIN_LIB_SQLITE_READS_HPP

#include "connection.hpp"
#include "useradmin/result.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin::detail {

/// A page of users (ReadView::listUsers). Two plans, chosen per call:
/// - few organizations in the subtree: one index range per organization
///   (`users_by_organization`, from `after`), merged by id; a page costs
///   about organizations x limit rows, however deep `after` is, plus the
///   rows of another status skipped when a status filter is given;
/// - many: one walk of the users in id order from `after` (the primary key,
///   or `users_by_status` with a status filter) that skips users outside
///   the subtree; a page costs about limit x (all organizations / subtree
///   organizations) rows, again independent of depth.
/// The switch sits where the two estimates meet: subtree organizations
/// squared against all organizations.
Result<UserPage> selectUserPage(Connection& c, const UserQuery& query);

/// A page of audit events (ReadView::auditEvents), in id order from
/// `after`: via `audit_by_target` or `audit_by_actor` when one of those
/// filters is given, else the primary key. Every event's cursor is
/// {0, id}: one writer at a time, ids assigned inside its transaction, so
/// every snapshot holds a prefix of the id sequence.
Result<AuditPage> selectAuditPage(Connection& c, const AuditQuery& query);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_READS_HPP
