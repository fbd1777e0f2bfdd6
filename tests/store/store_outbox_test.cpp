// The directory outbox (directory.md §4), as every UserStore must keep it:
// queued with the unit, one entry per user (the latest state wins), claimed
// in due order, delivered and rescheduled by id, counted by the stats.
#include <chrono>
#include <set>

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;
using std::chrono::milliseconds;

namespace {

StoreHandle seeded(StoreHandle h, const Dataset& data = standardDataset()) {
  REQUIRE(h.store->seed(data));
  return h;
}

DirectoryUpdate update(const std::string& user, UserStatus status, std::int64_t version) {
  return DirectoryUpdate{user, "ext-" + user, status, version};
}

Status queue(UserStore& store, const DirectoryUpdate& u, Timestamp now) {
  return store.transact([&](UnitOfWork& unit) { return unit.queueDirectoryUpdate(u, now, now); });
}

std::vector<OutboxEntry> claimAll(UserStore& store, Timestamp now) {
  auto claimed = store.claimDirectoryUpdates(now, 1000);
  REQUIRE(claimed);
  return *claimed;
}

OutboxStats statsOf(UserStore& store) {
  auto stats = store.directoryOutboxStats();
  REQUIRE(stats);
  return *stats;
}

// The cascade request of an organization suspension or reactivation by usr_root.
Cascade cascadeOf(const std::string& org, const char* action, bool queue_updates) {
  Cascade c;
  c.organization_id = org;
  c.time = testEpoch() + milliseconds(5000);
  c.actor_id = "usr_root";
  c.event = grantedEvent("");
  c.event.action = action;
  c.event.reason = "organization_cascade";
  c.queue_directory_updates = queue_updates;
  return c;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("store outbox: an update commits with its unit and vanishes with a failed one",
                        "[store][outbox]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const Timestamp t0 = testEpoch();
  CHECK(statsOf(*h.store).pending == 0);
  CHECK_FALSE(statsOf(*h.store).oldest_enqueued_at);
  CHECK(claimAll(*h.store, t0).empty());

  Status failed = h.store->transact([&](UnitOfWork& unit) -> Status {
    REQUIRE(unit.queueDirectoryUpdate(update("usr_c1_admin", UserStatus::suspended, 2), t0, t0));
    return Error::internal("abandoned");
  });
  CHECK_FALSE(failed);
  CHECK(statsOf(*h.store).pending == 0);

  REQUIRE(queue(*h.store, update("usr_c1_admin", UserStatus::suspended, 2), t0));
  const auto entries = claimAll(*h.store, t0);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].id > 0);
  CHECK(entries[0].update == update("usr_c1_admin", UserStatus::suspended, 2));
  CHECK(entries[0].enqueued_at == t0);
  CHECK(entries[0].next_attempt_at == t0);
  CHECK(entries[0].attempts == 0);
  CHECK(entries[0].last_error.empty());
  const OutboxStats stats = statsOf(*h.store);
  CHECK(stats.pending == 1);
  CHECK(stats.oldest_enqueued_at == t0);
  CHECK(stats.next_attempt_at == t0);
  // Claiming marks nothing: the entry stays until delivered.
  CHECK(claimAll(*h.store, t0).size() == 1);

  // Due later than enqueued: not claimed before then.
  REQUIRE(h.store->transact([&](UnitOfWork& unit) {
    return unit.queueDirectoryUpdate(update("usr_r1_admin", UserStatus::suspended, 2), t0, t0 + milliseconds(5000));
  }));
  CHECK(claimAll(*h.store, t0 + milliseconds(4999)).size() == 1);
  const auto later = claimAll(*h.store, t0 + milliseconds(5000));
  REQUIRE(later.size() == 2);
  CHECK(later[1].update.user_id == "usr_r1_admin");
  CHECK(later[1].enqueued_at == t0);
  CHECK(later[1].next_attempt_at == t0 + milliseconds(5000));
  CHECK(statsOf(*h.store).oldest_enqueued_at == t0);
  CHECK(statsOf(*h.store).next_attempt_at == t0);
}

TEMPLATE_LIST_TEST_CASE("store outbox: a deleted status is refused", "[store][outbox]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  Status refused = queue(*h.store, update("usr_c1_admin", UserStatus::deleted, 2), testEpoch());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::invalid_argument);
  CHECK(statsOf(*h.store).pending == 0);
}

TEMPLATE_LIST_TEST_CASE("store outbox: a newer update of a user replaces the pending one, keeping its enqueue time",
                        "[store][outbox]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const Timestamp t0 = testEpoch();
  REQUIRE(queue(*h.store, update("usr_c1_admin", UserStatus::suspended, 2), t0));
  REQUIRE(queue(*h.store, update("usr_r1_admin", UserStatus::suspended, 2), t0 + milliseconds(1)));
  const std::int64_t first_id = claimAll(*h.store, t0 + milliseconds(1)).front().id;
  REQUIRE(h.store->rescheduleDirectoryUpdate(first_id, t0 + milliseconds(60000), "HTTP 503"));
  // Two updates of one user in one unit, and a third later: one entry, the last.
  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    REQUIRE(unit.queueDirectoryUpdate(update("usr_c1_admin", UserStatus::active, 3), t0 + milliseconds(10),
                                            t0 + milliseconds(10)));
    return unit.queueDirectoryUpdate(update("usr_c1_admin", UserStatus::suspended, 4), t0 + milliseconds(10),
                                     t0 + milliseconds(10));
  }));
  REQUIRE(queue(*h.store, update("usr_c1_admin", UserStatus::active, 5), t0 + milliseconds(20)));
  const auto entries = claimAll(*h.store, t0 + milliseconds(20));
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].update.user_id == "usr_r1_admin");
  const OutboxEntry& latest = entries[1];
  CHECK(latest.update == update("usr_c1_admin", UserStatus::active, 5));
  CHECK(latest.id > first_id);
  CHECK(latest.enqueued_at == t0);  // the oldest undelivered change of this user
  CHECK(latest.next_attempt_at == t0 + milliseconds(20));
  CHECK(latest.attempts == 0);
  CHECK(latest.last_error.empty());
  CHECK(statsOf(*h.store).pending == 2);
  // The replaced entry's id names nothing any more: delivering it is a no-op.
  REQUIRE(h.store->markDirectoryUpdatesDelivered({first_id}));
  CHECK(statsOf(*h.store).pending == 2);
}

TEMPLATE_LIST_TEST_CASE("store outbox: claims are due entries in (next attempt, id) order, at most `limit`",
                        "[store][outbox]", AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const Timestamp t0 = testEpoch();
  const std::vector<std::string> users = {"usr_c1_admin", "usr_r1_admin", "usr_d1_admin", "usr_r3_admin"};
  for (const auto& u : users) REQUIRE(queue(*h.store, update(u, UserStatus::suspended, 2), t0));
  auto all = claimAll(*h.store, t0);
  REQUIRE(all.size() == 4);
  for (std::size_t i = 0; i < users.size(); ++i) CHECK(all[i].update.user_id == users[i]);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].id < all[i].id);

  // The first one failed: later, and after the others.
  REQUIRE(h.store->rescheduleDirectoryUpdate(all[0].id, t0 + milliseconds(1000), "timeout"));
  auto now = claimAll(*h.store, t0 + milliseconds(999));
  REQUIRE(now.size() == 3);
  CHECK(now[0].update.user_id == "usr_r1_admin");
  auto two = h.store->claimDirectoryUpdates(t0 + milliseconds(999), 2);
  REQUIRE(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[1].update.user_id == "usr_d1_admin");
  auto none = h.store->claimDirectoryUpdates(t0, 0);
  REQUIRE(none);
  CHECK(none->empty());
  auto later = claimAll(*h.store, t0 + milliseconds(1000));
  REQUIRE(later.size() == 4);
  CHECK(later[3].update.user_id == "usr_c1_admin");
  CHECK(later[3].attempts == 1);
  CHECK(later[3].last_error == "timeout");
  CHECK(later[3].next_attempt_at == t0 + milliseconds(1000));
  CHECK(statsOf(*h.store).next_attempt_at == t0);
}

TEMPLATE_LIST_TEST_CASE("store outbox: reschedules count attempts; delivered entries leave", "[store][outbox]",
                        AllStores) {
  auto h = seeded(TestType::make(defaultPolicy()));
  const Timestamp t0 = testEpoch();
  REQUIRE(queue(*h.store, update("usr_c1_admin", UserStatus::suspended, 2), t0));
  REQUIRE(queue(*h.store, update("usr_r1_admin", UserStatus::active, 7), t0 + milliseconds(3)));
  const std::int64_t id = claimAll(*h.store, t0).front().id;
  REQUIRE(h.store->rescheduleDirectoryUpdate(id, t0 + milliseconds(100), "first"));
  REQUIRE(h.store->rescheduleDirectoryUpdate(id, t0 + milliseconds(300), "second"));
  auto entries = claimAll(*h.store, t0 + milliseconds(300));
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].attempts == 2);
  CHECK(entries[1].last_error == "second");
  CHECK(statsOf(*h.store).next_attempt_at == t0 + milliseconds(3));

  REQUIRE(h.store->markDirectoryUpdatesDelivered({id}));
  CHECK(statsOf(*h.store).pending == 1);
  CHECK(statsOf(*h.store).oldest_enqueued_at == t0 + milliseconds(3));
  // Gone ids: no-ops, not errors.
  REQUIRE(h.store->markDirectoryUpdatesDelivered({id}));
  REQUIRE(h.store->rescheduleDirectoryUpdate(id, t0, "late"));
  REQUIRE(h.store->markDirectoryUpdatesDelivered({entries[0].id}));
  CHECK(statsOf(*h.store).pending == 0);
  CHECK_FALSE(statsOf(*h.store).next_attempt_at);

  // Several at once, a gone one among them; and none.
  for (const char* u : {"usr_d1_admin", "usr_r3_admin", "usr_owner_admin"})
    REQUIRE(queue(*h.store, update(u, UserStatus::suspended, 2), t0));
  const auto three = claimAll(*h.store, t0);
  REQUIRE(three.size() == 3);
  REQUIRE(h.store->markDirectoryUpdatesDelivered({three[0].id, id, three[2].id}));
  const auto left = claimAll(*h.store, t0);
  REQUIRE(left.size() == 1);
  CHECK(left[0].update.user_id == "usr_r3_admin");
  REQUIRE(h.store->markDirectoryUpdatesDelivered({}));
  CHECK(statsOf(*h.store).pending == 1);
}

TEMPLATE_LIST_TEST_CASE("store outbox: a cascade queues one update per user whose status changed, when asked",
                        "[store][outbox][cascade]", AllStores) {
  Dataset data = standardDataset();
  userIn(data, "usr_c1_admin").external_id = "idp-c1-admin";
  auto h = seeded(TestType::make(defaultPolicy()), data);

  // Without the flag: nothing queued.
  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    auto changed = unit.suspendCascade(cascadeOf("org_c2", "user.suspend", false));
    REQUIRE(changed);
    return okStatus();
  }));
  CHECK(statsOf(*h.store).pending == 0);

  // A failed unit takes its entries with it.
  CHECK_FALSE(h.store->transact([&](UnitOfWork& unit) -> Status {
    REQUIRE(unit.suspendCascade(cascadeOf("org_r1", "user.suspend", true)));
    return Error::internal("abandoned");
  }));
  CHECK(statsOf(*h.store).pending == 0);

  std::vector<std::string> suspended;
  const Cascade suspend = cascadeOf("org_r1", "user.suspend", true);
  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    auto org = *unit.organizationChain("org_r1").value().begin();
    Organization next = org;
    next.suspended = true;
    next.version += 1;
    REQUIRE(unit.compareAndSetOrganization(next, org.version).value());
    auto changed = unit.suspendCascade(suspend);
    REQUIRE(changed);
    suspended = *changed;
    return okStatus();
  }));
  // The active users of org_r1 and org_c1 (org_c2's users were already
  // suspended; suspended users are not told again).
  const std::vector<std::string> expected = {"usr_c1_admin", "usr_r1_admin", "usr_r1_super", "usr_r1_support"};
  CHECK(suspended == expected);
  auto entries = claimAll(*h.store, suspend.time);
  REQUIRE(entries.size() == expected.size());
  std::set<std::string> queued;
  for (const auto& e : entries) {
    queued.insert(e.update.user_id);
    const User user = *h.store->findUser(e.update.user_id).value();
    CHECK(e.update.status == UserStatus::suspended);
    CHECK(e.update.user_version == user.version);
    CHECK(e.update.external_id == directoryIdOf(user));
    CHECK(e.enqueued_at == suspend.time);
    CHECK(e.next_attempt_at == suspend.time);
  }
  CHECK(queued == std::set<std::string>(expected.begin(), expected.end()));
  CHECK(claimAll(*h.store, suspend.time - milliseconds(1)).empty());

  // The reactivation replaces each user's pending entry with "active".
  const Cascade reactivate = cascadeOf("org_r1", "user.reactivate", true);
  REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
    auto org = *unit.organizationChain("org_r1").value().begin();
    Organization next = org;
    next.suspended = false;
    next.version += 1;
    REQUIRE(unit.compareAndSetOrganization(next, org.version).value());
    auto changed = unit.reactivateCascade(reactivate);
    REQUIRE(changed);
    CHECK(*changed == expected);
    return okStatus();
  }));
  entries = claimAll(*h.store, reactivate.time);
  REQUIRE(entries.size() == expected.size());
  for (const auto& e : entries) {
    CHECK(e.update.status == UserStatus::active);
    CHECK(e.update.user_version == h.store->findUser(e.update.user_id).value()->version);
    CHECK(e.enqueued_at == suspend.time);
  }
  const auto c1 = std::find_if(entries.begin(), entries.end(),
                               [](const OutboxEntry& e) { return e.update.user_id == "usr_c1_admin"; });
  REQUIRE(c1 != entries.end());
  CHECK(c1->update.external_id == "idp-c1-admin");
}
