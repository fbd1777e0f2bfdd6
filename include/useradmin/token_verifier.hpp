// TokenVerifier: turns a bearer credential into a verified identity.
#ifndef USERADMIN_TOKEN_VERIFIER_HPP
#define USERADMIN_TOKEN_VERIFIER_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin {

/// What a verified credential says about its bearer.
struct VerifiedToken {
  /// The actor's user id (`sub`).
  std::string subject;
  /// When the credential was issued (`iat`), if it says.
  std::optional<Timestamp> issued_at;
  /// When it expires (`exp`).
  Timestamp expires_at{};
  /// `scope` (space-separated) or `permissions` (array), when present.
  std::optional<std::vector<std::string>> scopes;
};

/// Verifies bearer credentials. Safe for concurrent use from many threads.
class USERADMIN_API TokenVerifier {
 public:
  TokenVerifier() = default;
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;
  virtual ~TokenVerifier();

  /// Checks `token` (the text after `Bearer `) at time `now`. Every refusal
  /// is `unauthenticated`; its `reason` is a precise code for the server log
  /// and tests (e.g. "expired", "bad_signature", "alg_not_allowed") and its
  /// `message` is the client-facing "invalid token". Never logs the token.
  virtual Result<VerifiedToken> verify(std::string_view token, Timestamp now) const = 0;
};

}  // namespace useradmin

#endif  // USERADMIN_TOKEN_VERIFIER_HPP
