// JWT verification: a TokenVerifier for JWS compact tokens (RFC 7515/7519)
// signed with HS256, RS256, ES256 or EdDSA (Ed25519).
#ifndef USERADMIN_JWT_JWT_VERIFIER_HPP
#define USERADMIN_JWT_JWT_VERIFIER_HPP

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "useradmin/export.hpp"
#include "useradmin/result.hpp"
#include "useradmin/token_verifier.hpp"

namespace useradmin {

/// The signature algorithms the verifier supports (RFC 7518 §3, RFC 8037).
/// Every trusted key is fixed to exactly one of them when it is loaded; a
/// token's `alg` header only selects among the configured keys and never
/// changes how a key is used.
enum class JwtAlgorithm {
  /// HMAC with SHA-256 over a shared secret.
  hs256,
  /// RSASSA-PKCS1-v1_5 with SHA-256; RSA keys of at least 2048 bits.
  rs256,
  /// ECDSA on P-256 with SHA-256; the signature is the 64-byte `r || s`.
  es256,
  /// Ed25519 (the JOSE name is "EdDSA"); Ed448 is not supported.
  eddsa,
};

/// The JOSE name of an algorithm: "HS256", "RS256", "ES256" or "EdDSA".
USERADMIN_API const char* toString(JwtAlgorithm alg) noexcept;

/// One source of trusted keys, still unparsed. Build it with the named
/// constructors; makeJwtVerifier() reads and checks every source once.
///
/// The algorithm comes from the key: a secret is HS256; a PEM public key is
/// RS256 (RSA), ES256 (EC P-256) or EdDSA (Ed25519) by its type; a JWKS key
/// by its `kty`/`crv` (RSA → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA,
/// oct → HS256). See docs/security.md.
struct JwtKeySource {
  enum class Kind {
    /// `data` is the secret itself (raw bytes, used exactly as given).
    secret,
    /// `data` is the path of a file holding the secret; trailing CR/LF
    /// characters are stripped (so `echo ... > file` works).
    secret_file,
    /// `data` is PEM text: one `PUBLIC KEY`, `RSA PUBLIC KEY` or
    /// `CERTIFICATE` block. Private keys are refused.
    pem,
    /// `data` is the path of a PEM file, as for `pem`.
    pem_file,
    /// `data` is a JWK Set document (RFC 7517 §5): `{"keys":[...]}`.
    jwks,
    /// `data` is the path of a JWK Set file.
    jwks_file,
  };

  Kind kind = Kind::secret;
  /// The secret, PEM text, JWKS text, or a file path (see `kind`).
  std::string data;
  /// For secrets and PEM keys: the `kid` tokens must name to select this key;
  /// empty for none. JWKS keys carry their own `kid`; this field is ignored.
  std::string kid;

  /// An HS256 shared secret given as bytes.
  static JwtKeySource hs256Secret(std::string secret, std::string kid = {}) {
    return {Kind::secret, std::move(secret), std::move(kid)};
  }
  /// An HS256 shared secret read from a file (trailing newline stripped).
  static JwtKeySource hs256SecretFile(std::string path, std::string kid = {}) {
    return {Kind::secret_file, std::move(path), std::move(kid)};
  }
  /// A public key (or certificate) in PEM text.
  static JwtKeySource publicKeyPem(std::string pem, std::string kid = {}) {
    return {Kind::pem, std::move(pem), std::move(kid)};
  }
  /// A public key (or certificate) read from a PEM file.
  static JwtKeySource publicKeyPemFile(std::string path, std::string kid = {}) {
    return {Kind::pem_file, std::move(path), std::move(kid)};
  }
  /// A JWK Set given as JSON text.
  static JwtKeySource jwks(std::string json) { return {Kind::jwks, std::move(json), {}}; }
  /// A JWK Set read from a file.
  static JwtKeySource jwksFile(std::string path) { return {Kind::jwks_file, std::move(path), {}}; }
};

/// How tokens are checked. Only `keys` is required.
struct JwtVerifierOptions {
  /// The keys the verifier trusts; at least one usable key is required.
  std::vector<JwtKeySource> keys;
  /// When set, `iss` must be a string equal to it (byte for byte).
  std::optional<std::string> issuer;
  /// When set, `aud` must be this string, or an array containing it. When
  /// unset, `aud` is not checked (only its type is).
  std::optional<std::string> audience;
  /// Clock skew tolerated on `exp` and `nbf`; 0 to 24 h.
  std::chrono::seconds leeway{60};
  /// How far `iat` may lie ahead of the verification time; 0 to 24 h. A
  /// token is refused (`iat_in_future`) when `iat > now + max_iat_ahead`,
  /// and an accepted token's `issued_at` is `iat - max_iat_ahead`: the
  /// allowance is paid for by counting the token as issued that much
  /// earlier, so it never outlives a revocation (`tokens_valid_after`) that
  /// falls within the allowance. See docs/security.md §3.
  std::chrono::seconds max_iat_ahead{0};
  /// Longest accepted token in bytes; longer ones fail with `too_large`
  /// before any decoding. At least 64.
  std::size_t max_token_size = 8 * 1024;
  /// Shortest accepted HS256 secret in bytes. RFC 7518 §3.2 requires a key
  /// at least as long as the hash output (32 bytes for SHA-256); lower it only
  /// to interoperate with an existing shorter secret. At least 1: an empty
  /// secret is always refused.
  std::size_t min_secret_size = 32;
};

/// Builds a TokenVerifier for JWS compact JWTs. Every key source is read,
/// parsed and checked here, once; verification itself never touches a file.
///
/// Returns `invalid_argument` (reason `invalid_jwt_key` or
/// `invalid_jwt_options`, the field error naming the key source, e.g.
/// `keys[1]`, and the problem) when a file cannot be read, a secret is empty
/// or shorter than `min_secret_size`, a PEM block is not a supported public
/// key (RSA < 2048 bits, EC curves other than P-256, Ed448, private keys), a
/// JWKS document is malformed or has no usable key, a JWK's `alg` disagrees
/// with its key type, there are no keys, or an option is out of range. Error
/// texts never contain secret bytes.
///
/// The verifier's `verify(token, now)` checks, in this order, and on the
/// first failure returns `Error::unauthenticated(reason, detail)`: the client
/// message is always "invalid token", `reason` is one of the codes below and
/// `detail` is a short log-only explanation that never contains the token,
/// a signature or a secret.
///
/// | reason             | when |
/// |--------------------|------|
/// | `too_large`        | the token is longer than `max_token_size` |
/// | `malformed`        | not exactly three dot-separated segments; an empty header or payload; a character outside the base64url alphabet; padding or non-canonical base64url |
/// | `bad_header`       | the header is not a JSON object (or has duplicate keys, or is too deep); `alg` missing or not a string; `typ` present but not `JWT`/`at+jwt` (optionally `application/`-prefixed, any case); `kid` not a string |
/// | `alg_none`         | `alg` is `none` (any case) |
/// | `crit_unsupported` | a `crit` header is present (no extension is understood) |
/// | `unknown_kid`      | the token names a `kid` no configured key has |
/// | `alg_not_allowed`  | `alg` is unknown, or no configured key (with that `kid`, if given) is fixed to it |
/// | `bad_signature`    | the signature has the wrong length or does not verify with any candidate key |
/// | `bad_claims`       | the payload is not a JSON object (duplicate keys, too deep), or a registered claim has the wrong type or a date out of range (`exp`/`nbf`/`iat` not a number in [0, 253402300799]; `iss` not a string; `aud` not a string or array of strings; `scope` not a string; `permissions` not an array of strings) |
/// | `missing_exp`      | no `exp` claim |
/// | `expired`          | `now >= exp + leeway` |
/// | `not_yet_valid`    | `now < nbf - leeway` |
/// | `iat_in_future`    | `iat > now + max_iat_ahead` (the exp/nbf leeway does not apply) |
/// | `bad_issuer`       | an issuer is configured and `iss` is absent or differs |
/// | `bad_audience`     | an audience is configured and `aud` is absent or does not contain it |
/// | `missing_sub`      | no `sub` claim |
/// | `bad_sub`          | `sub` is not a string or not a valid user id (isValidId) |
///
/// Dates are compared at millisecond resolution; a fractional NumericDate is
/// rounded towards rejection (`exp` down, `nbf`/`iat` up). On success the
/// VerifiedToken carries `sub`, `iat - max_iat_ahead` (if `iat` is present),
/// `exp`, and the scopes:
/// the words of `scope` (split on spaces) followed by the entries of
/// `permissions`, duplicates removed; absent when neither claim is present.
///
/// Key selection: with a `kid`, the candidates are the keys with that `kid`
/// whose algorithm equals `alg`; without a `kid`, every key whose algorithm
/// equals `alg`. The token verifies if one of the first 8 candidates (in
/// configuration order) accepts the signature; the cap bounds the work a
/// forged token can cause, so give tokens a `kid` when more than 8 keys share
/// an algorithm. A key configured without a `kid` is never selected by a
/// token that names one. Header parameters `jku`, `jwk`, `x5u`, `x5c` are
/// never used. If OpenSSL itself fails (memory exhaustion), the result is
/// `internal` rather than `unauthenticated`.
///
/// The returned verifier is immutable and safe for concurrent use from any
/// number of threads.
USERADMIN_API Result<std::unique_ptr<TokenVerifier>> makeJwtVerifier(const JwtVerifierOptions& options);

}  // namespace useradmin

#endif  // USERADMIN_JWT_JWT_VERIFIER_HPP
