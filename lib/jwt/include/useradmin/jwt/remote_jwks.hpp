// A TokenVerifier whose keys come from an issuer's JWK Set that is fetched
// again and again (keys rotate): cached as the issuer's Cache-Control says,
// refetched on an unknown `kid` (rate-limited), kept when the issuer is down.
// The fetching itself (HTTPS) is the caller's: this component does no
// networking (the example server fetches with useradmin::directory's
// DocumentFetcher).
#ifndef USERADMIN_JWT_REMOTE_JWKS_HPP
#define USERADMIN_JWT_REMOTE_JWKS_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "useradmin/export.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/result.hpp"
#include "useradmin/token_verifier.hpp"

namespace useradmin {

/// One fetched JWK Set document.
struct JwksDocument {
  /// The JWK Set JSON text.
  std::string body;
  /// The answer's Cache-Control header value; empty when there was none.
  std::string cache_control;
};

/// How the key set is fetched and refreshed.
struct RemoteJwksOptions {
  /// Fetches the document once; blocking, bounded by its own timeout. Called
  /// only from the verifier's background thread (and once from
  /// makeRemoteJwksVerifier's caller for the first fetch), never from
  /// verify(). Any error counts as a failed fetch; its `detail` is logged.
  std::function<Result<JwksDocument>()> fetch;
  /// Receives one line per event (first load, every change of the key set,
  /// every failed fetch, the first good fetch after failures); never secret
  /// bytes, and text from the document (kids) only as printable ASCII. Called
  /// from the background thread, and for the first load from the thread
  /// calling makeRemoteJwksVerifier. Null: no logging.
  std::function<void(const std::string&)> log;
  /// Names the source in log lines, e.g. the URL.
  std::string name = "JWKS";
  /// When the next refresh starts after a successful fetch: at 90 % of the
  /// answer's Cache-Control `max-age` (so a fresh set is normally in place
  /// before the old one expires), clamped to [min_refresh, max_refresh];
  /// `no-store`/`no-cache` mean min_refresh; no (or a malformed) max-age
  /// means default_refresh (also clamped). `Age` and `Expires` are not read.
  /// The set is never dropped for being stale: it is replaced only by a newer
  /// good one.
  std::chrono::milliseconds min_refresh{30'000};
  std::chrono::milliseconds max_refresh{24 * 3600 * 1000};
  std::chrono::milliseconds default_refresh{300'000};
  /// A token naming an unknown `kid` asks for a refetch; the refetch starts
  /// no sooner than this after the previous fetch of any kind, and all the
  /// requests that arrive meanwhile share it. A flood of bad kids therefore
  /// costs the issuer at most one request per interval.
  std::chrono::milliseconds unknown_kid_interval{10'000};
  /// After a failed fetch the last good set stays in use and the fetch is
  /// retried after retry_min, doubling per consecutive failure up to
  /// retry_max.
  std::chrono::milliseconds retry_min{1'000};
  std::chrono::milliseconds retry_max{60'000};
};

/// What the verifier has done so far (for tests and diagnostics).
struct RemoteJwksStats {
  /// Fetch attempts, successful or not, including the first.
  std::uint64_t fetches = 0;
  std::uint64_t failures = 0;
  /// Successful fetches that changed the key set (the first load excluded).
  std::uint64_t changes = 0;
  /// The kids of the current set, in document order ("" for a key without).
  std::vector<std::string> kids;
};

/// The verifier returned by makeRemoteJwksVerifier.
class USERADMIN_API RemoteJwksVerifier : public TokenVerifier {
 public:
  /// Verifies with the current key set (plus the static keys) without ever
  /// waiting for the network: exactly as makeJwtVerifier's verifier would
  /// with those keys. A refusal for `unknown_kid` also asks the background
  /// thread for a refetch (rate-limited, see RemoteJwksOptions); that token
  /// stays refused, a later one with the new kid succeeds once the set
  /// holding it has arrived.
  virtual RemoteJwksStats stats() const = 0;
};

/// Builds the verifier: checks `base` as makeJwtVerifier does (its `keys`
/// are static keys trusted alongside the fetched set; they may be empty),
/// then fetches the set once on the calling thread. Fails when that first
/// fetch fails or the document is not a usable JWK Set (`unavailable` or
/// `invalid_argument`, the detail saying why), or on bad options
/// (`invalid_argument`, reason `invalid_jwt_options`). On success a
/// background thread keeps the set fresh until the verifier is destroyed
/// (the destructor waits for a fetch in progress, at most its timeout).
///
/// A fetched document that cannot be used (invalid JSON, no usable key, a
/// key with private material...) counts as a failed fetch: the last good set
/// stays. Safe for concurrent use from any number of threads.
USERADMIN_API Result<std::unique_ptr<RemoteJwksVerifier>> makeRemoteJwksVerifier(JwtVerifierOptions base,
                                                                                RemoteJwksOptions remote);

/// The refresh interval a Cache-Control value asks for, within the bounds of
/// `options` (see RemoteJwksOptions::min_refresh). Exposed for tests.
USERADMIN_API std::chrono::milliseconds jwksRefreshInterval(const std::string& cache_control,
                                                            const RemoteJwksOptions& options);

}  // namespace useradmin

#endif  // USERADMIN_JWT_REMOTE_JWKS_HPP
