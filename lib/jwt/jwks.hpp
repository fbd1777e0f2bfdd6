// JWK Set (RFC 7517) loading: turns the signing keys of a JWKS document into
// VerificationKeys, each fixed to the algorithm its key type allows.
#ifndef USERADMIN_JWT_JWKS_HPP
#define USERADMIN_JWT_JWKS_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keys.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// Parses a JWK Set. Key type → algorithm: `RSA` → RS256, `EC` with `crv`
/// `P-256` → ES256, `OKP` with `crv` `Ed25519` → EdDSA, `oct` → HS256.
///
/// Skipped (not an error): keys whose `use` is not `sig`, whose `key_ops`
/// lacks `verify`, of an unknown `kty`, on another curve, or whose `alg` is a
/// valid algorithm of the key's family that is not supported (e.g. RS384).
/// Errors (invalid_argument, naming the key): invalid JSON, no `keys` array,
/// a key that is not an object, missing or mistyped members, bad base64url,
/// wrong coordinate sizes, a point not on the curve, private key material
/// (`d` etc.), an `alg` of another family than the `kty` (e.g. RSA with
/// ES256), a too short `oct` secret, and a set with no usable key at all.
Result<std::vector<VerificationKey>> keysFromJwks(std::string_view json, std::size_t min_secret_size,
                                                  const std::string& origin);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_JWKS_HPP
