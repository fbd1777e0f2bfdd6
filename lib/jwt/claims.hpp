// JWT claims checks (RFC 7519 §4.1) for a payload whose signature is verified.
#ifndef USERADMIN_JWT_CLAIMS_HPP
#define USERADMIN_JWT_CLAIMS_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"
#include "useradmin/token_verifier.hpp"

namespace useradmin::detail {

/// The configured expectations.
struct ClaimRules {
  std::optional<std::string> issuer;
  std::optional<std::string> audience;
  std::int64_t leeway_ms = 60'000;
  /// How far `iat` may lie ahead of `now`; also subtracted from `iat` to
  /// give the credential's effective issue time (see jwt_verifier.hpp).
  std::int64_t max_iat_ahead_ms = 0;
};

/// The largest accepted NumericDate: 9999-12-31T23:59:59Z.
inline constexpr std::int64_t kMaxNumericDate = 253402300799;

/// Checks the claims JSON `payload` at time `now` and extracts the verified
/// identity. Reasons, in the order checked: `bad_claims` (not an object,
/// duplicate keys, mistyped registered claims), `missing_exp`, `expired`,
/// `not_yet_valid`, `iat_in_future`, `bad_issuer`, `bad_audience`,
/// `missing_sub`, `bad_sub`. See jwt_verifier.hpp for the exact rules.
USERADMIN_API Result<VerifiedToken> checkClaims(std::string_view payload, const ClaimRules& rules, Timestamp now);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_CLAIMS_HPP
