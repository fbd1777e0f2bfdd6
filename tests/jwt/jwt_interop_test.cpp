// Tokens made by an independent implementation, the `openssl` command line
// (tests/jwt/vectors/make_vectors.sh): the checked-in set always, and a fresh
// set made at test time when openssl and basenc are available.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "jwt/jwt_test_support.hpp"

using namespace jwt_test;

namespace {

constexpr std::int64_t kVectorExp = 4102444800;  // 2100-01-01, as the script writes

std::string token(const std::string& dir, const std::string& name) { return readToken(dir + name + ".jwt"); }

void checkVectorDirectory(const std::string& dir) {
  const std::vector<std::string> algs = {"hs256", "rs256", "es256", "eddsa"};

  SECTION("public keys from PEM files and the secret from its file verify the tokens without a kid") {
    JwtVerifierOptions options;
    options.keys = {JwtKeySource::hs256SecretFile(dir + "hs256.secret"),
                    JwtKeySource::publicKeyPemFile(dir + "rs256.pub.pem"),
                    JwtKeySource::publicKeyPemFile(dir + "es256.pub.pem"),
                    JwtKeySource::publicKeyPemFile(dir + "eddsa.pub.pem")};
    options.issuer = "https://issuer.example";
    options.audience = "useradmin";
    auto verifier = verifierFor(options);
    for (const auto& alg : algs) {
      INFO(alg);
      auto result = verifier->verify(token(dir, alg), at(kNow));
      REQUIRE(outcome(result) == "ok");
      CHECK(result->subject == "usr_interop");
      CHECK(*result->issued_at == at(1700000000));
      CHECK(result->expires_at == at(kVectorExp));
      CHECK(*result->scopes == std::vector<std::string>{"manage:users", "read:users"});
      // The PEM keys were configured without a kid, so a kid matches nothing.
      CHECK(outcome(*verifier, token(dir, alg + ".kid")) == "unknown_kid");
      CHECK(outcome(*verifier, token(dir, alg), kVectorExp + 60) == "expired");
    }
  }

  SECTION("PEM keys configured with a kid verify the tokens that name it") {
    JwtVerifierOptions options;
    options.keys = {JwtKeySource::hs256SecretFile(dir + "hs256.secret", "hs-1"),
                    JwtKeySource::publicKeyPem(readFile(dir + "rs256.pub.pem"), "rsa-1"),
                    JwtKeySource::publicKeyPem(readFile(dir + "es256.pub.pem"), "ec-1"),
                    JwtKeySource::publicKeyPem(readFile(dir + "eddsa.pub.pem"), "ed-1")};
    auto verifier = verifierFor(options);
    for (const auto& alg : algs) {
      INFO(alg);
      CHECK(outcome(*verifier, token(dir, alg + ".kid")) == "ok");
      CHECK(outcome(*verifier, token(dir, alg)) == "ok");
    }
  }

  SECTION("the JWKS verifies every token, with or without a kid") {
    JwtVerifierOptions options;
    options.keys = {JwtKeySource::jwksFile(dir + "jwks.json")};
    auto verifier = verifierFor(options);
    for (const auto& alg : algs) {
      INFO(alg);
      CHECK(outcome(*verifier, token(dir, alg + ".kid")) == "ok");
      CHECK(outcome(*verifier, token(dir, alg)) == "ok");
    }
  }

  SECTION("the RSA key as PKCS#1 PEM and as a certificate verifies the RS256 token") {
    for (const char* file : {"rs256.pkcs1.pem", "rs256.cert.pem"}) {
      INFO(file);
      JwtVerifierOptions options;
      options.keys = {JwtKeySource::publicKeyPemFile(dir + file)};
      auto verifier = verifierFor(options);
      CHECK(outcome(*verifier, token(dir, "rs256")) == "ok");
      CHECK(outcome(*verifier, token(dir, "es256")) == "alg_not_allowed");
    }
  }

  SECTION("keys of unsupported strength or curve are refused at setup") {
    for (const char* file : {"rs1024.pub.pem", "es384.pub.pem", "ed448.pub.pem"}) {
      INFO(file);
      JwtVerifierOptions options;
      options.keys = {JwtKeySource::publicKeyPemFile(dir + file)};
      const Error error = setupError(options);
      CHECK(error.code == ErrorCode::invalid_argument);
      CHECK(error.reason == "invalid_jwt_key");
      CHECK(error.fields.at(0).key.find(file) != std::string::npos);
    }
  }

  SECTION("a token signed by one key does not verify under another of the same algorithm") {
    // Swap the signatures of the RS256 and ES256 tokens with their kid twins'
    // headers: same key, so they still verify; but an ES256 signature never
    // verifies as RS256 and vice versa.
    const std::string rs = token(dir, "rs256");
    const std::string es = token(dir, "es256");
    JwtVerifierOptions options;
    options.keys = {JwtKeySource::jwksFile(dir + "jwks.json")};
    auto verifier = verifierFor(options);
    CHECK(outcome(*verifier, rs.substr(0, rs.rfind('.')) + es.substr(es.rfind('.'))) == "bad_signature");
    CHECK(outcome(*verifier, es.substr(0, es.rfind('.')) + rs.substr(rs.rfind('.'))) == "bad_signature");
  }
}

}  // namespace

TEST_CASE("tokens made with the openssl command line (checked in) verify", "[jwt][interop]") {
  checkVectorDirectory(vectorsDir());
}

TEST_CASE("tokens made with the openssl command line at test time verify", "[jwt][interop][openssl]") {
  if (std::system("command -v openssl >/dev/null 2>&1 && command -v basenc >/dev/null 2>&1") != 0) {
    WARN("openssl or basenc not on PATH; only the checked-in vectors were verified");
    return;
  }
  static const std::string dir = [] {
    const std::string path = std::string(USERADMIN_TEST_BINARY_DIR) + "/jwt_fresh_vectors/";
    std::filesystem::remove_all(path);
    const std::string command = "bash '" + vectorsDir() + "make_vectors.sh' '" + path + "' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    return path;
  }();
  checkVectorDirectory(dir);
}

TEST_CASE("one verifier checks tokens of every algorithm from many threads at once", "[jwt][interop]") {
  const std::string dir = vectorsDir();
  JwtVerifierOptions options;
  options.keys = {JwtKeySource::jwksFile(dir + "jwks.json")};
  auto verifier = verifierFor(options);
  std::vector<std::string> good, bad;
  for (const char* alg : {"hs256", "rs256", "es256", "eddsa"}) {
    good.push_back(token(dir, std::string(alg) + ".kid"));
    std::string forged = good.back();
    forged[forged.find('.') + 5] ^= 0x01;  // a payload change the signature does not cover
    bad.push_back(forged);
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        for (std::size_t k = 0; k < good.size(); ++k) {
          const std::size_t which = (k + t) % good.size();
          if (!verifier->verify(good[which], at(kNow))) ++failures[t];
          if (verifier->verify(bad[which], at(kNow))) ++failures[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == std::vector<int>(4, 0));
}
