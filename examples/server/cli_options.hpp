// Command-line options of useradmin-server (contract §5 plus compatible
// extensions).
#ifndef USERADMIN_EXAMPLES_SERVER_CLI_OPTIONS_HPP
#define USERADMIN_EXAMPLES_SERVER_CLI_OPTIONS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "directory_options.hpp"
#include "useradmin/beast/log.hpp"
#include "useradmin/beast/rate_limiter.hpp"
#include "useradmin/sqlite/sqlite_store.hpp"

namespace useradmin::server {

/// A rate-limit flag: absent (default), explicitly off, or a bucket.
struct RateFlag {
  bool given = false;
  std::optional<beast::RateLimit> limit;  // nullopt with given = "off"
  std::optional<double> burst;            // --rate-limit-*-burst
};

struct CliOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::optional<std::string> db;
  std::optional<std::string> seed;
  std::optional<std::string> hs256_secret_file;
  std::vector<std::string> public_keys;
  std::vector<std::string> jwks_files;
  // --jwks-url: keys fetched from the issuer and refreshed (docs/security.md §6).
  std::optional<std::string> jwks_url;
  std::optional<std::string> jwks_ca_file;
  std::chrono::milliseconds jwks_timeout{5'000};
  std::chrono::milliseconds jwks_min_refresh{30'000};
  std::chrono::milliseconds jwks_refetch_interval{10'000};
  std::optional<std::string> issuer;
  std::optional<std::string> audience;
  std::string base_path = "/api";
  std::size_t threads = 0;  // 0: hardware concurrency
  bool demo = false;
  bool help = false;
  bool version = false;

  // Extensions.
  std::string demo_dir = "useradmin-demo";
  std::size_t workers = 0;  // 0: max(64, 2 x cores)
  SqliteDurability durability = SqliteDurability::full;
  /// SqliteStoreOptions::overlap_sync.
  bool sync_overlap = true;
  std::size_t db_pool = 16;  // PostgreSQL connections of this instance
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_client = 256;  // 0: no per-address limit
  std::chrono::milliseconds header_timeout{5'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::chrono::seconds leeway{60};
  std::chrono::seconds max_iat_ahead{0};
  RateFlag rate_limit_ip;
  RateFlag rate_limit_actor;
  bool access_log = true;
  // Operations (docs/operations.md).
  std::optional<std::string> metrics_host;  // --metrics-listen; unset = no metrics
  std::uint16_t metrics_port = 0;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  beast::LogFormat log_format = beast::LogFormat::text;

  // Directory sync (directory.md §5), parsed by directory_options.cpp.
  DirectoryFlags directory;
};

/// The outcome of parsing: options, or a usage error message.
struct CliParse {
  CliOptions options;
  std::string error;  // not empty: usage error (exit 2)
};

/// Looks up an environment variable: its value, or null when unset.
using EnvironmentLookup = std::function<const char*(const char*)>;

/// Parses argv. Flags take their value as the next argument or after `=`
/// (`--listen=127.0.0.1:0`). Unknown flags, missing or malformed values and
/// stray arguments are usage errors.
///
/// With `environment`, every flag not given on the command line may also come
/// from the variable USERADMIN_<FLAG> (environmentName); the command line
/// wins, a repeatable flag given there drops the variable's value, and an
/// empty variable counts as unset. A malformed value is a usage error naming
/// the variable.
CliParse parseCli(int argc, const char* const* argv, const EnvironmentLookup& environment = {});

/// The environment variable for a flag: "--jwt-hs256-secret-file" ->
/// "USERADMIN_JWT_HS256_SECRET_FILE".
std::string environmentName(const std::string& flag);

/// The --help text.
std::string usageText(const std::string& program);

/// Parses "HOST:PORT" ("[::1]:8080" for IPv6); false when malformed.
bool parseListen(const std::string& text, std::string& host, std::uint16_t& port);

/// Parses a rate "N", "N/s" or "N/m" (per minute) into tokens per second;
/// false when malformed or not > 0.
bool parseRate(const std::string& text, double& per_second);

}  // namespace useradmin::server

#endif  // USERADMIN_EXAMPLES_SERVER_CLI_OPTIONS_HPP
