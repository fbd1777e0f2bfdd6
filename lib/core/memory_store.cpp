#include "useradmin/memory_store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "useradmin/fixture.hpp"
#include "useradmin/policy.hpp"

namespace useradmin {

namespace {

// Organization chains are at most as deep as there are ranks; anything
// longer than this is a corrupt (cyclic) model.
constexpr std::size_t kMaxChainLength = 64;

struct Tables {
  std::unordered_map<std::string, Organization> organizations;
  std::unordered_map<std::string, User> users;
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

  Result<std::optional<User>> findUser(std::string_view id) override {
    std::shared_lock lock(mutex_);
    const auto it = tables_.users.find(std::string(id));
    if (it == tables_.users.end()) return std::optional<User>();
    return std::optional<User>(it->second);
  }

  Result<std::vector<AuditEvent>> auditEvents(std::int64_t after_id, std::size_t limit) override {
    std::shared_lock lock(mutex_);
    std::vector<AuditEvent> out;
    const auto start = static_cast<std::size_t>(after_id < 0 ? 0 : after_id);
    for (std::size_t i = start; i < tables_.audit.size() && out.size() < limit; ++i) out.push_back(tables_.audit[i]);
    return out;
  }

 private:
  const Policy& policy_;
  std::shared_mutex mutex_;
  Tables tables_;
};

}  // namespace

std::unique_ptr<UserStore> makeMemoryStore(const Policy& policy) { return std::make_unique<MemoryStore>(policy); }

}  // namespace useradmin
