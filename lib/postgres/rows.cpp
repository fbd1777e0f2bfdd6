#include "rows.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <utility>

#include "statements.hpp"

namespace useradmin::pg {

namespace {

Error corruptRow(const std::string& what, const std::string& value) {
  return Error::internal("unreadable row: " + what + " '" + value + "'");
}

// The columns of USERADMIN_PG_USER_COLUMNS from `first` on.
Result<User> readUser(const ResultSet& r, int row) {
  User u;
  u.id = r.text(row, 0);
  u.username = r.text(row, 1);
  u.email = r.text(row, 2);
  u.name = r.text(row, 3);
  u.organization_id = r.text(row, 4);
  const std::string status = r.text(row, 5);
  const auto parsed = parseUserStatus(status);
  if (!parsed) return corruptRow("user status", status);
  u.status = *parsed;
  u.suspended_at = r.optTime(row, 6);
  u.suspended_by = r.optText(row, 7);
  u.suspended_by_org_id = r.optText(row, 8);
  u.tokens_valid_after = r.optTime(row, 9);
  u.updated_at = timestampFromMillis(r.integer(row, 10));
  u.version = r.integer(row, 11);
  u.external_id = r.optText(row, 12);
  return u;
}

Result<Organization> readOrganization(const ResultSet& r, int row) {
  Organization org;
  org.id = r.text(row, 0);
  org.name = r.text(row, 1);
  const std::string type = r.text(row, 2);
  const auto parsed = parseOrgType(type);
  if (!parsed) return corruptRow("organization type", type);
  org.type = *parsed;
  org.parent_id = r.optText(row, 3);
  org.suspended = r.boolean(row, 4);
  org.deleted = r.boolean(row, 5);
  org.suspended_at = r.optTime(row, 6);
  org.suspended_by = r.optText(row, 7);
  org.updated_at = timestampFromMillis(r.integer(row, 8));
  org.version = r.integer(row, 9);
  return org;
}

Params& organizationFields(Params& p, const Organization& org) {
  return p.text(org.id)
      .text(org.name)
      .text(toString(org.type))
      .optText(org.parent_id)
      .boolean(org.suspended)
      .boolean(org.deleted)
      .optTime(org.suspended_at)
      .optText(org.suspended_by)
      .time(org.updated_at)
      .integer(org.version);
}

std::optional<std::string> optMillis(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return std::to_string(toMillis(*t));
}

Status writeRoles(Connection& c, const std::vector<std::optional<std::string>>& users,
                  const std::vector<std::optional<std::string>>& positions,
                  const std::vector<std::optional<std::string>>& roles) {
  if (users.empty()) return okStatus();
  Params p;
  p.text(arrayLiteral(users)).text(arrayLiteral(positions)).text(arrayLiteral(roles));
  auto r = c.run(sql::kInsertRoles, p, "inserting user roles");
  if (!r) return std::move(r).error();
  return okStatus();
}

Status replaceRoles(Connection& c, const User& user) {
  Params del;
  del.text(arrayLiteral({user.id}));
  if (auto r = c.run(sql::kDeleteRolesOf, del, "deleting user roles"); !r) return std::move(r).error();
  std::vector<std::optional<std::string>> ids, positions, roles;
  for (std::size_t i = 0; i < user.roles.size(); ++i) {
    ids.emplace_back(user.id);
    positions.emplace_back(std::to_string(i));
    roles.emplace_back(user.roles[i]);
  }
  return writeRoles(c, ids, positions, roles);
}

Params cascadeParams(const Cascade& cascade) {
  const AuditEvent& e = cascade.event;
  Params p;
  p.text(cascade.organization_id)
      .time(cascade.time)
      .text(e.action)
      .text(cascade.actor_id)
      .text(e.outcome)
      .text(e.reason)
      .text(e.request_id)
      .text(e.client_address)
      .text(e.note)
      .integer(sql::kMaxChainLength)
      .boolean(cascade.queue_directory_updates);
  return p;
}

Result<std::vector<std::string>> idsOf(Result<ResultSet> r) {
  if (!r) return std::move(r).error();
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) ids.push_back(r->text(i, 0));
  std::sort(ids.begin(), ids.end());  // byte order, as the contract says
  return ids;
}

Result<std::vector<std::string>> selectSubtree(Connection& c, const std::string& root, bool skip_deleted) {
  Params p;
  p.text(root).boolean(skip_deleted);
  auto r = c.run(sql::kSelectSubtree, p, "reading an organization subtree");
  if (!r) return std::move(r).error();
  std::vector<std::string> ids;
  for (int i = 0; i < r->rows(); ++i) ids.push_back(r->text(i, 0));
  return ids;
}

std::string idArray(const std::vector<std::string>& ids) {
  std::vector<std::optional<std::string>> values(ids.begin(), ids.end());
  return arrayLiteral(values);
}

// --- seed ---

Error fixtureError(std::string key, std::string message, std::string value = {}) {
  return Error::invalidArgument({std::move(key), std::move(message), std::move(value)}, "invalid_fixture");
}

template <class Entry>
Status checkIds(const std::vector<Entry>& entries, const char* kind) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(entries.size());
  for (const auto& entry : entries) {
    if (!isValidId(entry.id)) return fixtureError(std::string(kind) + "[" + entry.id + "]", "invalid id", entry.id);
    if (!seen.insert(entry.id).second)
      return fixtureError(std::string(kind) + "[" + entry.id + "]", "duplicate id", entry.id);
  }
  return okStatus();
}

Result<std::vector<Organization>> loadOrganizations(Connection& c) {
  auto r = c.run(sql::kSelectOrganizations, Params(), "reading organizations");
  if (!r) return std::move(r).error();
  std::vector<Organization> orgs;
  for (int i = 0; i < r->rows(); ++i) {
    auto org = readOrganization(*r, i);
    if (!org) return std::move(org).error();
    orgs.push_back(std::move(*org));
  }
  return orgs;
}

// The fixture's organizations first (so the entry reported is the
// fixture's own when several are wrong), then the stored ones it keeps.
std::vector<Organization> mergeOrganizations(std::vector<Organization> stored, const Dataset& data) {
  std::unordered_set<std::string_view> replaced;
  for (const auto& org : data.organizations) replaced.insert(org.id);
  std::vector<Organization> merged(data.organizations.begin(), data.organizations.end());
  for (auto& org : stored)
    if (replaced.find(org.id) == replaced.end()) merged.push_back(std::move(org));
  return merged;
}

Status checkUsers(const Dataset& data, const std::unordered_set<std::string_view>& org_ids, const Policy& policy) {
  for (const auto& user : data.users) {
    if (org_ids.find(user.organization_id) == org_ids.end())
      return fixtureError("users[" + user.id + "]", "organization_id does not exist", user.organization_id);
    for (const auto& role : user.roles)
      if (policy.role(role) == nullptr) return fixtureError("users[" + user.id + "]", "unknown role", role);
    if (user.suspended_by_org_id && org_ids.find(*user.suspended_by_org_id) == org_ids.end())
      return fixtureError("users[" + user.id + "]", "suspended_by_org_id does not exist", *user.suspended_by_org_id);
  }
  return okStatus();
}

Status checkStoredRoles(Connection& c, const Policy& policy) {
  auto r = c.run(sql::kDistinctRoles, Params(), "reading stored roles");
  if (!r) return std::move(r).error();
  for (int i = 0; i < r->rows(); ++i) {
    const std::string role = r->text(i, 0);
    if (policy.role(role) != nullptr) continue;
    Params p;
    p.text(role);
    auto who = c.run(sql::kUserWithRole, p, "finding a user with an unknown role");
    if (!who) return std::move(who).error();
    const std::string user_id = who->rows() > 0 ? who->text(0, 0) : std::string("?");
    return fixtureError("users[" + user_id + "]", "unknown role", role);
  }
  return okStatus();
}

// Rows per bulk statement: large enough that a 10,000-user seed is a
// handful of round trips, small enough to keep each parameter modest.
constexpr std::size_t kChunk = 2000;

Status upsertOrganizations(Connection& c, const std::vector<Organization>& orgs) {
  for (std::size_t start = 0; start < orgs.size(); start += kChunk) {
    std::vector<std::vector<std::optional<std::string>>> cols(10);
    for (std::size_t i = start; i < std::min(orgs.size(), start + kChunk); ++i) {
      const Organization& o = orgs[i];
      cols[0].emplace_back(o.id);
      cols[1].emplace_back(o.name);
      cols[2].emplace_back(toString(o.type));
      cols[3].push_back(o.parent_id);
      cols[4].emplace_back(o.suspended ? "t" : "f");
      cols[5].emplace_back(o.deleted ? "t" : "f");
      cols[6].push_back(optMillis(o.suspended_at));
      cols[7].push_back(o.suspended_by);
      cols[8].emplace_back(std::to_string(toMillis(o.updated_at)));
      cols[9].emplace_back(std::to_string(o.version));
    }
    Params p;
    for (const auto& col : cols) p.text(arrayLiteral(col));
    if (auto r = c.run(sql::kUpsertOrganizations, p, "writing organizations"); !r) return std::move(r).error();
  }
  return okStatus();
}

Status upsertUsers(Connection& c, const std::vector<User>& users, bool fresh) {
  for (std::size_t start = 0; start < users.size(); start += kChunk) {
    const std::size_t end = std::min(users.size(), start + kChunk);
    std::vector<std::vector<std::optional<std::string>>> cols(13);
    std::vector<std::optional<std::string>> role_users, role_positions, role_names;
    for (std::size_t i = start; i < end; ++i) {
      const User& u = users[i];
      cols[0].emplace_back(u.id);
      cols[1].emplace_back(u.username);
      cols[2].emplace_back(u.email);
      cols[3].emplace_back(u.name);
      cols[4].emplace_back(u.organization_id);
      cols[5].emplace_back(toString(u.status));
      cols[6].push_back(optMillis(u.suspended_at));
      cols[7].push_back(u.suspended_by);
      cols[8].push_back(u.suspended_by_org_id);
      cols[9].push_back(optMillis(u.tokens_valid_after));
      cols[10].emplace_back(std::to_string(toMillis(u.updated_at)));
      cols[11].emplace_back(std::to_string(u.version));
      cols[12].push_back(u.external_id);
      for (std::size_t k = 0; k < u.roles.size(); ++k) {
        role_users.emplace_back(u.id);
        role_positions.emplace_back(std::to_string(k));
        role_names.emplace_back(u.roles[k]);
      }
    }
    Params p;
    for (const auto& col : cols) p.text(arrayLiteral(col));
    if (auto r = c.run(sql::kUpsertUsers, p, "writing users"); !r) return std::move(r).error();
    if (!fresh) {
      Params del;
      del.text(arrayLiteral(cols[0]));
      if (auto r = c.run(sql::kDeleteRolesOf, del, "deleting user roles"); !r) return std::move(r).error();
    }
    if (Status roles = writeRoles(c, role_users, role_positions, role_names); !roles) return roles;
  }
  return okStatus();
}

}  // namespace

std::vector<std::string> parseTextArray(std::string_view text) {
  std::vector<std::string> out;
  if (text.size() < 2 || text.front() != '{') return out;
  std::size_t i = 1;
  while (i < text.size() && text[i] != '}') {
    std::string element;
    if (text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        element += text[i++];
      }
      ++i;  // closing quote
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '}') element += text[i++];
    }
    out.push_back(std::move(element));
    if (i < text.size() && text[i] == ',') ++i;
  }
  return out;
}

Result<std::optional<User>> selectUser(Connection& c, std::string_view id) {
  Params p;
  p.text(id);
  auto r = c.run(sql::kSelectUser, p, "reading a user");
  if (!r) return std::move(r).error();
  if (r->rows() == 0) return std::optional<User>();
  auto user = readUser(*r, 0);
  if (!user) return std::move(user).error();
  for (int i = 0; i < r->rows(); ++i)
    if (!r->isNull(i, 13)) user->roles.push_back(r->text(i, 13));
  return std::optional<User>(std::move(*user));
}

Result<std::vector<Organization>> selectChain(Connection& c, std::string_view id, bool lock) {
  Params p;
  p.text(id).integer(sql::kMaxChainLength);
  // Lock first, then read with a fresh statement snapshot (READ COMMITTED):
  // the chain read is what the lock holder changed last, if anything.
  if (lock) {
    if (auto locked = c.run(sql::kLockChainShared, p, "locking an organization chain"); !locked)
      return std::move(locked).error();
  }
  auto r = c.run(sql::kSelectChain, p, "reading an organization chain");
  if (!r) return std::move(r).error();
  std::vector<Organization> chain;
  for (int i = 0; i < r->rows(); ++i) {
    auto org = readOrganization(*r, i);
    if (!org) return std::move(org).error();
    chain.push_back(std::move(*org));
  }
  if (chain.empty() || !chain.back().parent_id) return chain;
  if (static_cast<std::int64_t>(chain.size()) > sql::kMaxChainLength)
    return Error::internal("organization chain too long (cycle?) at " + chain.back().id);
  return Error::internal("organization chain broken at " + *chain.back().parent_id);
}

Result<bool> compareAndSetUser(Connection& c, const User& user, std::int64_t expected_version) {
  Params p;
  p.text(user.id)
      .text(user.username)
      .text(user.email)
      .text(user.name)
      .text(user.organization_id)
      .text(toString(user.status))
      .optTime(user.suspended_at)
      .optText(user.suspended_by)
      .optText(user.suspended_by_org_id)
      .optTime(user.tokens_valid_after)
      .time(user.updated_at)
      .integer(user.version)
      .integer(expected_version)
      .optText(user.external_id);
  auto r = c.run(sql::kCompareAndSetUser, p, "updating a user");
  if (!r) return std::move(r).error();
  if (r->affected() != 1) return false;
  // Roles rarely change with a compare-and-set (never on reactivation):
  // compare first and write only when they differ.
  Params q;
  q.text(user.id);
  auto stored = c.run(sql::kSelectRoles, q, "reading user roles");
  if (!stored) return std::move(stored).error();
  std::vector<std::string> roles;
  for (int i = 0; i < stored->rows(); ++i) roles.push_back(stored->text(i, 0));
  if (roles != user.roles) {
    if (Status replaced = replaceRoles(c, user); !replaced) return std::move(replaced).error();
  }
  return true;
}

Result<bool> compareAndSetOrganization(Connection& c, const Organization& org, std::int64_t expected_version) {
  {
    Params lock;
    lock.text(org.id);
    if (auto locked = c.run(sql::kLockOrganization, lock, "locking an organization"); !locked)
      return std::move(locked).error();
  }
  Params p;
  organizationFields(p, org).integer(expected_version);
  auto r = c.run(sql::kCompareAndSetOrganization, p, "updating an organization");
  if (!r) return std::move(r).error();
  return r->affected() == 1;
}

Result<std::vector<std::string>> suspendCascade(Connection& c, const Cascade& cascade) {
  return idsOf(c.run(sql::kSuspendCascade, cascadeParams(cascade), "suspending the users of a cascade"));
}

Result<std::vector<std::string>> reactivateCascade(Connection& c, const Cascade& cascade) {
  auto reactivated =
      idsOf(c.run(sql::kReactivateCascade, cascadeParams(cascade), "reactivating the users of a cascade"));
  if (!reactivated) return reactivated;
  Params p;
  p.text(cascade.organization_id).time(cascade.time).integer(sql::kMaxChainLength);
  if (auto moved = c.run(sql::kReassignCascade, p, "moving cascade suspensions to a suspended organization below");
      !moved)
    return std::move(moved).error();
  return reactivated;
}

Status insertAudit(Connection& c, const AuditEvent& e) {
  Params p;
  p.time(e.time)
      .text(e.action)
      .text(e.actor_id)
      .text(e.target_id)
      .text(e.outcome)
      .text(e.reason)
      .text(e.request_id)
      .text(e.client_address)
      .text(e.note)
      .text(e.target_type)
      .optText(e.target_organization_id);
  auto r = c.run(sql::kInsertAudit, p, "appending an audit event");
  if (!r) return std::move(r).error();
  return okStatus();
}

Result<UserPage> selectUserPage(Connection& c, const UserQuery& q) {
  UserPage page;
  if (q.limit == 0) return page;
  auto chain = selectChain(c, q.organization_id);
  if (!chain) return std::move(chain).error();
  if (std::any_of(chain->begin(), chain->end(), [](const Organization& o) { return o.deleted; })) return page;
  auto orgs = selectSubtree(c, q.organization_id, true);
  if (!orgs) return std::move(orgs).error();
  if (orgs->empty()) return page;
  Params p;
  p.text(idArray(*orgs));
  if (q.status) p.text(toString(*q.status));
  else p.null();
  p.text(q.after ? *q.after : std::string());
  p.integer(static_cast<std::int64_t>(q.limit) + 1);  // one more tells whether a page follows
  auto r = c.run(sql::kUserPage, p, "reading a page of users");
  if (!r) return std::move(r).error();
  for (int i = 0; i < r->rows(); ++i) {
    auto user = readUser(*r, i);
    if (!user) return std::move(user).error();
    user->roles = parseTextArray(r->text(i, 13));
    page.users.push_back(std::move(*user));
  }
  if (page.users.size() > q.limit) {
    page.users.resize(q.limit);
    page.next_after = page.users.back().id;
  }
  return page;
}

Result<AuditPage> selectAuditPage(Connection& c, const AuditQuery& q) {
  AuditPage page;
  if (q.limit == 0) return page;
  Params p;
  p.integer(q.after ? q.after->horizon_key : 0).integer(q.after ? q.after->event_id : 0);
  p.optText(q.target_id).optText(q.actor_id).optText(q.action);
  if (q.within_organization) {
    auto ids = selectSubtree(c, *q.within_organization, false);
    if (!ids) return std::move(ids).error();
    p.text(idArray(*ids));
  } else {
    p.null();
  }
  p.integer(static_cast<std::int64_t>(q.limit) + 1);
  auto r = c.run(sql::kAuditPage, p, "reading audit events");
  if (!r) return std::move(r).error();
  for (int i = 0; i < r->rows(); ++i) {
    if (page.events.size() == q.limit) {
      page.next_after = page.events.back().cursor;
      break;
    }
    AuditEvent e;
    e.id = r->integer(i, 0);
    e.cursor = AuditCursor{r->integer(i, 1), e.id};
    e.time = timestampFromMillis(r->integer(i, 2));
    e.action = r->text(i, 3);
    e.actor_id = r->text(i, 4);
    e.target_type = r->text(i, 5);
    e.target_id = r->text(i, 6);
    e.target_organization_id = r->optText(i, 7);
    e.outcome = r->text(i, 8);
    e.reason = r->text(i, 9);
    e.request_id = r->text(i, 10);
    e.client_address = r->text(i, 11);
    e.note = r->text(i, 12);
    page.events.push_back(std::move(e));
  }
  return page;
}

Status queueDirectoryUpdate(Connection& c, const DirectoryUpdate& update, Timestamp now, Timestamp due) {
  if (update.status == UserStatus::deleted)
    return Error::invalidArgument({"status", "must be active or suspended", "deleted"}, "invalid_directory_update");
  Params p;
  p.text(update.user_id)
      .text(update.external_id)
      .text(toString(update.status))
      .integer(update.user_version)
      .time(now)
      .time(due);
  auto r = c.run(sql::kQueueOutbox, p, "queueing a directory update");
  if (!r) return std::move(r).error();
  return okStatus();
}

Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Connection& c, Timestamp now, std::size_t limit) {
  std::vector<OutboxEntry> entries;
  if (limit == 0) return entries;
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  Params p;
  p.time(now).integer(static_cast<std::int64_t>(limit < max ? limit : max));
  auto r = c.run(sql::kClaimOutbox, p, "claiming directory updates");
  if (!r) return std::move(r).error();
  for (int i = 0; i < r->rows(); ++i) {
    OutboxEntry e;
    e.id = r->integer(i, 0);
    e.update.user_id = r->text(i, 1);
    e.update.external_id = r->text(i, 2);
    const auto status = parseUserStatus(r->text(i, 3));
    if (!status) return Error::internal("directory_outbox row " + std::to_string(e.id) + " has a bad status");
    e.update.status = *status;
    e.update.user_version = r->integer(i, 4);
    e.enqueued_at = timestampFromMillis(r->integer(i, 5));
    e.next_attempt_at = timestampFromMillis(r->integer(i, 6));
    e.attempts = static_cast<int>(r->integer(i, 7));
    e.last_error = r->text(i, 8);
    entries.push_back(std::move(e));
  }
  return entries;
}

Status deleteDirectoryUpdates(Connection& c, const std::vector<std::int64_t>& entry_ids) {
  std::vector<std::optional<std::string>> ids;
  ids.reserve(entry_ids.size());
  for (const std::int64_t id : entry_ids) ids.emplace_back(std::to_string(id));
  Params p;
  p.text(arrayLiteral(ids));
  auto r = c.run(sql::kDeleteOutbox, p, "removing delivered directory updates");
  if (!r) return std::move(r).error();
  return okStatus();
}

Status rescheduleDirectoryUpdate(Connection& c, std::int64_t entry_id, Timestamp next_attempt_at,
                                 std::string_view error) {
  Params p;
  p.integer(entry_id).time(next_attempt_at).text(error);
  auto r = c.run(sql::kRescheduleOutbox, p, "rescheduling a directory update");
  if (!r) return std::move(r).error();
  return okStatus();
}

Result<OutboxStats> directoryOutboxStats(Connection& c) {
  auto r = c.run(sql::kOutboxStats, Params(), "reading the directory outbox");
  if (!r) return std::move(r).error();
  OutboxStats stats;
  if (r->rows() == 0) return stats;
  stats.pending = r->integer(0, 0);
  stats.oldest_enqueued_at = r->optTime(0, 1);
  stats.next_attempt_at = r->optTime(0, 2);
  return stats;
}

Status checkFixtureIds(const Dataset& data) {
  if (Status ids = checkIds(data.organizations, "organizations"); !ids) return ids;
  return checkIds(data.users, "users");
}

Status seedInTransaction(Connection& c, const Dataset& data, const Policy& policy) {
  auto stored = loadOrganizations(c);
  if (!stored) return std::move(stored).error();
  Dataset tree;
  tree.organizations = mergeOrganizations(std::move(*stored), data);
  if (Status valid = validateDataset(tree, policy); !valid) return valid;
  std::unordered_set<std::string_view> org_ids;
  for (const auto& org : tree.organizations) org_ids.insert(org.id);
  if (Status valid = checkUsers(data, org_ids, policy); !valid) return valid;

  auto any = c.run(sql::kAnyUser, Params(), "counting users");
  if (!any) return std::move(any).error();
  const bool had_users = any->boolean(0, 0);
  // A fixture may list a child before its parent: references are checked at COMMIT.
  if (auto deferred = c.exec("SET CONSTRAINTS ALL DEFERRED", "deferring foreign keys"); !deferred)
    return std::move(deferred).error();
  if (Status written = upsertOrganizations(c, data.organizations); !written) return written;
  if (Status written = upsertUsers(c, data.users, !had_users); !written) return written;
  if (had_users) return checkStoredRoles(c, policy);
  return okStatus();
}

}  // namespace useradmin::pg
