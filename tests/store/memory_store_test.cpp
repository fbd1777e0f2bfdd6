// Memory-store specifics; the shared behaviour lives in store_conformance_test.cpp.
#include <catch2/catch.hpp>

#include "support/fixtures.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/policy.hpp"

using namespace useradmin;
using namespace useradmin::test;

TEST_CASE("memory store: an empty store answers reads with nothing", "[store][memory]") {
  auto store = makeMemoryStore(defaultPolicy());
  CHECK_FALSE(store->findUser("usr_root").value().has_value());
  CHECK(store->auditEvents().value().events.empty());
}
