#include "jws.hpp"

#include <utility>

#include "base64url.hpp"
#include "flat_json.hpp"

namespace useradmin::detail {
namespace {

Error reject(const char* reason, std::string detail) { return Error::unauthenticated(reason, std::move(detail)); }

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// RFC 7519 §5.1 recommends "JWT"; RFC 9068 uses "at+jwt" for access tokens;
// RFC 7515 §4.1.9 allows the "application/" prefix to be written or not and
// media types are case-insensitive. Anything else is another kind of object
// (e.g. a logout token or an ID token of another profile) and is refused.
bool acceptableTyp(std::string_view typ) noexcept {
  constexpr std::string_view kPrefix = "application/";
  if (typ.size() > kPrefix.size() && equalsIgnoreCase(typ.substr(0, kPrefix.size()), kPrefix)) {
    typ.remove_prefix(kPrefix.size());
  }
  return equalsIgnoreCase(typ, "JWT") || equalsIgnoreCase(typ, "at+jwt");
}

bool parseAlg(std::string_view name, JwtAlgorithm& alg) noexcept {
  // JOSE algorithm names are case-sensitive (RFC 7515 §4.1.1).
  if (name == "HS256") alg = JwtAlgorithm::hs256;
  else if (name == "RS256") alg = JwtAlgorithm::rs256;
  else if (name == "ES256") alg = JwtAlgorithm::es256;
  else if (name == "EdDSA") alg = JwtAlgorithm::eddsa;
  else return false;
  return true;
}

// A token-supplied string made safe for a log line: printable ASCII only,
// at most 64 characters.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const char c = text[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace

Result<VerifiedJws> verifyJwsSignature(const std::vector<VerificationKey>& keys, std::string_view token,
                                       std::size_t max_token_size) {
  if (token.size() > max_token_size) {
    return reject("too_large", "token has " + std::to_string(token.size()) + " bytes; the limit is " +
                                   std::to_string(max_token_size));
  }

  // Structure: exactly three segments, canonical base64url, nothing else.
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return reject("malformed", "a JWS compact token has exactly three segments");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);
  if (header_b64.empty() || payload_b64.empty()) {
    return reject("malformed", "empty header or payload segment (detached payloads are not supported)");
  }
  std::string header_json, payload, signature;
  if (!base64urlDecode(header_b64, header_json)) return reject("malformed", "header is not canonical base64url");
  if (!base64urlDecode(payload_b64, payload)) return reject("malformed", "payload is not canonical base64url");
  if (!base64urlDecode(signature_b64, signature)) {
    return reject("malformed", "signature is not canonical base64url");
  }

  // Header.
  FlatObject header;
  if (const FlatJsonError e = parseFlatObject(header_json, kMaxHeaderDepth, header); e != FlatJsonError::none) {
    return reject("bad_header", std::string("header: ") + describe(e));
  }
  const JsonField* alg_field = header.find("alg");
  if (alg_field == nullptr) return reject("bad_header", "header has no alg");
  if (alg_field->type != JsonField::Type::string) return reject("bad_header", "header alg is not a string");
  const JsonField* kid = header.find("kid");
  if (kid != nullptr && kid->type != JsonField::Type::string) return reject("bad_header", "header kid is not a string");
  if (equalsIgnoreCase(alg_field->text, "none")) return reject("alg_none", "unsecured JWS (alg none) refused");
  // No extension is understood, so any `crit` must be refused (RFC 7515 §4.1.11).
  if (header.find("crit") != nullptr) return reject("crit_unsupported", "header has crit; no extension is supported");
  if (const JsonField* typ = header.find("typ")) {
    if (typ->type != JsonField::Type::string || !acceptableTyp(typ->text)) {
      return reject("bad_header", "header typ is not JWT or at+jwt");
    }
  }

  JwtAlgorithm alg;
  if (!parseAlg(alg_field->text, alg)) {
    return reject("alg_not_allowed", "unsupported alg \"" + printable(alg_field->text) + "\"");
  }

  // Key selection: the header may only pick among configured keys, and a
  // key is only ever used with the algorithm it was loaded for. Trying every
  // matching key bounds the work a forged token causes by the key count, so
  // that is capped too (tokens should carry a `kid` when many keys share an
  // algorithm).
  bool kid_matched = false;
  bool length_ok = false;
  std::size_t attempts = 0;
  std::size_t expected_size = 0;
  for (const VerificationKey& key : keys) {
    if (kid != nullptr) {
      if (!key.hasKid() || key.kid() != kid->text) continue;
      kid_matched = true;
    }
    if (key.alg() != alg) continue;
    if (attempts == kMaxSignatureAttempts) break;
    ++attempts;
    expected_size = key.signatureSize();
    if (signature.size() != expected_size) continue;
    length_ok = true;
    switch (key.verify(signing_input, signature)) {
      case SignatureCheck::valid: return VerifiedJws{alg, std::move(payload), &key};
      case SignatureCheck::invalid: break;
      case SignatureCheck::internal_error: return Error::internal("OpenSSL failed while verifying a signature");
    }
  }
  if (kid != nullptr && !kid_matched) {
    return reject("unknown_kid", "no configured key has kid \"" + printable(kid->text) + "\"");
  }
  if (attempts == 0) {
    return reject("alg_not_allowed", std::string("no configured key") + (kid ? " with this kid" : "") +
                                         " is fixed to " + toString(alg));
  }
  if (!length_ok) {
    return reject("bad_signature", std::string(toString(alg)) + " signature has " +
                                       std::to_string(signature.size()) + " bytes; expected " +
                                       std::to_string(expected_size));
  }
  return reject("bad_signature", std::string(toString(alg)) + " signature does not verify");
}

}  // namespace useradmin::detail
