// reactivateUser on the in-memory store, and the hierarchy check on deep and
// wide trees: the library's own cost, with no I/O.
#include <benchmark/benchmark.h>

#include <string>

#include "support/fixtures.hpp"
#include "useradmin/useradmin.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

constexpr std::int64_t kUsers = 200000;

// owner → distributor → reseller → `width` customers, users spread over them.
Dataset tree(int width, std::int64_t users) {
  Dataset d;
  d.organizations = {makeOrg("org_owner", OrgType::owner), makeOrg("org_d", OrgType::distributor, "org_owner"),
                     makeOrg("org_r", OrgType::reseller, "org_d")};
  for (int i = 0; i < width; ++i)
    d.organizations.push_back(makeOrg("org_c" + std::to_string(i), OrgType::customer, "org_r"));
  d.users.push_back(makeUser("usr_root", "org_owner", {"super"}));
  d.users.push_back(makeUser("usr_r_admin", "org_r", {"admin"}));
  for (std::int64_t i = 0; i < users; ++i)
    d.users.push_back(makeSuspended("usr_" + std::to_string(i), "org_c" + std::to_string(i % width)));
  return d;
}

struct Setup {
  explicit Setup(const Dataset& data) : store(makeMemoryStore(defaultPolicy())), authorizer(makePolicyAuthorizer(defaultPolicy())),
        service(ServiceDeps{*store, *authorizer, systemClock(), nullptr}) {
    if (!store->seed(data)) std::abort();
    actor.user_id = "usr_root";
    actor.request_id = "bench";
  }
  std::unique_ptr<UserStore> store;
  std::unique_ptr<Authorizer> authorizer;
  ReactivationService service;
  Actor actor;
};

// Every iteration is a real reactivation of a distinct suspended user.
void BM_ReactivateMemoryStore(benchmark::State& state) {
  Setup s(tree(16, kUsers));
  std::int64_t next = 0;
  for (auto _ : state) {
    auto r = s.service.reactivateUser(s.actor, "usr_" + std::to_string(next++));
    if (!r) state.SkipWithError("refused");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReactivateMemoryStore)->Iterations(kUsers);

// The denial path: every rule is read and checked, an audit event appended.
void BM_DenyNotSuspendedMemoryStore(benchmark::State& state) {
  Setup s(tree(16, 16));
  if (!s.service.reactivateUser(s.actor, "usr_0")) std::abort();
  for (auto _ : state) benchmark::DoNotOptimize(s.service.reactivateUser(s.actor, "usr_0"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DenyNotSuspendedMemoryStore)->Iterations(200000);

// Rules 6-8 on their own, from the actor's chain and the target's chain, as
// the tree gets wider (the check walks chains, so width must not matter).
void BM_HierarchyCheck(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0));
  auto store = makeMemoryStore(defaultPolicy());
  if (!store->seed(tree(width, width))) std::abort();
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  std::vector<Organization> actor_chain, target_chain, no_cascade;
  std::optional<User> actor_user, target_user;
  (void)store->transact([&](UnitOfWork& unit) -> Status {
    actor_user = *unit.findUser("usr_r_admin").value();
    target_user = *unit.findUser("usr_" + std::to_string(width - 1)).value();
    actor_chain = unit.organizationChain("org_r").value();
    target_chain = unit.organizationChain(target_user->organization_id).value();
    return okStatus();
  });
  const std::optional<std::vector<std::string>> scopes;
  for (auto _ : state) {
    Decision d = authorizer->checkAuthority({*actor_user, actor_chain, scopes}, Action::reactivate_user,
                                             Subject::ofUser(*target_user, target_chain, no_cascade));
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_HierarchyCheck)->Arg(10)->Arg(1000)->Arg(10000);

}  // namespace
