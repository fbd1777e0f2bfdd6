#include "useradmin/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "useradmin/fixture.hpp"
#include "useradmin/policy.hpp"

namespace useradmin {

namespace {

// Organization chains are at most as deep as there are ranks; anything
// longer than this is a corrupt (cyclic) model.
constexpr std::size_t kMaxChainLength = 64;

struct Tables {
  std::unordered_map<std::string, Organization> organizations;
  // Ordered by id: user pages are ranges of this map.
  std::map<std::string, User, std::less<>> users;
  // Event i has id i + 1: ids are assigned at commit, under the store's
  // exclusive lock, so id order is commit order.
  std::vector<AuditEvent> audit;
  // The directory outbox: at most one pending entry per user.
  std::map<std::string, OutboxEntry, std::less<>> outbox;
  // Entry id -> user id, for the relay's calls by id.
  std::unordered_map<std::int64_t, std::string> outbox_ids;
  std::int64_t last_outbox_id = 0;
};

// A unit's queueDirectoryUpdate, applied at commit.
struct QueuedUpdate {
  DirectoryUpdate update;
  Timestamp now;
  Timestamp due;
};

// Queues `q` (validated) into `t`, replacing the user's pending entry.
void queueIn(Tables& t, QueuedUpdate q) {
  DirectoryUpdate& update = q.update;
  OutboxEntry entry;
  entry.id = ++t.last_outbox_id;
  entry.enqueued_at = q.now;
  if (const auto it = t.outbox.find(update.user_id); it != t.outbox.end()) {
    entry.enqueued_at = it->second.enqueued_at;
    t.outbox_ids.erase(it->second.id);
  }
  t.outbox_ids[entry.id] = update.user_id;
  entry.next_attempt_at = q.due;
  std::string key = update.user_id;
  entry.update = std::move(update);
  t.outbox[std::move(key)] = std::move(entry);
}

Status checkUpdate(const DirectoryUpdate& update) {
  if (update.status == UserStatus::deleted)
    return Error::invalidArgument({"status", "must be active or suspended", "deleted"}, "invalid_directory_update");
  return okStatus();
}

Result<std::vector<Organization>> chainIn(const Tables& t, std::string_view id) {
  std::vector<Organization> chain;
  std::string next(id);
  while (true) {
    const auto it = t.organizations.find(next);
    if (it == t.organizations.end()) {
      if (chain.empty()) return chain;
      return Error::internal("organization chain broken at " + next);
    }
    chain.push_back(it->second);
    if (chain.size() > kMaxChainLength) return Error::internal("organization chain too long (cycle?) at " + next);
    if (!it->second.parent_id) return chain;
    next = *it->second.parent_id;
  }
}

// The organizations at and below `root`. With `skip_deleted`, a deleted
// organization and everything below it are left out (and a deleted root
// gives an empty set).
std::unordered_set<std::string> subtreeIn(const Tables& t, const std::string& root, bool skip_deleted) {
  std::unordered_map<std::string, std::vector<const Organization*>> children;
  for (const auto& entry : t.organizations)
    if (entry.second.parent_id) children[*entry.second.parent_id].push_back(&entry.second);
  std::unordered_set<std::string> out;
  const auto top = t.organizations.find(root);
  if (top == t.organizations.end() || (skip_deleted && top->second.deleted)) return out;
  std::vector<const Organization*> todo{&top->second};
  out.insert(root);
  while (!todo.empty()) {
    const Organization* at = todo.back();
    todo.pop_back();
    for (const Organization* child : children[at->id]) {
      if ((skip_deleted && child->deleted) || !out.insert(child->id).second) continue;
      todo.push_back(child);
    }
  }
  return out;
}

// A scan of the ordered users map from `after`: linear in the users it
// passes over, which is what an in-memory test store can afford.
Result<UserPage> usersIn(const Tables& t, const UserQuery& q) {
  UserPage page;
  if (q.limit == 0) return page;
  // Below a deleted organization everything is invisible.
  auto chain = chainIn(t, q.organization_id);
  if (!chain) return std::move(chain).error();
  if (std::any_of(chain->begin(), chain->end(), [](const Organization& o) { return o.deleted; })) return page;
  const auto orgs = subtreeIn(t, q.organization_id, true);
  auto it = q.after ? t.users.upper_bound(*q.after) : t.users.begin();
  for (; it != t.users.end(); ++it) {
    const User& user = it->second;
    if (user.status == UserStatus::deleted || (q.status && user.status != *q.status)) continue;
    if (orgs.count(user.organization_id) == 0) continue;
    if (page.users.size() == q.limit) {
      page.next_after = page.users.back().id;
      break;
    }
    page.users.push_back(user);
  }
  return page;
}

bool matches(const AuditEvent& e, const AuditQuery& q, const std::unordered_set<std::string>* orgs) {
  if (!q.matchesFilters(e)) return false;
  return orgs == nullptr || (e.target_organization_id && orgs->count(*e.target_organization_id) != 0);
}

AuditPage eventsIn(const Tables& t, const AuditQuery& q) {
  AuditPage page;
  if (q.limit == 0) return page;
  std::optional<std::unordered_set<std::string>> orgs;
  if (q.within_organization) orgs = subtreeIn(t, *q.within_organization, false);
  // Every cursor this store hands out has horizon_key 0; one from another
  // store with a larger key lies beyond every event here.
  std::size_t start = 0;
  if (q.after) {
    if (q.after->horizon_key > 0) return page;
    if (q.after->horizon_key == 0 && q.after->event_id > 0)
      start = std::min(t.audit.size(), static_cast<std::size_t>(q.after->event_id));
  }
  for (std::size_t i = start; i < t.audit.size(); ++i) {
    if (!matches(t.audit[i], q, orgs ? &*orgs : nullptr)) continue;
    if (page.events.size() == q.limit) {
      page.next_after = page.events.back().cursor;
      break;
    }
    page.events.push_back(t.audit[i]);
  }
  return page;
}

// A read's view: the committed tables, under the store's shared lock.
class MemoryView final : public ReadView {
 public:
  explicit MemoryView(const Tables& tables) : tables_(tables) {}

  Result<std::optional<User>> findUser(std::string_view id) override {
    const auto it = tables_.users.find(id);
    if (it == tables_.users.end()) return std::optional<User>();
    return std::optional<User>(it->second);
  }
  Result<std::vector<Organization>> organizationChain(std::string_view id) override { return chainIn(tables_, id); }
  Result<UserPage> listUsers(const UserQuery& query) override { return usersIn(tables_, query); }
  Result<AuditPage> auditEvents(const AuditQuery& query) override { return eventsIn(tables_, query); }

 private:
  const Tables& tables_;
};

// A unit's view: committed tables plus its own pending writes, applied only
// when the unit succeeds.
class MemoryUnit final : public UnitOfWork {
 public:
  explicit MemoryUnit(const Tables& tables) : tables_(tables) {}

  Result<std::optional<User>> findUser(std::string_view id) override {
    const User* user = lookup(pending_users_, tables_.users, id);
    return user == nullptr ? std::optional<User>() : std::optional<User>(*user);
  }

  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    std::vector<Organization> chain;
    std::string next(id);
    while (const Organization* org = organization(next)) {
      chain.push_back(*org);
      if (chain.size() > kMaxChainLength) return Error::internal("organization chain too long (cycle?) at " + next);
      if (!org->parent_id) return chain;
      next = *org->parent_id;
    }
    if (chain.empty()) return chain;
    return Error::internal("organization chain broken at " + next);
  }

  Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) override {
    const User* current = lookup(pending_users_, tables_.users, user.id);
    if (current == nullptr || current->version != expected_version) return false;
    pending_users_[user.id] = user;
    return true;
  }

  Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected_version) override {
    const Organization* current = organization(org.id);
    if (current == nullptr || current->version != expected_version) return false;
    pending_orgs_[org.id] = org;
    return true;
  }

  Result<std::vector<std::string>> suspendCascade(const Cascade& cascade) override {
    return forSubtreeUsers(cascade, [&](User& user, const std::string&) {
      if (user.status != UserStatus::active) return false;
      user.status = UserStatus::suspended;
      user.suspended_at = cascade.time;
      user.suspended_by = cascade.actor_id;
      user.suspended_by_org_id = cascade.organization_id;
      user.tokens_valid_after = cascade.time;
      return true;
    });
  }

  Result<std::vector<std::string>> reactivateCascade(const Cascade& cascade) override {
    return forSubtreeUsers(cascade, [&](User& user, const std::string& blocker) {
      if (user.status != UserStatus::suspended || user.suspended_by_org_id != cascade.organization_id) return false;
      if (!blocker.empty()) {
        user.suspended_by_org_id = blocker;
        return false;  // changed, but its status did not
      }
      user.status = UserStatus::active;
      user.suspended_at.reset();
      user.suspended_by.reset();
      user.suspended_by_org_id.reset();
      return true;
    });
  }

  Status appendAudit(const AuditEvent& event) override {
    pending_audit_.push_back(event);
    return okStatus();
  }

  Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) override {
    if (Status valid = checkUpdate(update); !valid) return valid;
    pending_outbox_.push_back({update, now, due});
    return okStatus();
  }

  void applyTo(Tables& tables) {
    for (auto& [id, org] : pending_orgs_) tables.organizations[id] = std::move(org);
    for (auto& [id, user] : pending_users_) tables.users[id] = std::move(user);
    for (auto& event : pending_audit_) {
      event.id = static_cast<std::int64_t>(tables.audit.size()) + 1;
      event.cursor = AuditCursor{0, event.id};
      tables.audit.push_back(std::move(event));
    }
    for (auto& queued : pending_outbox_) queueIn(tables, std::move(queued));
  }

 private:
  template <class Row, class Committed>
  static const Row* lookup(const std::map<std::string, Row, std::less<>>& pending, const Committed& committed,
                           std::string_view id) {
    if (const auto it = pending.find(id); it != pending.end()) return &it->second;
    if (const auto it = committed.find(std::string(id)); it != committed.end()) return &it->second;
    return nullptr;
  }
  const Organization* organization(std::string_view id) const {
    return lookup(pending_orgs_, tables_.organizations, id);
  }

  // The non-deleted subtree of `root`, each organization mapped to the
  // nearest suspended organization at or above it but below `root` ("" when
  // none): what a reactivation cascade needs, and a suspension ignores.
  std::map<std::string, std::string, std::less<>> subtree(const std::string& root) const {
    std::unordered_map<std::string, std::vector<const Organization*>> children;
    auto collect = [&](const Organization& row) {
      const Organization* org = organization(row.id);  // the unit's own version, when it changed it
      if (org->parent_id) children[*org->parent_id].push_back(org);
    };
    for (const auto& entry : tables_.organizations) collect(entry.second);
    for (const auto& entry : pending_orgs_)
      if (tables_.organizations.count(entry.first) == 0) collect(entry.second);
    std::map<std::string, std::string, std::less<>> out;
    const Organization* top = organization(root);
    if (top == nullptr || top->deleted) return out;
    std::vector<const Organization*> todo{top};
    out[root] = "";
    while (!todo.empty()) {
      const Organization* at = todo.back();
      todo.pop_back();
      for (const Organization* child : children[at->id]) {
        if (child->deleted) continue;
        out[child->id] = child->suspended ? child->id : out[at->id];
        todo.push_back(child);
      }
    }
    return out;
  }

  // Applies `change(user, blocker)` to every user of the cascade's subtree;
  // a user it modifies is written back with the cascade's time and the next
  // version, and one for which it returns true is audited and reported.
  template <class Change>
  Result<std::vector<std::string>> forSubtreeUsers(const Cascade& cascade, Change change) {
    const auto orgs = subtree(cascade.organization_id);
    std::map<std::string, User, std::less<>> users;
    for (const auto& entry : tables_.users) users.emplace(entry.first, entry.second);
    for (const auto& entry : pending_users_) users.insert_or_assign(entry.first, entry.second);
    std::vector<std::string> changed;
    for (auto& [id, user] : users) {
      const auto org = orgs.find(user.organization_id);
      if (org == orgs.end()) continue;
      User next = user;
      const bool status_changed = change(next, org->second);
      if (next == user) continue;
      next.version = user.version + 1;
      next.updated_at = cascade.time;
      pending_users_[id] = next;
      if (!status_changed) continue;
      AuditEvent event = cascade.event;
      event.target_type = toString(SubjectKind::user);
      event.target_id = id;
      event.target_organization_id = next.organization_id;
      pending_audit_.push_back(std::move(event));
      if (cascade.queue_directory_updates)
        pending_outbox_.push_back(
            {DirectoryUpdate{id, directoryIdOf(next), next.status, next.version}, cascade.time, cascade.time});
      changed.push_back(id);
    }
    return changed;
  }

  const Tables& tables_;
  std::map<std::string, Organization, std::less<>> pending_orgs_;
  std::map<std::string, User, std::less<>> pending_users_;
  std::vector<AuditEvent> pending_audit_;
  std::vector<QueuedUpdate> pending_outbox_;
};

Status validateDuplicates(const Dataset& data) {
  std::unordered_map<std::string_view, int> seen;
  for (const auto& org : data.organizations)
    if (++seen[org.id] > 1)
      return Error::invalidArgument({"organizations[" + org.id + "]", "duplicate id", org.id}, "invalid_fixture");
  seen.clear();
  for (const auto& user : data.users)
    if (++seen[user.id] > 1)
      return Error::invalidArgument({"users[" + user.id + "]", "duplicate id", user.id}, "invalid_fixture");
  return okStatus();
}

class MemoryStore final : public UserStore {
 public:
  explicit MemoryStore(const Policy& policy) : policy_(policy) {}

  Status transact(const Work& work) override {
    // Units run one at a time: the simplest way to give every unit a
    // serializable view, which is all an in-memory test store needs.
    std::unique_lock lock(mutex_);
    MemoryUnit unit(tables_);
    Status status = work(unit);
    if (status) unit.applyTo(tables_);
    return status;
  }

  Status seed(const Dataset& data) override {
    // Two entries with one id inside the fixture are a fixture error, not an
    // update of the first by the second.
    if (Status own = validateDuplicates(data); !own) return own;
    std::unique_lock lock(mutex_);
    // Validate the model as it would be after the load; apply only if valid.
    Tables next = tables_;
    for (const auto& org : data.organizations) next.organizations[org.id] = org;
    for (const auto& user : data.users) next.users[user.id] = user;
    Dataset merged;
    merged.organizations.reserve(next.organizations.size());
    for (const auto& entry : next.organizations) merged.organizations.push_back(entry.second);
    merged.users.reserve(next.users.size());
    for (const auto& entry : next.users) merged.users.push_back(entry.second);
    // Validate in id order, so the entry an error names does not depend on hashing.
    auto byId = [](const auto& a, const auto& b) { return a.id < b.id; };
    std::sort(merged.organizations.begin(), merged.organizations.end(), byId);
    std::sort(merged.users.begin(), merged.users.end(), byId);
    if (Status valid = validateDataset(merged, policy_); !valid) return valid;
    tables_ = std::move(next);
    return okStatus();
  }

  Status read(const ReadWork& work) override {
    std::shared_lock lock(mutex_);
    MemoryView view(tables_);
    return work(view);
  }

  Result<std::optional<User>> findUser(std::string_view id) override {
    std::shared_lock lock(mutex_);
    return MemoryView(tables_).findUser(id);
  }

  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<OutboxEntry> due;
    for (const auto& entry : tables_.outbox)
      if (entry.second.next_attempt_at <= now) due.push_back(entry.second);
    auto order = [](const OutboxEntry& a, const OutboxEntry& b) {
      return a.next_attempt_at != b.next_attempt_at ? a.next_attempt_at < b.next_attempt_at : a.id < b.id;
    };
    std::sort(due.begin(), due.end(), order);
    if (due.size() > limit) due.resize(limit);
    return due;
  }

  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& entry_ids) override {
    std::unique_lock lock(mutex_);
    for (const std::int64_t entry_id : entry_ids) {
      if (OutboxEntry* entry = outboxEntry(entry_id)) {
        tables_.outbox.erase(entry->update.user_id);
        tables_.outbox_ids.erase(entry_id);
      }
    }
    return okStatus();
  }

  Status rescheduleDirectoryUpdate(std::int64_t entry_id, Timestamp next_attempt_at, std::string_view error) override {
    std::unique_lock lock(mutex_);
    if (OutboxEntry* entry = outboxEntry(entry_id)) {
      ++entry->attempts;
      entry->next_attempt_at = next_attempt_at;
      entry->last_error = std::string(error);
    }
    return okStatus();
  }

  Result<OutboxStats> directoryOutboxStats() override {
    std::shared_lock lock(mutex_);
    OutboxStats stats;
    for (const auto& [user, entry] : tables_.outbox) {
      ++stats.pending;
      if (!stats.oldest_enqueued_at || entry.enqueued_at < *stats.oldest_enqueued_at)
        stats.oldest_enqueued_at = entry.enqueued_at;
      if (!stats.next_attempt_at || entry.next_attempt_at < *stats.next_attempt_at)
        stats.next_attempt_at = entry.next_attempt_at;
    }
    return stats;
  }

 private:
  // The pending entry with this id, or null.
  OutboxEntry* outboxEntry(std::int64_t id) {
    const auto user = tables_.outbox_ids.find(id);
    if (user == tables_.outbox_ids.end()) return nullptr;
    return &tables_.outbox.find(user->second)->second;
  }

  const Policy& policy_;
  std::shared_mutex mutex_;
  Tables tables_;
};

}  // namespace

std::unique_ptr<UserStore> makeMemoryStore(const Policy& policy) { return std::make_unique<MemoryStore>(policy); }

}  // namespace useradmin
