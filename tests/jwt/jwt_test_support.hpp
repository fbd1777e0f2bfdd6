// Shared helpers for the JWT tests: fixed times, a test secret, file access
// and a compact way to ask for a verification outcome.
#ifndef USERADMIN_TESTS_JWT_JWT_TEST_SUPPORT_HPP
#define USERADMIN_TESTS_JWT_JWT_TEST_SUPPORT_HPP

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "useradmin/jwt/jwt_issuer.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"

namespace jwt_test {

using namespace useradmin;

/// A fixed "now" for every test: 2025-06-15T14:40:00Z.
inline constexpr std::int64_t kNow = 1750000000;

/// The instant `seconds` after the epoch.
inline Timestamp at(std::int64_t seconds) { return timestampFromMillis(seconds * 1000); }

/// 40 bytes: comfortably above the 32-byte minimum.
inline const std::string kSecret = "test-secret-0123456789-abcdefghijklmnopq";

inline std::string vectorsDir() { return std::string(USERADMIN_TEST_SOURCE_DIR) + "/jwt/vectors/"; }

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The first line of a file (tokens are stored one per file with a newline).
inline std::string readToken(const std::string& path) {
  std::string text = readFile(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

/// Builds a verifier, failing the test with the error text if it cannot.
inline std::unique_ptr<TokenVerifier> verifierFor(const JwtVerifierOptions& options) {
  auto made = makeJwtVerifier(options);
  if (!made) FAIL("makeJwtVerifier failed: " << made.error().detail);
  return std::move(made.value());
}

/// A verifier trusting kSecret as HS256, with default rules.
inline std::unique_ptr<TokenVerifier> hs256Verifier() {
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  return verifierFor(options);
}

/// Claims that pass every default check at kNow.
inline JwtClaims validClaims() {
  JwtClaims claims;
  claims.sub = "usr_alice";
  claims.iat = at(kNow - 10);
  claims.exp = at(kNow + 3600);
  return claims;
}

/// "ok" when the token verifies, else the error's reason. Also checks that
/// every refusal is `unauthenticated` with the client text "invalid token".
inline std::string outcome(const Result<VerifiedToken>& result) {
  if (result) return "ok";
  const Error& error = result.error();
  CHECK(error.code == ErrorCode::unauthenticated);
  CHECK(error.message == "invalid token");
  CHECK(error.fields.empty());
  return error.reason;
}

inline std::string outcome(const TokenVerifier& verifier, const std::string& token, std::int64_t now = kNow) {
  return outcome(verifier.verify(token, at(now)));
}

/// The error of a failed makeJwtVerifier, or a test failure.
inline Error setupError(const JwtVerifierOptions& options) {
  auto made = makeJwtVerifier(options);
  REQUIRE_FALSE(made.has_value());
  return made.error();
}

}  // namespace jwt_test

#endif  // USERADMIN_TESTS_JWT_JWT_TEST_SUPPORT_HPP
