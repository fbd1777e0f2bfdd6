// useradmin-server: the reactivation endpoint over HTTP on SQLite.
// main only parses flags and wires the parts (see docs/http-api.md).
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <optional>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "cli_options.hpp"
#include "demo.hpp"
#include "startup.hpp"
#include "useradmin/authorizer.hpp"
#include "useradmin/beast/log.hpp"
#include "useradmin/beast/server.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/directory_relay.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/directory/document_fetcher.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/jwt/remote_jwks.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/admin_service.hpp"
#include "useradmin/sqlite/sqlite_store.hpp"
#ifdef USERADMIN_SERVER_WITH_POSTGRES
#include "useradmin/postgres/postgres_store.hpp"
#endif
#include "useradmin/user_store.hpp"

namespace {

using namespace useradmin;
using server::CliOptions;

constexpr const char* kProgram = "useradmin-server";

int usageError(const std::string& message) {
  std::cerr << kProgram << ": " << message << "\n"
            << "Usage: " << kProgram << " [--listen HOST:PORT] [--db PATH] [--seed FILE.json] "
            << "[--jwt-hs256-secret-file FILE] [--jwt-public-key FILE.pem] [--jwks FILE.json] [--jwks-url URL] "
            << "[--demo] ...\n"
            << "Try '" << kProgram << " --help' for more information.\n";
  return 2;
}

// The server's own messages on stderr, in the --log-format chosen (text:
// "useradmin-server: MESSAGE", as before the flag existed). Usage errors
// (exit 2) bypass it: they stay one line of text.
beast::Logger& logger() {
  static beast::Logger instance(beast::LogFormat::text, kProgram);
  return instance;
}

void setLogFormat(beast::LogFormat format) { logger() = beast::Logger(format, kProgram); }

int runtimeError(const std::string& message) {
  logger().error(message);
  return 1;
}

// Error text for the operator: the field error (naming the entry) when
// there is one, then the log-only detail.
std::string describe(const Error& e) {
  std::string text;
  for (const auto& f : e.fields) {
    if (!text.empty()) text += "; ";
    text += f.key + ": " + f.message;
    if (!f.value.empty() && f.message.find(f.value) == std::string::npos) text += " (" + f.value + ")";
  }
  if (!e.detail.empty() && text.find(e.detail) == std::string::npos) text += (text.empty() ? "" : " - ") + e.detail;
  if (text.empty()) text = e.message.empty() ? toString(e.code) : e.message;
  return text;
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

std::optional<beast::RateLimit> rateLimit(const server::RateFlag& flag, std::optional<beast::RateLimit> demo_default) {
  std::optional<beast::RateLimit> limit = flag.given ? flag.limit : demo_default;
  if (limit) {
    if (flag.burst) limit->burst = *flag.burst;
    if (limit->burst < 1) limit->burst = std::max(1.0, std::ceil(limit->rate));
  }
  return limit;
}

// The URL clients should use: an unspecified listen address becomes loopback.
std::string clientUrl(const beast::Server& s) {
  std::string host = s.host();
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return (s.tls() ? "https://" : "http://") + host + ":" + std::to_string(s.port());
}

// Each connection holds a descriptor; the usual soft limit of 1,024 would
// cap the server far below --max-connections. Raise it to the hard limit
// (which only privilege could raise further).
void raiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  const rlim_t wanted = limit.rlim_max;
  limit.rlim_cur = wanted;
  if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) return;
  // An unlimited hard limit is not a valid soft one; settle for a large value.
  limit.rlim_cur = std::min<rlim_t>(wanted, 1 << 20);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    logger().warn("cannot raise the open-file limit to the hard limit");
}

// The demo data and the --seed fixture, parsed and checked against the model
// before anything is written.
struct StartData {
  std::optional<Dataset> demo;
  std::optional<Dataset> seed;
};

// Fills `out`; returns why a fixture was refused, or an empty string.
std::string loadStartData(const CliOptions& o, const Policy& policy, StartData& out) {
  const Timestamp now = systemClock().now();
  if (o.demo) {
    auto data = loadFixture(server::demoFixture(), policy, now);
    if (!data) return "demo fixture refused: " + describe(data.error());
    out.demo = std::move(*data);
  }
  if (o.seed) {
    std::string text;
    if (!readFile(*o.seed, text)) return "cannot read seed file " + *o.seed;
    auto data = loadFixture(text, policy, now);
    if (!data) return "seed " + *o.seed + " refused, nothing loaded: " + describe(data.error());
    out.seed = std::move(*data);
  }
  return {};
}

// Loads the demo data (resetting the demo users), then the seed; returns why
// the store refused one, or an empty string.
std::string seedStore(UserStore& store, const CliOptions& o, const StartData& data) {
  if (data.demo) {
    if (auto seeded = store.seed(*data.demo); !seeded) return "cannot seed the demo data: " + describe(seeded.error());
  }
  if (data.seed) {
    if (auto seeded = store.seed(*data.seed); !seeded)
      return "seed " + *o.seed + " refused, nothing loaded: " + describe(seeded.error());
  }
  return {};
}

// One line of the store's commit statistics on standard error (on SIGUSR1
// and after the drain), for load tests and operators:
//   useradmin-server: store stats commits=N units=N failed_commits=N queue_depth=N
//     batch_size=le1:N,le2:N,...,inf:N batch_size_sum=X commit_seconds_sum=X sync_seconds_sum=X
//     retries=N pool_waits=N pool_wait_seconds_sum=X
// All counts are totals since the start; bucket counts are not cumulative.
void logStoreStats(const UserStore& store) {
  const StoreStats s = store.stats();
  if (!s.available) return;
  std::ostringstream batches;
  for (std::size_t i = 0; i < s.batch_size.counts.size(); ++i) {
    if (i > 0) batches << ',';
    if (i < s.batch_size.upper_bounds.size()) batches << "le" << s.batch_size.upper_bounds[i];
    else batches << "inf";
    batches << ':' << s.batch_size.counts[i];
  }
  const auto text = [](auto value) {
    std::ostringstream out;
    out << value;
    return out.str();
  };
  const std::string commits = text(s.commits), units = text(s.units), failed = text(s.failed_commits),
                    depth = text(s.queue_depth), batch_sum = text(s.batch_size.sum),
                    commit_sum = text(s.commit_seconds.sum), sync_sum = text(s.sync_seconds.sum),
                    retries = text(s.retries), pool_waits = text(s.pool_waits),
                    pool_wait_sum = text(s.pool_wait_seconds);
  const std::string batch_text = batches.str();
  logger().info("store stats", {{"commits", commits, true},
                                {"units", units, true},
                                {"failed_commits", failed, true},
                                {"queue_depth", depth, true},
                                {"batch_size", batch_text},
                                {"batch_size_sum", batch_sum, true},
                                {"commit_seconds_sum", commit_sum, true},
                                {"sync_seconds_sum", sync_sum, true},
                                {"retries", retries, true},
                                {"pool_waits", pool_waits, true},
                                {"pool_wait_seconds_sum", pool_wait_sum, true}});
}

int run(const CliOptions& o) {
  raiseOpenFileLimit();

  // Signals are taken synchronously by this thread (sigwait); block them
  // before any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // prints the store's commit statistics
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Demo files.
  std::string db_path = o.db.value_or("useradmin.db");
  std::optional<std::string> secret_path = o.hs256_secret_file;
  std::string demo_secret;
  if (o.demo) {
    if (!o.db || !o.hs256_secret_file) {
      if (auto made = server::ensureDemoDirectory(o.demo_dir); !made) return runtimeError(describe(made.error()));
    }
    if (!o.db) db_path = o.demo_dir + "/useradmin.db";
    if (!secret_path) secret_path = o.demo_dir + "/jwt-secret";
    auto secret = server::loadOrCreateSecret(*secret_path);
    if (!secret) return runtimeError(describe(secret.error()));
    demo_secret = *secret;
  }
  if (!secret_path && o.public_keys.empty() && o.jwks_files.empty() && !o.jwks_url)
    return usageError(
        "no token keys: give --jwt-hs256-secret-file, --jwt-public-key, --jwks or --jwks-url (or --demo)");

  // Token verifier: every key is read and checked once, here.
  JwtVerifierOptions jwt;
  if (secret_path) jwt.keys.push_back(JwtKeySource::hs256SecretFile(*secret_path));
  for (const auto& pem : o.public_keys) jwt.keys.push_back(JwtKeySource::publicKeyPemFile(pem));
  for (const auto& jwks : o.jwks_files) jwt.keys.push_back(JwtKeySource::jwksFile(jwks));
  jwt.issuer = o.issuer;
  jwt.audience = o.audience;
  jwt.leeway = o.leeway;
  jwt.max_iat_ahead = o.max_iat_ahead;
  std::unique_ptr<TokenVerifier> verifier;
  if (o.jwks_url) {
    // Keys from the issuer, refreshed by a background thread; the first
    // fetch must succeed now (bounded by --jwks-timeout).
    directory::HttpOptions http;
    http.timeout = o.jwks_timeout;
    http.ca_file = o.jwks_ca_file;
    auto fetcher = directory::DocumentFetcher::create(*o.jwks_url, http);
    if (!fetcher) {
      if (fetcher.error().code == ErrorCode::invalid_argument) {
        const std::string& why = fetcher.error().reason;  // "bad_directory_url: no host"
        const auto colon = why.find(": ");
        return usageError("invalid value for --jwks-url: " +
                          (colon == std::string::npos ? why : why.substr(colon + 2)));
      }
      return runtimeError("--jwks-ca-file refused: " + describe(fetcher.error()));
    }
    std::shared_ptr<directory::DocumentFetcher> get = std::move(*fetcher);
    RemoteJwksOptions remote;
    remote.fetch = [get]() -> Result<JwksDocument> {
      auto document = get->get();
      if (!document) return std::move(document).error();
      return JwksDocument{std::move(document->body), std::move(document->cache_control)};
    };
    // Key set changes and fetch failures: "useradmin-server: LINE" in text,
    // a JSON line (msg = LINE) with --log-format json.
    remote.log = [](const std::string& line) { logger().info(line); };
    remote.name = *o.jwks_url;
    remote.min_refresh = o.jwks_min_refresh;
    remote.unknown_kid_interval = o.jwks_refetch_interval;
    auto made = makeRemoteJwksVerifier(jwt, remote);
    if (!made) return runtimeError("token keys unavailable: " + describe(made.error()));
    verifier = std::move(*made);
  } else {
    auto made = makeJwtVerifier(jwt);
    if (!made) return runtimeError("token keys refused: " + describe(made.error()));
    verifier = std::move(*made);
  }

  // A failed start changes nothing: fixtures are checked and the listen
  // address tried before the database is touched, and a database this run
  // created is removed again if the start fails after all.
  const Policy& policy = defaultPolicy();
  StartData start_data;
  if (std::string refused = loadStartData(o, policy, start_data); !refused.empty()) return runtimeError(refused);
  if (std::string unusable = server::checkListenAddress(o.host, o.port); !unusable.empty())
    return runtimeError(unusable);
  // Storage: a postgresql:// or postgres:// URI is a PostgreSQL database
  // (shared by every instance given it), anything else a SQLite file.
  const bool postgres = server::isPostgresUri(db_path);
  std::optional<server::CreatedDatabaseGuard> created_database;
  if (!postgres) created_database.emplace(db_path);
  Result<std::unique_ptr<UserStore>> store = Error::internal("no store");
  std::function<bool()> ready_check;
  if (postgres) {
#ifdef USERADMIN_SERVER_WITH_POSTGRES
    PostgresStoreOptions store_options;
    store_options.conninfo = db_path;
    store_options.policy = &policy;
    store_options.pool_size = o.db_pool;
    store = openPostgresStore(store_options);
    if (store) ready_check = [&db = **store] { return postgresStoreReady(db); };
#else
    return runtimeError("this useradmin-server was built without PostgreSQL support (USERADMIN_WITH_POSTGRES)");
#endif
  } else {
    SqliteStoreOptions store_options;
    store_options.path = db_path;
    store_options.durability = o.durability;
    store_options.overlap_sync = o.sync_overlap;
    store_options.policy = &policy;
    // Storage events: as before in text (the store's own line), in the JSON
    // format otherwise.
    if (o.log_format == beast::LogFormat::json)
      store_options.log = [](const std::string& line) { logger().error("storage event", {{"detail", line}}); };
    store = openSqliteStore(store_options);
    // Readiness: the database files are the ones the store opened (a
    // deleted or replaced WAL turns it false).
    if (store) ready_check = [&db = **store] { return sqliteStoreReady(db); };
  }
  if (!store)
    return runtimeError("cannot open database " + server::redactedDatabase(db_path) + ": " + describe(store.error()));
  if (std::string refused = seedStore(**store, o, start_data); !refused.empty()) return runtimeError(refused);

  // The library.
  auto directory = server::makeDirectory(o.directory);
  if (!directory) return runtimeError("directory refused: " + describe(directory.error()));
  // With a directory, cascades and compensations go through the outbox and
  // this relay delivers them (directory.md §4); it logs its state changes.
  // Its pending count is the metrics' directory outbox depth.
  std::unique_ptr<DirectoryRelay> relay;
  if (*directory) {
    DirectoryRelayOptions relay_options;
    relay_options.log = [](const std::string& line) { logger().info(line); };
    relay = std::make_unique<DirectoryRelay>(**store, **directory, systemClock(), std::move(relay_options));
  }
  auto authorizer = makePolicyAuthorizer(policy);
  std::function<void()> wake_relay;
  if (relay) wake_relay = [&relay] { relay->wake(); };
  AdminService service({**store, *authorizer, systemClock(), directory->get(), std::move(wake_relay)});

  // The HTTP server.
  beast::ServerOptions options;
  options.host = o.host;
  options.port = o.port;
  options.base_path = o.base_path;
  options.io_threads = o.threads;
  options.worker_threads = o.workers;
  options.max_connections = o.max_connections;
  options.max_connections_per_client = o.max_connections_per_client;
  options.header_timeout = o.header_timeout;
  options.request_timeout = o.request_timeout;
  options.idle_timeout = o.idle_timeout;
  options.access_log = o.access_log;
  options.log_format = o.log_format;
  if (o.tls_cert) options.tls_certificate_file = *o.tls_cert;
  if (o.tls_key) options.tls_private_key_file = *o.tls_key;
  if (o.metrics_host) {
    options.metrics_host = *o.metrics_host;
    options.metrics_port = o.metrics_port;
  }
  options.store_stats = [&db = **store] { return db.stats(); };
  if (relay) {
    options.directory_outbox_depth = [&relay]() -> std::optional<std::uint64_t> {
      return static_cast<std::uint64_t>(std::max<std::int64_t>(0, relay->stats().pending));
    };
  }
  // Readiness (GET /readyz): not draining, and the store can serve (SQLite:
  // its files are intact; PostgreSQL: a pooled connection answers).
  options.ready_check = ready_check;
  options.client_rate_limit =
      rateLimit(o.rate_limit_ip, o.demo ? std::optional<beast::RateLimit>(beast::RateLimit{50, 100}) : std::nullopt);
  options.actor_rate_limit =
      rateLimit(o.rate_limit_actor, o.demo ? std::optional<beast::RateLimit>(beast::RateLimit{10, 20}) : std::nullopt);
  auto started = beast::Server::start(options, {service, *verifier, systemClock()});
  if (!started) return runtimeError(describe(started.error()));
  beast::Server& http = **started;
  if (created_database) created_database->keep();
  // Entries left by an earlier run (even one killed) go out now.
  if (relay) relay->start();

  std::string metrics_url = http.metricsUrl();
  if (!metrics_url.empty()) {
    for (const char* any : {"//0.0.0.0:", "//[::]:"}) {
      if (const auto at = metrics_url.find(any); at != std::string::npos)
        metrics_url.replace(at, std::string(any).size(), any[2] == '0' ? "//127.0.0.1:" : "//[::1]:");
    }
  }
  if (o.demo) {
    server::DemoPrintout demo;
    demo.url = clientUrl(http);
    demo.metrics_url = metrics_url;
    if (o.tls_cert) {
      // Absolute, so the printed commands work from any directory.
      std::error_code ec;
      const auto absolute = std::filesystem::absolute(*o.tls_cert, ec);
      demo.cacert = ec ? *o.tls_cert : absolute.lexically_normal().string();
    }
    demo.base_path = beast::normalizeBasePath(o.base_path);
    demo.secret = demo_secret;
    demo.issuer = o.issuer;
    demo.audience = o.audience;
    demo.db_path = server::redactedDatabase(db_path);
    demo.secret_path = *secret_path;
    server::printDemo(std::cout, demo);
  }
  // stdout: an optional metrics line, then the listening line, exactly as
  // scripts expect it ("listening on http://HOST:PORT"; https with TLS).
  if (!metrics_url.empty()) std::cout << "metrics on " << metrics_url << "\n";
  std::cout << "listening on " << http.url() << std::endl;  // flushed: scripts wait for this line
  if (o.log_format == beast::LogFormat::json) {
    logger().info("listening", {{"url", http.url()}, {"tls", http.tls() ? "true" : "false", true},
                                {"metrics_url", metrics_url}, {"db", db_path}});
  }

  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGUSR1) logStoreStats(**store);
  logger().info(std::string(received == SIGINT ? "SIGINT" : "SIGTERM") + " received, draining connections");
  http.shutdown(o.shutdown_timeout);
  // After the drain (its requests may have queued entries): waits for the
  // call in flight at most; what is undelivered stays for the next start.
  if (relay) relay->stop();
  logStoreStats(**store);
  logger().info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = server::parseCli(argc, argv, [](const char* name) { return std::getenv(name); });
  if (!parsed.error.empty()) return usageError(parsed.error);
  if (parsed.options.help) {
    std::cout << server::usageText(kProgram);
    return 0;
  }
  setLogFormat(parsed.options.log_format);
  if (parsed.options.version) {
    std::cout << kProgram << " " << USERADMIN_VERSION << "\n";
    return 0;
  }
  // The server owns its process: SQLite need not count its allocations.
  static_cast<void>(useradmin::tuneSqliteForThisProcess());
  try {
    return run(parsed.options);
  } catch (const std::exception& e) {
    return runtimeError(std::string("fatal: ") + e.what());
  }
}
