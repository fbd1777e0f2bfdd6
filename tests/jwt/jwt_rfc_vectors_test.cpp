// The published signature examples: RFC 7515 Appendix A.1 (HS256), A.2
// (RS256), A.3 (ES256) and RFC 8037 Appendix A.4 (EdDSA/Ed25519).
//
// Their payloads are not tokens this product accepts (no `sub`, an `exp` in
// 2011, or not even JSON), so the signature check is exercised through
// detail::verifyJwsSignature, the very function makeJwtVerifier's verify()
// runs before it looks at claims; separate cases then run the same tokens
// through the full verifier and expect the claim checks to refuse them for
// the right reason.
#include <string>

#include "../../lib/jwt/base64url.hpp"
#include "../../lib/jwt/jws.hpp"
#include "jwt/jwt_test_support.hpp"

using namespace jwt_test;

namespace {

// RFC 7515 §A.1-A.3 share this payload (with CRLF line breaks).
const std::string kRfc7515Payload = "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
const std::string kRfc7515PayloadB64 =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::int64_t kRfc7515Exp = 1300819380;

// §A.1: HMAC SHA-256.
const std::string kA1Key = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const std::string kA1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + kRfc7515PayloadB64 +
                             ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// §A.2: RSASSA-PKCS1-v1_5 SHA-256 (public part of the example key).
const std::string kA2Jwks =
    R"({"keys":[{"kty":"RSA","e":"AQAB","n":")"
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-"
    "pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
    "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
    "DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
    R"("}]})";
const std::string kA2Token =
    "eyJhbGciOiJSUzI1NiJ9." + kRfc7515PayloadB64 +
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7"
    "t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--"
    "xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_"
    "IoypGlUPQGe77Rw";

// §A.3: ECDSA P-256 SHA-256.
const std::string kA3Jwks =
    R"({"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";
const std::string kA3Token = "eyJhbGciOiJFUzI1NiJ9." + kRfc7515PayloadB64 +
                             ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 8037 §A.4: Ed25519 over the text "Example of Ed25519 signing".
const std::string kA4Jwks =
    R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";
const std::string kA4Token =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

std::string jwksWithSecret(const std::string& k) { return R"({"keys":[{"kty":"oct","k":")" + k + "\"}]}"; }

std::vector<detail::VerificationKey> load(const JwtKeySource& source) {
  auto keys = detail::loadKeys({source}, 32);
  if (!keys) FAIL("loading the key failed: " << keys.error().detail);
  return std::move(keys.value());
}

// The reason verifyJwsSignature gives, or "ok".
std::string signatureOutcome(const std::vector<detail::VerificationKey>& keys, const std::string& token) {
  auto result = detail::verifyJwsSignature(keys, token, 8192);
  return result ? "ok" : result.error().reason;
}

// The token with one bit of its signature's first byte flipped.
std::string withFlippedSignature(const std::string& token) {
  const std::size_t dot = token.rfind('.');
  std::string signature;
  REQUIRE(detail::base64urlDecode(token.substr(dot + 1), signature));
  signature[0] = static_cast<char>(signature[0] ^ 0x01);
  return token.substr(0, dot + 1) + detail::base64urlEncode(signature);
}

}  // namespace

TEST_CASE("RFC 7515 A.1: the HS256 example signature verifies", "[jwt][rfc]") {
  std::string secret;
  REQUIRE(detail::base64urlDecode(kA1Key, secret));
  for (const auto& source : {JwtKeySource::hs256Secret(secret), JwtKeySource::jwks(jwksWithSecret(kA1Key))}) {
    const auto keys = load(source);
    auto result = detail::verifyJwsSignature(keys, kA1Token, 8192);
    REQUIRE(result.has_value());
    CHECK(result->alg == JwtAlgorithm::hs256);
    CHECK(result->payload == kRfc7515Payload);
    CHECK(signatureOutcome(keys, withFlippedSignature(kA1Token)) == "bad_signature");
  }
}

TEST_CASE("RFC 7515 A.2: the RS256 example signature verifies", "[jwt][rfc]") {
  const auto keys = load(JwtKeySource::jwks(kA2Jwks));
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].alg() == JwtAlgorithm::rs256);
  CHECK(keys[0].signatureSize() == 256);
  auto result = detail::verifyJwsSignature(keys, kA2Token, 8192);
  REQUIRE(result.has_value());
  CHECK(result->alg == JwtAlgorithm::rs256);
  CHECK(result->payload == kRfc7515Payload);
  CHECK(signatureOutcome(keys, withFlippedSignature(kA2Token)) == "bad_signature");
}

TEST_CASE("RFC 7515 A.3: the ES256 example signature (raw r||s) verifies", "[jwt][rfc]") {
  const auto keys = load(JwtKeySource::jwks(kA3Jwks));
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].alg() == JwtAlgorithm::es256);
  auto result = detail::verifyJwsSignature(keys, kA3Token, 8192);
  REQUIRE(result.has_value());
  CHECK(result->alg == JwtAlgorithm::es256);
  CHECK(result->payload == kRfc7515Payload);
  CHECK(signatureOutcome(keys, withFlippedSignature(kA3Token)) == "bad_signature");

  // The same signature DER-encoded, as OpenSSL would emit it, is not a JWS
  // signature: only the 64-byte raw form is accepted.
  const std::size_t dot = kA3Token.rfind('.');
  std::string raw;
  REQUIRE(detail::base64urlDecode(kA3Token.substr(dot + 1), raw));
  std::string der = "\x30\x44\x02\x20" + raw.substr(0, 32) + "\x02\x20" + raw.substr(32);
  CHECK(signatureOutcome(keys, kA3Token.substr(0, dot + 1) + detail::base64urlEncode(der)) == "bad_signature");
}

TEST_CASE("RFC 8037 A.4: the Ed25519 example signature verifies", "[jwt][rfc]") {
  const auto keys = load(JwtKeySource::jwks(kA4Jwks));
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].alg() == JwtAlgorithm::eddsa);
  auto result = detail::verifyJwsSignature(keys, kA4Token, 8192);
  REQUIRE(result.has_value());
  CHECK(result->alg == JwtAlgorithm::eddsa);
  CHECK(result->payload == "Example of Ed25519 signing");
  CHECK(signatureOutcome(keys, withFlippedSignature(kA4Token)) == "bad_signature");
}

TEST_CASE("each RFC example verifies only under its own key", "[jwt][rfc]") {
  std::vector<detail::VerificationKey> keys;
  for (const auto& jwks : {jwksWithSecret(kA1Key), kA2Jwks, kA3Jwks, kA4Jwks}) {
    for (auto& key : load(JwtKeySource::jwks(jwks))) keys.push_back(std::move(key));
  }
  for (const auto& token : {kA1Token, kA2Token, kA3Token, kA4Token}) {
    CHECK(signatureOutcome(keys, token) == "ok");
  }
  // Only the HS256 key: the asymmetric examples find no key for their alg.
  const auto hs_only = load(JwtKeySource::jwks(jwksWithSecret(kA1Key)));
  CHECK(signatureOutcome(hs_only, kA2Token) == "alg_not_allowed");
  CHECK(signatureOutcome(hs_only, kA3Token) == "alg_not_allowed");
  CHECK(signatureOutcome(hs_only, kA4Token) == "alg_not_allowed");
}

TEST_CASE("the RFC examples pass the signature check of the full verifier and fail on their claims", "[jwt][rfc]") {
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::jwks(jwksWithSecret(kA1Key)), JwtKeySource::jwks(kA2Jwks),
                  JwtKeySource::jwks(kA3Jwks), JwtKeySource::jwks(kA4Jwks)};
  auto verifier = verifierFor(options);
  const std::int64_t before = kRfc7515Exp - 3600;
  for (const auto& token : {kA1Token, kA2Token, kA3Token}) {
    // Before exp the signature and dates pass; the missing `sub` refuses it.
    CHECK(outcome(*verifier, token, before) == "missing_sub");
    CHECK(outcome(*verifier, token, kRfc7515Exp + 59) == "missing_sub");
    CHECK(outcome(*verifier, token, kRfc7515Exp + 60) == "expired");
    CHECK(outcome(*verifier, withFlippedSignature(token), before) == "bad_signature");
  }
  CHECK(outcome(*verifier, kA4Token, before) == "bad_claims");  // not a claims set
  CHECK(outcome(*verifier, withFlippedSignature(kA4Token), before) == "bad_signature");
}
