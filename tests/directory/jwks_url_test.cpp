// --jwks-url: the rotating JWK Set verifier against a real local HTTPS
// issuer (node, throwaway CA), fetched with directory::DocumentFetcher, and
// end to end through the real useradmin-server process.
#if __has_include("useradmin/jwt/remote_jwks.hpp")
#include "directory/jwks_issuer.hpp"
#if defined(USERADMIN_SERVER_PATH)

#include <algorithm>
#include <atomic>
#include <mutex>

#include "beast/http_client.hpp"
#include "useradmin/directory/document_fetcher.hpp"
#include "useradmin/jwt/remote_jwks.hpp"

namespace useradmin::test {
namespace {

using namespace std::chrono_literals;

// Collects the verifier's log lines.
struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    };
  }
  bool contains(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& line : lines)
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
  std::string all() {
    std::lock_guard<std::mutex> lock(mutex);
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
  }
};

// Remote options fetching `url` over HTTPS, trusting `ca_file` when given.
RemoteJwksOptions httpsOptions(const std::string& url, const std::string& ca_file, LogLines& log) {
  directory::HttpOptions http;
  http.timeout = 2s;
  if (!ca_file.empty()) http.ca_file = ca_file;
  auto fetcher = directory::DocumentFetcher::create(url, http);
  REQUIRE(fetcher);
  std::shared_ptr<directory::DocumentFetcher> get = std::move(*fetcher);
  RemoteJwksOptions remote;
  remote.fetch = [get]() -> Result<JwksDocument> {
    auto document = get->get();
    if (!document) return std::move(document).error();
    return JwksDocument{std::move(document->body), std::move(document->cache_control)};
  };
  remote.log = log.sink();
  remote.name = url;
  return remote;
}

std::unique_ptr<RemoteJwksVerifier> verifierFor(RemoteJwksOptions remote) {
  auto made = makeRemoteJwksVerifier({}, std::move(remote));
  if (!made) FAIL("makeRemoteJwksVerifier failed: " << made.error().detail);
  return std::move(*made);
}

// "ok", or the refusal's reason, for a token signed by `kid`'s key.
std::string check(const TokenVerifier& verifier, const std::string& kid) {
  JwtClaims claims = validClaims("usr_root");
  const auto result = verifier.verify(issueHs256Token(secretOf(kid), claims, kid), systemClock().now());
  return result ? std::string("ok") : result.error().reason;
}

}  // namespace

TEST_CASE("jwks url: a new kid is fetched on first sight; a removed key is refused", "[jwt][jwks][tls]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  issuer.cacheControl("max-age=3600");
  LogLines log;
  RemoteJwksOptions remote = httpsOptions(issuer.url(), issuer.caFile(), log);
  remote.unknown_kid_interval = 300ms;
  auto verifier = verifierFor(remote);
  CHECK(issuer.requests() == 1);
  CHECK(check(*verifier, "k1") == "ok");
  CHECK(log.contains("loaded 1 key(s), kid \"k1\""));

  // The issuer rotates: k2 in, k1 out. The first k2 token is refused (no
  // waiting on the network) and asks for a refetch; k2 works once it lands.
  issuer.serve({"k2"});
  CHECK(check(*verifier, "k2") == "unknown_kid");
  CHECK(eventually([&] { return check(*verifier, "k2") == "ok"; }));
  CHECK(issuer.requests() == 2);  // every k2 token while waiting shared one refetch
  CHECK(check(*verifier, "k1") == "unknown_kid");
  const RemoteJwksStats stats = verifier->stats();
  CHECK(stats.kids == std::vector<std::string>{"k2"});
  CHECK(stats.changes == 1);
  INFO(log.all());
  CHECK(log.contains("key set changed: added kid \"k2\", removed kid \"k1\""));
  CHECK_FALSE(log.contains(secretOf("k1")));
  CHECK_FALSE(log.contains(base64urlEncode(secretOf("k2"))));
}

TEST_CASE("jwks url: the set is refreshed when its Cache-Control max-age runs out", "[jwt][jwks][tls]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  issuer.cacheControl("public, max-age=1");
  LogLines log;
  RemoteJwksOptions remote = httpsOptions(issuer.url(), issuer.caFile(), log);
  remote.min_refresh = 200ms;
  remote.unknown_kid_interval = 1h;  // only the expiry can bring new keys here
  auto verifier = verifierFor(remote);
  const auto started = std::chrono::steady_clock::now();
  CHECK(log.contains("next refresh in 0.9 s"));  // 90 % of max-age

  issuer.serve({"k1", "k2"});
  CHECK(check(*verifier, "k2") == "unknown_kid");
  CHECK(eventually([&] { return check(*verifier, "k2") == "ok"; }));
  CHECK(std::chrono::steady_clock::now() - started >= 500ms);  // not before the refresh was due (0.9 s)
  issuer.serve({"k2"});
  CHECK(eventually([&] { return check(*verifier, "k1") == "unknown_kid"; }));
  CHECK(check(*verifier, "k2") == "ok");
  INFO(log.all());
  CHECK(log.contains("removed kid \"k1\""));
}

TEST_CASE("jwks url: issuer down keeps the last good set, with retries; it recovers", "[jwt][jwks][tls]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  issuer.cacheControl("max-age=0");
  LogLines log;
  RemoteJwksOptions remote = httpsOptions(issuer.url(), issuer.caFile(), log);
  remote.min_refresh = 200ms;
  remote.retry_min = 100ms;
  remote.retry_max = 400ms;
  auto verifier = verifierFor(remote);

  issuer.stop();
  CHECK(eventually([&] { return verifier->stats().failures >= 3; }));
  CHECK(check(*verifier, "k1") == "ok");
  INFO(log.all());
  CHECK(log.contains("refresh failed: GET " + issuer.url() + " failed: connecting to the server"));
  CHECK(log.contains("still using the last good set (1 key(s)); retry in"));

  // A document that is not a usable key set is a failure too, not a wipe.
  issuer.serveText("{\"keys\":[]}");
  issuer.restart();
  const auto failures = verifier->stats().failures;
  CHECK(eventually([&] { return verifier->stats().failures > failures; }));
  CHECK(check(*verifier, "k1") == "ok");
  CHECK(log.contains("not a usable JWK Set"));

  issuer.serve({"k1", "k2"});
  CHECK(eventually([&] { return check(*verifier, "k2") == "ok"; }));
  CHECK(verifier->stats().kids == std::vector<std::string>{"k1", "k2"});
  CHECK(eventually([&] { return log.contains("fetched again after "); }));
}

TEST_CASE("jwks url: a flood of unknown kids costs the issuer one request per interval", "[jwt][jwks][tls]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  issuer.cacheControl("max-age=3600");
  LogLines log;
  RemoteJwksOptions remote = httpsOptions(issuer.url(), issuer.caFile(), log);
  remote.unknown_kid_interval = 1s;
  auto verifier = verifierFor(remote);

  std::atomic<long> refused{0};
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  std::vector<std::thread> flood;
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&, t] {
      for (long i = 0; std::chrono::steady_clock::now() < until; ++i)
        if (check(*verifier, "bad-" + std::to_string(t) + "-" + std::to_string(i)) == "unknown_kid") ++refused;
    });
  }
  for (auto& thread : flood) thread.join();
  INFO("refused " << refused.load() << " tokens; issuer requests " << issuer.requests());
  CHECK(refused.load() > 1000);
  // The first fetch, then at most one per second of flood (at ~1 s and ~2 s).
  CHECK(issuer.requests() >= 2);
  CHECK(issuer.requests() <= 3);
  CHECK(check(*verifier, "k1") == "ok");
}

TEST_CASE("jwks url: an untrusted certificate or a wrong host name fails the fetch", "[jwt][jwks][tls]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  LogLines log;
  {
    auto made = makeRemoteJwksVerifier({}, httpsOptions(issuer.url(), "", log));  // system CAs only
    REQUIRE_FALSE(made);
    CHECK(made.error().code == ErrorCode::unavailable);
    CHECK_THAT(made.error().detail, Catch::Contains("TLS handshake"));
  }
  {
    const std::string by_ip = "https://127.0.0.1:" + std::to_string(issuer.port()) + "/jwks";
    auto made = makeRemoteJwksVerifier({}, httpsOptions(by_ip, issuer.caFile(), log));
    REQUIRE_FALSE(made);
    CHECK_THAT(made.error().detail, Catch::Contains("TLS handshake"));
  }
  CHECK(issuer.requests() == 0);  // no request went over an unverified connection
}

namespace {

// useradmin-server flags for the contract fixture with keys from --jwks-url
// (given through USERADMIN_JWKS_URL, to cover the environment form too).
std::vector<std::string> serverArgs(const Workspace& ws, const JwksIssuer& issuer) {
  return {"--listen", "127.0.0.1:0", "--db", ws.db_path, "--seed", ws.seed_path, "--issuer", kIssuer,
          "--audience", kAudience, "--threads", "2", "--workers", "2", "--jwks-ca-file", issuer.caFile(),
          "--jwks-refetch-interval", "0.3"};
}

int runToExit(const std::vector<std::string>& args, const std::string& err_path) {
  ServerProcess p(args, err_path);
  return p.waitExit();
}

unsigned reactivate(std::uint16_t port, const std::string& kid) {
  HttpClient client(port);
  return client
      .request(http::verb::patch, reactivatePath("usr_123456789"),
               {bearer(issueHs256Token(secretOf(kid), validClaims("usr_root"), kid))})
      .status;
}

}  // namespace

TEST_CASE("jwks url: useradmin-server follows a key rotation and logs it", "[jwt][jwks][tls][process]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  issuer.cacheControl("max-age=600");
  Workspace ws;
  ServerProcess server(serverArgs(ws, issuer), ws.err_path, {"USERADMIN_JWKS_URL=" + issuer.url()});
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_FALSE(line.empty());
  const auto port = portOf(line);

  CHECK(reactivate(port, "k1") == 200);
  issuer.serve({"k2"});
  CHECK(reactivate(port, "k2") == 401);  // refused now, refetch asked for
  CHECK(eventually([&] { return reactivate(port, "k2") != 401; }));
  CHECK(issuer.requests() == 2);
  CHECK(reactivate(port, "k1") == 401);

  server.signal(SIGTERM);
  CHECK(server.waitExit() == 0);
  const std::string err = readFile(ws.err_path);
  INFO(err);
  CHECK_THAT(err, Catch::Contains("useradmin-server: JWKS " + issuer.url() + ": loaded 1 key(s), kid \"k1\""));
  CHECK_THAT(err, Catch::Contains("key set changed: added kid \"k2\", removed kid \"k1\""));
  CHECK_THAT(err, Catch::Contains("\"reason\":\"unknown_kid\""));
}

TEST_CASE("jwks url: useradmin-server refuses to start without a first key set; bad flags are usage errors",
          "[jwt][jwks][tls][process]") {
  JwksIssuer issuer;
  issuer.serve({"k1"});
  Workspace ws;
  // Untrusted certificate: exit 1, one line naming the URL and the cause.
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--db", ws.db_path, "--jwks-url", issuer.url()};
  CHECK(runToExit(args, ws.err_path) == 1);
  const std::string err = readFile(ws.err_path);
  CHECK_THAT(err, Catch::StartsWith("useradmin-server: token keys unavailable: first fetch of the JWK Set from " +
                                    issuer.url() + " failed"));
  CHECK_THAT(err, Catch::Contains("TLS handshake"));
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK_FALSE(std::filesystem::exists(ws.db_path));

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--jwks-url", "http://localhost:1/jwks"},
        {"--jwks-url", issuer.url() + "?x=1"},
        {"--jwks-url", "https://localhost:99999/jwks"},
        {"--jwks-url", "https:///jwks"},
        {"--jwks-url", issuer.url(), "--jwt-hs256-secret-file", ws.secret_path},
        {"--jwks-url", issuer.url(), "--demo"},
        {"--jwks-ca-file", issuer.caFile(), "--jwt-hs256-secret-file", ws.secret_path},
        {"--jwks-url", issuer.url(), "--jwks-refetch-interval", "0"}}) {
    INFO(bad.back());
    CHECK(runToExit(bad, ws.err_path) == 2);
    CHECK_THAT(readFile(ws.err_path), Catch::StartsWith("useradmin-server: "));
  }
  CHECK(issuer.requests() == 0);
}

}  // namespace useradmin::test

#endif  // USERADMIN_SERVER_PATH
#endif  // __has_include
