// A compare-and-set that loses to a concurrent change is decided again, up
// to three times, by reactivateUser and reactivateUserAsync alike. The SQLite
// and memory stores read under their write lock, so they never lose such a
// race; a store wrapper here makes the first compare-and-sets lose.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "support/fixtures.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/reactivation_service.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// The wrapped store's units, except that the first `losses` user
// compare-and-sets report a lost race (and change nothing).
class LosingUnit final : public UnitOfWork {
 public:
  LosingUnit(UnitOfWork& inner, std::atomic<int>& losses) : inner_(inner), losses_(losses) {}
  Result<std::optional<User>> findUser(std::string_view id) override { return inner_.findUser(id); }
  Result<std::vector<Organization>> organizationChain(std::string_view id) override {
    return inner_.organizationChain(id);
  }
  Result<bool> compareAndSetUser(const User& user, std::int64_t expected_version) override {
    if (losses_.fetch_sub(1) > 0) return false;
    return inner_.compareAndSetUser(user, expected_version);
  }
  Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected_version) override {
    return inner_.compareAndSetOrganization(org, expected_version);
  }
  Result<std::vector<std::string>> suspendCascade(const Cascade& c) override { return inner_.suspendCascade(c); }
  Result<std::vector<std::string>> reactivateCascade(const Cascade& c) override {
    return inner_.reactivateCascade(c);
  }
  Status appendAudit(const AuditEvent& event) override { return inner_.appendAudit(event); }
  Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) override {
    return inner_.queueDirectoryUpdate(update, now, due);
  }

 private:
  UnitOfWork& inner_;
  std::atomic<int>& losses_;
};

class LosingStore final : public UserStore {
 public:
  explicit LosingStore(std::unique_ptr<UserStore> inner) : inner_(std::move(inner)) {}
  Status transact(const Work& work) override {
    ++units;
    return inner_->transact([&](UnitOfWork& unit) {
      LosingUnit losing(unit, losses);
      return work(losing);
    });
  }
  Status seed(const Dataset& data) override { return inner_->seed(data); }
  Status read(const ReadWork& work) override { return inner_->read(work); }
  Result<std::optional<User>> findUser(std::string_view id) override { return inner_->findUser(id); }
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    return inner_->claimDirectoryUpdates(now, limit);
  }
  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& ids) override {
    return inner_->markDirectoryUpdatesDelivered(ids);
  }
  Status rescheduleDirectoryUpdate(std::int64_t id, Timestamp next, std::string_view error) override {
    return inner_->rescheduleDirectoryUpdate(id, next, error);
  }
  Result<OutboxStats> directoryOutboxStats() override { return inner_->directoryOutboxStats(); }

  std::atomic<int> losses{0};
  std::atomic<int> units{0};

 private:
  std::unique_ptr<UserStore> inner_;
};

Actor root() {
  Actor actor;
  actor.user_id = "usr_root";
  actor.credential_issued_at = systemClock().now();
  return actor;
}

Dataset withSuspended() {
  Dataset data = standardDataset();
  data.users.push_back(makeSuspended("usr_retry", "org_c1"));
  return data;
}

}  // namespace

TEST_CASE("decide: a lost compare-and-set is decided again, blocking and asynchronous alike", "[core][retry]") {
  const bool async = GENERATE(false, true);
  INFO((async ? "reactivateUserAsync" : "reactivateUser"));
  const int losses = GENERATE(0, 1, 2, 3);
  INFO("losses " << losses);
  LosingStore store(makeMemoryStore(defaultPolicy()));
  REQUIRE(store.seed(withSuspended()));
  auto authorizer = makePolicyAuthorizer(defaultPolicy());
  ReactivationService service(ServiceDeps{store, *authorizer, systemClock(), nullptr});
  store.losses = losses;

  Result<User> result = Error::internal("not answered");
  int answers = 0;
  if (async) {
    // The memory store completes on the calling thread, before the call returns.
    service.reactivateUserAsync(root(), "usr_retry", "", [&](Result<User> r) {
      result = std::move(r);
      ++answers;
    });
  } else {
    result = service.reactivateUser(root(), "usr_retry");
    ++answers;
  }
  CHECK(answers == 1);
  CHECK(store.units == std::min(losses + 1, 3));
  const auto stored = store.findUser("usr_retry").value();
  if (losses < 3) {
    REQUIRE(result);
    CHECK(result->status == UserStatus::active);
    CHECK(stored->status == UserStatus::active);
  } else {
    // Three decisions lost: unavailable, nothing changed, nothing audited.
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::unavailable);
    CHECK(result.error().detail.find("kept changing") != std::string::npos);
    CHECK(stored->status == UserStatus::suspended);
  }
  CHECK(store.auditEvents().value().events.size() == (losses < 3 ? 1u : 0u));
}
