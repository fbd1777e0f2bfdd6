// Property-style: no single-character change, bit flip, deletion or
// truncation of a valid token is accepted, for every algorithm.
#include <string>
#include <vector>

#include "jwt/jwt_test_support.hpp"

using namespace jwt_test;

namespace {

struct Case {
  std::string name;
  std::string token;
};

// Verifies `token`; true when it is refused as unauthenticated (never
// accepted, never an internal error).
bool refused(const TokenVerifier& verifier, const std::string& token) {
  auto result = verifier.verify(token, at(kNow));
  return !result.has_value() && result.error().code == ErrorCode::unauthenticated;
}

std::unique_ptr<TokenVerifier> allKeysVerifier() {
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::hs256Secret(kSecret), JwtKeySource::jwksFile(vectorsDir() + "jwks.json")};
  return verifierFor(options);
}

std::vector<Case> validTokens() {
  const std::string dir = vectorsDir();
  JwtClaims claims = validClaims();
  claims.scope = "manage:users";
  return {{"HS256", issueHs256Token(kSecret, claims)},
          {"RS256", readToken(dir + "rs256.kid.jwt")},
          {"ES256", readToken(dir + "es256.kid.jwt")},
          {"EdDSA", readToken(dir + "eddsa.kid.jwt")}};
}

}  // namespace

TEST_CASE("flipping the low bit of any byte of a valid token makes it invalid", "[jwt][property]") {
  auto verifier = allKeysVerifier();
  for (const auto& c : validTokens()) {
    INFO(c.name);
    REQUIRE_FALSE(refused(*verifier, c.token));
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < c.token.size(); ++i) {
      std::string tampered = c.token;
      tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
      if (!refused(*verifier, tampered)) {
        ++accepted;
        UNSCOPED_INFO("accepted after flipping byte " << i);
      }
    }
    CHECK(accepted == 0);
  }
}

TEST_CASE("flipping any bit of the bytes at the edges of each segment makes a token invalid", "[jwt][property]") {
  auto verifier = allKeysVerifier();
  for (const auto& c : validTokens()) {
    INFO(c.name);
    const std::size_t dot1 = c.token.find('.');
    const std::size_t dot2 = c.token.rfind('.');
    // The first and last two characters of every segment, the dots, and a
    // spread of positions in between: the last character of a segment is the
    // one whose unused bits a lax decoder would ignore.
    std::vector<std::size_t> positions = {0, 1, dot1 - 2, dot1 - 1, dot1, dot1 + 1, dot1 + 2, dot2 - 2, dot2 - 1,
                                          dot2, dot2 + 1, dot2 + 2, c.token.size() - 2, c.token.size() - 1};
    for (std::size_t i = 3; i < c.token.size(); i += 29) positions.push_back(i);
    std::size_t accepted = 0;
    for (std::size_t i : positions) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string tampered = c.token;
        tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
        if (!refused(*verifier, tampered)) {
          ++accepted;
          UNSCOPED_INFO("accepted after flipping bit " << bit << " of byte " << i);
        }
      }
    }
    CHECK(accepted == 0);
  }
}

TEST_CASE("replacing any character of an HS256 token by any other base64url character makes it invalid",
          "[jwt][property]") {
  auto verifier = hs256Verifier();
  const std::string token = issueHs256Token(kSecret, validClaims());
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (char replacement : alphabet) {
      if (replacement == token[i]) continue;
      std::string tampered = token;
      tampered[i] = replacement;
      if (!refused(*verifier, tampered)) {
        ++accepted;
        UNSCOPED_INFO("accepted with '" << replacement << "' at " << i);
      }
    }
  }
  CHECK(accepted == 0);
}

TEST_CASE("deleting any character or truncating a valid token makes it invalid", "[jwt][property]") {
  auto verifier = allKeysVerifier();
  for (const auto& c : validTokens()) {
    INFO(c.name);
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < c.token.size(); ++i) {
      std::string shorter = c.token;
      shorter.erase(i, 1);
      if (!refused(*verifier, shorter)) ++accepted;
      if (!refused(*verifier, c.token.substr(0, i))) ++accepted;
    }
    CHECK(accepted == 0);
  }
}
