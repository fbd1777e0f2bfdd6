#include "pipeline.hpp"

#include <algorithm>
#include <exception>

namespace useradmin::detail {

namespace {

// Longest target id kept in an audit event; longer ones are refused by
// rule 2 anyway and only need to stay recognisable.
constexpr std::size_t kMaxAuditedIdLength = 2 * kMaxIdLength;

// How often a decision is taken afresh after its compare-and-set lost to a
// concurrent change, before giving up.
constexpr int kMaxDecisionAttempts = 3;

// The reason of the internal signal "the compare-and-set lost": the unit
// wrote nothing, and the decision is taken again.
constexpr std::string_view kLostRace = "lost_race";

Error lostRace() {
  Error e = Error::unavailable("compare-and-set lost to a concurrent change");
  e.reason = std::string(kLostRace);
  return e;
}

// Storage and plug-in failures abandon the unit; every other error is an answer.
bool isFailure(const Error& e) { return e.code == ErrorCode::internal || e.code == ErrorCode::unavailable; }

// A malformed id goes into the audit log and the server log, so every byte
// that is not printable ASCII is spelled as \xNN.
std::string printableId(std::string_view id) { return printableText(id, kMaxAuditedIdLength); }

// The first `max` code points of `text`.
std::string_view codePointPrefix(std::string_view text, std::size_t max) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == max) return text.substr(0, i);
  }
  return text;
}

bool anySuspended(const std::vector<Organization>& chain) {
  return std::any_of(chain.begin(), chain.end(), [](const Organization& o) { return o.suspended; });
}

bool anyDeleted(const std::vector<Organization>& chain) {
  return std::any_of(chain.begin(), chain.end(), [](const Organization& o) { return o.deleted; });
}

SubjectKind kindOf(Action action) {
  switch (action) {
    case Action::reactivate_user:
    case Action::suspend_user:
    case Action::read_user:
    case Action::list_users:
    case Action::read_audit: return SubjectKind::user;
    case Action::suspend_organization:
    case Action::reactivate_organization:
    case Action::read_organization: return SubjectKind::organization;
  }
  return SubjectKind::user;
}

// The authorizer's verdict as the operation's answer: hidden subjects are
// answered exactly as missing ones.
Status answerFor(Decision decision, SubjectKind kind, std::string_view id) {
  switch (decision.verdict) {
    case Decision::Verdict::allow: return okStatus();
    case Decision::Verdict::deny: return Error::permissionDenied(std::move(decision.message), std::move(decision.reason));
    case Decision::Verdict::hide:
      return kind == SubjectKind::user ? Error::notFound(id, std::move(decision.reason))
                                       : Error::organizationNotFound(id, std::move(decision.reason));
  }
  return Error::internal("unknown authorizer verdict");
}

}  // namespace

Pipeline::Pipeline(const ServiceDeps& deps, const Actor& actor, Action action, std::string_view id,
                   std::string_view note)
    : deps_(deps), actor_(actor), action_(action), id_(id), note_(codePointPrefix(note, kMaxNoteLength)),
      now_(deps.clock.now()), target_id_(isValidId(id) ? std::string(id) : printableId(id)),
      note_too_long_(note_.size() != note.size()) {}

Result<ActorView> Pipeline::identifyActor(UnitOfWork& unit) const {
  auto found = unit.findUser(actor_.user_id);
  if (!found) return std::move(found).error();
  if (!*found) return Error::unauthenticated("unknown_actor");
  ActorView me{std::move(**found), {}};
  if (me.user.status != UserStatus::active) return Error::unauthenticated("actor_not_active");
  auto chain = unit.organizationChain(me.user.organization_id);
  if (!chain) return std::move(chain).error();
  if (chain->empty() || anyDeleted(*chain)) return Error::unauthenticated("actor_organization_deleted");
  if (anySuspended(*chain)) return Error::unauthenticated("actor_organization_suspended");
  const auto& valid_after = me.user.tokens_valid_after;
  if (valid_after && (!actor_.credential_issued_at || *actor_.credential_issued_at < *valid_after))
    return Error::unauthenticated("credential_revoked");
  me.chain = std::move(*chain);
  return me;
}

Status Pipeline::validateArguments() const {
  if (!isValidId(id_)) {
    // The caller's own spelling when it can be shown as text at all.
    const std::string value = isValidUtf8(id_) ? std::string(id_) : target_id_;
    return Error::invalidArgument({"id", "invalid_format", value}, "invalid_id");
  }
  if (note_too_long_) return Error::invalidArgument({"reason", "too_long", ""}, "note_too_long");
  return okStatus();
}

Status Pipeline::requirePermission(const ActorView& me) const {
  Decision d = deps_.authorizer.checkPermission({me.user, me.chain, actor_.scopes}, action_);
  if (d.allowed()) return okStatus();
  return Error::permissionDenied(std::move(d.message), std::move(d.reason));
}

Status Pipeline::notYourself(const ActorView& me) const {
  if (id_ != me.user.id) return okStatus();
  return Error::permissionDenied("cannot perform administrative actions on yourself", "self_action");
}

Result<UserTarget> Pipeline::loadUser(UnitOfWork& unit) {
  auto found = unit.findUser(id_);
  if (!found) return std::move(found).error();
  if (!*found) return Error::notFound(id_, "no_such_user");
  UserTarget target{std::move(**found), {}, {}};
  target_organization_id_ = target.user.organization_id;
  if (target.user.status == UserStatus::deleted) return Error::notFound(id_, "user_deleted");
  auto chain = unit.organizationChain(target.user.organization_id);
  if (!chain) return std::move(chain).error();
  if (chain->empty() || anyDeleted(*chain)) return Error::notFound(id_, "organization_deleted");
  target.chain = std::move(*chain);
  if (target.user.suspended_by_org_id) {
    auto cascade_chain = unit.organizationChain(*target.user.suspended_by_org_id);
    if (!cascade_chain) return std::move(cascade_chain).error();
    target.cascade_chain = std::move(*cascade_chain);
  }
  return target;
}

Result<OrganizationTarget> Pipeline::loadOrganization(UnitOfWork& unit) {
  auto chain = unit.organizationChain(id_);
  if (!chain) return std::move(chain).error();
  if (chain->empty()) return Error::organizationNotFound(id_, "no_such_organization");
  target_organization_id_ = std::string(id_);
  if (anyDeleted(*chain)) return Error::organizationNotFound(id_, "organization_deleted");
  return OrganizationTarget{std::move(*chain)};
}

Status Pipeline::requireAuthority(const ActorView& me, const UserTarget& target) const {
  const Subject subject = Subject::ofUser(target.user, target.chain, target.cascade_chain);
  return answerFor(deps_.authorizer.checkAuthority({me.user, me.chain, actor_.scopes}, action_, subject),
                   SubjectKind::user, id_);
}

Status Pipeline::requireAuthority(const ActorView& me, const OrganizationTarget& target) const {
  const Subject subject = Subject::ofOrganization(target.chain);
  return answerFor(deps_.authorizer.checkAuthority({me.user, me.chain, actor_.scopes}, action_, subject),
                   SubjectKind::organization, id_);
}

Result<UserChange> Pipeline::commitUser(UnitOfWork& unit, const User& before, User after,
                                        std::string_view reason) const {
  after.version = before.version + 1;
  after.updated_at = now_;
  auto swapped = unit.compareAndSetUser(after, before.version);
  if (!swapped) return std::move(swapped).error();
  if (!*swapped) return lostRace();
  if (Status audited = unit.appendAudit(event("granted", reason)); !audited) return std::move(audited).error();
  return UserChange{before, std::move(after)};
}

Result<Organization> Pipeline::commitOrganization(UnitOfWork& unit, const Organization& before, Organization after,
                                                  std::string_view reason) const {
  after.version = before.version + 1;
  after.updated_at = now_;
  auto swapped = unit.compareAndSetOrganization(after, before.version);
  if (!swapped) return std::move(swapped).error();
  if (!*swapped) return lostRace();
  if (Status audited = unit.appendAudit(event("granted", reason)); !audited) return std::move(audited).error();
  return after;
}

Cascade Pipeline::cascade(const Organization& organization, Action user_action) const {
  Cascade c;
  c.organization_id = organization.id;
  c.time = now_;
  c.actor_id = actor_.user_id;
  c.event = event("granted", "organization_cascade");
  c.event.action = toString(user_action);
  c.event.target_type = toString(SubjectKind::user);
  // With a directory, the cascade's users are told through the outbox.
  c.queue_directory_updates = deps_.directory != nullptr;
  return c;
}

AuditEvent Pipeline::event(std::string_view outcome, std::string_view reason) const {
  AuditEvent e;
  e.time = now_;
  e.action = toString(action_);
  e.actor_id = actor_.user_id;
  e.target_type = toString(kindOf(action_));
  e.target_id = target_id_;
  e.target_organization_id = target_organization_id_;
  e.outcome = std::string(outcome);
  e.reason = std::string(reason);
  e.request_id = actor_.request_id;
  e.client_address = actor_.client_address;
  e.note = std::string(note_);
  return e;
}

Status Pipeline::commitOnce(const UserStore::Work& work, bool large) {
  return large ? deps_.store.transactLarge(work) : deps_.store.transact(work);
}

template <class T>
Status Pipeline::decideInUnit(UnitOfWork& unit, const std::function<Result<T>(UnitOfWork&)>& decideOnce,
                              std::optional<Result<T>>& answer) {
  answer.reset();
  target_organization_id_.reset();
  Result<T> outcome = decideOnce(unit);
  if (!outcome) {
    const Error& refusal = outcome.error();
    // A lost compare-and-set wrote nothing: commit the empty unit
    // and decide again from the new state.
    if (refusal.reason == kLostRace) return okStatus();
    if (isFailure(refusal)) return refusal;
    // A refusal commits only its audit event (rule 1's are not audited).
    if (refusal.code != ErrorCode::unauthenticated) {
      if (Status audited = unit.appendAudit(event(toString(refusal.code), refusal.reason)); !audited) return audited;
    }
  }
  answer.emplace(std::move(outcome));
  return okStatus();
}

Error Pipeline::keptChanging() const {
  return Error::unavailable(std::string(toString(kindOf(action_))) + " " + target_id_ + " kept changing while " +
                            toString(action_) + " was decided");
}

template <class T>
Result<T> Pipeline::decide(const std::function<Result<T>(UnitOfWork&)>& decideOnce, bool large) {
  for (int attempt = 1;; ++attempt) {
    // The store may run the unit more than once: each run starts afresh.
    std::optional<Result<T>> answer;
    Status committed =
        commitOnce([&](UnitOfWork& unit) -> Status { return decideInUnit(unit, decideOnce, answer); }, large);
    if (!committed) return std::move(committed).error();
    if (answer) return std::move(*answer);
    if (attempt == kMaxDecisionAttempts) return keptChanging();
  }
}

template <class T>
void Pipeline::decideAsync(std::shared_ptr<Pipeline> self, std::function<Result<T>(UnitOfWork&)> decideOnce,
                           std::function<void(Result<T>)> then, bool large, int attempt) {
  auto answer = std::make_shared<std::optional<Result<T>>>();
  Pipeline* pipeline = self.get();
  UserStore& store = pipeline->deps_.store;
  // The unit holds only what the completion also holds, so it can run
  // (and be run again) while the completion is pending.
  UserStore::Work work = [pipeline, answer, decideOnce](UnitOfWork& unit) -> Status {
    return pipeline->decideInUnit(unit, decideOnce, *answer);
  };
  UserStore::Done completed = [self = std::move(self), answer, decideOnce = std::move(decideOnce),
                                then = std::move(then), large, attempt](Status committed) mutable {
    if (!committed) return then(std::move(committed).error());
    if (*answer) return then(std::move(**answer));
    if (attempt == kMaxDecisionAttempts) return then(self->keptChanging());
    try {
      Pipeline::decideAsync<T>(std::move(self), std::move(decideOnce), then, large, attempt + 1);
    } catch (...) {
      // Only allocation can fail here, before the next unit was queued.
      then(Error::internal("decision: out of memory while deciding again"));
    }
  };
  if (large) store.transactLargeAsync(std::move(work), std::move(completed));
  else store.transactAsync(std::move(work), std::move(completed));
}

template <class T>
Result<T> guarded(const char* name, const std::function<Result<T>()>& operation) {
  try {
    return operation();
  } catch (const std::exception& e) {
    return Error::internal(std::string(name) + ": " + e.what());
  } catch (...) {
    return Error::internal(std::string(name) + ": non-standard exception");
  }
}

template Result<UserChange> Pipeline::decide(const std::function<Result<UserChange>(UnitOfWork&)>&, bool);
template void Pipeline::decideAsync(std::shared_ptr<Pipeline>, std::function<Result<UserChange>(UnitOfWork&)>,
                                    std::function<void(Result<UserChange>)>, bool, int);
template void Pipeline::decideAsync(std::shared_ptr<Pipeline>, std::function<Result<OrganizationChange>(UnitOfWork&)>,
                                    std::function<void(Result<OrganizationChange>)>, bool, int);
template Result<OrganizationChange> Pipeline::decide(const std::function<Result<OrganizationChange>(UnitOfWork&)>&,
                                                     bool);
template Result<User> guarded(const char*, const std::function<Result<User>()>&);
template Result<OrganizationChange> guarded(const char*, const std::function<Result<OrganizationChange>()>&);
template Result<Organization> guarded(const char*, const std::function<Result<Organization>()>&);
template Result<UserPage> guarded(const char*, const std::function<Result<UserPage>()>&);
template Result<AuditPage> guarded(const char*, const std::function<Result<AuditPage>()>&);

}  // namespace useradmin::detail
