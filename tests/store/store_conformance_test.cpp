// What every UserStore promises, run against every store.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

StoreHandle seeded(StoreHandle h, const Dataset& data = standardDataset()) {
  REQUIRE(h.store->seed(data));
  return h;
}



}  // namespace

TEMPLATE_LIST_TEST_CASE("store: seeded users and organizations read back exactly", "[store]", AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c1_target").suspended_by_org_id = "org_r1";
  userIn(data, "usr_c1_target").roles = {"support", "admin"};
  orgIn(data, "org_c2").suspended = true;
  orgIn(data, "org_c3").deleted = true;
  auto h = seeded(TestType::make(defaultPolicy()), data);
  for (const auto& expected : data.users) {
    auto found = h.store->findUser(expected.id);
    REQUIRE(found);
    REQUIRE(found->has_value());
    CHECK(**found == expected);
  }
  Status read = h.store->transact([&](UnitOfWork& unit) -> Status {
    auto chain = unit.organizationChain("org_c2");
    REQUIRE(chain);
    REQUIRE(chain->size() == 4);
    CHECK((*chain)[0] == orgIn(data, "org_c2"));
    CHECK((*chain)[1].id == "org_r1");
    CHECK((*chain)[2].id == "org_d1");
    CHECK((*chain)[3] == orgIn(data, "org_owner"));
    auto deleted = unit.organizationChain("org_c3");
    REQUIRE(deleted);
    CHECK(deleted->front().deleted);
    auto none = unit.organizationChain("org_missing");
    REQUIRE(none);
    CHECK(none->empty());
    auto missing = unit.findUser("usr_missing");
    REQUIRE(missing);
    CHECK_FALSE(missing->has_value());
    return okStatus();
  });
  CHECK(read);
}

TEMPLATE_LIST_TEST_CASE("store: compare-and-set applies only on the expected version", "[store]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const User before = *h.store->findUser("usr_c1_target").value();
  bool stale_applied = true, fresh_applied = false;
  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    auto stale = unit.compareAndSetUser(activated(before), before.version + 7);
    REQUIRE(stale);
    stale_applied = *stale;
    auto missing = unit.compareAndSetUser(activated(makeUser("usr_ghost", "org_c1", {})), 1);
    REQUIRE(missing);
    CHECK_FALSE(*missing);
    return okStatus();
  }));
  CHECK_FALSE(stale_applied);
  CHECK(*h.store->findUser("usr_c1_target").value() == before);

  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    auto fresh = unit.compareAndSetUser(activated(before), before.version);
    REQUIRE(fresh);
    fresh_applied = *fresh;
    // The unit reads its own write.
    auto again = unit.findUser("usr_c1_target");
    REQUIRE(again);
    CHECK((*again)->status == UserStatus::active);
    return okStatus();
  }));
  CHECK(fresh_applied);
  CHECK(*h.store->findUser("usr_c1_target").value() == activated(before));
  CHECK_FALSE(h.store->findUser("usr_ghost").value().has_value());
}

TEMPLATE_LIST_TEST_CASE("store: a unit that fails leaves no trace", "[store]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const User before = *h.store->findUser("usr_c1_target").value();
  Status failed = h.store->transact([&](UnitOfWork& unit) -> Status {
    REQUIRE(unit.compareAndSetUser(activated(before), before.version).value());
    REQUIRE(unit.appendAudit(grantedEvent("usr_c1_target")));
    return Error::internal("the unit changed its mind");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().detail == "the unit changed its mind");
  CHECK(*h.store->findUser("usr_c1_target").value() == before);
  CHECK(h.store->auditEvents().value().events.empty());
}

TEMPLATE_LIST_TEST_CASE("store: the change and its audit event commit together", "[store]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const User before = *h.store->findUser("usr_c1_target").value();
  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    REQUIRE(unit.compareAndSetUser(activated(before), before.version).value());
    return unit.appendAudit(grantedEvent("usr_c1_target"));
  }));
  CHECK(h.store->findUser("usr_c1_target").value()->status == UserStatus::active);
  const auto events = h.store->auditEvents().value().events;
  REQUIRE(events.size() == 1);
  AuditEvent expected = grantedEvent("usr_c1_target");
  expected.id = events[0].id;
  CHECK(events[0].id > 0);
  CHECK(events[0].time == expected.time);
  CHECK(events[0].action == expected.action);
  CHECK(events[0].actor_id == expected.actor_id);
  CHECK(events[0].target_id == expected.target_id);
  CHECK(events[0].outcome == expected.outcome);
  CHECK(events[0].reason == expected.reason);
  CHECK(events[0].request_id == expected.request_id);
  CHECK(events[0].client_address == expected.client_address);
  CHECK(events[0].note == expected.note);
}

TEMPLATE_LIST_TEST_CASE("store: audit events page in order by id", "[store]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  for (int i = 0; i < 25; ++i)
    REQUIRE(h.store->transact([&](UnitOfWork& unit) { return unit.appendAudit(grantedEvent("t" + std::to_string(i))); }));
  const auto all = h.store->auditEvents().value().events;
  REQUIRE(all.size() == 25);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].id > all[i - 1].id);
  AuditQuery from_tenth;
  from_tenth.after = all[9].cursor;
  from_tenth.limit = 5;
  const auto page = h.store->auditEvents(from_tenth).value().events;
  REQUIRE(page.size() == 5);
  CHECK(page.front().target_id == "t10");
  CHECK(page.back().target_id == "t14");
}

TEMPLATE_LIST_TEST_CASE("store: racing compare-and-sets across threads have exactly one winner",
                        "[store][concurrency]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const User before = *h.store->findUser("usr_c1_target").value();
  constexpr int kThreads = 16;
  std::atomic<int> winners{0}, failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      Status s = h.store->transact([&](UnitOfWork& unit) -> Status {
        // Read-check-write inside the unit, as the service does.
        auto current = unit.findUser("usr_c1_target");
        if (!current) return std::move(current).error();
        if ((*current)->status != UserStatus::suspended) return okStatus();
        auto swapped = unit.compareAndSetUser(activated(**current), (*current)->version);
        if (!swapped) return std::move(swapped).error();
        if (*swapped) {
          ++winners;  // the unit commits: a retried unit never reaches here twice
          return unit.appendAudit(grantedEvent("usr_c1_target"));
        }
        return okStatus();
      });
      if (!s) ++failures;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(winners == 1);
  CHECK(h.store->findUser("usr_c1_target").value()->version == before.version + 1);
  CHECK(h.store->auditEvents().value().events.size() == 1);
}

TEMPLATE_LIST_TEST_CASE("store: a failing unit does not disturb units running beside it",
                        "[store][concurrency]", AllStores) {
  auto data = standardDataset();
  constexpr int kUnits = 64;
  for (int i = 0; i < kUnits; ++i) data.users.push_back(makeSuspended("usr_n" + std::to_string(i), "org_c1"));
  auto h = seeded(TestType::make(defaultPolicy()), data);
  std::vector<std::thread> threads;
  std::atomic<int> unexpected{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kUnits; i += 8) {
        const std::string id = "usr_n" + std::to_string(i);
        const bool fail = i % 3 == 0;
        Status s = h.store->transact([&](UnitOfWork& unit) -> Status {
          auto current = unit.findUser(id);
          if (!current) return std::move(current).error();
          auto swapped = unit.compareAndSetUser(activated(**current), (*current)->version);
          if (!swapped) return std::move(swapped).error();
          if (Status a = unit.appendAudit(grantedEvent(id)); !a) return a;
          if (fail) return Error::internal("deliberate");
          return okStatus();
        });
        if (static_cast<bool>(s) == fail) ++unexpected;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(unexpected == 0);
  std::size_t expected_events = 0;
  for (int i = 0; i < kUnits; ++i) {
    const bool fail = i % 3 == 0;
    if (!fail) ++expected_events;
    INFO(i);
    CHECK(h.store->findUser("usr_n" + std::to_string(i)).value()->status ==
          (fail ? UserStatus::suspended : UserStatus::active));
  }
  const auto events = h.store->auditEvents().value().events;
  CHECK(events.size() == expected_events);
  for (const auto& e : events) CHECK(std::stoi(e.target_id.substr(5)) % 3 != 0);
}

TEMPLATE_LIST_TEST_CASE("store: a seed that breaks the model loads nothing", "[store][seed]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  Dataset bad;
  bad.organizations.push_back(makeOrg("org_new", OrgType::customer, "org_r1"));
  bad.organizations.push_back(makeOrg("org_bad", OrgType::distributor, "org_new"));
  bad.users.push_back(makeUser("usr_new", "org_new", {"admin"}));
  Status s = h.store->seed(bad);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::invalid_argument);
  REQUIRE(s.error().fields.size() == 1);
  CHECK(s.error().fields[0].key == "organizations[org_bad]");
  CHECK_FALSE(h.store->findUser("usr_new").value().has_value());
  Status probe = h.store->transact([&](UnitOfWork& unit) -> Status {
    CHECK(unit.organizationChain("org_new").value().empty());
    return okStatus();
  });
  CHECK(probe);
}

TEMPLATE_LIST_TEST_CASE("store: a seed may add to the existing tree and replaces rows with the same id",
                        "[store][seed]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  Dataset more;
  more.organizations.push_back(makeOrg("org_c5", OrgType::customer, "org_r1"));
  more.users.push_back(makeSuspended("usr_c5", "org_c5"));
  User changed = makeUser("usr_c1_target", "org_c1", {"admin"});
  changed.email = "changed@example.com";
  more.users.push_back(changed);
  REQUIRE(h.store->seed(more));
  CHECK(h.store->findUser("usr_c5").value()->organization_id == "org_c5");
  CHECK(*h.store->findUser("usr_c1_target").value() == changed);
}

TEMPLATE_LIST_TEST_CASE("store: a seed that would orphan or out-rank existing rows is refused",
                        "[store][seed]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  Dataset demote;  // org_d1 becoming a customer would sit above its reseller
  demote.organizations.push_back(makeOrg("org_d1", OrgType::customer, "org_owner"));
  Status s = h.store->seed(demote);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::invalid_argument);
  Status probe = h.store->transact([&](UnitOfWork& unit) -> Status {
    CHECK(unit.organizationChain("org_d1").value().front().type == OrgType::distributor);
    return okStatus();
  });
  CHECK(probe);
}

TEMPLATE_LIST_TEST_CASE("store: a seed listing one id twice is refused as a whole", "[store][seed]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  Dataset twice;
  twice.users.push_back(makeSuspended("usr_twice", "org_c1"));
  twice.users.push_back(makeUser("usr_twice", "org_c2", {"admin"}));
  Status s = h.store->seed(twice);
  REQUIRE_FALSE(s);
  REQUIRE(s.error().fields.size() == 1);
  CHECK(s.error().fields[0].key == "users[usr_twice]");
  CHECK(s.error().fields[0].message == "duplicate id");
  CHECK_FALSE(h.store->findUser("usr_twice").value().has_value());
}

TEMPLATE_LIST_TEST_CASE("store: external_id reads back, survives a compare-and-set and listings, absent stays absent",
                        "[store][directory]", AllStores) {
  auto data = standardDataset();
  userIn(data, "usr_c1_target").external_id = "idp|42";
  auto h = seeded(TestType::make(defaultPolicy()), data);
  User user = h.store->findUser("usr_c1_target").value().value();
  CHECK(user.external_id == std::optional<std::string>("idp|42"));
  CHECK(directoryIdOf(user) == "idp|42");
  const User other = h.store->findUser("usr_root").value().value();
  CHECK_FALSE(other.external_id.has_value());
  CHECK(directoryIdOf(other) == "usr_root");

  user.external_id = "idp|43";
  const std::int64_t expected = user.version;
  user.version += 1;
  Status changed = h.store->transact([&](UnitOfWork& unit) -> Status {
    auto swapped = unit.compareAndSetUser(user, expected);
    REQUIRE(swapped);
    CHECK(*swapped);
    return okStatus();
  });
  REQUIRE(changed);
  CHECK(h.store->findUser("usr_c1_target").value()->external_id == std::optional<std::string>("idp|43"));
}
