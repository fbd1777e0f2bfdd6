// JWT verification cost per algorithm (Google Benchmark).
//
// The RS256/ES256/EdDSA tokens and keys are the ones tests/jwt/vectors/
// holds (made with the openssl command line); HS256 tokens are issued here.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "useradmin/jwt/jwt_issuer.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"

namespace {

using namespace useradmin;

constexpr std::int64_t kNow = 1750000000;
const std::string kSecret = "bench-secret-0123456789-abcdefghijklmnop";

Timestamp now() { return timestampFromMillis(kNow * 1000); }

// tests/jwt/vectors/, found from this file's own path.
std::string vectorsDir() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind("bench/")) + "tests/jwt/vectors/";
}

std::string readToken(const std::string& name) {
  std::ifstream in(vectorsDir() + name, std::ios::binary);
  std::string token;
  std::getline(in, token);
  return token;
}

std::unique_ptr<TokenVerifier> makeVerifier(std::vector<JwtKeySource> keys) {
  JwtVerifierOptions options;
  options.keys = std::move(keys);
  auto made = makeJwtVerifier(options);
  return made ? std::move(made.value()) : nullptr;
}

const TokenVerifier* sharedVerifier() {
  static const std::unique_ptr<TokenVerifier> verifier = makeVerifier(
      {JwtKeySource::hs256Secret(kSecret), JwtKeySource::jwksFile(vectorsDir() + "jwks.json")});
  return verifier.get();
}

std::string hs256Token() {
  JwtClaims claims;
  claims.sub = "usr_123456789";
  claims.iat = now();
  claims.exp = now() + std::chrono::hours(1);
  claims.iss = "https://issuer.example";
  claims.aud = {"useradmin"};
  claims.scope = "manage:users read:users";
  return issueHs256Token(kSecret, claims);
}

void runVerify(benchmark::State& state, const std::string& token, bool expect_ok) {
  const TokenVerifier* verifier = sharedVerifier();
  if (verifier == nullptr || token.empty()) {
    state.SkipWithError("setup failed (are tests/jwt/vectors/ present?)");
    return;
  }
  if (static_cast<bool>(verifier->verify(token, now())) != expect_ok) {
    state.SkipWithError("unexpected verification outcome");
    return;
  }
  for (auto _ : state) {
    auto result = verifier->verify(token, now());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_JwtVerifyHs256(benchmark::State& state) { runVerify(state, hs256Token(), true); }
void BM_JwtVerifyRs256(benchmark::State& state) { runVerify(state, readToken("rs256.kid.jwt"), true); }
void BM_JwtVerifyEs256(benchmark::State& state) { runVerify(state, readToken("es256.kid.jwt"), true); }
void BM_JwtVerifyEdDsa(benchmark::State& state) { runVerify(state, readToken("eddsa.kid.jwt"), true); }

// Refusals: a forged HS256 signature (full MAC, then refused) and a token
// refused on its header before any cryptography.
void BM_JwtRejectHs256BadSignature(benchmark::State& state) {
  std::string token = hs256Token();
  token.replace(token.size() - 4, 4, "AAAA");
  runVerify(state, token, false);
}
void BM_JwtRejectAlgNone(benchmark::State& state) {
  const std::string token = hs256Token();
  runVerify(state, base64urlEncode(R"({"alg":"none"})") + token.substr(token.find('.'), token.rfind('.') - token.find('.') + 1),
            false);
}

void BM_JwtIssueHs256(benchmark::State& state) {
  for (auto _ : state) {
    auto token = hs256Token();
    benchmark::DoNotOptimize(token);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_JwtMakeVerifierFromJwks(benchmark::State& state) {
  for (auto _ : state) {
    auto verifier = makeVerifier({JwtKeySource::jwksFile(vectorsDir() + "jwks.json")});
    benchmark::DoNotOptimize(verifier);
  }
}

}  // namespace

BENCHMARK(BM_JwtVerifyHs256)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_JwtVerifyRs256)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_JwtVerifyEs256)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_JwtVerifyEdDsa)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_JwtRejectHs256BadSignature);
BENCHMARK(BM_JwtRejectAlgNone);
BENCHMARK(BM_JwtIssueHs256);
BENCHMARK(BM_JwtMakeVerifierFromJwks);
