// Harness: a seeded store, a fake clock and the service wired as in production.
#ifndef USERADMIN_TESTS_SUPPORT_HARNESS_HPP
#define USERADMIN_TESTS_SUPPORT_HARNESS_HPP

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"
#include "useradmin/reactivation_service.hpp"

namespace useradmin::test {

struct Harness {
  Harness(StoreHandle h, const Dataset& data, const Policy& p = defaultPolicy(), DirectorySync* directory = nullptr)
      : handle(std::move(h)), policy(p), clock(testEpoch()), authorizer(makePolicyAuthorizer(policy)) {
    Status seeded = handle.store->seed(data);
    if (!seeded)
      FAIL("seed refused: " << seeded.error().detail
                            << (seeded.error().fields.empty() ? "" : " " + seeded.error().fields[0].key + ": " +
                                                                         seeded.error().fields[0].message));
    service = std::make_unique<ReactivationService>(
        ServiceDeps{*handle.store, *authorizer, clock, directory});
  }

  UserStore& store() { return *handle.store; }

  // An actor whose credential was issued just now.
  Actor actor(const std::string& user_id) const {
    Actor a;
    a.user_id = user_id;
    a.credential_issued_at = clock.now();
    a.request_id = "req-test";
    a.client_address = "127.0.0.1";
    return a;
  }

  User user(const std::string& id) {
    auto found = store().findUser(id);
    REQUIRE(found);
    REQUIRE(found->has_value());
    return **found;
  }

  std::vector<AuditEvent> audit() {
    AuditQuery everything;
    everything.limit = 100000;
    auto page = store().auditEvents(everything);
    REQUIRE(page);
    return std::move(page->events);
  }

  Result<User> reactivate(const Actor& a, std::string_view id, std::string_view note = {}) {
    return service->reactivateUser(a, id, note);
  }
  Result<User> suspend(const Actor& a, std::string_view id, std::string_view note = {}) {
    return service->suspendUser(a, id, note);
  }
  Result<OrganizationChange> suspendOrg(const Actor& a, std::string_view id, std::string_view note = {}) {
    return service->suspendOrganization(a, id, note);
  }
  Result<OrganizationChange> reactivateOrg(const Actor& a, std::string_view id, std::string_view note = {}) {
    return service->reactivateOrganization(a, id, note);
  }

  // The stored organization (read in a unit of work: stores have no
  // organization read outside one).
  Organization org(const std::string& id) {
    std::optional<Organization> found;
    REQUIRE(store().transact([&](UnitOfWork& unit) -> Status {
      auto chain = unit.organizationChain(id);
      if (!chain) return std::move(chain).error();
      if (!chain->empty()) found = chain->front();
      return okStatus();
    }));
    REQUIRE(found);
    return *found;
  }

  StoreHandle handle;
  const Policy& policy;
  FakeClock clock;
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<ReactivationService> service;
};

// Runs a reactivation that must be refused, and checks the three things
// every refusal promises: the outcome, the target untouched, and (unless the
// caller is unauthenticated) exactly one audit event with the true reason.
inline Error expectRefused(Harness& h, const Actor& actor, const std::string& id, ErrorCode code,
                           const std::string& reason) {
  std::optional<User> before;
  if (auto found = h.store().findUser(id); found && found->has_value()) before = **found;
  const auto audit_before = h.audit().size();

  auto result = h.reactivate(actor, id);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == code);
  CHECK(result.error().reason == reason);

  if (before) CHECK(h.user(id) == *before);
  const auto events = h.audit();
  if (code == ErrorCode::unauthenticated) {
    CHECK(events.size() == audit_before);
  } else {
    REQUIRE(events.size() == audit_before + 1);
    CHECK(events.back().actor_id == actor.user_id);
    CHECK(events.back().action == "user.reactivate");
    CHECK(events.back().outcome == toString(code));
    CHECK(events.back().reason == reason);
    CHECK(events.back().request_id == actor.request_id);
    CHECK(events.back().client_address == actor.client_address);
    CHECK(events.back().time == h.clock.now());
    if (isValidId(id)) CHECK(events.back().target_id == id);
  }
  return std::move(result).error();
}

// Runs a reactivation that must succeed and checks the change and its event.
inline User expectReactivated(Harness& h, const Actor& actor, const std::string& id) {
  const User before = h.user(id);
  const auto audit_before = h.audit().size();
  auto result = h.reactivate(actor, id);
  if (!result) FAIL("refused: " << toString(result.error().code) << " / " << result.error().reason);
  const User after = h.user(id);
  CHECK(after == *result);
  CHECK(after.status == UserStatus::active);
  CHECK_FALSE(after.suspended_at);
  CHECK_FALSE(after.suspended_by);
  CHECK_FALSE(after.suspended_by_org_id);
  CHECK(after.tokens_valid_after == before.tokens_valid_after);
  CHECK(after.version == before.version + 1);
  CHECK(after.updated_at == h.clock.now());
  const auto events = h.audit();
  REQUIRE(events.size() == audit_before + 1);
  CHECK(events.back().outcome == "granted");
  CHECK(events.back().target_id == id);
  CHECK(events.back().actor_id == actor.user_id);
  return after;
}

}  // namespace useradmin::test

#endif
