// The rotating JWK Set verifier with an in-process fetch function: the
// Cache-Control rules, option checks, the first fetch, and the unknown-kid
// rate limit, without a network (directory/jwks_url_test.cpp has the HTTPS
// issuer and the server process).
#include <atomic>
#include <mutex>
#include <thread>

#include "jwt/jwt_test_support.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/jwt/remote_jwks.hpp"

namespace {

using namespace jwt_test;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string secretFor(const std::string& kid) { return "remote-jwks-secret-" + kid + "-0123456789abcdef"; }

std::string octSet(const std::vector<std::string>& kids) {
  std::string json = "{\"keys\":[";
  for (std::size_t i = 0; i < kids.size(); ++i) {
    json += (i ? "," : "");
    json += "{\"kty\":\"oct\",\"kid\":\"" + kids[i] + "\",\"k\":\"" + base64urlEncode(secretFor(kids[i])) + "\"}";
  }
  return json + "]}";
}

// A fetch function serving whatever `document` holds, counting calls.
struct FakeIssuer {
  std::mutex mutex;
  std::string document;
  std::string cache_control = "max-age=3600";
  bool down = false;
  std::atomic<int> calls{0};

  std::function<Result<JwksDocument>()> fetch() {
    return [this]() -> Result<JwksDocument> {
      ++calls;
      std::lock_guard<std::mutex> lock(mutex);
      if (down) return Error::unavailable("issuer down (test)");
      return JwksDocument{document, cache_control};
    };
  }
  void serve(const std::vector<std::string>& kids) {
    std::lock_guard<std::mutex> lock(mutex);
    document = octSet(kids);
  }
};

std::string verdict(const TokenVerifier& verifier, const std::string& kid) {
  JwtClaims claims;
  claims.sub = "usr_alice";
  const Timestamp now = systemClock().now();
  claims.iat = std::chrono::time_point_cast<std::chrono::seconds>(now);
  claims.exp = *claims.iat + std::chrono::hours(1);
  const auto result = verifier.verify(issueHs256Token(secretFor(kid), claims, kid), now);
  return result ? std::string("ok") : result.error().reason;
}

}  // namespace

TEST_CASE("remote jwks: Cache-Control decides the refresh interval, within the floor and the ceiling",
          "[jwt][jwks]") {
  RemoteJwksOptions o;  // 30 s floor, 24 h ceiling, 5 min default
  const std::vector<std::pair<std::string, milliseconds>> cases = {
      {"", 300s},
      {"max-age=600", 540s},  // refreshed at 90 % of the lifetime
      {"public, max-age=3600", 3240s},
      {"MAX-AGE=\"100\"", 90s},
      {"max-age=5", 30s},
      {"max-age=0", 30s},
      {"max-age=999999999999", 24h},
      {"no-store", 30s},
      {"max-age=600, no-cache", 30s},
      {"no-cache=\"set-cookie\", max-age=600", 30s},
      {"max-age=abc", 300s},
      {"max-age=-5", 300s},
      {"s-maxage=600", 300s},  // a shared cache's limit: not ours
  };
  for (const auto& [header, expected] : cases) {
    INFO("Cache-Control: " << header);
    CHECK(jwksRefreshInterval(header, o).count() == expected.count());
  }
}

TEST_CASE("remote jwks: bad options, a failed or unusable first fetch are errors", "[jwt][jwks]") {
  FakeIssuer issuer;
  issuer.serve({"k1"});
  RemoteJwksOptions remote;
  remote.fetch = issuer.fetch();

  JwtVerifierOptions with_static;
  with_static.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  auto combined = makeRemoteJwksVerifier(with_static, remote);
  REQUIRE_FALSE(combined);
  CHECK(combined.error().reason == "invalid_jwt_options");

  RemoteJwksOptions no_fetch;
  CHECK_FALSE(makeRemoteJwksVerifier({}, no_fetch));
  RemoteJwksOptions inverted = remote;
  inverted.max_refresh = 1s;
  inverted.min_refresh = 2s;
  CHECK_FALSE(makeRemoteJwksVerifier({}, inverted));
  CHECK(issuer.calls == 0);  // option errors never reach the issuer

  issuer.down = true;
  auto down = makeRemoteJwksVerifier({}, remote);
  REQUIRE_FALSE(down);
  CHECK(down.error().code == ErrorCode::unavailable);
  CHECK_THAT(down.error().detail, Catch::Contains("issuer down (test)"));

  issuer.down = false;
  issuer.document = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}]}";  // a 5-byte secret
  auto unusable = makeRemoteJwksVerifier({}, remote);
  REQUIRE_FALSE(unusable);
  CHECK_THAT(unusable.error().detail, Catch::Contains("not a usable JWK Set"));
  CHECK_THAT(unusable.error().detail, Catch::Contains("JWKS key #0"));
}

TEST_CASE("remote jwks: claims rules of the base options apply to fetched keys", "[jwt][jwks]") {
  FakeIssuer issuer;
  issuer.serve({"k1"});
  RemoteJwksOptions remote;
  remote.fetch = issuer.fetch();
  JwtVerifierOptions base;
  base.issuer = "https://issuer.example";
  auto verifier = makeRemoteJwksVerifier(base, remote);
  REQUIRE(verifier);
  CHECK(verdict(**verifier, "k1") == "bad_issuer");  // the signature verified; iss is missing
  CHECK((*verifier)->stats().fetches == 1);
}

TEST_CASE("remote jwks: unknown-kid refetches are rate-limited and shared; verify never waits", "[jwt][jwks]") {
  FakeIssuer issuer;
  issuer.serve({"k1"});
  RemoteJwksOptions remote;
  remote.fetch = [&, inner = issuer.fetch()] {
    std::this_thread::sleep_for(50ms);  // a slow issuer
    return inner();
  };
  remote.unknown_kid_interval = 200ms;
  auto made = makeRemoteJwksVerifier({}, remote);
  REQUIRE(made);
  const RemoteJwksVerifier& verifier = **made;

  // A token with an unknown kid is answered at once, not after a fetch.
  issuer.serve({"k1", "k2"});
  const auto asked = std::chrono::steady_clock::now();
  CHECK(verdict(verifier, "k2") == "unknown_kid");
  CHECK(std::chrono::steady_clock::now() - asked < 150ms);  // a refetch takes >= 200 ms here

  std::atomic<long> checked{0};
  const auto until = std::chrono::steady_clock::now() + 1000ms;
  std::vector<std::thread> flood;
  for (int t = 0; t < 3; ++t) {
    flood.emplace_back([&, t] {
      for (long i = 0; std::chrono::steady_clock::now() < until; ++i, ++checked)
        verdict(verifier, "x" + std::to_string(t) + "_" + std::to_string(i));
    });
  }
  for (auto& thread : flood) thread.join();
  INFO(checked.load() << " bad-kid tokens, " << issuer.calls.load() << " fetches");
  CHECK(checked.load() > 1000);
  // The first fetch, then one per 200 ms (plus fetch time) over ~1 s.
  CHECK(issuer.calls.load() >= 3);
  CHECK(issuer.calls.load() <= 7);
  CHECK(verdict(verifier, "k2") == "ok");
  CHECK(verifier.stats().kids == std::vector<std::string>{"k1", "k2"});
}

TEST_CASE("remote jwks: the destructor stops the refresh thread", "[jwt][jwks]") {
  FakeIssuer issuer;
  issuer.serve({"k1"});
  issuer.cache_control = "no-store";
  RemoteJwksOptions remote;
  remote.fetch = issuer.fetch();
  remote.min_refresh = 20ms;
  {
    auto made = makeRemoteJwksVerifier({}, remote);
    REQUIRE(made);
    std::this_thread::sleep_for(150ms);
    CHECK(issuer.calls >= 3);  // no-store: refreshed at the floor
  }
  const int after = issuer.calls;
  std::this_thread::sleep_for(100ms);
  CHECK(issuer.calls == after);
}

TEST_CASE("remote jwks: kids from the document cannot break log lines", "[jwt][jwks]") {
  FakeIssuer issuer;
  const std::string kid = "line\nbreak\x1b[31m";
  issuer.document = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"line\\nbreak\\u001b[31m\",\"k\":\"" +
                    base64urlEncode(secretFor(kid)) + "\"}]}";
  std::vector<std::string> lines;
  RemoteJwksOptions remote;
  remote.fetch = issuer.fetch();
  remote.log = [&](const std::string& line) { lines.push_back(line); };  // the first load logs on this thread
  auto made = makeRemoteJwksVerifier({}, remote);
  REQUIRE(made);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find('\n') == std::string::npos);
  CHECK(lines[0].find('\x1b') == std::string::npos);
  CHECK_THAT(lines[0], Catch::Contains("kid \"line?break?[31m\""));
  CHECK(verdict(**made, kid) == "ok");
}
