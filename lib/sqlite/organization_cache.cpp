#include "organization_cache.hpp"

#include <utility>

#include "rows.hpp"

namespace useradmin::detail {

namespace {

constexpr const char* kGeneration = "SELECT value FROM store_meta WHERE key = 'organizations_generation'";

}  // namespace

void OrganizationCache::beginTransaction(Connection& c) {
  usable_ = false;
  auto st = c.statement(kGeneration);
  if (!st) return clear();
  auto row = st->next("reading the organizations generation");
  if (!row || !*row) return clear();
  const std::int64_t generation = st->integer(0);
  if (generation != generation_) {
    orgs_.clear();
    generation_ = generation;
  }
  usable_ = true;
}

void OrganizationCache::clear() {
  orgs_.clear();
  generation_ = -1;
  usable_ = false;
}

Result<std::vector<Organization>> OrganizationCache::chain(Connection& c, std::string_view id) {
  if (!usable_) return selectChain(c, id);
  std::vector<Organization> out;
  std::string_view next = id;
  while (true) {
    const auto it = orgs_.find(next);
    if (it == orgs_.end()) {
      // Fetch the rest of the chain in one query and remember it.
      auto rest = selectChain(c, next);
      if (!rest) return rest;
      if (rest->empty()) {
        if (out.empty()) return out;
        return Error::internal("organization chain broken at " + std::string(next));
      }
      if (static_cast<std::int64_t>(out.size() + rest->size()) > kMaxChainLength)
        return Error::internal("organization chain too long (cycle?) at " + rest->back().id);
      if (orgs_.size() + rest->size() > kMaxEntries) orgs_.clear();
      for (auto& org : *rest) {
        orgs_.insert_or_assign(org.id, org);
        out.push_back(std::move(org));
      }
      return out;
    }
    out.push_back(it->second);
    if (static_cast<std::int64_t>(out.size()) > kMaxChainLength)
      return Error::internal("organization chain too long (cycle?) at " + it->second.id);
    if (!it->second.parent_id) return out;
    next = *it->second.parent_id;
  }
}

}  // namespace useradmin::detail
