// Trusted keys after loading: each fixed to one algorithm, with the OpenSSL
// objects prepared once so that verifying only copies a template context.
#ifndef USERADMIN_JWT_KEYS_HPP
#define USERADMIN_JWT_KEYS_HPP

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "useradmin/export.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept;
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const noexcept;
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

/// Outcome of one signature check.
enum class SignatureCheck { valid, invalid, internal_error };

/// One trusted key. Immutable after loading; `verify` is safe to call from
/// many threads at once (each call works on its own copy of the template).
class VerificationKey {
 public:
  JwtAlgorithm alg() const noexcept { return alg_; }
  /// The key id, when the key has one.
  bool hasKid() const noexcept { return has_kid_; }
  const std::string& kid() const noexcept { return kid_; }
  /// Where the key came from, e.g. `keys[1]`, for error texts.
  const std::string& origin() const noexcept { return origin_; }
  /// The exact signature length this key produces (32 for HS256, 64 for
  /// ES256 and EdDSA, the modulus size for RS256).
  std::size_t signatureSize() const noexcept { return signature_size_; }

  /// Checks `signature` (raw bytes as in the JWS, i.e. `r || s` for ES256)
  /// over `signing_input`. A wrong-length signature is `invalid`.
  SignatureCheck verify(std::string_view signing_input, std::string_view signature) const;

  /// An HS256 key. Refuses (invalid_argument) an empty secret or one shorter
  /// than `min_secret_size`. The secret is kept only inside OpenSSL's MAC
  /// context.
  static Result<VerificationKey> fromSecret(std::string_view secret, std::string kid, std::size_t min_secret_size,
                                            std::string origin);
  /// A public key; the algorithm follows from its type (RSA ≥ 2048 bits →
  /// RS256, EC P-256 → ES256, Ed25519 → EdDSA), anything else is refused.
  static Result<VerificationKey> fromPublicKey(PkeyPtr pkey, std::string kid, bool has_kid, std::string origin);
  /// One PEM block: `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`.
  static Result<VerificationKey> fromPem(std::string_view pem, std::string kid, std::string origin);

 private:
  JwtAlgorithm alg_ = JwtAlgorithm::hs256;
  bool has_kid_ = false;
  std::string kid_;
  std::string origin_;
  std::size_t signature_size_ = 0;
  MacCtxPtr hmac_;           // HS256: keyed template, duplicated per call
  PkeyPtr pkey_;             // others: the public key
  MdCtxPtr verify_template_;  // others: DigestVerifyInit done once, copied per call
};

/// The error for a key that cannot be used: invalid_argument, reason
/// `invalid_jwt_key`, field key `where`, message `problem`.
Error keyError(const std::string& where, const std::string& problem, std::string value = {});

/// Reads a whole file (at most `max_size` bytes). On failure returns false
/// and puts a description (never the content) in `problem`.
bool readKeyFile(const std::string& path, std::size_t max_size, std::string& content, std::string& problem);

/// Loads every source in order. Fails on the first unusable source.
USERADMIN_API Result<std::vector<VerificationKey>> loadKeys(const std::vector<JwtKeySource>& sources,
                                                            std::size_t min_secret_size);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_KEYS_HPP
