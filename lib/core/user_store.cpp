#include "useradmin/user_store.hpp"

#include <exception>
#include <functional>
#include <string>
#include <utility>

namespace useradmin {

// Out-of-line destructors anchor the vtables in this library.
ReadView::~ReadView() = default;
UnitOfWork::~UnitOfWork() = default;
UserStore::~UserStore() = default;

namespace {

// The default asynchronous calls: the blocking one, then `done`, on the
// calling thread.
void runThenComplete(const std::function<Status()>& run, const UserStore::Done& done) {
  Status result;
  try {
    result = run();
  } catch (const std::exception& e) {
    result = Error::internal(std::string("the unit of work threw: ") + e.what());
  } catch (...) {
    result = Error::internal("the unit of work threw an exception");
  }
  done(std::move(result));
}

}  // namespace

void UserStore::transactAsync(Work work, Done done) {
  runThenComplete([&] { return transact(work); }, done);
}

void UserStore::transactLargeAsync(Work work, Done done) {
  runThenComplete([&] { return transactLarge(work); }, done);
}

namespace {

// Runs one read and hands back what it produced; a read may be run again,
// so the output is overwritten, never accumulated.
template <class T, class Fn>
Result<T> readOne(UserStore& store, Fn fn) {
  std::optional<T> out;
  Status done = store.read([&](ReadView& view) -> Status {
    auto got = fn(view);
    if (!got) return std::move(got).error();
    out = std::move(*got);
    return okStatus();
  });
  if (!done) return std::move(done).error();
  return std::move(*out);
}

}  // namespace

bool AuditQuery::matchesFilters(const AuditEvent& event) const {
  return (!target_id || event.target_id == *target_id) && (!actor_id || event.actor_id == *actor_id) &&
         (!action || event.action == *action);
}

Result<std::optional<Organization>> UserStore::findOrganization(std::string_view id) {
  return readOne<std::optional<Organization>>(*this, [&](ReadView& view) -> Result<std::optional<Organization>> {
    auto chain = view.organizationChain(id);
    if (!chain) return std::move(chain).error();
    if (chain->empty()) return std::optional<Organization>();
    return std::optional<Organization>(std::move(chain->front()));
  });
}

Result<UserPage> UserStore::listUsers(const UserQuery& query) {
  return readOne<UserPage>(*this, [&](ReadView& view) { return view.listUsers(query); });
}

Result<AuditPage> UserStore::auditEvents(const AuditQuery& query) {
  return readOne<AuditPage>(*this, [&](ReadView& view) { return view.auditEvents(query); });
}

}  // namespace useradmin
