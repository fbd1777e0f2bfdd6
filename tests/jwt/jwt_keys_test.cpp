// Key configuration: PEM, JWKS and secret files; the algorithm comes from the
// key; alg confusion is impossible; loading errors name the problem.
#include <filesystem>
#include <fstream>
#include <string>

#include "../../lib/jwt/base64url.hpp"
#include "../../lib/jwt/keys.hpp"
#include "jwt/jwt_test_support.hpp"

using namespace jwt_test;

namespace {

const std::string kClaims = R"({"sub":"usr_alice","exp":1750003600})";

std::string scratchFile(const std::string& name, const std::string& content) {
  const std::string path = std::string(USERADMIN_TEST_BINARY_DIR) + "/jwt_keys_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path;
}

Error jwksError(const std::string& jwks) {
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::jwks(jwks)};
  return setupError(options);
}

JwtAlgorithm algOf(const JwtKeySource& source) {
  auto keys = detail::loadKeys({source}, 32);
  if (!keys) FAIL(keys.error().detail);
  REQUIRE(keys->size() == 1);
  return keys->front().alg();
}

// The JWKS entries the script made, taken apart for mutation.
std::string vectorJwk(const std::string& kid) {
  const std::string jwks = readFile(vectorsDir() + "jwks.json");
  const std::size_t at_kid = jwks.find("\"kid\":\"" + kid + "\"");
  REQUIRE(at_kid != std::string::npos);
  const std::size_t begin = jwks.rfind('{', at_kid);
  const std::size_t end = jwks.find('}', at_kid);
  return jwks.substr(begin, end - begin + 1);
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

}  // namespace

TEST_CASE("a PEM public key fixes its algorithm from the key type", "[jwt][keys]") {
  const std::string dir = vectorsDir();
  CHECK(algOf(JwtKeySource::publicKeyPemFile(dir + "rs256.pub.pem")) == JwtAlgorithm::rs256);
  CHECK(algOf(JwtKeySource::publicKeyPemFile(dir + "rs256.pkcs1.pem")) == JwtAlgorithm::rs256);
  CHECK(algOf(JwtKeySource::publicKeyPemFile(dir + "rs256.cert.pem")) == JwtAlgorithm::rs256);
  CHECK(algOf(JwtKeySource::publicKeyPemFile(dir + "es256.pub.pem")) == JwtAlgorithm::es256);
  CHECK(algOf(JwtKeySource::publicKeyPem(readFile(dir + "eddsa.pub.pem"))) == JwtAlgorithm::eddsa);
  CHECK(algOf(JwtKeySource::hs256Secret(kSecret)) == JwtAlgorithm::hs256);
  CHECK(std::string(toString(JwtAlgorithm::eddsa)) == "EdDSA");
}

TEST_CASE("alg confusion: RS256 public key bytes used as an HS256 secret never verify", "[jwt][keys]") {
  const std::string pem = readFile(vectorsDir() + "rs256.pub.pem");
  // The classic attack: sign with HMAC keyed by the public key the server trusts.
  const std::string forged = signHs256Jws(pem, R"({"alg":"HS256","typ":"JWT"})", kClaims);
  const std::string forged_kid = signHs256Jws(pem, R"({"alg":"HS256","kid":"rsa-1"})", kClaims);

  JwtVerifierOptions options;
  options.keys = {JwtKeySource::publicKeyPem(pem, "rsa-1")};
  auto verifier = verifierFor(options);
  CHECK(outcome(*verifier, forged) == "alg_not_allowed");
  CHECK(outcome(*verifier, forged_kid) == "alg_not_allowed");
  // Claiming RS256 with an HMAC-sized signature fails on length, not on luck.
  const std::string relabelled = signHs256Jws(pem, R"({"alg":"RS256","typ":"JWT"})", kClaims);
  CHECK(outcome(*verifier, relabelled) == "bad_signature");

  options.keys = {JwtKeySource::jwksFile(vectorsDir() + "jwks.json")};
  auto from_jwks = verifierFor(options);
  CHECK(outcome(*from_jwks, forged_kid) == "alg_not_allowed");
  // The JWKS also holds an HS256 key (hs-1); still the PEM is not a secret.
  CHECK(outcome(*from_jwks, forged) == "bad_signature");
}

TEST_CASE("alg confusion: a token cannot move an asymmetric key to another algorithm", "[jwt][keys]") {
  const std::string dir = vectorsDir();
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::publicKeyPemFile(dir + "es256.pub.pem", "ec-1")};
  auto verifier = verifierFor(options);
  const std::string es = readToken(dir + "es256.kid.jwt");
  const std::string body = es.substr(es.find('.'));
  for (const char* alg : {"RS256", "EdDSA", "HS256", "ES384"}) {
    INFO(alg);
    const std::string header = base64urlEncode(std::string(R"({"alg":")") + alg + R"(","kid":"ec-1"})");
    CHECK(outcome(*verifier, header + body) == "alg_not_allowed");
  }
}

TEST_CASE("a secret file has its trailing newline stripped, and nothing else", "[jwt][keys]") {
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::hs256SecretFile(scratchFile("crlf.secret", kSecret + "\r\n"))};
  CHECK(outcome(*verifierFor(options), issueHs256Token(kSecret, validClaims())) == "ok");

  options.keys = {JwtKeySource::hs256SecretFile(scratchFile("space.secret", kSecret + " \n"))};
  CHECK(outcome(*verifierFor(options), issueHs256Token(kSecret, validClaims())) == "bad_signature");

  options.keys = {JwtKeySource::hs256SecretFile(scratchFile("empty.secret", "\n"))};
  const Error error = setupError(options);
  CHECK(error.reason == "invalid_jwt_key");
  CHECK(error.fields.at(0).message.find("empty") != std::string::npos);
}

TEST_CASE("an unreadable key file is refused with the file named", "[jwt][keys]") {
  const std::string missing = std::string(USERADMIN_TEST_BINARY_DIR) + "/no/such/key.pem";
  for (const auto& source : {JwtKeySource::hs256SecretFile(missing), JwtKeySource::publicKeyPemFile(missing),
                             JwtKeySource::jwksFile(missing)}) {
    JwtVerifierOptions options;
    options.keys = {JwtKeySource::hs256Secret(kSecret), source};
    const Error error = setupError(options);
    CHECK(error.code == ErrorCode::invalid_argument);
    CHECK(error.reason == "invalid_jwt_key");
    CHECK(error.fields.at(0).key == "keys[1]");
    CHECK(error.fields.at(0).value == missing);
    CHECK(error.fields.at(0).message.find("cannot open file") != std::string::npos);
  }
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::publicKeyPemFile("")};
  CHECK(setupError(options).fields.at(0).message.find("no file name") != std::string::npos);
}

TEST_CASE("PEM text that is not exactly one public key is refused with the reason", "[jwt][keys]") {
  const std::string pub = readFile(vectorsDir() + "rs256.pub.pem");
  auto problem = [](const std::string& pem) {
    JwtVerifierOptions options;
    options.keys = {JwtKeySource::publicKeyPem(pem)};
    const Error error = setupError(options);
    CHECK(error.reason == "invalid_jwt_key");
    return error.fields.at(0).message;
  };
  CHECK(problem("").find("no PEM block") != std::string::npos);
  CHECK(problem("hello").find("no PEM block") != std::string::npos);
  CHECK(problem(pub + pub).find("exactly one PEM block") != std::string::npos);
  CHECK(problem("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n")
            .find("private key") != std::string::npos);
  CHECK(problem("-----BEGIN EC PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END EC PRIVATE KEY-----\n")
            .find("private key") != std::string::npos);
  CHECK(problem("-----BEGIN FOO-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END FOO-----\n").find("unsupported PEM block") !=
        std::string::npos);
  CHECK(problem("-----BEGIN PUBLIC KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PUBLIC KEY-----\n")
            .find("cannot decode") != std::string::npos);
  CHECK(problem(readFile(vectorsDir() + "rs1024.pub.pem")).find("1024 bits") != std::string::npos);
  CHECK(problem(readFile(vectorsDir() + "es384.pub.pem")).find("P-256") != std::string::npos);
  CHECK(problem(readFile(vectorsDir() + "ed448.pub.pem")).find("Ed448") != std::string::npos);
}

TEST_CASE("JWKS keys are fixed by kty and crv, and alg may only confirm it", "[jwt][keys]") {
  const std::string rsa = vectorJwk("rsa-1");
  const std::string ec = vectorJwk("ec-1");
  const std::string ed = vectorJwk("ed-1");
  auto set = [](const std::string& keys) { return "{\"keys\":[" + keys + "]}"; };
  CHECK(algOf(JwtKeySource::jwks(set(replaceAll(rsa, R"("alg":"RS256",)", "")))) == JwtAlgorithm::rs256);
  CHECK(algOf(JwtKeySource::jwks(set(ec))) == JwtAlgorithm::es256);
  CHECK(algOf(JwtKeySource::jwks(set(ed))) == JwtAlgorithm::eddsa);

  // An alg of another family contradicts the key type: an error.
  Error error = jwksError(set(replaceAll(rsa, "\"RS256\"", "\"ES256\"")));
  CHECK(error.reason == "invalid_jwt_key");
  CHECK(error.fields.at(0).message.find("does not match key type RSA") != std::string::npos);
  CHECK(error.fields.at(0).key.find("rsa-1") != std::string::npos);
  CHECK(jwksError(set(replaceAll(ed, "\"EdDSA\"", "\"HS256\""))).fields.at(0).message.find("does not match") !=
        std::string::npos);
  // An unsupported alg of the right family only makes the key unusable here.
  const std::string rs384 = replaceAll(rsa, "\"RS256\"", "\"RS384\"");
  CHECK(algOf(JwtKeySource::jwks(set(rs384 + "," + ec))) == JwtAlgorithm::es256);
  error = jwksError(set(rs384));
  CHECK(error.fields.at(0).message.find("no usable signing key") != std::string::npos);
  CHECK(error.fields.at(0).message.find("RS384") != std::string::npos);
}

TEST_CASE("JWKS keys not meant for verifying signatures are ignored", "[jwt][keys]") {
  const std::string ec = vectorJwk("ec-1");
  const std::string rsa = vectorJwk("rsa-1");
  const std::string rsa_enc = replaceAll(rsa, R"("use":"sig")", R"("use":"enc")");
  const std::string rsa_ops = replaceAll(rsa, R"("use":"sig")", R"("key_ops":["encrypt"])");
  const std::string p384 = R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"})";
  const std::string x25519 = R"({"kty":"OKP","crv":"X25519","x":"AA"})";
  const std::string unknown = R"({"kty":"AKP","x":"AA"})";
  for (const auto& other : {rsa_enc, rsa_ops, p384, x25519, unknown}) {
    INFO(other);
    CHECK(algOf(JwtKeySource::jwks("{\"keys\":[" + other + "," + ec + "]}")) == JwtAlgorithm::es256);
  }
  const std::string rsa_verify = replaceAll(rsa, R"("use":"sig")", R"("key_ops":["verify"])");
  CHECK(algOf(JwtKeySource::jwks("{\"keys\":[" + rsa_verify + "]}")) == JwtAlgorithm::rs256);
}

TEST_CASE("a JWKS whose keys are broken is refused with the key named", "[jwt][keys]") {
  const std::string ec = vectorJwk("ec-1");
  const std::string rsa = vectorJwk("rsa-1");
  auto message = [](const std::string& jwks) { return jwksError(jwks).fields.at(0).message; };
  CHECK(message("not json").find("not valid JSON") != std::string::npos);
  CHECK(message(R"({"kty":"EC"})").find("\"keys\" array") != std::string::npos);
  CHECK(message(R"({"keys":{}})").find("\"keys\" array") != std::string::npos);
  CHECK(message(R"({"keys":[]})").find("no usable signing key") != std::string::npos);
  CHECK(message(R"({"keys":[1]})").find("not a JSON object") != std::string::npos);
  CHECK(message(R"({"keys":[{"n":"AA"}]})").find("\"kty\" is missing") != std::string::npos);
  CHECK(message(R"({"keys":[{"kty":1}]})").find("\"kty\" is not a string") != std::string::npos);
  CHECK(message(R"({"keys":[{"kty":"EC","x":"AA","y":"AA"}]})").find("\"crv\" is missing") != std::string::npos);
  CHECK(message(R"({"keys":[{"kty":"RSA","e":"AQAB"}]})").find("\"n\" is missing") != std::string::npos);
  CHECK(message(R"({"keys":[{"kty":"RSA","n":"AQAB=","e":"AQAB"}]})").find("base64url") != std::string::npos);
  CHECK(message(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]})").find("32 bytes") != std::string::npos);
  CHECK(message("{\"keys\":[" + replaceAll(ec, "\"x\":\"", "\"x\":\"AA") + "]}").find("base64url") !=
        std::string::npos);
  // y is replaced by x: almost surely not a point on the curve.
  const std::size_t x_at = ec.find("\"x\":\"") + 5;
  const std::string x = ec.substr(x_at, ec.find('"', x_at) - x_at);
  const std::size_t y_at = ec.find("\"y\":\"") + 5;
  const std::string y = ec.substr(y_at, ec.find('"', y_at) - y_at);
  const std::string off_curve = message("{\"keys\":[" + replaceAll(ec, y, x) + "]}");
  INFO(off_curve);
  CHECK((off_curve.find("fails validation") != std::string::npos ||
         off_curve.find("refuses the key") != std::string::npos));
  // Private key material does not belong in a verifier's configuration.
  CHECK(message("{\"keys\":[" + replaceAll(ec, "\"crv\"", "\"d\":\"AA\",\"crv\"") + "]}").find("private key") !=
        std::string::npos);
  CHECK(message("{\"keys\":[" + replaceAll(rsa, "\"e\"", "\"p\":\"AA\",\"e\"") + "]}").find("private key") !=
        std::string::npos);
  // An `oct` key is a secret like any other.
  CHECK(message(R"({"keys":[{"kty":"oct","k":"c2hvcnQ"}]})").find("at least 32") != std::string::npos);
  CHECK(message(R"({"keys":[{"kty":"oct"}]})").find("\"k\" is missing") != std::string::npos);
}

TEST_CASE("a JWK with an empty kid is treated as having none", "[jwt][keys]") {
  const std::string k = detail::base64urlEncode(kSecret);
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::jwks(R"({"keys":[{"kty":"oct","kid":"","k":")" + k + "\"}]}")};
  auto verifier = verifierFor(options);
  CHECK(outcome(*verifier, signHs256Jws(kSecret, R"({"alg":"HS256"})", kClaims)) == "ok");
  CHECK(outcome(*verifier, signHs256Jws(kSecret, R"({"alg":"HS256","kid":""})", kClaims)) == "unknown_kid");
}

TEST_CASE("keys from several sources combine, and errors name the failing source", "[jwt][keys]") {
  const std::string dir = vectorsDir();
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::hs256Secret(kSecret), JwtKeySource::publicKeyPemFile(dir + "es256.pub.pem"),
                  JwtKeySource::jwksFile(dir + "jwks.json")};
  auto verifier = verifierFor(options);
  CHECK(outcome(*verifier, issueHs256Token(kSecret, validClaims())) == "ok");
  CHECK(outcome(*verifier, readToken(dir + "rs256.kid.jwt")) == "ok");
  CHECK(outcome(*verifier, readToken(dir + "es256.jwt")) == "ok");

  options.keys.push_back(JwtKeySource::publicKeyPemFile(dir + "rs1024.pub.pem"));
  const Error error = setupError(options);
  CHECK(error.fields.at(0).key == "keys[3] (" + dir + "rs1024.pub.pem)");
  CHECK(error.detail.find("keys[3]") != std::string::npos);
}
