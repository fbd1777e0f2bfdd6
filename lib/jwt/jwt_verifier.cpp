#include "useradmin/jwt/jwt_verifier.hpp"

#include <array>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <openssl/crypto.h>

#include "claims.hpp"
#include "jws.hpp"
#include "keys.hpp"
#include "verifier.hpp"

namespace useradmin {

const char* toString(JwtAlgorithm alg) noexcept {
  switch (alg) {
    case JwtAlgorithm::hs256: return "HS256";
    case JwtAlgorithm::rs256: return "RS256";
    case JwtAlgorithm::es256: return "ES256";
    case JwtAlgorithm::eddsa: return "EdDSA";
  }
  return "HS256";  // unreachable for valid enumerators
}

namespace {

constexpr std::chrono::seconds kMaxLeeway{24 * 60 * 60};
constexpr std::size_t kMinTokenSizeLimit = 64;

// Tokens whose signature this verifier's keys accepted, by their exact
// bytes, with their decoded payload. A client sends the same bearer token
// for its whole lifetime, and the signature check (base64url, header,
// HMAC or public-key operation) is most of what verify() costs; the claims,
// which depend on the time, are still checked at every use. Only a fully
// verified token is ever added, the keys of a verifier never change, and a
// hit needs every byte of the token equal (compared in constant time), so
// the cache answers exactly what verifying again would. Direct-mapped, with
// striped locks for servers with several I/O threads: a token landing on an
// occupied slot replaces its entry.
class VerifiedTokenCache {
 public:
  std::shared_ptr<const std::string> find(std::string_view token) const {
    if (token.size() > kMaxCachedToken) return nullptr;
    const std::size_t slot = slotOf(token);
    std::lock_guard lock(locks_[slot % kLocks]);
    const Slot& s = slots_[slot];
    if (s.payload == nullptr || s.token.size() != token.size() ||
        CRYPTO_memcmp(s.token.data(), token.data(), token.size()) != 0)
      return nullptr;
    return s.payload;
  }

  void remember(std::string_view token, const std::string& payload) {
    if (token.size() > kMaxCachedToken) return;
    auto shared = std::make_shared<const std::string>(payload);
    const std::size_t slot = slotOf(token);
    std::lock_guard lock(locks_[slot % kLocks]);
    slots_[slot].token.assign(token);
    slots_[slot].payload = std::move(shared);
  }

 private:
  // Bounds the memory: at most kSlots tokens of up to 4 KiB each.
  static constexpr std::size_t kSlots = 1024;
  static constexpr std::size_t kLocks = 16;
  static constexpr std::size_t kMaxCachedToken = 4096;

  static std::size_t slotOf(std::string_view token) { return std::hash<std::string_view>{}(token) % kSlots; }

  struct Slot {
    std::string token;
    std::shared_ptr<const std::string> payload;
  };
  mutable std::array<std::mutex, kLocks> locks_;
  std::array<Slot, kSlots> slots_;
};

// The TokenVerifier: its keys and rules are immutable after construction;
// the only shared state is the cache of verified tokens, which locks itself.
class JwtVerifier final : public TokenVerifier {
 public:
  JwtVerifier(std::vector<detail::VerificationKey> keys, detail::ClaimRules rules, std::size_t max_token_size)
      : keys_(std::move(keys)), rules_(std::move(rules)), max_token_size_(max_token_size) {}

  Result<VerifiedToken> verify(std::string_view token, Timestamp now) const override {
    // Nothing below throws short of memory exhaustion; the boundary still
    // turns any exception into an error instead of letting it escape.
    try {
      if (auto payload = verified_.find(token)) return detail::checkClaims(*payload, rules_, now);
      auto jws = detail::verifyJwsSignature(keys_, token, max_token_size_);
      if (!jws) return std::move(jws).error();
      verified_.remember(token, jws->payload);
      return detail::checkClaims(jws->payload, rules_, now);
    } catch (const std::exception& e) {
      return Error::internal(std::string("JWT verification failed: ") + e.what());
    }
  }

 private:
  std::vector<detail::VerificationKey> keys_;
  detail::ClaimRules rules_;
  std::size_t max_token_size_;
  mutable VerifiedTokenCache verified_;
};

Error optionError(const char* key, const std::string& problem) {
  Error error = Error::invalidArgument(FieldError{key, problem, ""}, "invalid_jwt_options");
  error.detail = std::string(key) + ": " + problem;
  return error;
}

}  // namespace

namespace detail {

Status checkVerifierOptions(const JwtVerifierOptions& options) {
  if (options.leeway.count() < 0 || options.leeway > kMaxLeeway) {
    return optionError("leeway", "leeway must be between 0 and 86400 seconds");
  }
  if (options.max_iat_ahead.count() < 0 || options.max_iat_ahead > kMaxLeeway) {
    return optionError("max_iat_ahead", "max_iat_ahead must be between 0 and 86400 seconds");
  }
  if (options.max_token_size < kMinTokenSizeLimit) {
    return optionError("max_token_size", "max_token_size must be at least 64 bytes");
  }
  if (options.min_secret_size < 1) return optionError("min_secret_size", "min_secret_size must be at least 1");
  if (options.issuer && options.issuer->empty()) return optionError("issuer", "the required issuer is empty");
  if (options.audience && options.audience->empty()) {
    return optionError("audience", "the required audience is empty");
  }
  return okStatus();
}

std::unique_ptr<TokenVerifier> makeVerifierFromKeys(std::vector<VerificationKey> keys,
                                                    const JwtVerifierOptions& options) {
  ClaimRules rules;
  rules.issuer = options.issuer;
  rules.audience = options.audience;
  rules.leeway_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.leeway).count();
  rules.max_iat_ahead_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.max_iat_ahead).count();
  return std::make_unique<JwtVerifier>(std::move(keys), std::move(rules), options.max_token_size);
}

Error verifierOptionError(const char* key, const std::string& problem) { return optionError(key, problem); }

}  // namespace detail

Result<std::unique_ptr<TokenVerifier>> makeJwtVerifier(const JwtVerifierOptions& options) {
  try {
    if (options.keys.empty()) return optionError("keys", "no trusted keys configured");
    if (auto checked = detail::checkVerifierOptions(options); !checked) return std::move(checked).error();
    auto keys = detail::loadKeys(options.keys, options.min_secret_size);
    if (!keys) return std::move(keys).error();
    return detail::makeVerifierFromKeys(std::move(keys.value()), options);
  } catch (const std::exception& e) {
    return Error::internal(std::string("cannot build the JWT verifier: ") + e.what());
  }
}

}  // namespace useradmin
