// DirectorySync: optional hook that tells an external identity directory (rule 12).
#ifndef USERADMIN_DIRECTORY_SYNC_HPP
#define USERADMIN_DIRECTORY_SYNC_HPP

#include <memory>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin {

/// Receives state changes after they have been committed locally. Called
/// from request threads, possibly concurrently; may block on the network,
/// but is never called while a storage transaction is open.
class USERADMIN_API DirectorySync {
 public:
  DirectorySync() = default;
  DirectorySync(const DirectorySync&) = delete;
  DirectorySync& operator=(const DirectorySync&) = delete;
  virtual ~DirectorySync();

  /// The user was reactivated (`user` is the state after the change). An
  /// error makes the service undo the local change and answer
  /// `external_error`; the error's `detail` is logged, never shown.
  virtual Status userReactivated(const User& user) = 0;
};

/// A hook that accepts everything: the default when no directory is set up.
USERADMIN_API std::unique_ptr<DirectorySync> makeNoopDirectorySync();

}  // namespace useradmin

#endif  // USERADMIN_DIRECTORY_SYNC_HPP
