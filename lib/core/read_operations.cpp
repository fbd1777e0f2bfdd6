// The reads of lifecycle §5, composed of the same pipeline steps as the
// writes, run over one read snapshot (ReadView) instead of a unit of work.
#include <algorithm>

#include "pipeline.hpp"
#include "useradmin/admin_service.hpp"

namespace useradmin {

using detail::Pipeline;

namespace {

constexpr std::size_t kMaxActionLength = 64;

// The pipeline's steps read through a UnitOfWork; a read hands them its
// snapshot behind this face. Nothing in a read writes, so every write
// reports a bug.
class ReadOnlyUnit final : public UnitOfWork {
 public:
  explicit ReadOnlyUnit(ReadView& view) : view_(view) {}
  Result<std::optional<User>> findUser(std::string_view id) override { return view_.findUser(id); }
  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    return view_.organizationChain(id);
  }
  Result<bool> compareAndSetUser(const User&, std::int64_t) override { return refused(); }
  Result<bool> compareAndSetOrganization(const Organization&, std::int64_t) override { return refused(); }
  Result<std::vector<std::string>> suspendCascade(const Cascade&) override { return refused(); }
  Result<std::vector<std::string>> reactivateCascade(const Cascade&) override { return refused(); }
  Status appendAudit(const AuditEvent&) override { return refused(); }
  Status queueDirectoryUpdate(const DirectoryUpdate&, Timestamp, Timestamp) override { return refused(); }

 private:
  static Error refused() { return Error::internal("a read tried to write"); }
  ReadView& view_;
};

// Runs `decide` over one snapshot and hands back its answer (storage
// failures included); reads are never audited.
template <class T, class Decide>
Result<T> readDecision(UserStore& store, Decide decide) {
  std::optional<Result<T>> answer;
  Status read = store.read([&](ReadView& view) -> Status {
    ReadOnlyUnit unit(view);
    answer.emplace(decide(view, unit));
    return okStatus();
  });
  if (!read) return std::move(read).error();
  return std::move(*answer);
}

// Step B for an id given as a named argument.
Status validId(const char* key, const std::optional<std::string>& id) {
  if (!id || isValidId(*id)) return okStatus();
  const std::string value = isValidUtf8(*id) ? *id : std::string();
  return Error::invalidArgument({key, "invalid_format", value}, std::string("invalid_") + key);
}

Status validLimit(std::size_t limit, std::size_t max) {
  if (limit >= 1 && limit <= max) return okStatus();
  return Error::invalidArgument({"limit", "out_of_range", std::to_string(limit)}, "invalid_limit");
}

bool isActionName(const std::string& action) {
  return !action.empty() && action.size() <= kMaxActionLength &&
         std::all_of(action.begin(), action.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'; });
}

// Steps A and C, for the reads that take no path id.
Result<detail::ActorView> readerMayRead(Pipeline& p, UnitOfWork& unit, const Status& arguments) {
  auto me = p.identifyActor(unit);
  if (!me) return me;
  if (!arguments) return arguments.error();
  if (Status permitted = p.requirePermission(*me); !permitted) return std::move(permitted).error();
  return me;
}

Status listArguments(const UserListRequest& r) {
  if (Status ok = validId("organization_id", r.organization_id); !ok) return ok;
  if (r.status == UserStatus::deleted)
    return Error::invalidArgument({"status", "invalid_value", "deleted"}, "invalid_status");
  if (Status ok = validId("after", r.after); !ok) return ok;
  return validLimit(r.limit, kMaxUserPageSize);
}

Status auditArguments(const AuditRequest& r) {
  if (Status ok = validId("target_id", r.target_id); !ok) return ok;
  if (Status ok = validId("actor_id", r.actor_id); !ok) return ok;
  if (r.action && !isActionName(*r.action))
    return Error::invalidArgument({"action", "invalid_format", isValidUtf8(*r.action) ? *r.action : ""},
                                  "invalid_action");
  return validLimit(r.limit, kMaxAuditPageSize);
}

// Step D for the subtree a listing names: visible like getOrganization,
// refused under the parameter's own name.
Result<std::string> listedSubtree(Pipeline& p, UnitOfWork& unit, const detail::ActorView& me,
                                  const UserListRequest& r) {
  if (!r.organization_id) return me.chain.front().id;
  auto target = p.loadOrganization(unit);
  Status visible = target ? p.requireAuthority(me, *target) : Status(std::move(target).error());
  if (visible) return *r.organization_id;
  Error error = std::move(visible).error();
  for (FieldError& field : error.fields)
    if (field.key == "id") field.key = "organization_id";
  return error;
}

}  // namespace

Result<User> AdminService::getUser(const Actor& actor, std::string_view id) {
  return detail::guarded<User>("getUser", [&]() -> Result<User> {
    Pipeline p(deps_, actor, Action::read_user, id, {});
    return readDecision<User>(deps_.store, [&](ReadView&, UnitOfWork& unit) -> Result<User> {
      auto me = p.identifyActor(unit);
      if (!me) return std::move(me).error();
      if (Status valid = p.validateArguments(); !valid) return std::move(valid).error();
      const bool self = id == me->user.id;
      if (!self) {
        if (Status permitted = p.requirePermission(*me); !permitted) return std::move(permitted).error();
      }
      auto target = p.loadUser(unit);
      if (!target) return std::move(target).error();
      if (!self) {
        if (Status visible = p.requireAuthority(*me, *target); !visible) return std::move(visible).error();
      }
      return std::move(target->user);
    });
  });
}

Result<UserPage> AdminService::listUsers(const Actor& actor, const UserListRequest& request) {
  return detail::guarded<UserPage>("listUsers", [&]() -> Result<UserPage> {
    const std::string subtree = request.organization_id.value_or("");  // outlives the pipeline's view of it
    Pipeline p(deps_, actor, Action::list_users, subtree, {});
    return readDecision<UserPage>(deps_.store, [&](ReadView& view, UnitOfWork& unit) -> Result<UserPage> {
      auto me = readerMayRead(p, unit, listArguments(request));
      if (!me) return std::move(me).error();
      auto root = listedSubtree(p, unit, *me, request);
      if (!root) return std::move(root).error();
      UserQuery query;
      query.organization_id = std::move(*root);
      query.status = request.status;
      query.after = request.after;
      query.limit = request.limit;
      return view.listUsers(query);
    });
  });
}

Result<Organization> AdminService::getOrganization(const Actor& actor, std::string_view id) {
  return detail::guarded<Organization>("getOrganization", [&]() -> Result<Organization> {
    Pipeline p(deps_, actor, Action::read_organization, id, {});
    return readDecision<Organization>(deps_.store, [&](ReadView&, UnitOfWork& unit) -> Result<Organization> {
      auto me = readerMayRead(p, unit, p.validateArguments());
      if (!me) return std::move(me).error();
      auto target = p.loadOrganization(unit);
      if (!target) return std::move(target).error();
      if (Status visible = p.requireAuthority(*me, *target); !visible) return std::move(visible).error();
      return target->organization();
    });
  });
}

Result<AuditPage> AdminService::auditEvents(const Actor& actor, const AuditRequest& request) {
  return detail::guarded<AuditPage>("auditEvents", [&]() -> Result<AuditPage> {
    Pipeline p(deps_, actor, Action::read_audit, {}, {});
    return readDecision<AuditPage>(deps_.store, [&](ReadView& view, UnitOfWork& unit) -> Result<AuditPage> {
      auto me = readerMayRead(p, unit, auditArguments(request));
      if (!me) return std::move(me).error();
      AuditQuery query;
      // Root-organization callers see everything, events without a target
      // organization included; everyone else only their subtree's events.
      const Organization& mine = me->chain.front();
      if (mine.parent_id) query.within_organization = mine.id;
      query.target_id = request.target_id;
      query.actor_id = request.actor_id;
      query.action = request.action;
      query.after = request.after;
      query.limit = request.limit;
      return view.auditEvents(query);
    });
  });
}

}  // namespace useradmin
