// What every UserStore promises for reads: subtree pages of users, audit
// pages and their cursor. Run against every store.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

template <class Factory>
StoreHandle seeded(const Dataset& data = standardDataset()) {
  StoreHandle h = Factory::make(defaultPolicy());
  REQUIRE(h.store->seed(data));
  return h;
}

UserQuery subtree(std::string org, std::size_t limit = 500) {
  UserQuery q;
  q.organization_id = std::move(org);
  q.limit = limit;
  return q;
}

std::vector<std::string> ids(const std::vector<User>& users) {
  std::vector<std::string> out;
  for (const auto& u : users) out.push_back(u.id);
  return out;
}

// Every page of `q` from the start, checking each page's shape on the way.
std::vector<std::string> allPages(UserStore& store, UserQuery q) {
  std::vector<std::string> seen;
  q.after.reset();
  for (int guard = 0; guard < 1000000; ++guard) {
    auto page = store.listUsers(q);
    REQUIRE(page);
    CHECK(page->users.size() <= q.limit);
    for (const auto& u : page->users) seen.push_back(u.id);
    if (!page->next_after) return seen;
    // A full page names its last id; a page that names one is full.
    REQUIRE(page->users.size() == q.limit);
    CHECK(*page->next_after == page->users.back().id);
    q.after = page->next_after;
  }
  FAIL("pagination did not end");
  return seen;
}

// The standard tree with `per_org` generated users in each organization,
// every other one suspended, ids spread so id order mixes organizations.
Dataset crowdedDataset(int per_org) {
  Dataset d = standardDataset();
  const std::vector<std::string> orgs = {"org_d1", "org_r1", "org_c1", "org_c2", "org_c3",
                                         "org_d2", "org_r2", "org_c4", "org_r3", "org_owner"};
  d.users.reserve(d.users.size() + orgs.size() * static_cast<std::size_t>(per_org));
  for (int i = 0; i < per_org; ++i)
    for (std::size_t o = 0; o < orgs.size(); ++o) {
      const std::string id = "gen_" + std::to_string(i * 10 + static_cast<int>(o));
      d.users.push_back(i % 2 == 0 ? makeSuspended(id, orgs[o]) : makeUser(id, orgs[o], {"support"}));
    }
  return d;
}

std::vector<std::string> expectedIds(const Dataset& d, const std::set<std::string>& orgs,
                                     std::optional<UserStatus> status = std::nullopt) {
  std::vector<std::string> out;
  for (const auto& u : d.users)
    if (orgs.count(u.organization_id) && u.status != UserStatus::deleted && (!status || u.status == *status))
      out.push_back(u.id);
  std::sort(out.begin(), out.end());
  return out;
}

AuditEvent eventOn(std::string target, std::optional<std::string> org, std::string actor = "usr_root",
                   std::string action = "user.reactivate") {
  AuditEvent e = grantedEvent(std::move(target));
  e.target_organization_id = std::move(org);
  e.actor_id = std::move(actor);
  e.action = std::move(action);
  return e;
}

std::vector<std::string> targets(const std::vector<AuditEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.target_id);
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("store reads: a subtree lists its own organization and those below, nothing else",
                        "[store][reads]", AllStores) {
  auto h = seeded<TestType>();
  using V = std::vector<std::string>;
  CHECK(ids(h.store->listUsers(subtree("org_r1")).value().users) ==
        V{"usr_c1_admin", "usr_c1_target", "usr_c2_target", "usr_r1_admin", "usr_r1_super", "usr_r1_super_target",
          "usr_r1_support", "usr_r1_target"});
  // A leaf: only its own users; above and beside it are never included.
  CHECK(ids(h.store->listUsers(subtree("org_c1")).value().users) == V{"usr_c1_admin", "usr_c1_target"});
  CHECK(ids(h.store->listUsers(subtree("org_d2")).value().users) == V{"usr_c4_target", "usr_d2_admin"});
  CHECK(h.store->listUsers(subtree("org_root")).value().users.empty());
  CHECK(h.store->listUsers(subtree("org_owner")).value().users.size() == standardDataset().users.size());
}

TEMPLATE_LIST_TEST_CASE("store reads: deleted users and users of deleted organizations are never listed",
                        "[store][reads]", AllStores) {
  Dataset d = standardDataset();
  userIn(d, "usr_c1_target") = makeUser("usr_c1_target", "org_c1", {"support"}, UserStatus::deleted);
  orgIn(d, "org_r1").deleted = true;  // hides org_c1 and org_c2 with it
  auto h = seeded<TestType>(d);
  const auto listed = ids(h.store->listUsers(subtree("org_d1")).value().users);
  CHECK(listed == std::vector<std::string>{"usr_c3_target", "usr_d1_admin", "usr_d1_target"});
  CHECK(h.store->listUsers(subtree("org_r1")).value().users.empty());
  CHECK(h.store->listUsers(subtree("org_c1")).value().users.empty());
  UserQuery deleted_only = subtree("org_owner");
  deleted_only.status = UserStatus::deleted;
  CHECK(h.store->listUsers(deleted_only).value().users.empty());
}

TEMPLATE_LIST_TEST_CASE("store reads: the status filter and the full user row", "[store][reads]", AllStores) {
  Dataset d = standardDataset();
  userIn(d, "usr_c1_target").roles = {"support", "admin"};
  userIn(d, "usr_c1_target").suspended_by_org_id = "org_r1";
  auto h = seeded<TestType>(d);
  UserQuery q = subtree("org_r1");
  q.status = UserStatus::suspended;
  const auto page = h.store->listUsers(q).value();
  CHECK(ids(page.users) ==
        std::vector<std::string>{"usr_c1_target", "usr_c2_target", "usr_r1_super_target", "usr_r1_target"});
  CHECK_FALSE(page.next_after);
  CHECK(page.users.front() == userIn(d, "usr_c1_target"));
  q.status = UserStatus::active;
  CHECK(ids(h.store->listUsers(q).value().users) ==
        std::vector<std::string>{"usr_c1_admin", "usr_r1_admin", "usr_r1_super", "usr_r1_support"});
}

TEMPLATE_LIST_TEST_CASE("store reads: pages cover a 10,000-user subtree exactly once in id order at every limit",
                        "[store][reads][pagination]", AllStores) {
  // 1,000 users in each of the ten organizations; org_d1's subtree holds
  // five of them (5,000 users + the standard ones), org_r1's three.
  const Dataset d = crowdedDataset(1000);
  auto h = seeded<TestType>(d);
  const auto whole = expectedIds(d, {"org_owner", "org_d1", "org_r1", "org_c1", "org_c2", "org_c3", "org_d2",
                                     "org_r2", "org_c4", "org_r3"});
  REQUIRE(whole.size() == 10000 + standardDataset().users.size());
  const auto d1 = expectedIds(d, {"org_d1", "org_r1", "org_c1", "org_c2", "org_c3"});
  const auto r1_suspended = expectedIds(d, {"org_r1", "org_c1", "org_c2"}, UserStatus::suspended);
  for (const std::size_t limit : {std::size_t{1}, std::size_t{7}, std::size_t{100}, whole.size() - 1, whole.size(),
                                  whole.size() + 1}) {
    INFO("limit " << limit);
    if (limit == 1) {
      // One row per page over a part of the tree keeps the run short.
      CHECK(allPages(*h.store, subtree("org_c3", 1)) == expectedIds(d, {"org_c3"}));
      continue;
    }
    CHECK(allPages(*h.store, subtree("org_owner", limit)) == whole);
    CHECK(allPages(*h.store, subtree("org_d1", limit)) == d1);
    UserQuery suspended = subtree("org_r1", limit);
    suspended.status = UserStatus::suspended;
    CHECK(allPages(*h.store, suspended) == r1_suspended);
  }
  // A page that ends exactly on the last user says nothing follows.
  UserQuery exact = subtree("org_c3", expectedIds(d, {"org_c3"}).size());
  CHECK_FALSE(h.store->listUsers(exact).value().next_after);
}

TEMPLATE_LIST_TEST_CASE("store reads: audit filters", "[store][reads][audit]", AllStores) {
  auto h = seeded<TestType>();
  const std::vector<AuditEvent> written = {
      eventOn("usr_c1_target", "org_c1"),
      eventOn("usr_c4_target", "org_c4", "usr_d2_admin"),
      eventOn("org_c1", "org_c1", "usr_r1_admin", "organization.suspend"),
      eventOn("usr_ghost", std::nullopt, "usr_c1_admin"),
      eventOn("usr_c1_target", "org_c1", "usr_c1_admin", "user.suspend"),
  };
  for (const auto& e : written) REQUIRE(h.store->transact([&](UnitOfWork& unit) { return unit.appendAudit(e); }));
  using V = std::vector<std::string>;
  auto query = [&](auto set) {
    AuditQuery q;
    set(q);
    return targets(h.store->auditEvents(q).value().events);
  };
  CHECK(query([](AuditQuery&) {}).size() == 5);
  CHECK(query([](AuditQuery& q) { q.target_id = "usr_c1_target"; }) == V{"usr_c1_target", "usr_c1_target"});
  CHECK(query([](AuditQuery& q) { q.actor_id = "usr_c1_admin"; }) == V{"usr_ghost", "usr_c1_target"});
  CHECK(query([](AuditQuery& q) { q.action = "organization.suspend"; }) == V{"org_c1"});
  CHECK(query([](AuditQuery& q) {
          q.target_id = "usr_c1_target";
          q.actor_id = "usr_c1_admin";
        }) == V{"usr_c1_target"});
  // The organization filter: the subtree's events, never those without one.
  CHECK(query([](AuditQuery& q) { q.within_organization = "org_r1"; }) ==
        V{"usr_c1_target", "org_c1", "usr_c1_target"});
  CHECK(query([](AuditQuery& q) { q.within_organization = "org_d2"; }) == V{"usr_c4_target"});
  CHECK(query([](AuditQuery& q) { q.within_organization = "org_c2"; }).empty());
  CHECK(query([](AuditQuery& q) { q.within_organization = "org_owner"; }).size() == 4);
  // Every event read back carries all it was written with.
  const auto all = h.store->auditEvents().value().events;
  REQUIRE(all.size() == written.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].target_organization_id == written[i].target_organization_id);
    CHECK(all[i].target_type == written[i].target_type);
    CHECK(all[i].actor_id == written[i].actor_id);
  }
}

TEMPLATE_LIST_TEST_CASE("store reads: audit pages resume from their cursor and say when nothing follows",
                        "[store][reads][audit]", AllStores) {
  auto h = seeded<TestType>();
  for (int i = 0; i < 10; ++i)
    REQUIRE(h.store->transact(
        [&](UnitOfWork& unit) { return unit.appendAudit(eventOn("t" + std::to_string(i), "org_c1")); }));
  AuditQuery q;
  q.limit = 4;
  auto first = h.store->auditEvents(q).value();
  CHECK(targets(first.events) == std::vector<std::string>{"t0", "t1", "t2", "t3"});
  REQUIRE(first.next_after);
  CHECK(*first.next_after == first.events.back().cursor);
  q.after = first.next_after;
  q.limit = 6;
  auto last = h.store->auditEvents(q).value();
  CHECK(targets(last.events) == std::vector<std::string>{"t4", "t5", "t6", "t7", "t8", "t9"});
  CHECK_FALSE(last.next_after);
  // A tail resumes from the last event's cursor and sees only what is new.
  q.after = last.events.back().cursor;
  CHECK(h.store->auditEvents(q).value().events.empty());
  REQUIRE(h.store->transact([&](UnitOfWork& unit) { return unit.appendAudit(eventOn("t10", "org_c1")); }));
  CHECK(targets(h.store->auditEvents(q).value().events) == std::vector<std::string>{"t10"});
  // Cursors survive their text form.
  for (const auto& e : last.events) CHECK(parseAuditCursor(formatAuditCursor(e.cursor)) == e.cursor);
}

TEMPLATE_LIST_TEST_CASE("store reads: a reader paging while many writers commit reads every event exactly once",
                        "[store][reads][audit][concurrency]", AllStores) {
  auto h = seeded<TestType>();
  constexpr int kWriters = 8, kUnitsPerWriter = 40;
  std::atomic<int> running{kWriters};
  // Catch2 assertions are not thread-safe: writers count surprises, the
  // test thread checks the count.
  std::atomic<int> wrong_outcomes{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int u = 0; u < kUnitsPerWriter; ++u) {
        // Units of one to three events; every fifth unit fails and must
        // leave none of its events behind.
        const bool fail = u % 5 == 4;
        Status s = h.store->transact([&](UnitOfWork& unit) -> Status {
          for (int k = 0; k <= u % 3; ++k) {
            const std::string id = "w" + std::to_string(w) + "_u" + std::to_string(u) + "_" + std::to_string(k);
            if (Status a = unit.appendAudit(eventOn(id, "org_c1")); !a) return a;
          }
          return fail ? Status(Error::internal("deliberate")) : okStatus();
        });
        if (static_cast<bool>(s) == fail) ++wrong_outcomes;
      }
      --running;
    });
  }
  std::map<std::string, int> seen;
  std::optional<AuditCursor> last;
  AuditQuery q;
  q.limit = 7;
  q.within_organization = "org_r1";
  bool drained = false;
  while (!drained) {
    const bool writers_done = running.load() == 0;  // read before the page: nothing commits after it
    auto page = h.store->auditEvents(q).value();
    for (const auto& e : page.events) {
      ++seen[e.target_id];
      if (last) CHECK(*last < e.cursor);
      last = e.cursor;
    }
    if (!page.events.empty()) q.after = page.events.back().cursor;
    drained = writers_done && page.events.empty();
  }
  for (auto& t : writers) t.join();
  CHECK(wrong_outcomes.load() == 0);
  std::size_t expected = 0;
  for (int u = 0; u < kUnitsPerWriter; ++u)
    if (u % 5 != 4) expected += static_cast<std::size_t>(u % 3 + 1) * kWriters;
  CHECK(seen.size() == expected);
  for (const auto& [id, count] : seen) {
    INFO(id);
    CHECK(count == 1);
  }
}
