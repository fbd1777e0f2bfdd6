// The in-memory UserStore, for tests and for embedders that need no persistence.
#ifndef USERADMIN_MEMORY_STORE_HPP
#define USERADMIN_MEMORY_STORE_HPP

#include <memory>

#include "useradmin/export.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin {

class Policy;

/// A thread-safe store held in process memory with the same atomic
/// semantics a database gives: units of work run one at a time and their
/// writes become visible all together, or not at all. `seed` validates the
/// resulting model against `policy`, which must outlive the store. Nothing
/// survives the process.
USERADMIN_API std::unique_ptr<UserStore> makeMemoryStore(const Policy& policy);

}  // namespace useradmin

#endif  // USERADMIN_MEMORY_STORE_HPP
