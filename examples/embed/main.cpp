// Embedding useradmin: load a fixture into the in-memory store and reactivate
// a user, the way a service that brings its own storage would wire it.
//
//   useradmin-embed-example FIXTURE.json ACTOR_ID USER_ID
#include <fstream>
#include <iostream>
#include <sstream>

#include "useradmin/useradmin.hpp"

namespace {

void printError(const useradmin::Error& e) {
  std::cout << "refused: " << useradmin::toString(e.code) << " (" << e.message << ")";
  for (const auto& f : e.fields) std::cout << " " << f.key << "=" << f.message << " value=" << f.value;
  std::cout << " reason=" << e.reason << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace useradmin;
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " FIXTURE.json ACTOR_ID USER_ID\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();

  const Policy& policy = defaultPolicy();
  auto data = loadFixture(text.str(), policy, systemClock().now());
  if (!data) {
    std::cerr << "fixture refused: " << data.error().fields.at(0).key << ": " << data.error().fields.at(0).message
              << "\n";
    return 1;
  }
  auto store = makeMemoryStore(policy);
  if (Status seeded = store->seed(*data); !seeded) {
    printError(seeded.error());
    return 1;
  }
  auto authorizer = makePolicyAuthorizer(policy);
  ReactivationService service({*store, *authorizer, systemClock(), nullptr});

  Actor actor;
  actor.user_id = argv[2];
  actor.credential_issued_at = systemClock().now();  // a credential issued just now
  actor.request_id = "example-1";
  auto result = service.reactivateUser(actor, argv[3], "reactivated by the embedding example");
  if (!result) {
    printError(result.error());
    return 1;
  }
  std::cout << "reactivated " << result->id << " (" << result->username << "): status=" << toString(result->status)
            << " version=" << result->version << " updated_at=" << formatRfc3339(result->updated_at) << "\n";
  for (const auto& event : store->auditEvents().value().events)
    std::cout << "audit #" << event.id << ": " << event.action << " by " << event.actor_id << " on "
              << event.target_id << " -> " << event.outcome << " (" << event.reason << ")\n";
  return 0;
}
