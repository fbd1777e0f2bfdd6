// The parts of makeJwtVerifier that the rotating JWKS verifier reuses: the
// option checks and a verifier over already loaded keys.
#ifndef USERADMIN_JWT_VERIFIER_HPP
#define USERADMIN_JWT_VERIFIER_HPP

#include <memory>
#include <string>
#include <vector>

#include "keys.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/result.hpp"
#include "useradmin/token_verifier.hpp"

namespace useradmin::detail {

/// Every check of makeJwtVerifier on `options` except those on `keys`.
Status checkVerifierOptions(const JwtVerifierOptions& options);

/// An immutable verifier over `keys` with the claim rules of `options`.
std::unique_ptr<TokenVerifier> makeVerifierFromKeys(std::vector<VerificationKey> keys,
                                                    const JwtVerifierOptions& options);

/// invalid_argument, reason `invalid_jwt_options`, naming `key`.
Error verifierOptionError(const char* key, const std::string& problem);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_VERIFIER_HPP
