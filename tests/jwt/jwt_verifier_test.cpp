// Behaviour of makeJwtVerifier(): options, structure, header, claims, every
// refusal reason, leeway boundaries and scopes. Signature-level vectors live
// in jwt_rfc_vectors_test.cpp, keys in jwt_keys_test.cpp.
#include <string>
#include <thread>
#include <vector>

#include "jwt/jwt_test_support.hpp"

using namespace jwt_test;

namespace {

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";

// A token over raw header/payload text, signed with the test secret.
std::string hs(const std::string& payload, const std::string& header = kHeader) {
  return signHs256Jws(kSecret, header, payload);
}

}  // namespace

TEST_CASE("an HS256 token with valid claims verifies and yields sub, iat and exp", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string token = issueHs256Token(kSecret, validClaims());
  auto result = verifier->verify(token, at(kNow));
  REQUIRE(result.has_value());
  CHECK(result->subject == "usr_alice");
  REQUIRE(result->issued_at.has_value());
  CHECK(*result->issued_at == at(kNow - 10));
  CHECK(result->expires_at == at(kNow + 3600));
  CHECK_FALSE(result->scopes.has_value());
}

TEST_CASE("the issuer writes the header and claims a verifier expects", "[jwt]") {
  JwtClaims claims = validClaims();
  claims.iss = "https://issuer.example";
  claims.aud = {"useradmin"};
  claims.nbf = at(kNow - 5);
  claims.scope = "manage:users";
  claims.permissions = std::vector<std::string>{"read:users"};
  const std::string token = issueHs256Token(kSecret, claims, "k1");
  const std::string header = token.substr(0, token.find('.'));
  CHECK(header == base64urlEncode(R"({"alg":"HS256","typ":"JWT","kid":"k1"})"));

  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret, "k1"));
  options.issuer = "https://issuer.example";
  options.audience = "useradmin";
  auto result = verifierFor(options)->verify(token, at(kNow));
  REQUIRE(result.has_value());
  CHECK(*result->scopes == std::vector<std::string>{"manage:users", "read:users"});
}

TEST_CASE("scope words and permissions entries become the scopes, in order, without duplicates", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string token =
      hs(R"({"sub":"usr_alice","exp":1750003600,"scope":"read:users  manage:users read:users",)"
         R"("permissions":["manage:users","x:y",""]})");
  auto verified = verifier->verify(token, at(kNow));
  REQUIRE(verified.has_value());
  CHECK(*verified->scopes == std::vector<std::string>{"read:users", "manage:users", "x:y"});
}

TEST_CASE("hundreds of scopes are deduplicated the same way", "[jwt]") {
  auto verifier = hs256Verifier();
  std::string scope;
  std::string permissions;
  std::vector<std::string> expected;
  for (int i = 0; i < 150; ++i) {
    const std::string word = "s" + std::to_string(i);
    scope += word + " " + word + " ";
    permissions += (i ? ",\"" : "\"") + word + "\"";
    expected.push_back(word);
  }
  const std::string token = hs(R"({"sub":"usr_alice","exp":1750003600,"scope":")" + scope +
                               R"(","permissions":[)" + permissions + R"(,"extra"]})");
  expected.push_back("extra");
  auto verified = verifier->verify(token, at(kNow));
  REQUIRE(verified.has_value());
  CHECK(*verified->scopes == expected);
}

TEST_CASE("an empty scope claim yields an empty scope list, which narrows to nothing", "[jwt]") {
  auto verifier = hs256Verifier();
  auto verified = verifier->verify(hs(R"({"sub":"usr_alice","exp":1750003600,"scope":""})"), at(kNow));
  REQUIRE(verified.has_value());
  REQUIRE(verified->scopes.has_value());
  CHECK(verified->scopes->empty());
}

TEST_CASE("a permissions array alone yields the scopes", "[jwt]") {
  auto verifier = hs256Verifier();
  auto verified = verifier->verify(hs(R"({"sub":"usr_alice","exp":1750003600,"permissions":["manage:users"]})"),
                                   at(kNow));
  REQUIRE(verified.has_value());
  CHECK(*verified->scopes == std::vector<std::string>{"manage:users"});
}

TEST_CASE("numeric dates may be fractional and unknown claims are ignored", "[jwt]") {
  auto verifier = hs256Verifier();
  auto verified = verifier->verify(
      hs(R"({"sub":"usr_alice","exp":1750003600.25,"iat":1749999990.5,"nbf":1.7e9,"extra":{"a":[1,{"b":null}]}})"),
      at(kNow));
  REQUIRE(verified.has_value());
  CHECK(verified->expires_at == timestampFromMillis(1750003600250));
  CHECK(*verified->issued_at == timestampFromMillis(1749999990500));
}

// ---------------------------------------------------------------------------
// Size and structure.

TEST_CASE("too_large: a token longer than max_token_size is refused before decoding", "[jwt]") {
  const std::string token = issueHs256Token(kSecret, validClaims());
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  options.max_token_size = token.size();
  CHECK(outcome(*verifierFor(options), token) == "ok");
  options.max_token_size = token.size() - 1;
  CHECK(outcome(*verifierFor(options), token) == "too_large");

  auto verifier = hs256Verifier();  // default limit: 8 KiB
  CHECK(outcome(*verifier, std::string(8 * 1024 + 1, 'a')) == "too_large");
  JwtClaims big = validClaims();
  big.scope = std::string(9000, 'a');
  CHECK(outcome(*verifier, issueHs256Token(kSecret, big)) == "too_large");
}

TEST_CASE("malformed: anything but three canonical base64url segments is refused", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string token = issueHs256Token(kSecret, validClaims());
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.rfind('.');
  const std::string header = token.substr(0, dot1);
  const std::string payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string signature = token.substr(dot2 + 1);
  REQUIRE(outcome(*verifier, token) == "ok");

  CHECK(outcome(*verifier, "") == "malformed");
  CHECK(outcome(*verifier, "abc") == "malformed");
  CHECK(outcome(*verifier, header + "." + payload) == "malformed");
  CHECK(outcome(*verifier, token + ".") == "malformed");
  CHECK(outcome(*verifier, token + "." + signature) == "malformed");
  CHECK(outcome(*verifier, "." + payload + "." + signature) == "malformed");
  CHECK(outcome(*verifier, header + ".." + signature) == "malformed");
  CHECK(outcome(*verifier, " " + token) == "malformed");
  CHECK(outcome(*verifier, token + "\n") == "malformed");
  CHECK(outcome(*verifier, token + "=") == "malformed");
  CHECK(outcome(*verifier, header + "=." + payload + "." + signature) == "malformed");
  // The standard base64 alphabet's '+' and '/' are not base64url.
  std::string plus = token;
  plus[dot2 + 1] = '+';
  CHECK(outcome(*verifier, plus) == "malformed");
  // 43 characters carry 258 bits for a 256-bit MAC: the last two must be 0.
  REQUIRE(signature.size() == 43);
  std::string noncanonical = token;
  const char last = noncanonical.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  noncanonical.back() = alphabet[alphabet.find(last) | 1];
  CHECK(outcome(*verifier, noncanonical) == "malformed");
  // A length of 1 mod 4 cannot be base64url at all (43 + 2 = 45 characters).
  CHECK(outcome(*verifier, header + "." + payload + "." + signature + "AA") == "malformed");
}

// ---------------------------------------------------------------------------
// Header.

TEST_CASE("bad_header: the header must be a JSON object with a string alg", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  CHECK(outcome(*verifier, hs(claims, "not json")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"(["HS256"])")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256"} trailing)")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"typ":"JWT"})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":256})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","alg":"HS256"})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":7})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256",/*c*/"typ":"JWT"})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, "{\"alg\":\"HS256\",\"x\":\"\xff\"}")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","x":[[[[[[[[[1]]]]]]]]]})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","x":[[[[[[1]]]]]]})")) == "ok");
}

TEST_CASE("bad_header: typ, when present, must be JWT or at+jwt in any case", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  for (const char* typ : {"JWT", "jwt", "at+jwt", "AT+JWT", "application/jwt", "Application/At+Jwt"}) {
    INFO(typ);
    CHECK(outcome(*verifier, hs(claims, std::string(R"({"alg":"HS256","typ":")") + typ + "\"}")) == "ok");
  }
  for (const char* typ : {"JOSE", "", "application/", "logout+jwt", "JWT ", "jwt+at"}) {
    INFO(typ);
    CHECK(outcome(*verifier, hs(claims, std::string(R"({"alg":"HS256","typ":")") + typ + "\"}")) == "bad_header");
  }
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","typ":1})")) == "bad_header");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256"})")) == "ok");
}

TEST_CASE("alg_none: an unsecured token is refused whatever its spelling or signature", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string claims = base64urlEncode(R"({"sub":"usr_alice","exp":1750003600})");
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    INFO(alg);
    const std::string header = base64urlEncode(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})");
    CHECK(outcome(*verifier, header + "." + claims + ".") == "alg_none");
    CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600})",
                                std::string(R"({"alg":")") + alg + "\"}")) == "alg_none");
  }
}

TEST_CASE("crit_unsupported: any crit header is refused, since no extension is understood", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","crit":["exp"],"exp":1})")) == "crit_unsupported");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","crit":["b64"],"b64":false})")) == "crit_unsupported");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","crit":[]})")) == "crit_unsupported");
}

TEST_CASE("unknown_kid: a kid that no configured key has is refused", "[jwt]") {
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret, "k1"));
  auto verifier = verifierFor(options);
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":"k1"})")) == "ok");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256"})")) == "ok");  // no kid: keys by alg
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":"k2"})")) == "unknown_kid");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":"K1"})")) == "unknown_kid");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":""})")) == "unknown_kid");

  // A key configured without a kid is never selected by one.
  auto plain = hs256Verifier();
  CHECK(outcome(*plain, hs(claims, R"({"alg":"HS256","kid":"k1"})")) == "unknown_kid");
}

TEST_CASE("kid selects among several keys of the same algorithm", "[jwt]") {
  const std::string other = "another-secret-that-is-long-enough-0123456789";
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(other, "old"));
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret, "new"));
  auto verifier = verifierFor(options);
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":"new"})")) == "ok");
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256","kid":"old"})")) == "bad_signature");
  CHECK(outcome(*verifier, signHs256Jws(other, R"({"alg":"HS256","kid":"old"})", claims)) == "ok");
  // Without a kid every HS256 key is tried.
  CHECK(outcome(*verifier, hs(claims, R"({"alg":"HS256"})")) == "ok");
  CHECK(outcome(*verifier, signHs256Jws(other, R"({"alg":"HS256"})", claims)) == "ok");
}

TEST_CASE("without a kid at most the first 8 keys of the token's algorithm are tried", "[jwt]") {
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  JwtVerifierOptions options;
  for (int i = 0; i < 9; ++i) {
    options.keys.push_back(JwtKeySource::hs256Secret(kSecret + std::to_string(i), "k" + std::to_string(i)));
  }
  auto verifier = verifierFor(options);
  const std::string eighth = kSecret + "7";
  const std::string ninth = kSecret + "8";
  CHECK(outcome(*verifier, signHs256Jws(eighth, R"({"alg":"HS256"})", claims)) == "ok");
  CHECK(outcome(*verifier, signHs256Jws(ninth, R"({"alg":"HS256"})", claims)) == "bad_signature");
  CHECK(outcome(*verifier, signHs256Jws(ninth, R"({"alg":"HS256","kid":"k8"})", claims)) == "ok");
}

TEST_CASE("alg_not_allowed: the header cannot pick an algorithm no key is fixed to", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  for (const char* alg : {"HS384", "HS512", "hs256", "RS256", "ES256", "EdDSA", "PS256", "Ed25519", ""}) {
    INFO(alg);
    CHECK(outcome(*verifier, hs(claims, std::string(R"({"alg":")") + alg + "\"}")) == "alg_not_allowed");
  }
  // A kid that exists but belongs to a key of another algorithm.
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret, "k1"));
  CHECK(outcome(*verifierFor(options), hs(claims, R"({"alg":"RS256","kid":"k1"})")) == "alg_not_allowed");
}

TEST_CASE("bad_signature: a wrong key, a wrong length or a foreign signature is refused", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string claims = R"({"sub":"usr_alice","exp":1750003600})";
  CHECK(outcome(*verifier, signHs256Jws("some-other-secret-of-sufficient-length!!", kHeader, claims)) ==
        "bad_signature");
  const std::string token = hs(claims);
  const std::string signing_input = token.substr(0, token.rfind('.'));
  CHECK(outcome(*verifier, signing_input + ".") == "bad_signature");
  CHECK(outcome(*verifier, signing_input + "." + base64urlEncode(std::string(31, 'x'))) == "bad_signature");
  CHECK(outcome(*verifier, signing_input + "." + base64urlEncode(std::string(33, 'x'))) == "bad_signature");
  CHECK(outcome(*verifier, signing_input + "." + base64urlEncode(std::string(32, '\0'))) == "bad_signature");
  const std::string other = hs(R"({"sub":"usr_mallory","exp":1750003600})");
  CHECK(outcome(*verifier, signing_input + other.substr(other.rfind('.'))) == "bad_signature");
}

// ---------------------------------------------------------------------------
// Claims.

TEST_CASE("bad_claims: the payload must be a JSON object without duplicate keys", "[jwt]") {
  auto verifier = hs256Verifier();
  CHECK(outcome(*verifier, hs("not json")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"([{"sub":"usr_alice","exp":1750003600}])")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"("usr_alice")")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600,})")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600}{})")) == "bad_claims");
  // Duplicate keys would let two parsers disagree on who the token is for.
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","sub":"usr_root","exp":1750003600})")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600,"exp":1})")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600,"x":{"a":1,"a":2}})")) == "bad_claims");
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600,"x":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]})")) ==
        "bad_claims");
}

TEST_CASE("bad_claims: registered claims of the wrong type are refused", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string base = R"("sub":"usr_alice")";
  for (const char* exp : {R"("1750003600")", "true", "null", "[1750003600]", "{}", "-1", "1e300",
                          "253402300800", "18446744073709551616"}) {
    INFO(exp);
    CHECK(outcome(*verifier, hs("{" + base + R"(,"exp":)" + exp + "}")) == "bad_claims");
  }
  const std::string valid = R"("sub":"usr_alice","exp":1750003600)";
  for (const char* extra : {R"("nbf":"0")", R"("nbf":false)", R"("iat":"1749999990")", R"("iat":-5)",
                            R"("iss":1)", R"("iss":["a"])", R"("aud":1)", R"("aud":["a",1])", R"("aud":[["a"]])",
                            R"("aud":{"a":1})", R"("scope":["manage:users"])", R"("scope":null)",
                            R"("permissions":"manage:users")", R"("permissions":[1])", R"("permissions":[["x"]])"}) {
    INFO(extra);
    CHECK(outcome(*verifier, hs("{" + valid + "," + extra + "}")) == "bad_claims");
  }
  // The largest NumericDate still in range is accepted.
  CHECK(outcome(*verifier, hs("{" + base + R"(,"exp":253402300799})")) == "ok");
}

TEST_CASE("missing_exp: a token without exp is refused", "[jwt]") {
  auto verifier = hs256Verifier();
  JwtClaims claims = validClaims();
  claims.exp.reset();
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "missing_exp");
}

TEST_CASE("expired: exp passes until now reaches exp plus the leeway, to the millisecond", "[jwt]") {
  auto verifier = hs256Verifier();  // default leeway: 60 s
  auto token = [](std::int64_t exp) {
    JwtClaims claims = validClaims();
    claims.iat.reset();
    claims.exp = at(exp);
    return issueHs256Token(kSecret, claims);
  };
  CHECK(outcome(*verifier, token(kNow - 59)) == "ok");
  CHECK(outcome(*verifier, token(kNow - 60)) == "expired");
  CHECK(outcome(*verifier, token(kNow - 61)) == "expired");
  CHECK(outcome(verifier->verify(token(kNow - 60), at(kNow) - std::chrono::milliseconds(1))) == "ok");

  JwtVerifierOptions strict;
  strict.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  strict.leeway = std::chrono::seconds(0);
  auto exact = verifierFor(strict);
  CHECK(outcome(*exact, token(kNow + 1)) == "ok");
  CHECK(outcome(*exact, token(kNow)) == "expired");

  strict.leeway = std::chrono::seconds(300);
  auto lenient = verifierFor(strict);
  CHECK(outcome(*lenient, token(kNow - 299)) == "ok");
  CHECK(outcome(*lenient, token(kNow - 300)) == "expired");
}

TEST_CASE("expired: a fractional exp is compared to the millisecond", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string token = hs(R"({"sub":"usr_alice","exp":1749999940.5})");  // + 60 s = kNow + 0.5 s
  CHECK(outcome(verifier->verify(token, at(kNow) + std::chrono::milliseconds(499))) == "ok");
  CHECK(outcome(verifier->verify(token, at(kNow) + std::chrono::milliseconds(500))) == "expired");
}

TEST_CASE("not_yet_valid: nbf passes from nbf minus the leeway on, to the second", "[jwt]") {
  auto verifier = hs256Verifier();
  auto token = [](std::int64_t nbf) {
    JwtClaims claims = validClaims();
    claims.nbf = at(nbf);
    return issueHs256Token(kSecret, claims);
  };
  CHECK(outcome(*verifier, token(kNow)) == "ok");
  CHECK(outcome(*verifier, token(kNow + 60)) == "ok");
  CHECK(outcome(*verifier, token(kNow + 61)) == "not_yet_valid");
  CHECK(outcome(verifier->verify(token(kNow + 61), at(kNow + 1))) == "ok");

  JwtVerifierOptions strict;
  strict.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  strict.leeway = std::chrono::seconds(0);
  auto exact = verifierFor(strict);
  CHECK(outcome(*exact, token(kNow)) == "ok");
  CHECK(outcome(*exact, token(kNow + 1)) == "not_yet_valid");
  // A fractional nbf is rounded up: 0.001 s past now is still the future.
  CHECK(outcome(*exact, hs(R"({"sub":"usr_alice","exp":1750003600,"nbf":1750000000.001})")) == "not_yet_valid");
}

namespace {

std::string tokenIssuedAt(Timestamp iat) {
  JwtClaims claims = validClaims();
  claims.iat = iat;
  return issueHs256Token(kSecret, claims);
}

std::unique_ptr<TokenVerifier> verifierWithIatAllowance(std::chrono::seconds allowance) {
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  options.max_iat_ahead = allowance;
  return verifierFor(options);
}

}  // namespace

TEST_CASE("iat_in_future: by default an iat later than now is refused, whatever the leeway", "[jwt]") {
  auto verifier = hs256Verifier();  // leeway 60 s, max_iat_ahead 0
  auto at_now = verifier->verify(tokenIssuedAt(at(kNow)), at(kNow));
  REQUIRE(at_now.has_value());
  CHECK(*at_now->issued_at == at(kNow));
  CHECK(outcome(*verifier, tokenIssuedAt(at(kNow + 1))) == "iat_in_future");
  CHECK(outcome(*verifier, tokenIssuedAt(at(kNow + 55))) == "iat_in_future");
  // A fractional iat is rounded up: 1 ms past now is the future.
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600,"iat":1750000000.001})")) == "iat_in_future");
  CHECK(outcome(*verifier, tokenIssuedAt(at(0))) == "ok");  // old but unexpired tokens are the store's business (rule 1)
  // The exp/nbf leeway is unchanged: exp 59 s ago and nbf 59 s ahead still pass.
  JwtClaims skewed = validClaims();
  skewed.iat.reset();
  skewed.exp = at(kNow - 59);
  skewed.nbf = at(kNow + 59);
  CHECK(outcome(*verifier, issueHs256Token(kSecret, skewed)) == "ok");
}

TEST_CASE("iat_in_future: with an allowance A, iat up to now + A passes but counts as issued A earlier", "[jwt]") {
  auto verifier = verifierWithIatAllowance(std::chrono::seconds(30));
  auto at_edge = verifier->verify(tokenIssuedAt(at(kNow + 30)), at(kNow));
  REQUIRE(at_edge.has_value());
  CHECK(*at_edge->issued_at == at(kNow));  // iat - A
  CHECK(outcome(*verifier, tokenIssuedAt(at(kNow + 31))) == "iat_in_future");
  auto past = verifier->verify(tokenIssuedAt(at(kNow - 10)), at(kNow));
  REQUIRE(past.has_value());
  CHECK(*past->issued_at == at(kNow - 40));
}

TEST_CASE("max_iat_ahead must be between 0 and 24 h", "[jwt]") {
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  options.max_iat_ahead = std::chrono::seconds(-1);
  CHECK(setupError(options).fields.at(0).key == "max_iat_ahead");
  options.max_iat_ahead = std::chrono::seconds(86401);
  CHECK(setupError(options).fields.at(0).key == "max_iat_ahead");
  options.max_iat_ahead = std::chrono::seconds(86400);
  CHECK(makeJwtVerifier(options).has_value());
}

TEST_CASE("bad_issuer: a configured issuer must equal iss exactly", "[jwt]") {
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  options.issuer = "https://issuer.example";
  auto verifier = verifierFor(options);
  JwtClaims claims = validClaims();
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "bad_issuer");
  claims.iss = "https://issuer.example";
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "ok");
  claims.iss = "https://issuer.example/";
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "bad_issuer");
  claims.iss = "HTTPS://ISSUER.EXAMPLE";
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "bad_issuer");
  // Without a configured issuer any string iss is accepted.
  CHECK(outcome(*hs256Verifier(), issueHs256Token(kSecret, claims)) == "ok");
}

TEST_CASE("bad_audience: a configured audience must be aud or one of its entries", "[jwt]") {
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  options.audience = "useradmin";
  auto verifier = verifierFor(options);
  JwtClaims claims = validClaims();
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "bad_audience");
  claims.aud = {"useradmin"};
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "ok");
  claims.aud = {"billing", "useradmin"};
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "ok");
  claims.aud = {"billing"};
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "bad_audience");
  claims.aud = {"billing", "Useradmin"};
  CHECK(outcome(*verifier, issueHs256Token(kSecret, claims)) == "bad_audience");
  CHECK(outcome(*verifier, hs(R"({"sub":"usr_alice","exp":1750003600,"aud":[]})")) == "bad_audience");
  // Without a configured audience, aud is not matched.
  CHECK(outcome(*hs256Verifier(), issueHs256Token(kSecret, claims)) == "ok");
}

TEST_CASE("missing_sub and bad_sub: sub must be a valid user id", "[jwt]") {
  auto verifier = hs256Verifier();
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600})")) == "missing_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":123})")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":null})")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":""})")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":"usr alice"})")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":"usr/alice"})")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":"usr_\u00e9"})")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":")" + std::string(129, 'a') + "\"}")) == "bad_sub");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":")" + std::string(128, 'a') + "\"}")) == "ok");
  CHECK(outcome(*verifier, hs(R"({"exp":1750003600,"sub":"A-z.0_9~"})")) == "ok");
}

TEST_CASE("refusal details never contain the token, its signature or the secret", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string good = issueHs256Token(kSecret, validClaims());
  const std::string signature = good.substr(good.rfind('.') + 1);
  std::vector<std::string> tokens = {
      good.substr(0, good.size() - 2) + "AA",
      good + "x",
      hs(R"({"exp":1750003600})"),
      hs(R"({"sub":"usr_alice","exp":1})"),
      hs(R"({"sub":"usr_alice","exp":1750003600})", R"({"alg":"HS256","kid":"k9"})"),
      hs(R"({"sub":"usr_alice","exp":1750003600})", R"({"alg":"none"})"),
      signHs256Jws("wrong-secret-wrong-secret-wrong-secret!", kHeader, R"({"sub":"usr_alice","exp":1750003600})"),
  };
  for (const auto& token : tokens) {
    auto result = verifier->verify(token, at(kNow));
    REQUIRE_FALSE(result.has_value());
    const Error& error = result.error();
    INFO(error.reason << ": " << error.detail);
    CHECK_FALSE(error.detail.empty());
    CHECK(error.detail.find(token) == std::string::npos);
    CHECK(error.detail.find(token.substr(token.rfind('.') + 1, 20)) == std::string::npos);
    CHECK(error.detail.find(signature.substr(0, 20)) == std::string::npos);
    CHECK(error.detail.find(kSecret) == std::string::npos);
    CHECK(error.message == "invalid token");
  }
}

// ---------------------------------------------------------------------------
// Options.

TEST_CASE("makeJwtVerifier refuses unusable options with invalid_argument naming the problem", "[jwt]") {
  JwtVerifierOptions none;
  Error error = setupError(none);
  CHECK(error.code == ErrorCode::invalid_argument);
  CHECK(error.reason == "invalid_jwt_options");
  REQUIRE(error.fields.size() == 1);
  CHECK(error.fields[0].key == "keys");

  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(kSecret));
  options.leeway = std::chrono::seconds(-1);
  CHECK(setupError(options).fields.at(0).key == "leeway");
  options.leeway = std::chrono::seconds(86401);
  CHECK(setupError(options).fields.at(0).key == "leeway");
  options.leeway = std::chrono::seconds(60);
  options.max_token_size = 10;
  CHECK(setupError(options).fields.at(0).key == "max_token_size");
  options.max_token_size = 8192;
  options.issuer = "";
  CHECK(setupError(options).fields.at(0).key == "issuer");
  options.issuer.reset();
  options.audience = "";
  CHECK(setupError(options).fields.at(0).key == "audience");
  options.audience.reset();
  options.min_secret_size = 0;
  CHECK(setupError(options).fields.at(0).key == "min_secret_size");
}

TEST_CASE("an empty HS256 secret is always refused and a short one below min_secret_size", "[jwt]") {
  JwtVerifierOptions options;
  options.keys.push_back(JwtKeySource::hs256Secret(""));
  Error error = setupError(options);
  CHECK(error.code == ErrorCode::invalid_argument);
  CHECK(error.reason == "invalid_jwt_key");
  CHECK(error.fields.at(0).key == "keys[0]");
  CHECK(error.fields.at(0).message.find("empty") != std::string::npos);

  const std::string short_secret(31, 's');
  options.keys = {JwtKeySource::hs256Secret(short_secret)};
  error = setupError(options);
  CHECK(error.fields.at(0).message.find("31 bytes") != std::string::npos);
  CHECK(error.detail.find(short_secret) == std::string::npos);
  CHECK(error.fields.at(0).message.find(short_secret) == std::string::npos);

  options.keys = {JwtKeySource::hs256Secret(std::string(32, 's'))};
  CHECK(makeJwtVerifier(options).has_value());
  // Lowering the minimum admits a legacy secret, never an empty one.
  options.min_secret_size = 8;
  options.keys = {JwtKeySource::hs256Secret("legacy!!")};
  auto legacy = verifierFor(options);
  CHECK(outcome(*legacy, issueHs256Token("legacy!!", validClaims())) == "ok");
  options.keys = {JwtKeySource::hs256Secret("")};
  CHECK(setupError(options).reason == "invalid_jwt_key");
}

TEST_CASE("one verifier serves many threads at once", "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string good = issueHs256Token(kSecret, validClaims());
  const std::string bad = signHs256Jws("wrong-secret-wrong-secret-wrong-secret!", kHeader,
                                       R"({"sub":"usr_alice","exp":1750003600})");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (!verifier->verify(good, at(kNow))) ++failures[static_cast<std::size_t>(t)];
        if (verifier->verify(bad, at(kNow))) ++failures[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == std::vector<int>(4, 0));
}

TEST_CASE("a token verified before is checked again at every use: expiry, one changed byte, concurrent threads",
          "[jwt]") {
  auto verifier = hs256Verifier();
  const std::string token = issueHs256Token(kSecret, validClaims());
  REQUIRE(outcome(*verifier, token) == "ok");
  REQUIRE(outcome(*verifier, token) == "ok");  // the verified token again

  SECTION("its claims are checked against the time of each use") {
    CHECK(outcome(*verifier, token, kNow + 2 * 3600) == "expired");
    CHECK(outcome(*verifier, token) == "ok");
  }
  SECTION("a token one signature character away is refused as before") {
    std::string forged = token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    CHECK(outcome(*verifier, forged) == "bad_signature");
    CHECK(outcome(*verifier, token) == "ok");
  }
  SECTION("a verifier with another secret does not accept it") {
    JwtVerifierOptions options;
    options.keys.push_back(JwtKeySource::hs256Secret(kSecret + "-other"));
    auto other = verifierFor(options);
    CHECK(outcome(*other, token) == "bad_signature");
  }
  SECTION("threads verifying many tokens, good and forged, all get the answers of a full verification") {
    constexpr int kThreads = 4, kRounds = 400;
    std::vector<std::thread> threads;
    std::vector<int> wrong(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kRounds; ++i) {
          JwtClaims claims = validClaims();
          claims.sub = "usr_" + std::to_string((t * kRounds + i) % 1500);  // repeats across threads
          const std::string mine = issueHs256Token(kSecret, claims);
          std::string forged = mine;
          forged.back() = forged.back() == 'A' ? 'B' : 'A';
          auto good = verifier->verify(mine, at(kNow));
          if (!good || good->subject != claims.sub) ++wrong[static_cast<std::size_t>(t)];
          if (verifier->verify(forged, at(kNow))) ++wrong[static_cast<std::size_t>(t)];
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) CHECK(wrong[static_cast<std::size_t>(t)] == 0);
  }
}
