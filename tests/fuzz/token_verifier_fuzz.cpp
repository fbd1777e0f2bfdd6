// Raw bytes as a bearer token, against a verifier that trusts an HS256
// secret (kid "hs"), an ES256 key (kid "ec") and an Ed25519 key (no kid),
// with an issuer and an audience configured. Checks what makeJwtVerifier
// promises about every answer (lib/jwt/include/useradmin/jwt/jwt_verifier.hpp).
#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"

namespace {

using namespace useradmin;

// Every refusal reason the verifier documents.
constexpr std::array<std::string_view, 17> kReasons = {
    "too_large",     "malformed",     "bad_header",    "alg_none",         "crit_unsupported", "unknown_kid",
    "alg_not_allowed", "bad_signature", "bad_claims",  "missing_exp",      "expired",          "not_yet_valid",
    "issued_in_future", "bad_issuer", "bad_audience",  "missing_sub",      "bad_sub"};

const TokenVerifier& verifier() {
  static const std::unique_ptr<TokenVerifier> instance = [] {
    JwtVerifierOptions options;
    options.keys.push_back(JwtKeySource::hs256Secret(std::string(fuzz::kHs256Secret), "hs"));
    options.keys.push_back(JwtKeySource::publicKeyPem(std::string(fuzz::kEs256PublicPem), "ec"));
    options.keys.push_back(JwtKeySource::publicKeyPem(std::string(fuzz::kEd25519PublicPem)));
    options.issuer = "https://issuer.example";
    options.audience = "useradmin";
    options.max_token_size = 2048;
    auto made = makeJwtVerifier(options);
    if (!made) fuzz::fail("the harness's verifier options are refused", made.error().detail);
    return std::move(made).value();
  }();
  return *instance;
}

bool isBase64url(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// The third of three dot-separated segments, or empty.
std::string_view signatureSegment(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return {};
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return {};
  return token.substr(second + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token = fuzz::asText(data, size);
  const auto now = fuzz::fuzzNow();
  auto result = verifier().verify(token, now);
  if (result) {
    fuzz::check(isValidId(result->subject), "accepted token with an invalid sub", result->subject);
    fuzz::check(now < result->expires_at + std::chrono::seconds(60), "accepted an expired token");
    fuzz::check(!result->issued_at || *result->issued_at < now + std::chrono::seconds(60),
                "accepted a token issued in the future");
    return 0;
  }
  const Error& error = result.error();
  if (error.code == ErrorCode::internal) return 0;  // OpenSSL itself failed
  fuzz::check(error.code == ErrorCode::unauthenticated, "refusal is not unauthenticated", error.reason);
  fuzz::check(error.message == "invalid token", "refusal message is not the generic one", error.message);
  fuzz::check(std::find(kReasons.begin(), kReasons.end(), error.reason) != kReasons.end(),
              "refusal reason is not documented", error.reason);
  // The detail goes to the log: it must never echo the signature. (Only a
  // long base64url run counts: the detail's own words, spaces between them,
  // match a short or spaced "signature" by chance; real ones have 43+.)
  const std::string_view signature = signatureSegment(token);
  fuzz::check(signature.size() < 24 || !isBase64url(signature) || error.detail.find(signature) == std::string::npos,
              "detail contains the signature", error.detail);
  return 0;
}
