// DirectorySync: optional hook that tells an external identity directory of
// every user status change (rule 12, lifecycle §2.5 and §3.3).
#ifndef USERADMIN_DIRECTORY_SYNC_HPP
#define USERADMIN_DIRECTORY_SYNC_HPP

#include <memory>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin {

/// Receives state changes after they have been committed locally. Called
/// from request threads and from a DirectoryRelay's thread, possibly
/// concurrently; may block on the network, but is never called while a
/// storage transaction is open.
class USERADMIN_API DirectorySync {
 public:
  DirectorySync() = default;
  DirectorySync(const DirectorySync&) = delete;
  DirectorySync& operator=(const DirectorySync&) = delete;
  virtual ~DirectorySync();

  /// The user's status changed: `user` is the state after the change, and
  /// `user.status` (`active` or `suspended`) is what the directory must now
  /// hold. One call for both directions, because a directory stores one
  /// "active" flag (SCIM `active`, Logto `isSuspended`), and because
  /// cascades move users both ways.
  ///
  /// For a single-user operation (reactivate, suspend) an error makes the
  /// service undo the local change and answer `external_error`; the error's
  /// `detail` is logged, never shown. The users of an organization cascade
  /// (and the compensations of failed calls) are queued in the store's
  /// directory outbox instead, and a DirectoryRelay makes these calls
  /// later, retrying failures; an error there undoes nothing (a cascade is
  /// not rolled back for one directory refusal). A call may repeat (at
  /// least once): it must be idempotent.
  virtual Status userStatusChanged(const User& user) = 0;
};

/// A hook that accepts everything: the default when no directory is set up.
USERADMIN_API std::unique_ptr<DirectorySync> makeNoopDirectorySync();

}  // namespace useradmin

#endif  // USERADMIN_DIRECTORY_SYNC_HPP
