// FailingStore: forwards to a real store and fails the Nth storage call.
#ifndef USERADMIN_TESTS_SUPPORT_FAILING_STORE_HPP
#define USERADMIN_TESTS_SUPPORT_FAILING_STORE_HPP

#include <atomic>

#include "useradmin/fixture.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin::test {

// Counts every UnitOfWork call across units; the one numbered `fail_at`
// (1-based) fails with `code`: `internal` as a broken disk would, or
// `unavailable` as a database locked past its busy timeout would.
class FailingStore final : public UserStore {
 public:
  // With `keep_failing`, every call from `fail_at` on fails (a disk that died).
  FailingStore(UserStore& inner, int fail_at, ErrorCode code = ErrorCode::internal, bool keep_failing = false)
      : inner_(inner), fail_at_(fail_at), code_(code), keep_failing_(keep_failing) {}

  Status transact(const Work& work) override { return inner_.transact(wrap(work)); }
  Status transactLarge(const Work& work) override { return inner_.transactLarge(wrap(work)); }
  Status seed(const Dataset& data) override { return inner_.seed(data); }
  Result<std::optional<User>> findUser(std::string_view id) override { return inner_.findUser(id); }
  Status read(const ReadWork& work) override { return inner_.read(work); }
  Result<std::vector<OutboxEntry>> claimDirectoryUpdates(Timestamp now, std::size_t limit) override {
    return inner_.claimDirectoryUpdates(now, limit);
  }
  Status markDirectoryUpdatesDelivered(const std::vector<std::int64_t>& ids) override {
    return inner_.markDirectoryUpdatesDelivered(ids);
  }
  Status rescheduleDirectoryUpdate(std::int64_t id, Timestamp next, std::string_view error) override {
    return inner_.rescheduleDirectoryUpdate(id, next, error);
  }
  Result<OutboxStats> directoryOutboxStats() override { return inner_.directoryOutboxStats(); }
  int calls() const { return calls_.load(); }

 private:
  Work wrap(const Work& work) {
    return [this, &work](UnitOfWork& unit) {
      Wrapped wrapped(unit, *this);
      return work(wrapped);
    };
  }
  bool shouldFail() {
    const int call = ++calls_;
    return call == fail_at_ || (keep_failing_ && fail_at_ > 0 && call > fail_at_);
  }
  Error failure(const char* where) const {
    return code_ == ErrorCode::unavailable ? Error::unavailable(std::string("injected busy in ") + where)
                                           : Error::internal(std::string("injected failure in ") + where);
  }

  class Wrapped final : public UnitOfWork {
   public:
    Wrapped(UnitOfWork& unit, FailingStore& owner) : unit_(unit), owner_(owner) {}
    Result<std::optional<User>> findUser(std::string_view id) override {
      if (owner_.shouldFail()) return owner_.failure("findUser");
      return unit_.findUser(id);
    }
    Result<std::vector<Organization>> organizationChain(std::string_view id) override {
      if (owner_.shouldFail()) return owner_.failure("organizationChain");
      return unit_.organizationChain(id);
    }
    Result<bool> compareAndSetUser(const User& user, std::int64_t expected) override {
      if (owner_.shouldFail()) return owner_.failure("compareAndSetUser");
      return unit_.compareAndSetUser(user, expected);
    }
    Result<bool> compareAndSetOrganization(const Organization& org, std::int64_t expected) override {
      if (owner_.shouldFail()) return owner_.failure("compareAndSetOrganization");
      return unit_.compareAndSetOrganization(org, expected);
    }
    Result<std::vector<std::string>> suspendCascade(const Cascade& cascade) override {
      if (owner_.shouldFail()) return owner_.failure("suspendCascade");
      return unit_.suspendCascade(cascade);
    }
    Result<std::vector<std::string>> reactivateCascade(const Cascade& cascade) override {
      if (owner_.shouldFail()) return owner_.failure("reactivateCascade");
      return unit_.reactivateCascade(cascade);
    }
    Status appendAudit(const AuditEvent& event) override {
      if (owner_.shouldFail()) return owner_.failure("appendAudit");
      return unit_.appendAudit(event);
    }
    Status queueDirectoryUpdate(const DirectoryUpdate& update, Timestamp now, Timestamp due) override {
      if (owner_.shouldFail()) return owner_.failure("queueDirectoryUpdate");
      return unit_.queueDirectoryUpdate(update, now, due);
    }

   private:
    UnitOfWork& unit_;
    FailingStore& owner_;
  };

  UserStore& inner_;
  int fail_at_;
  ErrorCode code_;
  bool keep_failing_;
  std::atomic<int> calls_{0};
};

}  // namespace useradmin::test

#endif
