// The operations: each a short composition of the pipeline's steps, in the
// order the contracts give (lifecycle §1 A-D, then the operation's own).
#include "useradmin/admin_service.hpp"

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

}  // namespace

AdminService::AdminService(ServiceDeps deps) : deps_(deps) {}

Result<User> AdminService::reactivateUser(const Actor& actor, std::string_view id, std::string_view note) {
  return detail::guarded<User>("reactivateUser", [&]() -> Result<User> {
    Pipeline p(deps_, actor, Action::reactivate_user, id, note);
    auto change = p.decide<detail::UserChange>([&](UnitOfWork& unit) -> Result<detail::UserChange> {
      auto target = visibleUser(p, unit);
      if (!target) return std::move(target).error();
      if (Status free = detail::organizationNotSuspended(*target); !free) return std::move(free).error();
      if (Status state = detail::userIsSuspended(target->user); !state) return std::move(state).error();
      return p.commitUser(unit, target->user, detail::reactivated(target->user, p.now()), "reactivated");
    });
    if (!change) return std::move(change).error();
    return detail::tellDirectoryOrUndo(p, std::move(*change));
  });
}

Result<User> AdminService::suspendUser(const Actor& actor, std::string_view id, std::string_view note) {
  return detail::guarded<User>("suspendUser", [&]() -> Result<User> {
    Pipeline p(deps_, actor, Action::suspend_user, id, note);
    auto change = p.decide<detail::UserChange>([&](UnitOfWork& unit) -> Result<detail::UserChange> {
      auto target = visibleUser(p, unit);
      if (!target) return std::move(target).error();
      if (Status state = detail::userIsActive(target->user); !state) return std::move(state).error();
      return p.commitUser(unit, target->user, detail::suspended(target->user, actor.user_id, p.now()), "suspended");
    });
    if (!change) return std::move(change).error();
    return detail::tellDirectoryOrUndo(p, std::move(*change));
  });
}

Result<OrganizationChange> AdminService::suspendOrganization(const Actor& actor, std::string_view id,
                                                             std::string_view note) {
  return detail::guarded<OrganizationChange>("suspendOrganization", [&]() -> Result<OrganizationChange> {
    Pipeline p(deps_, actor, Action::suspend_organization, id, note);
    auto change = p.decide<OrganizationChange>(
        [&](UnitOfWork& unit) -> Result<OrganizationChange> {
          auto target = visibleOrganization(p, unit);
          if (!target) return std::move(target).error();
          if (Status state = detail::organizationNotSuspended(*target); !state) return std::move(state).error();
          const Organization& org = target->organization();
          return commitCascade(p, unit, org, detail::suspended(org, actor.user_id, p.now()), "suspended",
                               Action::suspend_user, &UnitOfWork::suspendCascade);
        },
        /*large=*/true);
    return finishCascade(deps_, std::move(change));
  });
}

Result<OrganizationChange> AdminService::reactivateOrganization(const Actor& actor, std::string_view id,
                                                                std::string_view note) {
  return detail::guarded<OrganizationChange>("reactivateOrganization", [&]() -> Result<OrganizationChange> {
    Pipeline p(deps_, actor, Action::reactivate_organization, id, note);
    auto change = p.decide<OrganizationChange>(
        [&](UnitOfWork& unit) -> Result<OrganizationChange> {
          auto target = visibleOrganization(p, unit);
          if (!target) return std::move(target).error();
          if (Status parent = detail::parentNotSuspended(*target); !parent) return std::move(parent).error();
          if (Status state = detail::organizationIsSuspended(*target); !state) return std::move(state).error();
          const Organization& org = target->organization();
          return commitCascade(p, unit, org, detail::reactivated(org, p.now()), "reactivated",
                               Action::reactivate_user, &UnitOfWork::reactivateCascade);
        },
        /*large=*/true);
    return finishCascade(deps_, std::move(change));
  });
}

}  // namespace useradmin
