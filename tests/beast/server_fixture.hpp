// TestServer: the real adapter in-process on 127.0.0.1:0, over a seeded store
// (SQLite on a temporary file when the sqlite component is built, else the
// memory store), the real JWT verifier and the library service.
#ifndef USERADMIN_TESTS_BEAST_SERVER_FIXTURE_HPP
#define USERADMIN_TESTS_BEAST_SERVER_FIXTURE_HPP

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "store/store_factories.hpp"
#include "support/failing_store.hpp"
#include "support/fixtures.hpp"
#include "useradmin/authorizer.hpp"
#include "useradmin/beast/server.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/jwt/jwt_issuer.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/reactivation_service.hpp"

namespace useradmin::test {

inline const std::string kBeastSecret = "beast-test-secret-0123456789-abcdefghijklmnop";
inline const std::string kIssuer = "useradmin-test";
inline const std::string kAudience = "useradmin-api";

#ifdef USERADMIN_TEST_WITH_SQLITE
using ServerStoreFactory = SqliteStoreFactory;
#else
using ServerStoreFactory = MemoryStoreFactory;
#endif

// The standard hierarchy plus the contract's example (usr_123456789, a
// suspended support user in org_c1) and a suspended organization org_c5
// (under org_r1) holding the suspended usr_c5_target.
inline Dataset serverDataset() {
  Dataset d = standardDataset();
  d.users.push_back(makeSuspended("usr_123456789", "org_c1"));
  d.organizations.push_back(makeOrg("org_c5", OrgType::customer, "org_r1"));
  d.organizations.back().suspended = true;
  d.users.push_back(makeSuspended("usr_c5_target", "org_c5"));
  for (auto& u : d.users) u.updated_at = systemClock().now() - std::chrono::hours(24);
  return d;
}

// A store decorator that sleeps in every unit of work (for drain tests).
class SlowStore final : public UserStore {
 public:
  SlowStore(UserStore& inner, std::chrono::milliseconds delay) : inner_(inner), delay_(delay) {}
  Status transact(const Work& work) override {
    started_.fetch_add(1);
    std::this_thread::sleep_for(delay_);
    return inner_.transact(work);
  }
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
  /// Units that reached the store (and are being delayed, or were).
  int started() const { return started_.load(); }

 private:
  UserStore& inner_;
  std::chrono::milliseconds delay_;
  std::atomic<int> started_{0};
};

// A directory hook that always fails (rule 12).
class FailingDirectory final : public DirectorySync {
 public:
  Status userStatusChanged(const User&) override { return Error::externalError("directory at ldap://x refused: 503"); }
};

struct TestServerConfig {
  beast::ServerOptions options = defaultOptions();
  DirectorySync* directory = nullptr;
  // > 0: the Nth storage call fails (FailingStore).
  int fail_store_at = 0;
  // > 0: every unit of work is delayed this long.
  std::chrono::milliseconds store_delay{0};

  static beast::ServerOptions defaultOptions() {
    beast::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.worker_threads = 4;
    return o;
  }
};

class TestServer {
 public:
  explicit TestServer(TestServerConfig config = {})
      : handle_(ServerStoreFactory::make(defaultPolicy())), authorizer_(makePolicyAuthorizer(defaultPolicy())) {
    REQUIRE(handle_.store->seed(serverDataset()));
    UserStore* store = handle_.store.get();
    if (config.fail_store_at > 0) {
      failing_ = std::make_unique<FailingStore>(*store, config.fail_store_at);
      store = failing_.get();
    }
    if (config.store_delay.count() > 0) {
      slow_ = std::make_unique<SlowStore>(*store, config.store_delay);
      store = slow_.get();
    }
    service_ = std::make_unique<ReactivationService>(
        ServiceDeps{*store, *authorizer_, systemClock(), config.directory});

    JwtVerifierOptions jwt;
    jwt.keys.push_back(JwtKeySource::hs256Secret(kBeastSecret));
    jwt.issuer = kIssuer;
    jwt.audience = kAudience;
    auto verifier = makeJwtVerifier(jwt);
    REQUIRE(verifier);
    verifier_ = std::move(verifier).value();

    config.options.access_log = true;
    config.options.access_log_sink = [this](std::string_view line) {
      const std::lock_guard<std::mutex> lock(log_mutex_);
      log_.emplace_back(line);
    };
    auto started = beast::Server::start(config.options, {*service_, *verifier_, systemClock()});
    if (!started) FAIL("server did not start: " << started.error().detail);
    server_ = std::move(started).value();
  }

  /// The delaying wrapper (config.store_delay), or null.
  const SlowStore* slowStore() const { return slow_.get(); }

  ~TestServer() {
    if (server_) server_->shutdown(std::chrono::seconds(5));
  }

  std::uint16_t port() const { return server_->port(); }
  beast::Server& server() { return *server_; }
  UserStore& store() { return *handle_.store; }
  const AdminService& service() const { return *service_; }

  User user(const std::string& id) {
    auto found = handle_.store->findUser(id);
    REQUIRE(found);
    REQUIRE(found->has_value());
    return **found;
  }

  std::vector<std::string> logLines() {
    const std::lock_guard<std::mutex> lock(log_mutex_);
    return log_;
  }

  // The access log line whose request_id is `id` (waits briefly: the line
  // is written after the response).
  std::string logLineFor(const std::string& request_id) {
    const std::string needle = "\"request_id\":\"" + request_id + "\"";
    for (int i = 0; i < 200; ++i) {
      for (const auto& line : logLines())
        if (line.find(needle) != std::string::npos) return line;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {};
  }

 private:
  StoreHandle handle_;
  std::unique_ptr<FailingStore> failing_;
  std::unique_ptr<SlowStore> slow_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<ReactivationService> service_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
  std::unique_ptr<beast::Server> server_;
};

// Claims for a valid token of `sub`, issued now, valid for an hour.
inline JwtClaims validClaims(const std::string& sub) {
  const Timestamp now = std::chrono::time_point_cast<std::chrono::seconds>(systemClock().now());
  JwtClaims c;
  c.sub = sub;
  c.iat = now;
  c.exp = now + std::chrono::hours(1);
  c.iss = kIssuer;
  c.aud = {kAudience};
  return c;
}

inline std::string tokenFor(const std::string& sub) { return issueHs256Token(kBeastSecret, validClaims(sub)); }
inline std::string tokenWith(const JwtClaims& claims, const std::string& secret = kBeastSecret) {
  return issueHs256Token(secret, claims);
}

}  // namespace useradmin::test

#endif  // USERADMIN_TESTS_BEAST_SERVER_FIXTURE_HPP
