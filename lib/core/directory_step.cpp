// The last step of every operation: telling the directory after the commit
// (rule 12), and undoing a single-user change it refused.
#include <exception>
#include <string>

#include "pipeline.hpp"

namespace useradmin::detail {

namespace {

// How often an undo after a directory failure is attempted before giving up.
constexpr int kMaxCompensationAttempts = 3;

// Calls the hook; an exception from an embedder's hook counts as a failure.
Status notify(DirectorySync& directory, const User& user) {
  try {
    return directory.userStatusChanged(user);
  } catch (const std::exception& e) {
    return Error::externalError(std::string("directory hook threw: ") + e.what());
  } catch (...) {
    return Error::externalError("directory hook threw a non-standard exception");
  }
}

// Restores `change.before`, but only over our own write (compare-and-set on
// the version we wrote), with an `external_error` audit event either way.
// `undone` tells whether the restore applied.
// What the directory did, for the undo's audit note: "directory scim:
// rejected (HTTP 503)". Only the structured failure, never free text.
std::string directorySummary(const Error& failure) {
  if (!failure.directory_failure) return "directory: failed";
  const DirectoryFailure& f = *failure.directory_failure;
  std::string text = "directory " + f.directory + ": " + toString(f.reason);
  if (f.http_status) text += " (HTTP " + std::to_string(*f.http_status) + ")";
  return text;
}

Status undo(Pipeline& pipeline, const UserChange& change, const Error& failure, bool& undone) {
  const Timestamp undo_time = pipeline.deps().clock.now();
  Status compensated = okStatus();
  for (int attempt = 0; attempt < kMaxCompensationAttempts; ++attempt) {
    compensated = pipeline.deps().store.transact([&](UnitOfWork& unit) -> Status {
      undone = false;
      User restored = change.before;
      restored.version = change.after.version + 1;
      restored.updated_at = undo_time;
      auto swapped = unit.compareAndSetUser(restored, change.after.version);
      if (!swapped) return std::move(swapped).error();
      undone = *swapped;
      AuditEvent event = pipeline.event(toString(ErrorCode::external_error),
                                        undone ? "directory_sync_failed" : "directory_sync_failed_superseded");
      event.note = event.note.empty() ? directorySummary(failure) : event.note + "; " + directorySummary(failure);
      return unit.appendAudit(std::move(event));
    });
    if (compensated) break;
  }
  return compensated;
}

}  // namespace

Result<User> tellDirectoryOrUndo(Pipeline& pipeline, UserChange change) {
  DirectorySync* directory = pipeline.deps().directory;
  if (directory == nullptr) return std::move(change.after);
  Status synced = notify(*directory, change.after);
  if (synced) return std::move(change.after);

  Error reported = std::move(synced).error();
  Error failure = Error::externalError(reported.detail.empty() ? reported.message : reported.detail);
  failure.directory_failure = std::move(reported.directory_failure);
  bool undone = false;
  if (Status compensated = undo(pipeline, change, failure, undone); !compensated)
    return Error::internal("directory sync failed (" + failure.detail + ") and the local " +
                           toString(SubjectKind::user) + " change could not be undone: " + compensated.error().detail);
  // A later change already replaced ours (e.g. a new suspension); that state
  // stands and is not overwritten.
  if (!undone) failure.detail += "; the user changed again before the undo, which was skipped";
  return failure;
}

void tellDirectoryOfCascade(const ServiceDeps& deps, const std::vector<std::string>& user_ids) {
  if (deps.directory == nullptr) return;
  for (const std::string& id : user_ids) {
    auto user = deps.store.findUser(id);
    // Best effort until the durable outbox exists: a refusal, or a user
    // that cannot be read back, leaves the cascade as committed. A
    // directory that is down or timing out would cost every remaining user
    // a full timeout inside the request, so the first such failure ends it.
    if (!user || !*user) continue;
    Status told = notify(*deps.directory, **user);
    if (!told && told.error().directory_failure &&
        (told.error().directory_failure->reason == DirectoryFailureReason::timeout ||
         told.error().directory_failure->reason == DirectoryFailureReason::unreachable))
      return;
  }
}

}  // namespace useradmin::detail
