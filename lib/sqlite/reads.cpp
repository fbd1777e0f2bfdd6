#include "reads.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "rows.hpp"

namespace useradmin::detail {

namespace {

// The organizations at and below ?1; with ?2 = 1, deleted ones (and all
// below them) are left out. UNION, not UNION ALL: a cycle in a damaged
// database ends instead of looping.
constexpr const char* kSelectSubtree = R"sql(
WITH RECURSIVE subtree (id) AS (
  SELECT id FROM organizations WHERE id = ?1 AND (?2 = 0 OR deleted = 0)
  UNION
  SELECT o.id FROM organizations AS o JOIN subtree AS s ON o.parent_id = s.id WHERE ?2 = 0 OR o.deleted = 0
)
SELECT id FROM subtree)sql";

constexpr const char* kCountOrganizations = "SELECT count(*) FROM organizations";

#define USERADMIN_USER_COLUMNS                                                                       \
  "SELECT id, username, email, name, organization_id, status, suspended_at, suspended_by, "          \
  "suspended_by_org_id, tokens_valid_after, updated_at, version, external_id FROM users "

// One organization's users (of one status, or every listed one) in id
// order: a range of the index users_by_organization (organization_id, id)
// from `after`, the status checked on each row (`+status`: never
// users_by_status, which would walk every user of that status).
constexpr const char* kOrgUsers =
    USERADMIN_USER_COLUMNS "WHERE organization_id = ?1 AND +status = ?2 AND id > ?3 ORDER BY id LIMIT ?4";
constexpr const char* kOrgListedUsers =
    USERADMIN_USER_COLUMNS "WHERE organization_id = ?1 AND +status <> 'deleted' AND id > ?3 ORDER BY id LIMIT ?4";
// All users in id order; the caller stops stepping when its page is full.
// (index users_by_status (status, id), or the primary key).
constexpr const char* kAllUsersWithStatus = USERADMIN_USER_COLUMNS "WHERE status = ?2 AND id > ?3 ORDER BY id";
constexpr const char* kAllUsers = USERADMIN_USER_COLUMNS "WHERE +status <> 'deleted' AND id > ?3 ORDER BY id";

#undef USERADMIN_USER_COLUMNS

#define USERADMIN_AUDIT_COLUMNS                                                                        \
  "SELECT id, time, action, actor_id, target_type, target_id, target_organization_id, outcome, reason, " \
  "request_id, client_address, note FROM audit_events "

constexpr const char* kAuditByTarget = USERADMIN_AUDIT_COLUMNS "WHERE target_id = ?2 AND id > ?1 ORDER BY id";
constexpr const char* kAuditByActor = USERADMIN_AUDIT_COLUMNS "WHERE actor_id = ?2 AND id > ?1 ORDER BY id";
constexpr const char* kAuditAll = USERADMIN_AUDIT_COLUMNS "WHERE id > ?1 ORDER BY id";

#undef USERADMIN_AUDIT_COLUMNS

using IdSet = std::unordered_set<std::string>;

Result<std::vector<std::string>> selectSubtree(Connection& c, const std::string& root, bool skip_deleted) {
  auto st = c.statement(kSelectSubtree);
  if (!st) return std::move(st).error();
  st->bindText(1, root);
  st->bindInt(2, skip_deleted ? 1 : 0);
  std::vector<std::string> ids;
  while (true) {
    auto row = st->next("reading an organization subtree");
    if (!row) return std::move(row).error();
    if (!*row) return ids;
    ids.push_back(st->text(0));
  }
}

// Binds the page's shared parameters: ?2 status (when filtered), ?3 after.
void bindUserFilters(StatementUse& st, std::optional<UserStatus> status, const UserQuery& q) {
  if (status) st.bindText(2, toString(*status));
  if (q.after) st.bindText(3, *q.after);
  else st.bindText(3, "");  // every id is longer than the empty string
}

// Steps `st` and keeps up to `want` users whose organization is in `orgs`
// (null: any), with their roles.
Status collectUsers(StatementUse& st, const IdSet* orgs, std::size_t want, std::vector<User>& out) {
  while (out.size() < want) {
    auto row = st.next("reading a page of users");
    if (!row) return std::move(row).error();
    if (!*row) break;
    if (orgs != nullptr && orgs->count(st.text(4)) == 0) continue;
    auto user = readUserRow(st);
    if (!user) return std::move(user).error();
    out.push_back(std::move(*user));
  }
  return okStatus();
}

Status addRoles(Connection& c, std::vector<User>& users) {
  for (User& user : users) {
    auto roles = selectRoles(c, user.id);
    if (!roles) return std::move(roles).error();
    user.roles = std::move(*roles);
  }
  return okStatus();
}

Status pageByOrganization(Connection& c, const UserQuery& q, const std::vector<std::string>& orgs, std::size_t want,
                          std::vector<User>& out) {
  // Without a filter, a listing is every user but the deleted ones.
  for (const std::string& org : orgs) {
    auto st = c.statement(q.status ? kOrgUsers : kOrgListedUsers);
    if (!st) return std::move(st).error();
    st->bindText(1, org);
    bindUserFilters(*st, q.status, q);
    st->bindInt(4, static_cast<std::int64_t>(want));
    if (Status got = collectUsers(*st, nullptr, out.size() + want, out); !got) return got;
  }
  std::sort(out.begin(), out.end(), [](const User& a, const User& b) { return a.id < b.id; });
  if (out.size() > want) out.resize(want);
  return okStatus();
}

Status pageByScan(Connection& c, const UserQuery& q, const std::vector<std::string>& orgs, std::size_t want,
                  std::vector<User>& out) {
  const IdSet members(orgs.begin(), orgs.end());
  auto st = c.statement(q.status ? kAllUsersWithStatus : kAllUsers);
  if (!st) return std::move(st).error();
  bindUserFilters(*st, q.status, q);
  return collectUsers(*st, &members, want, out);
}

Result<AuditEvent> readAuditRow(StatementUse& st) {
  AuditEvent e;
  e.id = st.integer(0);
  e.cursor = AuditCursor{0, e.id};
  e.time = timestampFromMillis(st.integer(1));
  e.action = st.text(2);
  e.actor_id = st.text(3);
  e.target_type = st.text(4);
  e.target_id = st.text(5);
  e.target_organization_id = st.optionalText(6);
  e.outcome = st.text(7);
  e.reason = st.text(8);
  e.request_id = st.text(9);
  e.client_address = st.text(10);
  e.note = st.text(11);
  return e;
}

bool matches(const AuditEvent& e, const AuditQuery& q, const IdSet* orgs) {
  if (!q.matchesFilters(e)) return false;
  return orgs == nullptr || (e.target_organization_id && orgs->count(*e.target_organization_id) != 0);
}

}  // namespace

Result<UserPage> selectUserPage(Connection& c, const UserQuery& q) {
  UserPage page;
  if (q.limit == 0) return page;
  // Below a deleted organization everything is invisible.
  auto chain = selectChain(c, q.organization_id);
  if (!chain) return std::move(chain).error();
  if (std::any_of(chain->begin(), chain->end(), [](const Organization& o) { return o.deleted; })) return page;
  auto orgs = selectSubtree(c, q.organization_id, true);
  if (!orgs) return std::move(orgs).error();
  if (orgs->empty()) return page;
  auto total = c.queryInteger(kCountOrganizations, "counting organizations");
  if (!total) return std::move(total).error();
  const auto subtree = static_cast<std::int64_t>(orgs->size());
  // One row more than the page tells whether another page follows.
  const std::size_t want = q.limit + 1;
  Status got = subtree * subtree <= *total ? pageByOrganization(c, q, *orgs, want, page.users)
                                           : pageByScan(c, q, *orgs, want, page.users);
  if (!got) return std::move(got).error();
  if (page.users.size() > q.limit) {
    page.users.resize(q.limit);
    page.next_after = page.users.back().id;
  }
  if (Status roles = addRoles(c, page.users); !roles) return std::move(roles).error();
  return page;
}

Result<AuditPage> selectAuditPage(Connection& c, const AuditQuery& q) {
  AuditPage page;
  if (q.limit == 0) return page;
  // Every cursor of this store has horizon_key 0; a larger key lies beyond
  // every event here.
  if (q.after && q.after->horizon_key > 0) return page;
  std::optional<IdSet> orgs;
  if (q.within_organization) {
    auto ids = selectSubtree(c, *q.within_organization, false);
    if (!ids) return std::move(ids).error();
    orgs.emplace(ids->begin(), ids->end());
  }
  auto st = c.statement(q.target_id ? kAuditByTarget : q.actor_id ? kAuditByActor : kAuditAll);
  if (!st) return std::move(st).error();
  st->bindInt(1, q.after && q.after->horizon_key == 0 ? q.after->event_id : 0);
  if (q.target_id) st->bindText(2, *q.target_id);
  else if (q.actor_id) st->bindText(2, *q.actor_id);
  while (true) {
    auto row = st->next("reading audit events");
    if (!row) return std::move(row).error();
    if (!*row) break;
    auto event = readAuditRow(*st);
    if (!event) return std::move(event).error();
    if (!matches(*event, q, orgs ? &*orgs : nullptr)) continue;
    if (page.events.size() == q.limit) {
      page.next_after = page.events.back().cursor;
      break;
    }
    page.events.push_back(std::move(*event));
  }
  return page;
}

}  // namespace useradmin::detail
