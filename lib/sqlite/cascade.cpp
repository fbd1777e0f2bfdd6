#include "cascade.hpp"

#include <algorithm>

#include "rows.hpp"

namespace useradmin::detail {

namespace {

// Every statement below starts with this: the non-deleted subtree of ?1
// (a deleted organization hides everything below it), each organization
// with `blocker`, the nearest suspended organization at or above it but
// below ?1 (NULL when none). ?10 bounds the depth, so a corrupt cyclic tree
// cannot make the query run forever.
#define USERADMIN_SUBTREE                                                                 \
  "WITH RECURSIVE subtree (id, blocker, depth) AS ("                                     \
  " SELECT id, NULL, 0 FROM organizations WHERE id = ?1 AND deleted = 0"                  \
  " UNION ALL"                                                                            \
  " SELECT o.id, CASE WHEN o.suspended = 1 THEN o.id ELSE subtree.blocker END, subtree.depth + 1" \
  "   FROM organizations AS o JOIN subtree ON o.parent_id = subtree.id"                   \
  "  WHERE o.deleted = 0 AND subtree.depth < ?10) "

// The audit event of each user about to change, in id order. Runs before
// the UPDATE that changes them: both see the same rows (one writer, one
// transaction), and the event rows are written without a round trip each.
#define USERADMIN_CASCADE_AUDIT                                                                                   \
  "INSERT INTO audit_events (time, action, actor_id, target_type, target_id, target_organization_id, outcome," \
  "                          reason, request_id, client_address, note) " USERADMIN_SUBTREE                        \
  "SELECT ?2, ?3, ?4, 'user', u.id, u.organization_id, ?5, ?6, ?7, ?8, ?9 FROM users AS u "

// `+status`: the users are found per organization of the subtree
// (users_by_organization), never by status, which without statistics the
// planner could otherwise prefer (users_by_status holds every active user).
constexpr const char* kSuspendAudit = USERADMIN_CASCADE_AUDIT
    "WHERE +u.status = 'active' AND u.organization_id IN (SELECT id FROM subtree) ORDER BY u.id";

constexpr const char* kSuspendUsers = USERADMIN_SUBTREE
    "UPDATE users SET status = 'suspended', suspended_at = ?2, suspended_by = ?4, suspended_by_org_id = ?1,"
    "                 tokens_valid_after = ?2, updated_at = ?2, version = version + 1"
    " WHERE +status = 'active' AND organization_id IN (SELECT id FROM subtree) RETURNING id";

constexpr const char* kReactivateAudit = USERADMIN_CASCADE_AUDIT
    "JOIN subtree ON subtree.id = u.organization_id"
    " WHERE u.suspended_by_org_id = ?1 AND u.status = 'suspended' AND subtree.blocker IS NULL ORDER BY u.id";

constexpr const char* kReactivateUsers = USERADMIN_SUBTREE
    "UPDATE users SET status = 'active', suspended_at = NULL, suspended_by = NULL, suspended_by_org_id = NULL,"
    "                 updated_at = ?2, version = version + 1"
    " WHERE suspended_by_org_id = ?1 AND status = 'suspended'"
    "   AND organization_id IN (SELECT id FROM subtree WHERE blocker IS NULL) RETURNING id";

// Users below a still-suspended organization stay suspended, now on behalf
// of the nearest one, whose own reactivation will restore them.
constexpr const char* kReassignUsers = USERADMIN_SUBTREE
    "UPDATE users SET suspended_by_org_id = (SELECT blocker FROM subtree WHERE subtree.id = users.organization_id),"
    "                 updated_at = ?2, version = version + 1"
    " WHERE suspended_by_org_id = ?1 AND status = 'suspended'"
    "   AND organization_id IN (SELECT id FROM subtree WHERE blocker IS NOT NULL)";

// The outbox entry of each user about to change (when the cascade asks for
// them), like the audit events: one INSERT ... SELECT before the UPDATE,
// with the status and version the UPDATE is about to write. OR REPLACE on
// the UNIQUE user_id replaces a pending entry (the latest state wins),
// keeping its first enqueue time.
#define USERADMIN_CASCADE_OUTBOX(status)                                                                          \
  "INSERT OR REPLACE INTO directory_outbox (user_id, external_id, status, user_version, enqueued_at,"          \
  "                                         next_attempt_at, attempts, last_error) " USERADMIN_SUBTREE          \
  "SELECT u.id, COALESCE(u.external_id, u.id), '" status "', u.version + 1,"                                   \
  "       COALESCE((SELECT p.enqueued_at FROM directory_outbox AS p WHERE p.user_id = u.id), ?2), ?2, 0, ''" \
  "  FROM users AS u "

constexpr const char* kSuspendOutbox = USERADMIN_CASCADE_OUTBOX("suspended")
    "WHERE +u.status = 'active' AND u.organization_id IN (SELECT id FROM subtree)";

constexpr const char* kReactivateOutbox = USERADMIN_CASCADE_OUTBOX("active")
    "JOIN subtree ON subtree.id = u.organization_id"
    " WHERE u.suspended_by_org_id = ?1 AND u.status = 'suspended' AND subtree.blocker IS NULL";

#undef USERADMIN_CASCADE_OUTBOX
#undef USERADMIN_CASCADE_AUDIT
#undef USERADMIN_SUBTREE

// Binds the parameters every cascade statement shares (unused ones are
// ignored by SQLite: the numbering is fixed across the statements).
void bindCascade(StatementUse& st, const Cascade& cascade) {
  st.bindText(1, cascade.organization_id);
  st.bindInt(2, toMillis(cascade.time));
  st.bindInt(10, kMaxChainLength);
}

Status appendCascadeEvents(Connection& c, const char* sql, const Cascade& cascade) {
  auto st = c.statement(sql);
  if (!st) return std::move(st).error();
  bindCascade(*st, cascade);
  const AuditEvent& e = cascade.event;
  st->bindText(3, e.action);
  st->bindText(4, cascade.actor_id);
  st->bindText(5, e.outcome);
  st->bindText(6, e.reason);
  st->bindText(7, e.request_id);
  st->bindText(8, e.client_address);
  st->bindText(9, e.note);
  return st->run("writing the audit events of a cascade");
}

Status queueCascadeUpdates(Connection& c, const char* sql, const Cascade& cascade) {
  if (!cascade.queue_directory_updates) return okStatus();
  auto st = c.statement(sql);
  if (!st) return std::move(st).error();
  bindCascade(*st, cascade);
  return st->run("queueing the directory updates of a cascade");
}

// Runs an UPDATE ... RETURNING id; the ids, ascending.
Result<std::vector<std::string>> changeUsers(Connection& c, const char* sql, const Cascade& cascade) {
  auto st = c.statement(sql);
  if (!st) return std::move(st).error();
  bindCascade(*st, cascade);
  st->bindText(4, cascade.actor_id);
  std::vector<std::string> ids;
  while (true) {
    auto row = st->next("changing the users of a cascade");
    if (!row) return std::move(row).error();
    if (!*row) break;
    ids.push_back(st->text(0));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

Result<std::vector<std::string>> suspendCascade(Connection& c, const Cascade& cascade) {
  if (Status audited = appendCascadeEvents(c, kSuspendAudit, cascade); !audited) return std::move(audited).error();
  if (Status queued = queueCascadeUpdates(c, kSuspendOutbox, cascade); !queued) return std::move(queued).error();
  return changeUsers(c, kSuspendUsers, cascade);
}

Result<std::vector<std::string>> reactivateCascade(Connection& c, const Cascade& cascade) {
  if (Status audited = appendCascadeEvents(c, kReactivateAudit, cascade); !audited)
    return std::move(audited).error();
  if (Status queued = queueCascadeUpdates(c, kReactivateOutbox, cascade); !queued) return std::move(queued).error();
  auto reactivated = changeUsers(c, kReactivateUsers, cascade);
  if (!reactivated) return reactivated;
  auto st = c.statement(kReassignUsers);
  if (!st) return std::move(st).error();
  bindCascade(*st, cascade);
  if (Status moved = st->run("moving cascade suspensions to a suspended organization below"); !moved)
    return std::move(moved).error();
  return reactivated;
}

}  // namespace useradmin::detail
