#include "jwks.hpp"

#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "base64url.hpp"

namespace useradmin::detail {
namespace {

namespace json = boost::json;

struct BnDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

constexpr std::size_t kP256CoordinateSize = 32;
constexpr std::size_t kEd25519KeySize = 32;

// What a JWK's `kty`/`crv` allow.
enum class Family { rsa, ec, okp, oct };

// The members that make a JWK private (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
constexpr const char* kPrivateMembers[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};

// The `alg` values of each family, supported or not: an `alg` from another
// family contradicts the key type and is an error; an unsupported one of the
// same family only makes the key unusable here.
bool inFamily(Family family, std::string_view alg) {
  switch (family) {
    case Family::rsa: return alg.substr(0, 2) == "RS" || alg.substr(0, 2) == "PS";
    case Family::ec: return alg.substr(0, 2) == "ES";
    case Family::okp: return alg == "EdDSA";
    case Family::oct: return alg.substr(0, 2) == "HS";
  }
  return false;
}

const char* familyName(Family family) {
  switch (family) {
    case Family::rsa: return "RSA";
    case Family::ec: return "EC";
    case Family::okp: return "OKP";
    case Family::oct: return "oct";
  }
  return "?";
}

// Reads a required base64url member into `out`; false with `problem` set.
bool decodeMember(const json::object& jwk, const char* name, std::string& out, std::string& problem) {
  const json::value* v = jwk.if_contains(name);
  if (v == nullptr) {
    problem = std::string("member \"") + name + "\" is missing";
    return false;
  }
  const json::string* s = v->if_string();
  if (s == nullptr) {
    problem = std::string("member \"") + name + "\" is not a string";
    return false;
  }
  if (!base64urlDecode(std::string_view(s->data(), s->size()), out)) {
    problem = std::string("member \"") + name + "\" is not unpadded base64url";
    return false;
  }
  return true;
}

std::string opensslProblem(const char* what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string text = what;
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += std::string(" (") + buffer + ")";
  }
  return text;
}

// Builds a public EVP_PKEY of `type` from OSSL parameters and checks it.
PkeyPtr pkeyFromParams(const char* type, OSSL_PARAM_BLD* bld, std::string& problem) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    problem = opensslProblem("OpenSSL refuses the key parameters");
    return nullptr;
  }
  PkeyPtr pkey(raw);
  // Rejects e.g. an EC point that is not on the curve.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    problem = opensslProblem("the public key fails validation");
    return nullptr;
  }
  return pkey;
}

PkeyPtr rsaFromJwk(const json::object& jwk, std::string& problem) {
  std::string n, e;
  if (!decodeMember(jwk, "n", n, problem) || !decodeMember(jwk, "e", e, problem)) return nullptr;
  if (n.empty() || e.empty()) {
    problem = "\"n\" and \"e\" must not be empty";
    return nullptr;
  }
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    problem = opensslProblem("cannot build the RSA key");
    return nullptr;
  }
  return pkeyFromParams("RSA", bld.get(), problem);
}

PkeyPtr p256FromJwk(const json::object& jwk, std::string& problem) {
  std::string x, y;
  if (!decodeMember(jwk, "x", x, problem) || !decodeMember(jwk, "y", y, problem)) return nullptr;
  if (x.size() != kP256CoordinateSize || y.size() != kP256CoordinateSize) {
    problem = "\"x\" and \"y\" must be 32 bytes each for P-256";
    return nullptr;
  }
  // SEC 1 uncompressed point: 0x04 || x || y.
  std::string point(1, '\x04');
  point += x;
  point += y;
  char group[] = "prime256v1";
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    problem = opensslProblem("cannot build the EC key");
    return nullptr;
  }
  return pkeyFromParams("EC", bld.get(), problem);
}

PkeyPtr ed25519FromJwk(const json::object& jwk, std::string& problem) {
  std::string x;
  if (!decodeMember(jwk, "x", x, problem)) return nullptr;
  if (x.size() != kEd25519KeySize) {
    problem = "\"x\" must be 32 bytes for Ed25519";
    return nullptr;
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  if (!pkey) problem = opensslProblem("OpenSSL refuses the Ed25519 key");
  return pkey;
}

// Reads an optional string member; false (with `problem`) if it has another type.
bool optionalString(const json::object& jwk, const char* name, const json::string*& out, std::string& problem) {
  out = nullptr;
  const json::value* v = jwk.if_contains(name);
  if (v == nullptr) return true;
  out = v->if_string();
  if (out == nullptr) {
    problem = std::string("member \"") + name + "\" is not a string";
    return false;
  }
  return true;
}

}  // namespace

Result<std::vector<VerificationKey>> keysFromJwks(std::string_view text, std::size_t min_secret_size,
                                                  const std::string& origin) {
  json::parse_options options;
  options.max_depth = 16;
  json::error_code ec;
  const json::value doc = json::parse(json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) return keyError(origin, "the JWKS is not valid JSON: " + ec.message());
  const json::object* root = doc.if_object();
  const json::value* keys_member = root ? root->if_contains("keys") : nullptr;
  const json::array* keys = keys_member ? keys_member->if_array() : nullptr;
  if (keys == nullptr) return keyError(origin, "the JWKS must be a JSON object with a \"keys\" array");

  std::vector<VerificationKey> result;
  std::string skipped;  // why keys were passed over, for the "no usable key" error
  auto skip = [&](const std::string& where, const std::string& why) {
    if (!skipped.empty()) skipped += "; ";
    skipped += where + ": " + why;
  };

  for (std::size_t j = 0; j < keys->size(); ++j) {
    std::string where = origin + " JWKS key #" + std::to_string(j);
    const json::object* jwk = (*keys)[j].if_object();
    if (jwk == nullptr) return keyError(where, "the JWK is not a JSON object");

    std::string problem;
    const json::string *kty = nullptr, *use = nullptr, *kid = nullptr, *alg = nullptr, *crv = nullptr;
    if (!optionalString(*jwk, "kty", kty, problem) || !optionalString(*jwk, "use", use, problem) ||
        !optionalString(*jwk, "kid", kid, problem) || !optionalString(*jwk, "alg", alg, problem) ||
        !optionalString(*jwk, "crv", crv, problem)) {
      return keyError(where, problem);
    }
    // An empty `kid` is treated as none, for every key type alike.
    const bool has_kid = kid != nullptr && !kid->empty();
    std::string kid_text = has_kid ? std::string(kid->data(), kid->size()) : std::string();
    if (has_kid) where += " (kid \"" + kid_text + "\")";
    if (kty == nullptr) return keyError(where, "member \"kty\" is missing");

    // Keys meant for something other than verifying signatures are not ours.
    if (use != nullptr && *use != "sig") {
      skip(where, "\"use\" is not \"sig\"");
      continue;
    }
    if (const json::value* ops = jwk->if_contains("key_ops")) {
      const json::array* list = ops->if_array();
      if (list == nullptr) return keyError(where, "member \"key_ops\" is not an array");
      bool verify = false;
      for (const auto& op : *list) verify = verify || (op.is_string() && op.get_string() == "verify");
      if (!verify) {
        skip(where, "\"key_ops\" does not allow \"verify\"");
        continue;
      }
    }

    Family family;
    JwtAlgorithm expected;
    const std::string_view kty_text(kty->data(), kty->size());
    const std::string_view crv_text = crv ? std::string_view(crv->data(), crv->size()) : std::string_view();
    if (kty_text == "RSA") {
      family = Family::rsa;
      expected = JwtAlgorithm::rs256;
    } else if (kty_text == "EC") {
      family = Family::ec;
      expected = JwtAlgorithm::es256;
      if (crv == nullptr) return keyError(where, "member \"crv\" is missing");
      if (crv_text != "P-256") {
        skip(where, "curve " + std::string(crv_text) + " is not supported");
        continue;
      }
    } else if (kty_text == "OKP") {
      family = Family::okp;
      expected = JwtAlgorithm::eddsa;
      if (crv == nullptr) return keyError(where, "member \"crv\" is missing");
      if (crv_text != "Ed25519") {
        skip(where, "curve " + std::string(crv_text) + " is not supported");
        continue;
      }
    } else if (kty_text == "oct") {
      family = Family::oct;
      expected = JwtAlgorithm::hs256;
    } else {
      skip(where, "key type " + std::string(kty_text) + " is not supported");
      continue;
    }

    // The key type fixes the algorithm; `alg` may only confirm it.
    if (alg != nullptr) {
      const std::string_view alg_text(alg->data(), alg->size());
      if (alg_text != toString(expected)) {
        if (!inFamily(family, alg_text)) {
          return keyError(where, "\"alg\" " + std::string(alg_text) + " does not match key type " +
                                     familyName(family));
        }
        skip(where, "\"alg\" " + std::string(alg_text) + " is not supported");
        continue;
      }
    }

    if (family == Family::oct) {
      std::string secret;
      if (!decodeMember(*jwk, "k", secret, problem)) return keyError(where, problem);
      auto key = VerificationKey::fromSecret(secret, std::move(kid_text), min_secret_size, where);
      OPENSSL_cleanse(secret.data(), secret.size());
      if (!key) return std::move(key).error();
      result.push_back(std::move(key.value()));
      continue;
    }

    for (const char* member : kPrivateMembers) {
      if (jwk->contains(member)) {
        return keyError(where, std::string("the JWK contains private key material (\"") + member +
                                   "\"); publish only the public key");
      }
    }
    PkeyPtr pkey;
    switch (family) {
      case Family::rsa: pkey = rsaFromJwk(*jwk, problem); break;
      case Family::ec: pkey = p256FromJwk(*jwk, problem); break;
      case Family::okp: pkey = ed25519FromJwk(*jwk, problem); break;
      case Family::oct: break;
    }
    if (!pkey) return keyError(where, problem);
    auto key = VerificationKey::fromPublicKey(std::move(pkey), std::move(kid_text), has_kid, where);
    if (!key) return std::move(key).error();
    if (key->alg() != expected) return keyError(where, "key type and algorithm disagree");
    result.push_back(std::move(key.value()));
  }
  if (result.empty()) {
    return keyError(origin, "the JWKS has no usable signing key" + (skipped.empty() ? "" : " (" + skipped + ")"));
  }
  return result;
}

}  // namespace useradmin::detail
