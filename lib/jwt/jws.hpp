// JWS compact serialization: structure, header and signature checks, with
// no claim semantics. makeJwtVerifier() runs this and then checkClaims();
// the RFC signature vectors in the tests call it directly.
#ifndef USERADMIN_JWT_JWS_HPP
#define USERADMIN_JWT_JWS_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keys.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// Nesting limits for the header and the claims (the top-level object is 1).
inline constexpr std::size_t kMaxHeaderDepth = 8;
inline constexpr std::size_t kMaxClaimsDepth = 16;
/// At most this many keys are tried for one token (those fixed to its `alg`,
/// and with its `kid` when it has one), in configuration order.
inline constexpr std::size_t kMaxSignatureAttempts = 8;

/// A token whose signature a trusted key accepted.
struct VerifiedJws {
  JwtAlgorithm alg = JwtAlgorithm::hs256;
  /// The decoded payload (the claims as JSON text), not yet parsed.
  std::string payload;
  /// The key that accepted the signature (points into the key list).
  const VerificationKey* key = nullptr;
};

/// Checks everything about `token` except its claims: size (`too_large`),
/// three canonical base64url segments (`malformed`), the header
/// (`bad_header`, `alg_none`, `crit_unsupported`), key selection
/// (`unknown_kid`, `alg_not_allowed`) and the signature (`bad_signature`),
/// in that order. Errors are Error::unauthenticated(reason, detail), or
/// Error::internal if OpenSSL itself fails. Thread-safe.
USERADMIN_API Result<VerifiedJws> verifyJwsSignature(const std::vector<VerificationKey>& keys,
                                                     std::string_view token, std::size_t max_token_size);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_JWS_HPP
