#include "rows.hpp"

#include <limits>
#include <string>

namespace useradmin::detail {

namespace {

// One row per role (or one row with a NULL role), in position order.
constexpr const char* kSelectUser = R"sql(
SELECT u.id, u.username, u.email, u.name, u.organization_id, u.status, u.suspended_at, u.suspended_by,
       u.suspended_by_org_id, u.tokens_valid_after, u.updated_at, u.version, u.external_id, r.role
  FROM users AS u LEFT JOIN user_roles AS r ON r.user_id = u.id
 WHERE u.id = ?1
 ORDER BY r.position)sql";

// Walks up by primary-key lookups; the depth bound stops a cycle. One row
// more than kMaxChainLength can come back, which is how a cycle is told
// apart from a chain that simply ends at a missing parent.
constexpr const char* kSelectChain = R"sql(
WITH RECURSIVE chain (depth, id, name, type, parent_id, suspended, deleted, suspended_at, suspended_by, updated_at,
                      version) AS (
  SELECT 0, id, name, type, parent_id, suspended, deleted, suspended_at, suspended_by, updated_at, version
    FROM organizations WHERE id = ?1
  UNION ALL
  SELECT chain.depth + 1, o.id, o.name, o.type, o.parent_id, o.suspended, o.deleted, o.suspended_at, o.suspended_by,
         o.updated_at, o.version
    FROM chain JOIN organizations AS o ON o.id = chain.parent_id
   WHERE chain.depth < ?2
)
SELECT id, name, type, parent_id, suspended, deleted, suspended_at, suspended_by, updated_at, version
  FROM chain ORDER BY depth)sql";

constexpr const char* kCompareAndSetUser = R"sql(
UPDATE users
   SET username = ?2, email = ?3, name = ?4, organization_id = ?5, status = ?6, suspended_at = ?7,
       suspended_by = ?8, suspended_by_org_id = ?9, tokens_valid_after = ?10, updated_at = ?11, version = ?12,
       external_id = ?14
 WHERE id = ?1 AND version = ?13)sql";

// The compare-and-set of a lifecycle change (suspend, reactivate): the same
// row as kCompareAndSetUser writes, provided the columns it leaves out hold
// the values `user` has. SQLite maintains only the indexes and checks only
// the foreign keys whose columns appear in SET, so leaving the identity
// columns, organization_id and suspended_by_org_id out spares the
// users_by_organization and users_by_suspending_organization entries and
// both foreign-key lookups; comparing them in WHERE costs a few opcodes.
// No row changed means a different version or a different value in one of
// those columns; kCompareAndSetUser then decides.
constexpr const char* kCompareAndSetLifecycle = R"sql(
UPDATE users
   SET status = ?6, suspended_at = ?7, suspended_by = ?8, tokens_valid_after = ?10, updated_at = ?11, version = ?12
 WHERE id = ?1 AND version = ?13 AND organization_id = ?5 AND suspended_by_org_id IS ?9 AND username = ?2
   AND email = ?3 AND name = ?4 AND external_id IS ?14)sql";

constexpr const char* kSelectRoles = "SELECT role FROM user_roles WHERE user_id = ?1 ORDER BY position";
constexpr const char* kDeleteRoles = "DELETE FROM user_roles WHERE user_id = ?1";
constexpr const char* kInsertRole = "INSERT INTO user_roles (user_id, position, role) VALUES (?1, ?2, ?3)";

constexpr const char* kInsertAudit = R"sql(
INSERT INTO audit_events (time, action, actor_id, target_id, outcome, reason, request_id, client_address, note,
                          target_type, target_organization_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11))sql";

constexpr const char* kUpsertOrganization = R"sql(
INSERT INTO organizations (id, name, type, parent_id, suspended, deleted, suspended_at, suspended_by, updated_at,
                           version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (id) DO UPDATE
   SET name = excluded.name, type = excluded.type, parent_id = excluded.parent_id,
       suspended = excluded.suspended, deleted = excluded.deleted, suspended_at = excluded.suspended_at,
       suspended_by = excluded.suspended_by, updated_at = excluded.updated_at, version = excluded.version)sql";

constexpr const char* kCompareAndSetOrganization = R"sql(
UPDATE organizations
   SET name = ?2, type = ?3, parent_id = ?4, suspended = ?5, deleted = ?6, suspended_at = ?7, suspended_by = ?8,
       updated_at = ?9, version = ?10
 WHERE id = ?1 AND version = ?11)sql";

constexpr const char* kUpsertUser = R"sql(
INSERT INTO users (id, username, email, name, organization_id, status, suspended_at, suspended_by,
                   suspended_by_org_id, tokens_valid_after, updated_at, version, external_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14)
ON CONFLICT (id) DO UPDATE
   SET username = excluded.username, email = excluded.email, name = excluded.name,
       organization_id = excluded.organization_id, status = excluded.status,
       suspended_at = excluded.suspended_at, suspended_by = excluded.suspended_by,
       suspended_by_org_id = excluded.suspended_by_org_id, tokens_valid_after = excluded.tokens_valid_after,
       updated_at = excluded.updated_at, version = excluded.version, external_id = excluded.external_id)sql";

Error corruptRow(const std::string& what, const std::string& value) {
  return Error::internal("unreadable row: " + what + " '" + value + "'");
}

// Binds ?2..?12 and ?14 of the user statements (?1 is the id; ?13 is the
// compare-and-set's expected version).
void bindUserFields(StatementUse& st, const User& user) {
  st.bindText(2, user.username);
  st.bindText(3, user.email);
  st.bindText(4, user.name);
  st.bindText(5, user.organization_id);
  st.bindText(6, toString(user.status));
  st.bindOptTime(7, user.suspended_at);
  st.bindOptText(8, user.suspended_by);
  st.bindOptText(9, user.suspended_by_org_id);
  st.bindOptTime(10, user.tokens_valid_after);
  st.bindInt(11, toMillis(user.updated_at));
  st.bindInt(12, user.version);
  st.bindOptText(14, user.external_id);
}

// Binds ?2..?10 of the organization statements (?1 is the id).
void bindOrganizationFields(StatementUse& st, const Organization& org) {
  st.bindText(2, org.name);
  st.bindText(3, toString(org.type));
  st.bindOptText(4, org.parent_id);
  st.bindInt(5, org.suspended ? 1 : 0);
  st.bindInt(6, org.deleted ? 1 : 0);
  st.bindOptTime(7, org.suspended_at);
  st.bindOptText(8, org.suspended_by);
  st.bindInt(9, toMillis(org.updated_at));
  st.bindInt(10, org.version);
}

Status insertRoles(Connection& c, const User& user) {
  for (std::size_t i = 0; i < user.roles.size(); ++i) {
    auto st = c.statement(kInsertRole);
    if (!st) return std::move(st).error();
    st->bindText(1, user.id);
    st->bindInt(2, static_cast<std::int64_t>(i));
    st->bindText(3, user.roles[i]);
    if (Status done = st->run("inserting a user role"); !done) return done;
  }
  return okStatus();
}

Status replaceRoles(Connection& c, const User& user) {
  {
    auto st = c.statement(kDeleteRoles);
    if (!st) return std::move(st).error();
    st->bindText(1, user.id);
    if (Status done = st->run("deleting user roles"); !done) return done;
  }
  return insertRoles(c, user);
}

}  // namespace

Result<User> readUserRow(StatementUse& st) {
  User u;
  u.id = st.text(0);
  u.username = st.text(1);
  u.email = st.text(2);
  u.name = st.text(3);
  u.organization_id = st.text(4);
  const std::string status = st.text(5);
  const auto parsed = parseUserStatus(status);
  if (!parsed) return corruptRow("user status", status);
  u.status = *parsed;
  u.suspended_at = st.optionalTime(6);
  u.suspended_by = st.optionalText(7);
  u.suspended_by_org_id = st.optionalText(8);
  u.tokens_valid_after = st.optionalTime(9);
  u.updated_at = timestampFromMillis(st.integer(10));
  u.version = st.integer(11);
  u.external_id = st.optionalText(12);
  return u;
}

Result<std::optional<User>> selectUser(Connection& c, std::string_view id) {
  auto st = c.statement(kSelectUser);
  if (!st) return std::move(st).error();
  st->bindText(1, id);
  std::optional<User> user;
  while (true) {
    auto row = st->next("reading a user");
    if (!row) return std::move(row).error();
    if (!*row) break;
    if (!user) {
      auto read = readUserRow(*st);
      if (!read) return std::move(read).error();
      user = std::move(*read);
    }
    if (!st->isNull(13)) user->roles.push_back(st->text(13));
  }
  return user;
}

Result<std::vector<std::string>> selectRoles(Connection& c, std::string_view user_id) {
  auto st = c.statement(kSelectRoles);
  if (!st) return std::move(st).error();
  st->bindText(1, user_id);
  std::vector<std::string> roles;
  while (true) {
    auto row = st->next("reading user roles");
    if (!row) return std::move(row).error();
    if (!*row) break;
    roles.push_back(st->text(0));
  }
  return roles;
}

Result<Organization> readOrganization(StatementUse& st) {
  Organization org;
  org.id = st.text(0);
  org.name = st.text(1);
  const std::string type = st.text(2);
  const auto parsed = parseOrgType(type);
  if (!parsed) return corruptRow("organization type", type);
  org.type = *parsed;
  org.parent_id = st.optionalText(3);
  org.suspended = st.integer(4) != 0;
  org.deleted = st.integer(5) != 0;
  org.suspended_at = st.optionalTime(6);
  org.suspended_by = st.optionalText(7);
  org.updated_at = timestampFromMillis(st.integer(8));
  org.version = st.integer(9);
  return org;
}

Result<std::vector<Organization>> selectChain(Connection& c, std::string_view id) {
  auto st = c.statement(kSelectChain);
  if (!st) return std::move(st).error();
  st->bindText(1, id);
  st->bindInt(2, kMaxChainLength);
  std::vector<Organization> chain;
  while (true) {
    auto row = st->next("reading an organization chain");
    if (!row) return std::move(row).error();
    if (!*row) break;
    auto org = readOrganization(*st);
    if (!org) return std::move(org).error();
    chain.push_back(std::move(*org));
  }
  if (chain.empty() || !chain.back().parent_id) return chain;
  if (static_cast<std::int64_t>(chain.size()) > kMaxChainLength)
    return Error::internal("organization chain too long (cycle?) at " + chain.back().id);
  return Error::internal("organization chain broken at " + *chain.back().parent_id);
}

Result<bool> compareAndSetUser(Connection& c, const User& user, std::int64_t expected_version,
                               const std::vector<std::string>* stored_roles) {
  for (const char* sql : {kCompareAndSetLifecycle, kCompareAndSetUser}) {
    {
      auto st = c.statement(sql);
      if (!st) return std::move(st).error();
      st->bindText(1, user.id);
      bindUserFields(*st, user);
      st->bindInt(13, expected_version);
      if (Status done = st->run("updating a user"); !done) return std::move(done).error();
    }
    if (c.changes() == 1) break;
    if (sql == kCompareAndSetUser) return false;
  }

  // Roles rarely change with a compare-and-set (never on reactivation), so
  // compare first and write only when they differ.
  if (stored_roles != nullptr) {
    if (*stored_roles != user.roles) {
      if (Status replaced = replaceRoles(c, user); !replaced) return std::move(replaced).error();
    }
    return true;
  }
  auto stored = selectRoles(c, user.id);
  if (!stored) return std::move(stored).error();
  if (*stored != user.roles) {
    if (Status replaced = replaceRoles(c, user); !replaced) return std::move(replaced).error();
  }
  return true;
}

Status insertAudit(Connection& c, const AuditEvent& event) {
  auto st = c.statement(kInsertAudit);
  if (!st) return std::move(st).error();
  st->bindInt(1, toMillis(event.time));
  st->bindText(2, event.action);
  st->bindText(3, event.actor_id);
  st->bindText(4, event.target_id);
  st->bindText(5, event.outcome);
  st->bindText(6, event.reason);
  st->bindText(7, event.request_id);
  st->bindText(8, event.client_address);
  st->bindText(9, event.note);
  st->bindText(10, event.target_type);
  st->bindOptText(11, event.target_organization_id);
  return st->run("appending an audit event");
}

Status upsertOrganization(Connection& c, const Organization& org) {
  auto st = c.statement(kUpsertOrganization);
  if (!st) return std::move(st).error();
  st->bindText(1, org.id);
  bindOrganizationFields(*st, org);
  return st->run("writing organization " + org.id);
}

Result<bool> compareAndSetOrganization(Connection& c, const Organization& org, std::int64_t expected_version) {
  auto st = c.statement(kCompareAndSetOrganization);
  if (!st) return std::move(st).error();
  st->bindText(1, org.id);
  bindOrganizationFields(*st, org);
  st->bindInt(11, expected_version);
  if (Status done = st->run("updating an organization"); !done) return std::move(done).error();
  return c.changes() == 1;
}

Status upsertUser(Connection& c, const User& user, bool fresh) {
  {
    auto st = c.statement(kUpsertUser);
    if (!st) return std::move(st).error();
    st->bindText(1, user.id);
    bindUserFields(*st, user);
    if (Status done = st->run("writing a user"); !done) {
      Error error = std::move(done).error();
      error.detail += " (user " + user.id + ")";
      return error;
    }
  }
  return fresh ? insertRoles(c, user) : replaceRoles(c, user);
}

}  // namespace useradmin::detail
