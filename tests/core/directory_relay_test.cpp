// DirectoryRelay against a fake DirectorySync on every store: delivery of
// the store's current state, per-user order, backoff, Retry-After, pausing
// on a dead directory, at-least-once across a restart, the thread and logs.
#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/fake_clock.hpp"
#include "support/fixtures.hpp"
#include "useradmin/directory_relay.hpp"

using namespace useradmin;
using namespace useradmin::test;
using std::chrono::milliseconds;

namespace {

// Records every call; answers with `failure` while it is set; runs
// `during` inside the call (a concurrent change while the directory works).
class FakeDirectory final : public DirectorySync {
 public:
  Status userStatusChanged(const User& user) override {
    std::function<void(const User&)> hook;
    {
      std::lock_guard lock(mutex_);
      calls_.emplace_back(user.id, user.status);
      state_[directoryIdOf(user)] = user.status;
      hook = during;
    }
    if (hook) hook(user);
    std::lock_guard lock(mutex_);
    if (failure) {
      state_.erase(directoryIdOf(user));  // refused: not applied
      return *failure;
    }
    return okStatus();
  }
  std::vector<std::pair<std::string, UserStatus>> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::map<std::string, UserStatus> state() {
    std::lock_guard lock(mutex_);
    return state_;
  }
  void fail(std::optional<Error> e) {
    std::lock_guard lock(mutex_);
    failure = std::move(e);
  }
  std::optional<Error> failure;
  std::function<void(const User&)> during;

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, UserStatus>> calls_;
  std::map<std::string, UserStatus> state_;
};

Error rejected(int status, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  return Error::directoryFailed({"scim", DirectoryFailureReason::rejected, status, retry_after},
                                "HTTP " + std::to_string(status));
}

Error unreachable() {
  return Error::directoryFailed({"scim", DirectoryFailureReason::unreachable, std::nullopt, std::nullopt},
                                "connection refused");
}

// Sets the user's status by compare-and-set and queues it, as a cascade does.
void change(UserStore& store, const std::string& id, UserStatus status, Timestamp now) {
  REQUIRE(store.transact([&](UnitOfWork& unit) -> Status {
    User user = *unit.findUser(id).value();
    User next = user;
    next.status = status;
    if (status == UserStatus::active) next.suspended_by_org_id.reset();
    next.version += 1;
    REQUIRE(unit.compareAndSetUser(next, user.version).value());
    if (status == UserStatus::deleted) return okStatus();  // nothing to queue (stores refuse it)
    return unit.queueDirectoryUpdate({id, directoryIdOf(next), status, next.version}, now, now);
  }));
}

std::int64_t pending(UserStore& store) { return store.directoryOutboxStats().value().pending; }

OutboxEntry onlyEntry(UserStore& store, Timestamp now) {
  auto entries = store.claimDirectoryUpdates(now + std::chrono::hours(24 * 365), 10);
  REQUIRE(entries);
  REQUIRE(entries->size() == 1);
  return entries->front();
}

DirectoryRelayOptions quiet() {
  DirectoryRelayOptions o;
  o.initial_backoff = milliseconds(1000);
  o.max_backoff = milliseconds(8000);
  o.jitter_seed = 42;
  return o;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("relay: delivers the store's current state and empties the outbox", "[relay][directory]",
                        AllStores) {
  auto h = TestType::make(defaultPolicy());
  Dataset data = standardDataset();
  userIn(data, "usr_r1_admin").external_id = "idp-7";
  REQUIRE(h.store->seed(data));
  FakeClock clock(testEpoch());
  FakeDirectory directory;
  change(*h.store, "usr_c1_admin", UserStatus::suspended, clock.now());
  change(*h.store, "usr_r1_admin", UserStatus::suspended, clock.now());
  change(*h.store, "usr_c1_target", UserStatus::active, clock.now());
  // A user that is gone by delivery time is dropped; one deleted since is
  // told as suspended.
  REQUIRE(h.store->transact([&](UnitOfWork& unit) {
    return unit.queueDirectoryUpdate({"usr_ghost", "usr_ghost", UserStatus::active, 3}, clock.now(), clock.now());
  }));
  change(*h.store, "usr_c2_target", UserStatus::deleted, clock.now() - milliseconds(1));
  REQUIRE(h.store->transact([&](UnitOfWork& unit) {
    return unit.queueDirectoryUpdate({"usr_c2_target", "usr_c2_target", UserStatus::active, 1}, clock.now(), clock.now());
  }));

  DirectoryRelay relay(*h.store, directory, clock, quiet());
  CHECK(relay.stats().pending == 5);
  CHECK(relay.runOnce() == 5);
  CHECK(pending(*h.store) == 0);
  const auto state = directory.state();
  CHECK(state.at("usr_c1_admin") == UserStatus::suspended);
  CHECK(state.at("idp-7") == UserStatus::suspended);
  CHECK(state.at("usr_c1_target") == UserStatus::active);
  CHECK(state.at("usr_c2_target") == UserStatus::suspended);
  CHECK(state.count("usr_ghost") == 0);
  CHECK(directory.calls().size() == 4);
  const DirectoryRelayStats stats = relay.stats();
  CHECK(stats.delivered == 5);
  CHECK(stats.failed == 0);
  CHECK(stats.pending == 0);
  CHECK_FALSE(stats.oldest_pending_age);
  CHECK_FALSE(stats.running);
  CHECK(relay.runOnce() == 0);
  CHECK(directory.calls().size() == 4);
}

TEMPLATE_LIST_TEST_CASE("relay: per user the latest state wins, also when the user changes during the call",
                        "[relay][directory]", AllStores) {
  auto h = TestType::make(defaultPolicy());
  REQUIRE(h.store->seed(standardDataset()));
  FakeClock clock(testEpoch());
  FakeDirectory directory;
  // Three changes of one user before the relay looks: one call, the last state.
  change(*h.store, "usr_c1_admin", UserStatus::suspended, clock.now());
  change(*h.store, "usr_c1_admin", UserStatus::active, clock.now());
  change(*h.store, "usr_c1_admin", UserStatus::suspended, clock.now());
  DirectoryRelay relay(*h.store, directory, clock, quiet());
  CHECK(relay.runOnce() == 1);
  REQUIRE(directory.calls().size() == 1);
  CHECK(directory.calls()[0].second == UserStatus::suspended);

  // While the directory takes "active", another writer suspends the user
  // (without telling anyone): the relay notices and sends the newer state
  // before marking the entry delivered, so the directory ends as the store.
  change(*h.store, "usr_c1_admin", UserStatus::active, clock.now());
  bool raced = false;
  directory.during = [&](const User& user) {
    if (raced || user.status != UserStatus::active) return;
    raced = true;
    REQUIRE(h.store->transact([&](UnitOfWork& unit) -> Status {
      User current = *unit.findUser("usr_c1_admin").value();
      User next = current;
      next.status = UserStatus::suspended;
      next.version += 1;
      REQUIRE(unit.compareAndSetUser(next, current.version).value());
      return okStatus();
    }));
  };
  CHECK(relay.runOnce() == 1);
  const auto calls = directory.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[1].second == UserStatus::active);
  CHECK(calls[2].second == UserStatus::suspended);
  CHECK(directory.state().at("usr_c1_admin") == h.store->findUser("usr_c1_admin").value()->status);
  CHECK(pending(*h.store) == 0);
}

TEMPLATE_LIST_TEST_CASE("relay: a refused entry backs off exponentially with jitter, up to the cap",
                        "[relay][directory][backoff]", AllStores) {
  auto h = TestType::make(defaultPolicy());
  REQUIRE(h.store->seed(standardDataset()));
  FakeClock clock(testEpoch());
  FakeDirectory directory;
  directory.fail(rejected(404));  // one user's problem: no pause of the others
  change(*h.store, "usr_c1_admin", UserStatus::suspended, clock.now());
  change(*h.store, "usr_r1_admin", UserStatus::suspended, clock.now());
  DirectoryRelay relay(*h.store, directory, clock, quiet());
  CHECK(relay.runOnce() == 0);
  CHECK(directory.calls().size() == 2);  // both tried: a 404 does not stop the round
  CHECK_FALSE(relay.stats().paused_until);
  REQUIRE(h.store->markDirectoryUpdatesDelivered(
      {h.store->claimDirectoryUpdates(clock.now() + std::chrono::hours(1), 10).value().back().id}));
  milliseconds previous{0};
  const std::vector<std::pair<long, long>> windows = {{1000, 2000}, {2000, 4000}, {4000, 8000}, {4000, 8000}};
  // The first failure: [500, 1000].
  OutboxEntry entry = onlyEntry(*h.store, clock.now());
  CHECK(entry.attempts == 1);
  CHECK(entry.last_error == "HTTP 404");
  milliseconds delay = entry.next_attempt_at - clock.now();
  CHECK(delay >= milliseconds(500));
  CHECK(delay <= milliseconds(1000));
  previous = delay;
  for (const auto& [low, high] : windows) {
    clock.set(entry.next_attempt_at - milliseconds(1));
    CHECK(relay.runOnce() == 0);
    const auto before = directory.calls().size();
    CHECK(onlyEntry(*h.store, clock.now()).attempts == entry.attempts);  // not due yet: untouched
    clock.set(entry.next_attempt_at);
    CHECK(relay.runOnce() == 0);
    CHECK(directory.calls().size() == before + 1);
    entry = onlyEntry(*h.store, clock.now());
    delay = entry.next_attempt_at - clock.now();
    INFO("attempt " << entry.attempts << " delay " << delay.count() << " ms");
    CHECK(delay >= milliseconds(low / 2));
    CHECK(delay <= milliseconds(high));
    CHECK(delay >= previous / 2 + milliseconds(1));
    previous = delay;
  }
  CHECK(entry.attempts == 5);
  CHECK(relay.stats().failed == 6);
  CHECK(relay.stats().last_error == "HTTP 404");
  // The directory takes it again: delivered on the next due round.
  directory.fail(std::nullopt);
  clock.set(entry.next_attempt_at);
  CHECK(relay.runOnce() == 1);
  CHECK(pending(*h.store) == 0);
}

TEMPLATE_LIST_TEST_CASE("relay: a dead directory pauses every delivery, one call per pause, growing",
                        "[relay][directory][backoff]", AllStores) {
  auto h = TestType::make(defaultPolicy());
  REQUIRE(h.store->seed(standardDataset()));
  FakeClock clock(testEpoch());
  FakeDirectory directory;
  directory.fail(unreachable());
  for (const char* id : {"usr_c1_admin", "usr_r1_admin", "usr_d1_admin", "usr_r3_admin"})
    change(*h.store, id, UserStatus::suspended, clock.now());
  DirectoryRelay relay(*h.store, directory, clock, quiet());
  CHECK(relay.runOnce() == 0);
  CHECK(directory.calls().size() == 1);
  auto stats = relay.stats();
  REQUIRE(stats.paused_until);
  CHECK(stats.consecutive_failures == 1);
  milliseconds pause = *stats.paused_until - clock.now();
  CHECK(pause >= milliseconds(500));
  CHECK(pause <= milliseconds(1000));
  clock.set(*stats.paused_until - milliseconds(1));
  CHECK(relay.runOnce() == 0);
  CHECK(directory.calls().size() == 1);  // paused: nothing tried
  clock.set(*stats.paused_until);
  CHECK(relay.runOnce() == 0);
  CHECK(directory.calls().size() == 2);  // the next entry, alone
  stats = relay.stats();
  CHECK(stats.consecutive_failures == 2);
  CHECK(*stats.paused_until - clock.now() >= milliseconds(1000));
  CHECK(stats.pending == 4);
  CHECK(stats.oldest_pending_age);
  // Back up: everything goes out in the next round, in order.
  directory.fail(std::nullopt);
  clock.set(clock.now() + milliseconds(60000));
  CHECK(relay.runOnce() == 4);
  CHECK(relay.stats().consecutive_failures == 0);
  CHECK_FALSE(relay.stats().paused_until);
  CHECK(pending(*h.store) == 0);
}

TEMPLATE_LIST_TEST_CASE("relay: Retry-After is honoured over a shorter backoff", "[relay][directory][backoff]",
                        AllStores) {
  auto h = TestType::make(defaultPolicy());
  REQUIRE(h.store->seed(standardDataset()));
  FakeClock clock(testEpoch());
  FakeDirectory directory;
  directory.fail(rejected(503, std::chrono::seconds(120)));
  change(*h.store, "usr_c1_admin", UserStatus::suspended, clock.now());
  DirectoryRelay relay(*h.store, directory, clock, quiet());
  CHECK(relay.runOnce() == 0);
  const Timestamp failed_at = clock.now();
  CHECK(onlyEntry(*h.store, clock.now()).next_attempt_at >= failed_at + std::chrono::seconds(120));
  REQUIRE(relay.stats().paused_until);
  CHECK(*relay.stats().paused_until >= failed_at + std::chrono::seconds(120));
  directory.fail(std::nullopt);
  clock.set(failed_at + std::chrono::seconds(119));
  CHECK(relay.runOnce() == 0);
  CHECK(directory.calls().size() == 1);
  clock.set(failed_at + std::chrono::seconds(120));
  CHECK(relay.runOnce() == 1);
  CHECK(directory.calls().size() == 2);
}

namespace {

// A store whose "delivered" never lands: the relay's process dies between
// the directory's answer and the mark (the window at-least-once is about).
class NoMarkStore final : public UserStore {
 public:
  explicit NoMarkStore(UserStore& inner) : inner_(inner) {}
  Status transact(const Work& work) override { return inner_.transact(work); }
  Status seed(const Dataset& data) override { return inner_.seed(data); }
  Status read(const ReadWork& work) override { return inner_.read(work); }
  Result<std::optional<User>> findUser(std::string_view id) override { return inner_.findUser(id); }
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    return inner_.claimDirectoryUpdates(now, limit);
  }
  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>&) override {
    return Error::internal("killed before the mark");
  }
  Status rescheduleDirectoryUpdate(std::int64_t id, Timestamp next, std::string_view error) override {
    if (reschedules_lost) return okStatus();  // the process is gone
    return inner_.rescheduleDirectoryUpdate(id, next, error);
  }
  Result<OutboxStats> directoryOutboxStats() override { return inner_.directoryOutboxStats(); }
  bool reschedules_lost = true;

 private:
  UserStore& inner_;
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("relay: at least once — what a dead relay did not mark, the next one delivers again",
                        "[relay][directory]", AllStores) {
  auto h = TestType::make(defaultPolicy());
  REQUIRE(h.store->seed(standardDataset()));
  FakeClock clock(testEpoch());
  FakeDirectory directory;
  change(*h.store, "usr_c1_admin", UserStatus::suspended, clock.now());
  change(*h.store, "usr_r1_admin", UserStatus::suspended, clock.now());
  {
    // The first relay: the directory takes both, then the process "dies"
    // before the marks land.
    NoMarkStore dying(*h.store);
    DirectoryRelay first(dying, directory, clock, quiet());
    CHECK(first.runOnce() == 0);
    CHECK(directory.calls().size() == 2);
  }
  {
    // Another relay dies after failures it could not record either.
    directory.fail(unreachable());
    DirectoryRelay second(*h.store, directory, clock, quiet());
    CHECK(second.runOnce() == 0);
  }
  CHECK(pending(*h.store) == 2);
  directory.fail(std::nullopt);
  DirectoryRelay third(*h.store, directory, clock, quiet());
  clock.advance(milliseconds(1000));  // past the second relay's reschedule
  CHECK(third.runOnce() == 2);
  CHECK(pending(*h.store) == 0);
  const auto calls = directory.calls();
  CHECK(std::count(calls.begin(), calls.end(), std::make_pair(std::string("usr_c1_admin"), UserStatus::suspended)) ==
        3);  // delivered, tried, delivered again: harmless, the state is the same
  CHECK(std::count(calls.begin(), calls.end(), std::make_pair(std::string("usr_r1_admin"), UserStatus::suspended)) ==
        2);
  CHECK(directory.state().at("usr_c1_admin") == UserStatus::suspended);
  CHECK(directory.state().at("usr_r1_admin") == UserStatus::suspended);
}

TEMPLATE_LIST_TEST_CASE("relay: the thread delivers promptly on wake(), logs state changes only, stops cleanly",
                        "[relay][directory][thread]", AllStores) {
  auto h = TestType::make(defaultPolicy());
  Dataset data = standardDataset();
  for (int i = 0; i < 200; ++i) data.users.push_back(makeUser("usr_bulk_" + std::to_string(i), "org_c1", {"support"}));
  REQUIRE(h.store->seed(data));
  FakeDirectory directory;
  std::mutex log_mutex;
  std::vector<std::string> lines;
  DirectoryRelayOptions o = quiet();
  o.poll_interval = milliseconds(60000);  // only wake() (or a due retry) makes it look in time
  o.initial_backoff = milliseconds(20);
  o.max_backoff = milliseconds(40);
  o.log = [&](const std::string& line) {
    std::lock_guard lock(log_mutex);
    lines.push_back(line);
  };
  auto wait_for = [&](const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(5));
    return done();
  };
  DirectoryRelay relay(*h.store, directory, systemClock(), o);
  relay.start();
  CHECK(relay.stats().running);
  std::this_thread::sleep_for(milliseconds(50));  // the thread is asleep now

  // Quick deliveries: no line at all (nothing an operator needs to see).
  change(*h.store, "usr_bulk_0", UserStatus::suspended, systemClock().now());
  relay.wake();
  CHECK(wait_for([&] { return pending(*h.store) == 0; }));
  CHECK(directory.calls().size() == 1);

  // The directory goes down: retries with backoff, one "failing" line.
  directory.fail(unreachable());
  for (int i = 1; i < 200; ++i)
    change(*h.store, "usr_bulk_" + std::to_string(i), UserStatus::suspended, systemClock().now());
  relay.wake();
  CHECK(wait_for([&] { return relay.stats().failed >= 5; }));
  CHECK(pending(*h.store) == 199);
  directory.fail(std::nullopt);
  CHECK(wait_for([&] { return pending(*h.store) == 0; }));
  CHECK(wait_for([&] {
    std::lock_guard lock(log_mutex);
    return !lines.empty() && lines.back().find("caught up") != std::string::npos;
  }));
  relay.stop();
  CHECK_FALSE(relay.stats().running);
  CHECK(relay.stats().delivered == 200);
  for (int i = 0; i < 200; ++i) CHECK(directory.state().at("usr_bulk_" + std::to_string(i)) == UserStatus::suspended);
  std::lock_guard lock(log_mutex);
  INFO([&] {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  }());
  // Never a line per entry or per retry: one "failing" line for the whole
  // outage, then "delivering" and "caught up" at most. (A loaded machine
  // may catch the first, quick delivery in a round too: one more pair.)
  CHECK(lines.size() <= 5);
  const auto is_failing = [](const std::string& l) { return l.find("failing, ") != std::string::npos; };
  CHECK(std::count_if(lines.begin(), lines.end(), is_failing) == 1);
  const auto failing = std::find_if(lines.begin(), lines.end(), is_failing);
  REQUIRE(failing != lines.end());
  CHECK(failing->find("failing, 199 pending") != std::string::npos);
  CHECK(failing->find("last error: connection refused") != std::string::npos);
}
