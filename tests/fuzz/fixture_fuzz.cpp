// Raw bytes as a fixture document: parseFixture, then validateDataset and a
// seed into an empty memory store, which must agree (the store re-validates
// the model after the load, and on an empty store that is the same model),
// and a seeded store must hold every user of the fixture.
#include <memory>

#include "fuzz_support.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/policy.hpp"

using namespace useradmin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = parseFixture(fuzz::asText(data, size), fuzz::fuzzNow());
  if (!parsed) {
    fuzz::check(parsed.error().code == ErrorCode::invalid_argument, "fixture refusal is not invalid_argument",
                parsed.error().reason);
    return 0;
  }
  const Status valid = validateDataset(*parsed, defaultPolicy());
  const auto store = makeMemoryStore(defaultPolicy());
  const Status seeded = store->seed(*parsed);
  if (valid.has_value() != seeded.has_value())
    fuzz::fail("validateDataset and seed disagree", valid ? seeded.error().reason : valid.error().reason);
  if (!seeded) {
    fuzz::check(seeded.error().code == ErrorCode::invalid_argument, "seed refusal is not invalid_argument");
    return 0;
  }
  for (const User& user : parsed->users) {
    auto found = store->findUser(user.id);
    fuzz::check(found && found->has_value() && **found == user, "a seeded user is not stored as given", user.id);
  }
  return 0;
}
