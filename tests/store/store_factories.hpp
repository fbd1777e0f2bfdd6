// The stores every behavioural test runs against: add a factory here and the
// whole suite (rules and store conformance) runs on it.
#ifndef USERADMIN_TESTS_STORE_STORE_FACTORIES_HPP
#define USERADMIN_TESTS_STORE_STORE_FACTORIES_HPP

#include <memory>
#include <tuple>

#include "useradmin/memory_store.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin::test {

// A store under test plus whatever must outlive it (a temporary file...).
struct StoreHandle {
  std::shared_ptr<void> resources;
  std::unique_ptr<UserStore> store;
};

struct MemoryStoreFactory {
  static constexpr const char* kName = "memory";
  static StoreHandle make(const Policy& policy) { return {nullptr, makeMemoryStore(policy)}; }
};

}  // namespace useradmin::test

#if defined(USERADMIN_TEST_WITH_SQLITE) && defined(USERADMIN_TEST_WITH_POSTGRES)
#include "store/postgres_store_factory.hpp"
#include "store/sqlite_store_factory.hpp"
namespace useradmin::test {
// The PostgreSQL instances run only in the ctest entry store.postgres
// (they need the fixture's cluster; see tests/CMakeLists.txt).
using AllStores = std::tuple<MemoryStoreFactory, SqliteStoreFactory, PostgresStoreFactory>;
}
#elif defined(USERADMIN_TEST_WITH_SQLITE)
#include "store/sqlite_store_factory.hpp"
namespace useradmin::test {
using AllStores = std::tuple<MemoryStoreFactory, SqliteStoreFactory>;
}
#else
namespace useradmin::test {
using AllStores = std::tuple<MemoryStoreFactory>;
}
#endif

#endif
