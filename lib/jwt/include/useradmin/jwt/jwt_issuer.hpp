// HS256 token issuing for the demo server, tests and benchmarks. Separate
// from verification on purpose: a production deployment that only verifies
// never needs this header.
#ifndef USERADMIN_JWT_JWT_ISSUER_HPP
#define USERADMIN_JWT_JWT_ISSUER_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"

namespace useradmin {

/// The claims issueHs256Token() writes. Absent optionals and empty fields are
/// left out of the token. Dates are written as NumericDate: whole seconds as
/// an integer, otherwise as a fractional number (millisecond precision).
struct JwtClaims {
  /// `sub`: the actor's user id. Left out when empty.
  std::string sub;
  /// `iat`, `nbf`, `exp`.
  std::optional<Timestamp> iat;
  std::optional<Timestamp> nbf;
  std::optional<Timestamp> exp;
  /// `iss`.
  std::optional<std::string> iss;
  /// `aud`: left out when empty, a string when it has one entry, else an array.
  std::vector<std::string> aud;
  /// `scope`: written as given (space-separated words).
  std::optional<std::string> scope;
  /// `permissions`: an array of strings, when set.
  std::optional<std::vector<std::string>> permissions;
};

/// Signs `claims` with HS256 under `secret` and returns the compact token
/// `base64url(header).base64url(payload).base64url(signature)`. The header
/// is `{"alg":"HS256","typ":"JWT"}`, plus `"kid"` when `kid` is not empty.
/// Nothing is validated: the caller decides what it issues (tests issue
/// broken tokens on purpose). Returns an empty string only if OpenSSL fails,
/// which does not happen short of memory exhaustion. Thread-safe.
USERADMIN_API std::string issueHs256Token(std::string_view secret, const JwtClaims& claims,
                                          std::string_view kid = {});

/// Signs arbitrary header and payload text with HMAC-SHA-256 under `secret`:
/// `base64url(header_json).base64url(payload_json).base64url(mac)`. The texts
/// are used byte for byte (they need not be JSON), which lets tests build
/// tokens with duplicate keys, odd types or a lying `alg`. Returns an empty
/// string only if OpenSSL fails. Thread-safe.
USERADMIN_API std::string signHs256Jws(std::string_view secret, std::string_view header_json,
                                       std::string_view payload_json);

/// base64url without padding (RFC 4648 §5, RFC 7515 §2), for callers that
/// assemble tokens themselves.
USERADMIN_API std::string base64urlEncode(std::string_view bytes);

}  // namespace useradmin

#endif  // USERADMIN_JWT_JWT_ISSUER_HPP
