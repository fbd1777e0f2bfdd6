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
};

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
    const std::string key(id);
    if (const auto it = pending_users_.find(key); it != pending_users_.end()) return std::optional<User>(it->second);
    if (const auto it = tables_.users.find(key); it != tables_.users.end()) return std::optional<User>(it->second);
    return std::optional<User>();
  }

  Result<std::vector<Organization>> organizationChain(std::string_view id) override { return chainIn(tables_, id); }

  Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) override {
    auto current = findUser(user.id);
    if (!current) return std::move(current).error();
    if (!*current || (*current)->version != expected_version) return false;
    pending_users_[user.id] = user;
    return true;
  }

  Status appendAudit(const AuditEvent& event) override {
    pending_audit_.push_back(event);
    return okStatus();
  }

  void applyTo(Tables& tables) {
    for (auto& [id, user] : pending_users_) tables.users[id] = std::move(user);
    for (auto& event : pending_audit_) {
      event.id = static_cast<std::int64_t>(tables.audit.size()) + 1;
      event.cursor = AuditCursor{0, event.id};
      tables.audit.push_back(std::move(event));
    }
  }

 private:
  const Tables& tables_;
  std::map<std::string, User> pending_users_;
  std::vector<AuditEvent> pending_audit_;
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

 private:
  const Policy& policy_;
  std::shared_mutex mutex_;
  Tables tables_;
};

}  // namespace

std::unique_ptr<UserStore> makeMemoryStore(const Policy& policy) { return std::make_unique<MemoryStore>(policy); }

}  // namespace useradmin
