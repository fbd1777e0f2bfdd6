#include "useradmin/directory_sync.hpp"

namespace useradmin {

DirectorySync::~DirectorySync() = default;

namespace {
class NoopDirectorySync final : public DirectorySync {
 public:
  Status userStatusChanged(const User&) override { return okStatus(); }
};
}  // namespace

std::unique_ptr<DirectorySync> makeNoopDirectorySync() { return std::make_unique<NoopDirectorySync>(); }

}  // namespace useradmin
