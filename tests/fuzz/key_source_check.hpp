// The check the key-loader harnesses (JWK Set, PEM) share: whatever the key
// text, makeJwtVerifier either refuses it as documented or yields a verifier
// that answers tokens as documented.
#ifndef USERADMIN_TESTS_FUZZ_KEY_SOURCE_CHECK_HPP
#define USERADMIN_TESTS_FUZZ_KEY_SOURCE_CHECK_HPP

#include <array>
#include <string_view>

#include "fuzz_support.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"

namespace useradmin::fuzz {

/// Well-formed tokens of each algorithm with `kid` "k1" (signatures of the
/// right length that verify under no fuzzed key, except by chance).
inline constexpr std::array<std::string_view, 4> kProbeTokens = {
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3Jfcm9vdCIsImV4cCI6NDEwMjQ0NDgwMH0."
    "k-xAIaJO8wzAzY76iJRAVaGGANZqFihIzET9oxYZXBc",
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3Jfcm9vdCIsImV4cCI6NDEwMjQ0NDgwMH0."
    "l1uSDbLXwmiC8G5u-OUUF_pNjmsGqm7fH3RNAhj8GlA0pze5lhPQ4DwoqKt5-v4jhK3vtVid5YJX47nKxA9GtQ",
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3Jfcm9vdCIsImV4cCI6NDEwMjQ0NDgwMH0."
    "ay0VTRf0wnv3DFWAZIAr-t60940W4waKliUONCgOU5dcU3HBR5kaGnvE-WVFnM4bihlbN2_RA5HLM0wnoSICDw",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c3Jfcm9vdCIsImV4cCI6NDEwMjQ0NDgwMH0."
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZHSElKS0xNTk9Q"
    "UVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn-AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
    "oqOkpaanqKmqq6ytrq-wsbKztLW2t7i5uru8vb6_wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t_g4eLj5OXm5-jp6uvs7e7v8PHy"
    "8_T19vf4-fr7_P3-_w",
};

inline void checkKeySource(JwtKeySource source) {
  JwtVerifierOptions options;
  options.keys.push_back(std::move(source));
  // Short secrets too, so fuzzed `oct` keys get past the length rule.
  options.min_secret_size = 1;
  auto made = makeJwtVerifier(options);
  if (!made) {
    const Error& error = made.error();
    check(error.code == ErrorCode::invalid_argument, "key refusal is not invalid_argument", error.reason);
    check(error.reason == "invalid_jwt_key", "key refusal reason is not invalid_jwt_key", error.reason);
    check(!error.fields.empty() && error.fields.front().key.rfind("keys[0]", 0) == 0,
          "key refusal does not name the key source");
    return;
  }
  for (const std::string_view token : kProbeTokens) {
    auto verified = (*made)->verify(token, fuzzNow());
    check(verified || verified.error().code == ErrorCode::unauthenticated ||
              verified.error().code == ErrorCode::internal,
          "a loaded key answers a token with an undocumented error");
  }
}

}  // namespace useradmin::fuzz

#endif  // USERADMIN_TESTS_FUZZ_KEY_SOURCE_CHECK_HPP
