#include "useradmin/reactivation_service.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

namespace useradmin {

namespace {

// Longest target id kept in an audit event; longer ones are refused by
// rule 2 anyway and only need to stay recognisable.
constexpr std::size_t kMaxAuditedIdLength = 2 * kMaxIdLength;

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string truncateUtf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

// A malformed id is echoed back to the client and into the log, so every
// byte that is not printable ASCII is spelled as \xNN.
std::string printableId(std::string_view id) {
  std::string out;
  for (const char c : id.substr(0, kMaxAuditedIdLength)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\') {
      out.push_back(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", byte);
      out += buf;
    }
  }
  return out;
}

bool anySuspended(const std::vector<Organization>& chain) {
  return std::any_of(chain.begin(), chain.end(), [](const Organization& o) { return o.suspended; });
}

bool anyDeleted(const std::vector<Organization>& chain) {
  return std::any_of(chain.begin(), chain.end(), [](const Organization& o) { return o.deleted; });
}

// How often the decision is taken afresh after its compare-and-set lost to
// a concurrent change, and how often an undo after a directory failure is
// attempted, before giving up.
constexpr int kMaxDecisionAttempts = 3;
constexpr int kMaxCompensationAttempts = 3;

// Everything one run of the unit of work decides. The store may run the
// unit again after contention, so each run starts from a fresh Outcome.
struct Outcome {
  std::optional<Error> error;
  bool lost_race = false;
  User before;
  User after;
};

// Calls the hook; an exception from an embedder's hook counts as a failure.
Status notifyDirectory(DirectorySync& directory, const User& user) {
  try {
    return directory.userReactivated(user);
  } catch (const std::exception& e) {
    return Error::externalError(std::string("directory hook threw: ") + e.what());
  } catch (...) {
    return Error::externalError("directory hook threw a non-standard exception");
  }
}

}  // namespace

ReactivationService::ReactivationService(ServiceDeps deps) : deps_(deps) {}

Result<User> ReactivationService::reactivateUser(const Actor& actor, std::string_view id, std::string_view note) {
  // Nothing may escape the library boundary: a throwing plug-in (store,
  // authorizer, clock) or an allocation failure becomes `internal`.
  try {
    return decide(actor, id, note);
  } catch (const std::exception& e) {
    return Error::internal(std::string("reactivateUser: ") + e.what());
  } catch (...) {
    return Error::internal("reactivateUser: non-standard exception");
  }
}

Result<User> ReactivationService::decide(const Actor& actor, std::string_view id, std::string_view note) {
  const Timestamp now = deps_.clock.now();
  const std::string target_id = isValidId(id) ? std::string(id) : printableId(id);
  const std::string kept_note = truncateUtf8(note, kMaxNoteLength);
  Outcome outcome;

  auto audit = [&](UnitOfWork& unit, const char* result, const std::string& reason) {
    AuditEvent event;
    event.time = now;
    event.action = std::string(kReactivateAction);
    event.actor_id = actor.user_id;
    event.target_id = target_id;
    event.outcome = result;
    event.reason = reason;
    event.request_id = actor.request_id;
    event.client_address = actor.client_address;
    event.note = kept_note;
    return unit.appendAudit(event);
  };
  // A denial commits only its audit event.
  auto deny = [&](UnitOfWork& unit, Error error) -> Status {
    Status appended = audit(unit, toString(error.code), error.reason);
    outcome.error = std::move(error);
    return appended;
  };

  auto decideOnce = [&](UnitOfWork& unit) -> Status {
    outcome = Outcome{};

    // Rule 1: identify the actor. Unauthenticated calls leave no audit trail.
    auto actor_user = unit.findUser(actor.user_id);
    if (!actor_user) return std::move(actor_user).error();
    if (!*actor_user) {
      outcome.error = Error::unauthenticated("unknown_actor");
      return okStatus();
    }
    const User& me = **actor_user;
    if (me.status != UserStatus::active) {
      outcome.error = Error::unauthenticated("actor_not_active");
      return okStatus();
    }
    auto my_chain = unit.organizationChain(me.organization_id);
    if (!my_chain) return std::move(my_chain).error();
    if (my_chain->empty() || anyDeleted(*my_chain)) {
      outcome.error = Error::unauthenticated("actor_organization_deleted");
      return okStatus();
    }
    if (anySuspended(*my_chain)) {
      outcome.error = Error::unauthenticated("actor_organization_suspended");
      return okStatus();
    }
    if (me.tokens_valid_after &&
        (!actor.credential_issued_at || *actor.credential_issued_at < *me.tokens_valid_after)) {
      outcome.error = Error::unauthenticated("credential_revoked");
      return okStatus();
    }

    // Rule 2: validate the id.
    if (!isValidId(id)) return deny(unit, Error::invalidArgument({"id", "invalid_format", target_id}, "invalid_id"));

    // Rule 3: permission.
    const Principal principal{me, *my_chain, actor.scopes};
    if (Decision d = deps_.authorizer.checkPermission(principal, kManageUsers); !d.allowed())
      return deny(unit, Error::permissionDenied(std::move(d.message), std::move(d.reason)));

    // Rule 4: not yourself.
    if (id == me.id)
      return deny(unit, Error::permissionDenied("cannot perform administrative actions on yourself", "self_action"));

    // Rule 5: the target exists and is visible.
    auto target_user = unit.findUser(id);
    if (!target_user) return std::move(target_user).error();
    if (!*target_user) return deny(unit, Error::notFound(id, "no_such_user"));
    const User& target = **target_user;
    if (target.status == UserStatus::deleted) return deny(unit, Error::notFound(id, "user_deleted"));
    auto target_chain = unit.organizationChain(target.organization_id);
    if (!target_chain) return std::move(target_chain).error();
    if (target_chain->empty() || anyDeleted(*target_chain))
      return deny(unit, Error::notFound(id, "organization_deleted"));

    // Rules 6-8: hierarchy, escalation, cascade authority.
    std::vector<Organization> cascade_chain;
    if (target.suspended_by_org_id) {
      auto chain = unit.organizationChain(*target.suspended_by_org_id);
      if (!chain) return std::move(chain).error();
      cascade_chain = std::move(*chain);
    }
    const Subject subject{target, *target_chain, cascade_chain};
    if (Decision d = deps_.authorizer.checkAuthority(principal, subject); !d.allowed()) {
      // Rule 6: an invisible target looks exactly like a missing one.
      if (d.verdict == Decision::Verdict::hide && !deps_.policy.revealOutsideHierarchy())
        return deny(unit, Error::notFound(id, std::move(d.reason)));
      return deny(unit, Error::permissionDenied(std::move(d.message), std::move(d.reason)));
    }

    // Rule 9: no suspended organization above the target.
    if (anySuspended(*target_chain))
      return deny(unit, Error::failedPrecondition({"organization_id", "organization_suspended", target.organization_id},
                                                  "organization_suspended"));

    // Rule 10: only a suspended user can be reactivated.
    if (target.status != UserStatus::suspended)
      return deny(unit, Error::failedPrecondition({"status", "not_suspended", toString(target.status)},
                                                  "not_suspended"));

    // Rule 11: apply, guarded by compare-and-set on the version the checks saw.
    User after = target;
    after.status = UserStatus::active;
    after.suspended_at.reset();
    after.suspended_by.reset();
    after.suspended_by_org_id.reset();
    after.version = target.version + 1;
    after.updated_at = now;
    auto swapped = unit.compareAndSetUser(after, target.version);
    if (!swapped) return std::move(swapped).error();
    if (!*swapped) {
      // Someone changed the user since it was read. Nothing was written in
      // this run; the caller decides again from the new state, where a
      // concurrent reactivation shows up as rule 10.
      outcome.lost_race = true;
      return okStatus();
    }
    outcome.before = target;
    outcome.after = std::move(after);
    return audit(unit, "granted", "reactivated");
  };

  for (int attempt = 1;; ++attempt) {
    Status committed = deps_.store.transact(decideOnce);
    if (!committed) return std::move(committed).error();
    if (!outcome.lost_race) break;
    if (attempt == kMaxDecisionAttempts)
      return Error::unavailable("user " + target_id + " kept changing while the reactivation was decided");
  }
  if (outcome.error) return std::move(*outcome.error);

  // Rule 12: tell the directory only after the local commit (no transaction
  // is held across the network call); undo locally if it refuses.
  if (deps_.directory != nullptr) {
    Status synced = notifyDirectory(*deps_.directory, outcome.after);
    if (!synced) {
      Error failure = Error::externalError(synced.error().detail.empty() ? synced.error().message
                                                                          : synced.error().detail);
      const Timestamp undo_time = deps_.clock.now();
      bool undone = false;
      Status compensated = okStatus();
      for (int attempt = 0; attempt < kMaxCompensationAttempts; ++attempt) {
        // Undo only our own change: compare-and-set on the version we wrote.
        compensated = deps_.store.transact([&](UnitOfWork& unit) -> Status {
          undone = false;
          User restored = outcome.before;
          restored.version = outcome.after.version + 1;
          restored.updated_at = undo_time;
          auto swapped = unit.compareAndSetUser(restored, outcome.after.version);
          if (!swapped) return std::move(swapped).error();
          undone = *swapped;
          return audit(unit, toString(ErrorCode::external_error),
                       undone ? "directory_sync_failed" : "directory_sync_failed_superseded");
        });
        if (compensated) break;
      }
      if (!compensated)
        return Error::internal("directory sync failed (" + failure.detail +
                               ") and the local reactivation could not be undone: " + compensated.error().detail);
      // A later change already replaced ours (e.g. a new suspension); that
      // state stands and is not overwritten.
      if (!undone) failure.detail += "; the user changed again before the undo, which was skipped";
      return failure;
    }
  }
  return std::move(outcome.after);
}

}  // namespace useradmin
