// The operations: each a short composition of the pipeline's steps, in the
// order the contracts give (lifecycle §1 A-D, then the operation's own).
#include "useradmin/admin_service.hpp"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "pipeline.hpp"

namespace useradmin {

using detail::Pipeline;

namespace {

// Steps A, B and C, shared by every operation.
Result<detail::ActorView> actorMayAct(Pipeline& p, UnitOfWork& unit) {
  auto me = p.identifyActor(unit);
  if (!me) return me;
  if (Status valid = p.validateArguments(); !valid) return std::move(valid).error();
  if (Status permitted = p.requirePermission(*me); !permitted) return std::move(permitted).error();
  return me;
}

// A-D for a user subject: the caller may act, not on itself, and the user
// is visible and within the caller's authority (rules 1-8).
Result<detail::UserTarget> visibleUser(Pipeline& p, UnitOfWork& unit) {
  auto me = actorMayAct(p, unit);
  if (!me) return std::move(me).error();
  if (Status other = p.notYourself(*me); !other) return std::move(other).error();
  auto target = p.loadUser(unit);
  if (!target) return target;
  if (Status allowed = p.requireAuthority(*me, *target); !allowed) return std::move(allowed).error();
  return target;
}

// A-D for an organization subject (a strict descendant of the caller's).
Result<detail::OrganizationTarget> visibleOrganization(Pipeline& p, UnitOfWork& unit) {
  auto me = actorMayAct(p, unit);
  if (!me) return std::move(me).error();
  auto target = p.loadOrganization(unit);
  if (!target) return target;
  if (Status allowed = p.requireAuthority(*me, *target); !allowed) return std::move(allowed).error();
  return target;
}

// The organization compare-and-set, then the cascade over its users, in
// the same unit: either all of it commits or none.
template <class Cascading>
Result<OrganizationChange> commitCascade(Pipeline& p, UnitOfWork& unit, const Organization& before,
                                         Organization after, const char* reason, Action user_action,
                                         Cascading cascading) {
  auto org = p.commitOrganization(unit, before, std::move(after), reason);
  if (!org) return std::move(org).error();
  auto changed = (unit.*cascading)(p.cascade(*org, user_action));
  if (!changed) return std::move(changed).error();
  return OrganizationChange{std::move(*org), std::move(*changed)};
}

Result<OrganizationChange> finishCascade(const ServiceDeps& deps, Result<OrganizationChange> change) {
  // The cascade's unit queued its users' directory updates (when a
  // directory is configured): the relay delivers them, not this request.
  if (change && deps.directory != nullptr && !change->changed_user_ids.empty() && deps.directory_queued)
    deps.directory_queued();
  return change;
}

// ---- The decisions, one per write operation, shared by the blocking and
// the asynchronous call: the unit's body, run on whichever thread runs units.

Result<detail::UserChange> decideUserReactivation(Pipeline& p, UnitOfWork& unit) {
  auto target = visibleUser(p, unit);
  if (!target) return std::move(target).error();
  if (Status free = detail::organizationNotSuspended(*target); !free) return std::move(free).error();
  if (Status state = detail::userIsSuspended(target->user); !state) return std::move(state).error();
  return p.commitUser(unit, target->user, detail::reactivated(target->user, p.now()), "reactivated");
}

Result<detail::UserChange> decideUserSuspension(Pipeline& p, UnitOfWork& unit) {
  auto target = visibleUser(p, unit);
  if (!target) return std::move(target).error();
  if (Status state = detail::userIsActive(target->user); !state) return std::move(state).error();
  return p.commitUser(unit, target->user, detail::suspended(target->user, p.actor().user_id, p.now()), "suspended");
}

Result<OrganizationChange> decideOrganizationSuspension(Pipeline& p, UnitOfWork& unit) {
  auto target = visibleOrganization(p, unit);
  if (!target) return std::move(target).error();
  if (Status state = detail::organizationNotSuspended(*target); !state) return std::move(state).error();
  const Organization& org = target->organization();
  return commitCascade(p, unit, org, detail::suspended(org, p.actor().user_id, p.now()), "suspended",
                       Action::suspend_user, &UnitOfWork::suspendCascade);
}

Result<OrganizationChange> decideOrganizationReactivation(Pipeline& p, UnitOfWork& unit) {
  auto target = visibleOrganization(p, unit);
  if (!target) return std::move(target).error();
  if (Status parent = detail::parentNotSuspended(*target); !parent) return std::move(parent).error();
  if (Status state = detail::organizationIsSuspended(*target); !state) return std::move(state).error();
  const Organization& org = target->organization();
  return commitCascade(p, unit, org, detail::reactivated(org, p.now()), "reactivated", Action::reactivate_user,
                       &UnitOfWork::reactivateCascade);
}

// How each kind of operation runs: its decision's result, whether its unit
// is large (a cascade), and what happens after the commit.

struct UserOperation {
  using Change = detail::UserChange;
  using Answer = User;
  static constexpr bool large = false;
  // Rule 12. Without a directory (the only case that runs asynchronously)
  // it only hands back the user after the change.
  static Result<User> finish(Pipeline& p, Result<Change> change) {
    if (!change) return std::move(change).error();
    return detail::tellDirectoryOrUndo(p, std::move(*change));
  }
};

struct OrganizationOperation {
  using Change = OrganizationChange;
  using Answer = OrganizationChange;
  static constexpr bool large = true;
  static Result<OrganizationChange> finish(Pipeline& p, Result<Change> change) {
    return finishCascade(p.deps(), std::move(change));
  }
};

template <class Operation>
Result<typename Operation::Answer> runBlocking(const ServiceDeps& deps, const char* name, Action action,
                                               const Actor& actor, std::string_view id, std::string_view note,
                                               Result<typename Operation::Change> (*decision)(Pipeline&, UnitOfWork&)) {
  using Answer = typename Operation::Answer;
  using Change = typename Operation::Change;
  return detail::guarded<Answer>(name, [&]() -> Result<Answer> {
    Pipeline p(deps, actor, action, id, note);
    auto change = p.decide<Change>([&](UnitOfWork& unit) { return decision(p, unit); }, Operation::large);
    return Operation::finish(p, std::move(change));
  });
}

template <class Operation>
Result<typename Operation::Answer> finishOrFail(Pipeline& p, const char* name,
                                               Result<typename Operation::Change> change) {
  try {
    return Operation::finish(p, std::move(change));
  } catch (...) {
    return Error::internal(std::string(name) + ": failed after the commit");
  }
}

// What an asynchronous call's pipeline refers to, kept with it.
struct AsyncCall {
  AsyncCall(const ServiceDeps& deps, Actor a, std::string i, std::string n, Action action)
      : actor(std::move(a)), id(std::move(i)), note(std::move(n)), pipeline(deps, actor, action, id, note) {}
  Actor actor;
  std::string id;
  std::string note;
  Pipeline pipeline;
};

// GCC 12 at -O3 takes the moved-from Result's variant inside std::function's
// invoker for uninitialized (a false positive; the same code outside a
// std::function compiles cleanly).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// The blocking call's decision, queued with Pipeline::decideAsync; `done`
// gets the answer on the thread that completed the unit. The caller has
// made sure no directory is configured (rule 12 would block that thread).
template <class Operation>
void runAsync(const ServiceDeps& deps, const char* name, Action action, Actor actor, std::string id, std::string note,
              Result<typename Operation::Change> (*decision)(Pipeline&, UnitOfWork&),
              std::function<void(Result<typename Operation::Answer>)> done) {
  using Change = typename Operation::Change;
  std::shared_ptr<Pipeline> pipeline;
  std::function<Result<Change>(UnitOfWork&)> decideOnce;
  std::function<void(Result<Change>)> then;
  try {
    auto call = std::make_shared<AsyncCall>(deps, std::move(actor), std::move(id), std::move(note), action);
    pipeline = std::shared_ptr<Pipeline>(call, &call->pipeline);
    Pipeline* p = pipeline.get();
    decideOnce = [p, decision](UnitOfWork& unit) { return decision(*p, unit); };
    // On the store's thread, whose completions must not throw.
    then = [p, done, name](Result<Change> change) { done(finishOrFail<Operation>(*p, name, std::move(change))); };
  } catch (...) {
    return done(Error::internal(std::string(name) + ": out of memory"));
  }
  try {
    Pipeline::decideAsync<Change>(std::move(pipeline), std::move(decideOnce), std::move(then), Operation::large);
  } catch (...) {
    done(Error::internal(std::string(name) + ": out of memory"));
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

AdminService::AdminService(ServiceDeps deps) : deps_(deps) {}

Result<User> AdminService::reactivateUser(const Actor& actor, std::string_view id, std::string_view note) {
  return runBlocking<UserOperation>(deps_, "reactivateUser", Action::reactivate_user, actor, id, note,
                                    &decideUserReactivation);
}

void AdminService::reactivateUserAsync(Actor actor, std::string id, std::string note,
                                       std::function<void(Result<User>)> done) {
  if (deps_.directory != nullptr) return done(reactivateUser(actor, id, note));
  runAsync<UserOperation>(deps_, "reactivateUser", Action::reactivate_user, std::move(actor), std::move(id),
                          std::move(note), &decideUserReactivation, std::move(done));
}

Result<User> AdminService::suspendUser(const Actor& actor, std::string_view id, std::string_view note) {
  return runBlocking<UserOperation>(deps_, "suspendUser", Action::suspend_user, actor, id, note,
                                    &decideUserSuspension);
}

void AdminService::suspendUserAsync(Actor actor, std::string id, std::string note,
                                    std::function<void(Result<User>)> done) {
  if (deps_.directory != nullptr) return done(suspendUser(actor, id, note));
  runAsync<UserOperation>(deps_, "suspendUser", Action::suspend_user, std::move(actor), std::move(id),
                          std::move(note), &decideUserSuspension, std::move(done));
}

Result<OrganizationChange> AdminService::suspendOrganization(const Actor& actor, std::string_view id,
                                                             std::string_view note) {
  return runBlocking<OrganizationOperation>(deps_, "suspendOrganization", Action::suspend_organization, actor, id,
                                            note, &decideOrganizationSuspension);
}

void AdminService::suspendOrganizationAsync(Actor actor, std::string id, std::string note,
                                            std::function<void(Result<OrganizationChange>)> done) {
  if (deps_.directory != nullptr) return done(suspendOrganization(actor, id, note));
  runAsync<OrganizationOperation>(deps_, "suspendOrganization", Action::suspend_organization, std::move(actor),
                                  std::move(id), std::move(note), &decideOrganizationSuspension, std::move(done));
}

Result<OrganizationChange> AdminService::reactivateOrganization(const Actor& actor, std::string_view id,
                                                                std::string_view note) {
  return runBlocking<OrganizationOperation>(deps_, "reactivateOrganization", Action::reactivate_organization, actor,
                                            id, note, &decideOrganizationReactivation);
}

void AdminService::reactivateOrganizationAsync(Actor actor, std::string id, std::string note,
                                               std::function<void(Result<OrganizationChange>)> done) {
  if (deps_.directory != nullptr) return done(reactivateOrganization(actor, id, note));
  runAsync<OrganizationOperation>(deps_, "reactivateOrganization", Action::reactivate_organization,
                                  std::move(actor), std::move(id), std::move(note), &decideOrganizationReactivation,
                                  std::move(done));
}

}  // namespace useradmin
