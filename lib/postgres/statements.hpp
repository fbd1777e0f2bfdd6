// Every SQL statement the PostgreSQL store prepares on its connections.
#ifndef USERADMIN_LIB_POSTGRES_STATEMENTS_HPP
#define USERADMIN_LIB_POSTGRES_STATEMENTS_HPP

#include <vector>

#include "pg.hpp"

namespace useradmin::pg::sql {

/// Longest organization chain accepted; a longer one means a cycle.
inline constexpr int kMaxChainLength = 64;

#define USERADMIN_PG_USER_COLUMNS                                                                  \
  "u.id, u.username, u.email, u.name, u.organization_id, u.status, u.suspended_at, u.suspended_by, " \
  "u.suspended_by_org_id, u.tokens_valid_after, u.updated_at, u.version, u.external_id"
#define USERADMIN_PG_ORG_COLUMNS \
  "id, name, type, parent_id, suspended, deleted, suspended_at, suspended_by, updated_at, version"
#define USERADMIN_PG_AUDIT_COLUMNS                                                                             \
  "id, horizon_key, time, action, actor_id, target_type, target_id, target_organization_id, outcome, reason, " \
  "request_id, client_address, note"

// One row per role (or one with a NULL role), in position order: the user
// and its roles in one statement, so one snapshot even outside a transaction.
inline constexpr Sql kSelectUser{"ua_select_user",
                                 "SELECT " USERADMIN_PG_USER_COLUMNS ", r.role FROM users AS u"
                                 " LEFT JOIN user_roles AS r ON r.user_id = u.id WHERE u.id = $1 ORDER BY r.position"};

// [org, parent, ..., root]; one row more than the bound tells a cycle.
inline constexpr Sql kSelectChain{
    "ua_select_chain",
    "WITH RECURSIVE chain (depth, " USERADMIN_PG_ORG_COLUMNS ") AS ("
    " SELECT 0, " USERADMIN_PG_ORG_COLUMNS " FROM organizations WHERE id = $1"
    " UNION ALL"
    " SELECT chain.depth + 1, o.id, o.name, o.type, o.parent_id, o.suspended, o.deleted, o.suspended_at,"
    "        o.suspended_by, o.updated_at, o.version"
    "   FROM chain JOIN organizations AS o ON o.id = chain.parent_id WHERE chain.depth < $2)"
    " SELECT " USERADMIN_PG_ORG_COLUMNS " FROM chain ORDER BY depth"};

// Organization locks for units of work: transaction-level advisory locks
// keyed by (kOrgLockSpace, hashtext(id)), shared by every unit that read
// the organization's chain, exclusive for a unit that changes the
// organization. Advisory, not row locks, because waiting for them assigns
// no transaction id: a cascade that waits for the units holding its
// organization gets its xid (the audit horizon key) only after they have
// committed, so the log lists their changes before the cascade's.
#define USERADMIN_PG_ORG_LOCK_SPACE "1430340685"
// The relay lead's session lock (postgres_store.cpp): one key per schema.
#define USERADMIN_PG_RELAY_LOCK_SPACE "1430340686"
inline constexpr Sql kLockChainShared{
    "ua_lock_chain_shared",
    "WITH RECURSIVE chain (depth, id, parent_id) AS ("
    " SELECT 0, id, parent_id FROM organizations WHERE id = $1"
    " UNION ALL"
    " SELECT chain.depth + 1, o.id, o.parent_id"
    "   FROM chain JOIN organizations AS o ON o.id = chain.parent_id WHERE chain.depth < $2)"
    " SELECT count(pg_advisory_xact_lock_shared(" USERADMIN_PG_ORG_LOCK_SPACE ", hashtext(id))) FROM chain"};
inline constexpr Sql kLockOrganization{
    "ua_lock_org", "SELECT pg_advisory_xact_lock(" USERADMIN_PG_ORG_LOCK_SPACE ", hashtext($1::text))"};
#undef USERADMIN_PG_ORG_LOCK_SPACE

inline constexpr Sql kCompareAndSetUser{
    "ua_cas_user",
    "UPDATE users SET username = $2, email = $3, name = $4, organization_id = $5, status = $6, suspended_at = $7,"
    " suspended_by = $8, suspended_by_org_id = $9, tokens_valid_after = $10, updated_at = $11, version = $12,"
    " external_id = $14 WHERE id = $1 AND version = $13"};

inline constexpr Sql kSelectRoles{"ua_select_roles",
                                  "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY position"};

inline constexpr Sql kCompareAndSetOrganization{
    "ua_cas_org",
    "UPDATE organizations SET name = $2, type = $3, parent_id = $4, suspended = $5, deleted = $6,"
    " suspended_at = $7, suspended_by = $8, updated_at = $9, version = $10 WHERE id = $1 AND version = $11"};

inline constexpr Sql kInsertAudit{
    "ua_insert_audit",
    "INSERT INTO audit_events (time, action, actor_id, target_id, outcome, reason, request_id, client_address, note,"
    " target_type, target_organization_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"};

// The non-deleted subtree of $1, each organization with `blocker`: the
// nearest suspended organization at or above it but below $1. $10 bounds
// the depth so a damaged cyclic tree cannot loop.
#define USERADMIN_PG_SUBTREE(depth)                                                                   \
  "WITH RECURSIVE subtree (id, blocker, depth) AS ("                                                 \
  " SELECT id, NULL::text COLLATE \"C\", 0 FROM organizations WHERE id = $1 AND NOT deleted"          \
  " UNION ALL"                                                                                        \
  " SELECT o.id, CASE WHEN o.suspended THEN o.id ELSE subtree.blocker END, subtree.depth + 1"         \
  "   FROM organizations AS o JOIN subtree ON o.parent_id = subtree.id"                               \
  "  WHERE NOT o.deleted AND subtree.depth < " depth ")"

// The changed users' directory outbox entries when $11 (the cascade's
// queue_directory_updates), then their audit events: $2 time, $3 action, $4 actor, $5 outcome,
// $6 reason, $7 request id, $8 client address, $9 note.
#define USERADMIN_PG_CASCADE_EVENTS(status)                                                              \
  ", outbox AS (INSERT INTO directory_outbox (user_id, external_id, status, user_version, enqueued_at,"   \
  "   next_attempt_at, attempts, last_error)"                                                             \
  "  SELECT c.id, COALESCE(c.external_id, c.id), '" status "', c.version, $2, $2, 0, '' FROM changed AS c" \
  "   WHERE $11::boolean ORDER BY c.id"                                                                     \
  "  ON CONFLICT (user_id) DO UPDATE SET id = DEFAULT, external_id = excluded.external_id,"                \
  "   status = excluded.status, user_version = excluded.user_version,"                                     \
  "   next_attempt_at = excluded.next_attempt_at, attempts = 0, last_error = '')"                          \
  ", events AS (INSERT INTO audit_events (time, action, actor_id, target_type, target_id,"              \
  "   target_organization_id, outcome, reason, request_id, client_address, note)"                       \
  "  SELECT $2, $3, $4, 'user', c.id, c.organization_id, $5, $6, $7, $8, $9 FROM changed AS c ORDER BY c.id)" \
  " SELECT id FROM changed ORDER BY id"

// Lifecycle 3.2 in one statement: the UPDATE locks every row it changes.
inline constexpr Sql kSuspendCascade{
    "ua_suspend_cascade",
    USERADMIN_PG_SUBTREE("$10")
    ", changed AS (UPDATE users SET status = 'suspended', suspended_at = $2, suspended_by = $4,"
    "   suspended_by_org_id = $1, tokens_valid_after = $2, updated_at = $2, version = version + 1"
    "  WHERE status = 'active' AND organization_id IN (SELECT id FROM subtree)"
    "  RETURNING id, organization_id, external_id, version)"
    USERADMIN_PG_CASCADE_EVENTS("suspended")};

// Lifecycle 4.3, the users that become active.
inline constexpr Sql kReactivateCascade{
    "ua_reactivate_cascade",
    USERADMIN_PG_SUBTREE("$10")
    ", changed AS (UPDATE users SET status = 'active', suspended_at = NULL, suspended_by = NULL,"
    "   suspended_by_org_id = NULL, updated_at = $2, version = version + 1"
    "  WHERE suspended_by_org_id = $1 AND status = 'suspended'"
    "    AND organization_id IN (SELECT id FROM subtree WHERE blocker IS NULL)"
    "  RETURNING id, organization_id, external_id, version)"
    USERADMIN_PG_CASCADE_EVENTS("active")};

// Lifecycle 4.3, the users below a still-suspended organization: they stay
// suspended on behalf of the nearest one. $2 time, $3 the depth bound.
inline constexpr Sql kReassignCascade{
    "ua_reassign_cascade",
    USERADMIN_PG_SUBTREE("$3")
    " UPDATE users SET suspended_by_org_id = (SELECT blocker FROM subtree WHERE subtree.id = users.organization_id),"
    "   updated_at = $2, version = version + 1"
    " WHERE suspended_by_org_id = $1 AND status = 'suspended'"
    "   AND organization_id IN (SELECT id FROM subtree WHERE blocker IS NOT NULL)"};

#undef USERADMIN_PG_CASCADE_EVENTS
#undef USERADMIN_PG_SUBTREE

// The organizations at and below $1; with $2 true, deleted ones (and all
// below them) left out. UNION ends a cycle in a damaged tree.
inline constexpr Sql kSelectSubtree{
    "ua_select_subtree",
    "WITH RECURSIVE subtree (id) AS ("
    " SELECT id FROM organizations WHERE id = $1 AND (NOT $2::boolean OR NOT deleted)"
    " UNION"
    " SELECT o.id FROM organizations AS o JOIN subtree AS s ON o.parent_id = s.id WHERE NOT $2::boolean OR NOT o.deleted)"
    " SELECT id FROM subtree"};

// A page of users of the organizations in $1 (an array): $2 status or NULL
// for active and suspended, $3 after, $4 limit. The planner walks
// users_by_organization per organization or users_by_status, whichever
// its statistics favour.
inline constexpr Sql kUserPage{
    "ua_user_page",
    "SELECT " USERADMIN_PG_USER_COLUMNS
    ", ARRAY(SELECT r.role FROM user_roles AS r WHERE r.user_id = u.id ORDER BY r.position) FROM users AS u"
    " WHERE u.organization_id = ANY ($1::text[])"
    "   AND (($2::text IS NULL AND u.status IN ('active', 'suspended')) OR u.status = $2)"
    "   AND u.id > $3 ORDER BY u.id LIMIT $4"};

// A page of audit events after the position ($1, $2), below the horizon:
// the oldest transaction still running when this read's snapshot was
// taken. $3 target, $4 actor, $5 action, $6 organization subtree (array)
// or NULL, $7 limit.
inline constexpr Sql kAuditPage{
    "ua_audit_page",
    "SELECT " USERADMIN_PG_AUDIT_COLUMNS " FROM audit_events"
    " WHERE (horizon_key, id) > ($1::bigint, $2::bigint)"
    "   AND horizon_key < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    "   AND ($3::text IS NULL OR target_id = $3) AND ($4::text IS NULL OR actor_id = $4)"
    "   AND ($5::text IS NULL OR action = $5)"
    "   AND ($6::text[] IS NULL OR target_organization_id = ANY ($6::text[]))"
    " ORDER BY horizon_key, id LIMIT $7"};

// Seeds, in bulk from arrays.
inline constexpr Sql kSelectOrganizations{"ua_select_orgs", "SELECT " USERADMIN_PG_ORG_COLUMNS " FROM organizations"};
inline constexpr Sql kAnyUser{"ua_any_user", "SELECT EXISTS (SELECT 1 FROM users)"};
inline constexpr Sql kDistinctRoles{"ua_distinct_roles", "SELECT DISTINCT role FROM user_roles"};
inline constexpr Sql kUserWithRole{"ua_user_with_role",
                                   "SELECT user_id FROM user_roles WHERE role = $1 ORDER BY user_id LIMIT 1"};

inline constexpr Sql kUpsertOrganizations{
    "ua_upsert_orgs",
    "INSERT INTO organizations (" USERADMIN_PG_ORG_COLUMNS ")"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::boolean[],"
    "                      $7::bigint[], $8::text[], $9::bigint[], $10::bigint[])"
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, parent_id = excluded.parent_id,"
    "  suspended = excluded.suspended, deleted = excluded.deleted, suspended_at = excluded.suspended_at,"
    "  suspended_by = excluded.suspended_by, updated_at = excluded.updated_at, version = excluded.version"};

inline constexpr Sql kUpsertUsers{
    "ua_upsert_users",
    "INSERT INTO users (id, username, email, name, organization_id, status, suspended_at, suspended_by,"
    "                   suspended_by_org_id, tokens_valid_after, updated_at, version, external_id)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],"
    "                      $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[])"
    " ON CONFLICT (id) DO UPDATE SET username = excluded.username, email = excluded.email, name = excluded.name,"
    "  organization_id = excluded.organization_id, status = excluded.status, suspended_at = excluded.suspended_at,"
    "  suspended_by = excluded.suspended_by, suspended_by_org_id = excluded.suspended_by_org_id,"
    "  tokens_valid_after = excluded.tokens_valid_after, updated_at = excluded.updated_at,"
    "  version = excluded.version, external_id = excluded.external_id"};

inline constexpr Sql kDeleteRolesOf{"ua_delete_roles_of", "DELETE FROM user_roles WHERE user_id = ANY ($1::text[])"};
inline constexpr Sql kInsertRoles{
    "ua_insert_roles",
    "INSERT INTO user_roles (user_id, position, role) SELECT * FROM unnest($1::text[], $2::integer[], $3::text[])"};

// The directory outbox. Queueing replaces a user's pending entry (a new
// id: the latest state wins) and keeps its first enqueue time.
inline constexpr Sql kQueueOutbox{
    "ua_queue_outbox",
    "INSERT INTO directory_outbox (user_id, external_id, status, user_version, enqueued_at, next_attempt_at,"
    " attempts, last_error) VALUES ($1, $2, $3, $4, $5, $6, 0, '')"
    " ON CONFLICT (user_id) DO UPDATE SET id = DEFAULT, external_id = excluded.external_id,"
    "  status = excluded.status, user_version = excluded.user_version,"
    "  next_attempt_at = excluded.next_attempt_at, attempts = 0, last_error = ''"};
inline constexpr Sql kClaimOutbox{
    "ua_claim_outbox",
    "SELECT id, user_id, external_id, status, user_version, enqueued_at, next_attempt_at, attempts, last_error"
    "  FROM directory_outbox WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"};
inline constexpr Sql kDeleteOutbox{"ua_delete_outbox", "DELETE FROM directory_outbox WHERE id = ANY ($1::bigint[])"};
inline constexpr Sql kRescheduleOutbox{
    "ua_reschedule_outbox",
    "UPDATE directory_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1"};
inline constexpr Sql kOutboxStats{"ua_outbox_stats",
                                  "SELECT count(*), min(enqueued_at), min(next_attempt_at) FROM directory_outbox"};

inline constexpr Sql kPing{"ua_ping", "SELECT 1"};

#undef USERADMIN_PG_USER_COLUMNS
#undef USERADMIN_PG_ORG_COLUMNS
#undef USERADMIN_PG_AUDIT_COLUMNS

/// Every statement above, prepared on each connection.
inline std::vector<const Sql*> all() {
  return {&kSelectUser,     &kSelectChain, &kLockChainShared, &kLockOrganization,         &kCompareAndSetUser, &kSelectRoles,
          &kCompareAndSetOrganization, &kInsertAudit, &kSuspendCascade, &kReactivateCascade, &kReassignCascade,
          &kSelectSubtree,  &kUserPage,            &kAuditPage,         &kSelectOrganizations, &kAnyUser,
          &kDistinctRoles,  &kUserWithRole,        &kUpsertOrganizations, &kUpsertUsers,     &kDeleteRolesOf,
          &kInsertRoles,    &kQueueOutbox, &kClaimOutbox, &kDeleteOutbox, &kRescheduleOutbox,
          &kOutboxStats,    &kPing};
}

}  // namespace useradmin::pg::sql

#endif  // USERADMIN_LIB_POSTGRES_STATEMENTS_HPP
