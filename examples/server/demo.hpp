// Demo mode: a self-contained database, secret, seed and personas.
#ifndef USERADMIN_EXAMPLES_SERVER_DEMO_HPP
#define USERADMIN_EXAMPLES_SERVER_DEMO_HPP

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "useradmin/result.hpp"

namespace useradmin::server {

/// The demo hierarchy (owner -> distributor -> reseller -> customer, with the
/// contract's usr_root and the suspended usr_123456789), in the fixture format.
std::string_view demoFixture();

/// Creates `dir` (mode 0700) if absent. Errors name the path.
Status ensureDemoDirectory(const std::string& dir);

/// Returns the HS256 secret kept in `path`: read (trailing CR/LF stripped)
/// when the file exists, else created with 32 random bytes from OpenSSL's
/// RAND_bytes, hex-encoded (64 characters + newline), mode 0600.
Result<std::string> loadOrCreateSecret(const std::string& path);

/// What the personas' commands need.
struct DemoPrintout {
  /// "http://HOST:PORT" as clients should use it.
  std::string url;
  std::string base_path;
  std::string secret;
  std::optional<std::string> issuer;
  std::optional<std::string> audience;
  std::string db_path;
  std::string secret_path;
  /// "http://HOST:PORT/metrics" when the metrics listener is on, else empty.
  std::string metrics_url;
  /// With TLS: the file curl should trust (--cacert), else empty.
  std::string cacert;
};

/// Prints the personas and their ready-to-paste curl commands (reactivation,
/// user suspension, an organization cascade and its reversal), each preceded
/// by a comment line ending in "-> expect NNN". Tokens are issued now and
/// expire in 24 hours.
void printDemo(std::ostream& out, const DemoPrintout& demo);

}  // namespace useradmin::server

#endif  // USERADMIN_EXAMPLES_SERVER_DEMO_HPP
