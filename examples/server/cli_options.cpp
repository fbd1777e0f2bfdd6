#include "cli_options.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

namespace useradmin::server {

namespace {

bool parseSize(const std::string& text, std::size_t min, std::size_t max, std::size_t& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9) return false;
  const auto value = static_cast<std::size_t>(std::strtoull(text.c_str(), nullptr, 10));
  if (value < min || value > max) return false;
  out = value;
  return true;
}

bool parseDouble(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value)) return false;
  out = value;
  return true;
}

// Seconds, fractions allowed ("0.5"), at most a day.
bool parseSeconds(const std::string& text, std::chrono::milliseconds& out) {
  double seconds = 0;
  if (!parseDouble(text, seconds) || seconds <= 0 || seconds > 86400) return false;
  out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
  return out.count() > 0;
}

// Whole seconds from 0 to a day.
bool parseWholeSeconds(const std::string& text, std::chrono::seconds& out) {
  std::size_t seconds = 0;
  if (!parseSize(text, 0, 86400, seconds)) return false;
  out = std::chrono::seconds(static_cast<std::int64_t>(seconds));
  return true;
}

// A flag's setter: false on a malformed value.
using Setter = std::function<bool(const std::string&)>;

// "true|1|yes|on" or "false|0|no|off", for switches set from the environment.
bool parseSwitch(const std::string& text, bool& out) {
  const bool on = text == "true" || text == "1" || text == "yes" || text == "on";
  const bool off = text == "false" || text == "0" || text == "no" || text == "off";
  if (on || off) out = on;
  return on || off;
}

// Sets, from USERADMIN_<FLAG>, every flag the command line did not give.
// Returns a usage error, or an empty string.
std::string applyEnvironment(const std::map<std::string, Setter>& valued, const std::set<std::string>& given,
                             const EnvironmentLookup& environment, CliOptions& o) {
  const auto lookup = [&](const std::string& flag) -> std::optional<std::string> {
    if (given.count(flag) != 0) return std::nullopt;
    const char* value = environment(environmentName(flag).c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
  const auto invalid = [](const std::string& flag, const std::string& value) {
    return "invalid value '" + value + "' for " + environmentName(flag) + " (" + flag + ")";
  };
  for (const auto& [flag, set] : valued) {
    if (auto value = lookup(flag); value && !set(*value)) return invalid(flag, *value);
  }
  if (auto value = lookup("--demo"); value && !parseSwitch(*value, o.demo)) return invalid("--demo", *value);
  return {};
}

// --jwks-url: https only, and the only key source; its companions need it.
std::string checkJwksUrlFlags(const CliOptions& o, const std::set<std::string>& given,
                              const EnvironmentLookup& environment) {
  const auto set = [&](const char* flag) {
    if (given.count(flag) != 0) return true;
    const char* value = environment ? environment(environmentName(flag).c_str()) : nullptr;
    return value != nullptr && *value != '\0';
  };
  if (!o.jwks_url) {
    for (const char* flag : {"--jwks-ca-file", "--jwks-timeout", "--jwks-min-refresh", "--jwks-refetch-interval"}) {
      if (set(flag)) return std::string(flag) + " needs --jwks-url";
    }
    return {};
  }
  const std::string& url = *o.jwks_url;
  if (url.rfind("https://", 0) != 0) return "--jwks-url must be an https:// URL";
  if (url.find_first_of("?#@") != std::string::npos)
    return "--jwks-url must not have a query, a fragment or credentials";
  if (o.hs256_secret_file || !o.public_keys.empty() || !o.jwks_files.empty() || o.demo)
    return "--jwks-url cannot be combined with --jwt-hs256-secret-file, --jwt-public-key, --jwks or --demo";
  return {};
}

}  // namespace

std::string environmentName(const std::string& flag) {
  std::string name = "USERADMIN_";
  for (const char c : flag.substr(flag.rfind("--", 0) == 0 ? 2 : 0))
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

bool parseListen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return false;  // IPv6 needs brackets
  }
  std::size_t p = 0;
  if (!parseSize(text.substr(colon + 1), 0, 65535, p)) return false;
  host = h;
  port = static_cast<std::uint16_t>(p);
  return true;
}

bool parseRate(const std::string& text, double& per_second) {
  std::string number = text;
  double divisor = 1;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "/s") == 0) {
    number = text.substr(0, text.size() - 2);
  } else if (text.size() > 2 && text.compare(text.size() - 2, 2, "/m") == 0) {
    number = text.substr(0, text.size() - 2);
    divisor = 60;
  }
  double value = 0;
  if (!parseDouble(number, value) || value <= 0 || value > 1e9) return false;
  per_second = value / divisor;
  return true;
}

std::string usageText(const std::string& program) {
  return "Usage: " + program + R"( [OPTIONS]

Serves PATCH {base}/users/{id}/reactivate over HTTP/1.1 on a SQLite or PostgreSQL database.

Contract options:
  --listen HOST:PORT            address to listen on (default 127.0.0.1:8080; port 0
                                picks a free port); prints "listening on http://HOST:PORT"
  --db PATH|URI                 SQLite database file, created and migrated if absent
                                (default useradmin.db, or DIR/useradmin.db with --demo);
                                or a PostgreSQL database as a libpq URI, postgresql://...
                                or postgres://... (e.g. postgresql:///useradmin?host=/run/pg),
                                its schema created and migrated if absent; instances
                                given the same database serve as one
  --seed FILE.json              load organizations and users from a fixture before
                                serving (all or nothing)
  --jwt-hs256-secret-file FILE  trust HS256 tokens signed with the file's contents
                                (trailing newline stripped)
  --jwt-public-key FILE.pem     trust RS256/ES256/EdDSA tokens signed by this key
                                (repeatable)
  --jwks FILE.json              trust the keys of a JWK Set (repeatable)
  --issuer ISS                  require this "iss" claim
  --audience AUD                require this "aud" claim
  --base-path PATH              route prefix (default /api)
  --threads N                   I/O threads (default: hardware concurrency)
  --demo                        create a demo database and HS256 secret if absent,
                                reset the demo users, print ready-to-paste curl
                                commands with valid tokens, then serve
  --help                        show this text

Extensions:
  --demo-dir DIR                where --demo keeps its files (default ./useradmin-demo)
  --workers N                   threads running library calls (default max(64, 2 x cores))
  --durability full|normal      SQLite synchronous=FULL (default) or NORMAL
  --sync-overlap on|off         with full: sync the WAL on a thread of its own while the
                                writer runs the next batch (default on), or in each COMMIT
  --db-pool N                   PostgreSQL connections this instance keeps (default 16)
  --max-connections N           concurrent connections (default 4096); at the limit the
                                longest-idle keep-alive connection is closed to make
                                room, else the newcomer is answered 503
  --max-connections-per-client N
                                concurrent connections from one client address; more
                                are answered 503 (default 256; 0 = no limit)
  --header-timeout SECONDS      time to receive a request's header (default 5)
  --request-timeout SECONDS     time to receive a whole request (default 10)
  --idle-timeout SECONDS        keep-alive idle time (default 30)
  --shutdown-timeout SECONDS    drain time on SIGINT/SIGTERM (default 10)
  --leeway SECONDS              clock skew tolerated on exp and nbf (default 60)
  --max-iat-ahead SECONDS       how far a token's iat may lie ahead of our clock; such
                                a token counts as issued that much earlier (default 0:
                                an iat in the future is refused; see docs/security.md)
  --rate-limit-ip RATE|off      token bucket per client address; RATE is N, N/s or N/m
                                (default off; 50/s with --demo)
  --rate-limit-ip-burst N       bucket size (default: one second of RATE, rounded up,
                                at least 1; 100 for the --demo default)
  --rate-limit-actor RATE|off   token bucket per authenticated user (default off;
                                10/s with --demo)
  --rate-limit-actor-burst N    bucket size (default: one second of RATE, rounded up,
                                at least 1; 20 for the --demo default)
  --access-log on|off           one JSON line per request on stderr (default on)
  --log-format text|json        text (default): messages as "useradmin-server: ...",
                                the access log as JSON lines with "time"; json: every
                                stderr line is a JSON object {"ts","level","msg",...}
                                (usage errors stay one line of text; stdout is
                                unchanged)
  --metrics-listen HOST:PORT    serve GET /metrics (Prometheus text format) and the
                                probes on this separate plain-HTTP listener (default
                                off; must differ from --listen); prints "metrics on
                                http://HOST:PORT/metrics" before the listening line
  --tls-cert FILE               serve HTTPS with this PEM certificate chain (leaf
                                first); needs --tls-key; prints "listening on
                                https://HOST:PORT" (TLS 1.2+, AEAD ciphers only)
  --tls-key FILE                the PEM private key of --tls-cert
  --version                     print "useradmin-server VERSION" and exit

Keys fetched from the issuer (instead of the key options above and --demo):
  --jwks-url URL                trust the JWK Set at this https:// URL: fetched at start
                                (failure: exit 1), refreshed at 90% of its Cache-Control
                                max-age (5 min without one; bounded by --jwks-min-refresh
                                and 24 h), refetched for a token naming an unknown kid,
                                and kept when the issuer is down; changes go to stderr
  --jwks-ca-file FILE.pem       extra CA certificates trusted for --jwks-url (besides
                                the system store)
  --jwks-timeout SECONDS        per fetch, connecting to last byte (default 5)
  --jwks-min-refresh SECONDS    shortest refresh interval, also for no-cache/no-store
                                (default 30)
  --jwks-refetch-interval SECONDS
                                at most one unknown-kid refetch per interval, counted
                                from the previous fetch (default 10)

Environment:
  Every option above except --help and --version can also be set by the
  variable USERADMIN_<OPTION>: the name without its leading dashes, upper case,
  dashes as underscores (--listen -> USERADMIN_LISTEN, --db -> USERADMIN_DB,
  --jwt-hs256-secret-file -> USERADMIN_JWT_HS256_SECRET_FILE). A flag on the
  command line wins over its variable (for a repeatable flag, the variable's
  single value is dropped); an empty variable counts as unset. USERADMIN_DEMO
  takes true|false (also 1|0, yes|no, on|off).

)" + directoryUsageText() + R"(
Exit status: 0 after a graceful shutdown, 1 on a runtime error (bad database,
fixture, key or address), 2 on a usage error.
)";
}

CliParse parseCli(int argc, const char* const* argv, const EnvironmentLookup& environment) {
  CliParse out;
  CliOptions& o = out.options;

  // Flags with a value: name -> setter returning false on a bad value.
  const auto rate = [](RateFlag& flag) {
    return [&flag](const std::string& v) {
      flag.given = true;
      if (v == "off" || v == "0") {
        flag.limit.reset();
        return true;
      }
      double per_second = 0;
      if (!parseRate(v, per_second)) return false;
      flag.limit = beast::RateLimit{per_second, 0};
      return true;
    };
  };
  const auto burst = [](RateFlag& flag) {
    return [&flag](const std::string& v) {
      double value = 0;
      if (!parseDouble(v, value) || value < 1 || value > 1e9) return false;
      flag.burst = value;
      return true;
    };
  };
  const std::map<std::string, Setter> valued = {
      {"--listen", [&](const std::string& v) { return parseListen(v, o.host, o.port); }},
      {"--db", [&](const std::string& v) { return !v.empty() && (o.db = v, true); }},
      {"--seed", [&](const std::string& v) { return !v.empty() && (o.seed = v, true); }},
      {"--jwt-hs256-secret-file", [&](const std::string& v) { return !v.empty() && (o.hs256_secret_file = v, true); }},
      {"--jwt-public-key", [&](const std::string& v) { return !v.empty() && (o.public_keys.push_back(v), true); }},
      {"--jwks", [&](const std::string& v) { return !v.empty() && (o.jwks_files.push_back(v), true); }},
      {"--jwks-url", [&](const std::string& v) { return !v.empty() && (o.jwks_url = v, true); }},
      {"--jwks-ca-file", [&](const std::string& v) { return !v.empty() && (o.jwks_ca_file = v, true); }},
      {"--jwks-timeout", [&](const std::string& v) { return parseSeconds(v, o.jwks_timeout); }},
      {"--jwks-min-refresh", [&](const std::string& v) { return parseSeconds(v, o.jwks_min_refresh); }},
      {"--jwks-refetch-interval", [&](const std::string& v) { return parseSeconds(v, o.jwks_refetch_interval); }},
      {"--issuer", [&](const std::string& v) { return !v.empty() && (o.issuer = v, true); }},
      {"--audience", [&](const std::string& v) { return !v.empty() && (o.audience = v, true); }},
      {"--base-path", [&](const std::string& v) { return !v.empty() && v.front() == '/' && (o.base_path = v, true); }},
      {"--threads", [&](const std::string& v) { return parseSize(v, 1, 1024, o.threads); }},
      {"--demo-dir", [&](const std::string& v) { return !v.empty() && (o.demo_dir = v, true); }},
      {"--workers", [&](const std::string& v) { return parseSize(v, 1, 4096, o.workers); }},
      {"--db-pool", [&](const std::string& v) { return parseSize(v, 1, 1024, o.db_pool); }},
      {"--durability",
       [&](const std::string& v) {
         if (v == "full") o.durability = SqliteDurability::full;
         else if (v == "normal") o.durability = SqliteDurability::normal;
         else return false;
         return true;
       }},
      {"--sync-overlap", [&](const std::string& v) { return parseSwitch(v, o.sync_overlap); }},
      {"--max-connections", [&](const std::string& v) { return parseSize(v, 1, 1000000, o.max_connections); }},
      {"--max-connections-per-client",
       [&](const std::string& v) { return parseSize(v, 0, 1000000, o.max_connections_per_client); }},
      {"--header-timeout", [&](const std::string& v) { return parseSeconds(v, o.header_timeout); }},
      {"--request-timeout", [&](const std::string& v) { return parseSeconds(v, o.request_timeout); }},
      {"--idle-timeout", [&](const std::string& v) { return parseSeconds(v, o.idle_timeout); }},
      {"--shutdown-timeout", [&](const std::string& v) { return parseSeconds(v, o.shutdown_timeout); }},
      {"--leeway", [&](const std::string& v) { return parseWholeSeconds(v, o.leeway); }},
      {"--max-iat-ahead", [&](const std::string& v) { return parseWholeSeconds(v, o.max_iat_ahead); }},
      {"--rate-limit-ip", rate(o.rate_limit_ip)},
      {"--rate-limit-ip-burst", burst(o.rate_limit_ip)},
      {"--rate-limit-actor", rate(o.rate_limit_actor)},
      {"--rate-limit-actor-burst", burst(o.rate_limit_actor)},
      {"--metrics-listen",
       [&](const std::string& v) {
         std::string host;
         if (!parseListen(v, host, o.metrics_port)) return false;
         o.metrics_host = host;
         return true;
       }},
      {"--tls-cert", [&](const std::string& v) { return !v.empty() && (o.tls_cert = v, true); }},
      {"--tls-key", [&](const std::string& v) { return !v.empty() && (o.tls_key = v, true); }},
      {"--log-format",
       [&](const std::string& v) {
         if (v == "text") o.log_format = beast::LogFormat::text;
         else if (v == "json") o.log_format = beast::LogFormat::json;
         else return false;
         return true;
       }},
      {"--access-log",
       [&](const std::string& v) {
         if (v == "on") o.access_log = true;
         else if (v == "off") o.access_log = false;
         else return false;
         return true;
       }},
  };

  std::set<std::string> given;  // flags on the command line: the environment does not apply
  const std::map<std::string, Setter> directory_flags = directoryFlagSetters(o.directory);

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      continue;
    }
    if (arg == "--version") {
      o.version = true;
      continue;
    }
    if (arg == "--demo") {
      o.demo = true;
      given.insert(arg);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const Setter* setter = nullptr;
    if (auto plain = valued.find(arg); plain != valued.end()) setter = &plain->second;
    else if (auto dir = directory_flags.find(arg); dir != directory_flags.end()) setter = &dir->second;
    if (setter == nullptr) {
      out.error = arg.rfind("-", 0) == 0 ? "unknown option '" + arg + "'" : "unexpected argument '" + arg + "'";
      return out;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        out.error = "option '" + arg + "' needs a value";
        return out;
      }
      value = argv[++i];
    }
    if (!(*setter)(value)) {
      out.error = "invalid value '" + value + "' for " + arg;
      return out;
    }
    given.insert(arg);
  }
  if (environment) {
    out.error = applyEnvironment(valued, given, environment, o);
    if (out.error.empty()) out.error = applyEnvironment(directory_flags, given, environment, o);
  }
  if (out.error.empty()) out.error = checkDirectoryFlags(o.directory);
  if (out.error.empty()) out.error = checkJwksUrlFlags(o, given, environment);
  if (out.error.empty() && o.tls_cert.has_value() != o.tls_key.has_value())
    out.error = "--tls-cert and --tls-key go together: give both or neither";
  if (out.error.empty() && o.metrics_host && *o.metrics_host == o.host && o.metrics_port == o.port && o.port != 0)
    out.error = "--metrics-listen must differ from --listen (metrics never share the public listener)";
  return out;
}

}  // namespace useradmin::server
