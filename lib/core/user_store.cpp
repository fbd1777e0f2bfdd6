#include "useradmin/user_store.hpp"

namespace useradmin {

// Out-of-line destructors anchor the vtables in this library.
UnitOfWork::~UnitOfWork() = default;
UserStore::~UserStore() = default;

}  // namespace useradmin
