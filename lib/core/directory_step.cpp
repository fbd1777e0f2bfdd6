// The last step of every operation: telling the directory after the commit
// (rule 12), and undoing a single-user change it refused.
#include <chrono>
#include <exception>
#include <string>

#include "pipeline.hpp"

namespace useradmin::detail {

namespace {

// How often an undo after a directory failure is attempted before giving up.
constexpr int kMaxCompensationAttempts = 3;

// After a timeout the directory may still apply the call it did not answer
// in time; the compensation waits this long so that it lands after such a
// late write instead of being overtaken by it. Other failures were not
// applied: their compensation is due at once (and only repeats the state).
constexpr std::chrono::milliseconds kTimeoutCompensationDelay{5000};

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

// What the directory did, for the undo's audit note: "directory scim:
// rejected (HTTP 503)". Only the structured failure, never free text.
std::string directorySummary(const Error& failure) {
  if (!failure.directory_failure) return "directory: failed";
  const DirectoryFailure& f = *failure.directory_failure;
  std::string text = "directory " + f.directory + ": " + toString(f.reason);
  if (f.http_status) text += " (HTTP " + std::to_string(*f.http_status) + ")";
  return text;
}

// Restores `change.before`, but only over our own write (compare-and-set on
// the version we wrote), with an `external_error` audit event either way,
// and queues a directory update of the resulting state in the same unit.
// `undone` tells whether the restore applied.
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
      // Whatever the directory did with the failed call, it must end up
      // holding what the store now holds: the restored state, or the newer
      // one that superseded ours.
      auto current = unit.findUser(change.after.id);
      if (!current) return std::move(current).error();
      if (*current && (*current)->status != UserStatus::deleted) {
        const User& now = **current;
        const bool timed_out = failure.directory_failure &&
                               failure.directory_failure->reason == DirectoryFailureReason::timeout;
        const Timestamp due = timed_out ? undo_time + kTimeoutCompensationDelay : undo_time;
        if (Status queued = unit.queueDirectoryUpdate({now.id, directoryIdOf(now), now.status, now.version}, undo_time, due);
            !queued)
          return queued;
      }
      AuditEvent event = pipeline.event(toString(ErrorCode::external_error),
                                        undone ? "directory_sync_failed" : "directory_sync_failed_superseded");
      event.note = event.note.empty() ? directorySummary(failure) : event.note + "; " + directorySummary(failure);
      return unit.appendAudit(std::move(event));
    });
    if (compensated) break;
  }
  if (compensated && pipeline.deps().directory_queued) pipeline.deps().directory_queued();
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

}  // namespace useradmin::detail
