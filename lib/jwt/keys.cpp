#include "keys.hpp"

#include <cerrno>
#include <limits>
#include <cstdio>
#include <cstring>
#include <utility>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jwks.hpp"

namespace useradmin::detail {

void PkeyDeleter::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
void MacCtxDeleter::operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
void MdCtxDeleter::operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }

namespace {

// Key files are small; anything bigger is a mistake (or an attack on startup).
constexpr std::size_t kMaxKeyFileSize = 1024 * 1024;
constexpr std::size_t kMinRsaBits = 2048;  // RFC 7518 §3.3
constexpr std::size_t kHs256Size = 32;
constexpr std::size_t kEs256Size = 64;
constexpr std::size_t kEd25519Size = 64;

struct BioDeleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct MacDeleter {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
struct OpensslFree {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};

// One decoded PEM block; OpenSSL allocates the three parts.
struct PemBlock {
  std::unique_ptr<char, OpensslFree> name;
  std::unique_ptr<char, OpensslFree> header;
  std::unique_ptr<unsigned char, OpensslFree> data;
  long length = 0;
};

// Ed25519 and RS256/ES256 differ only in the digest handed to DigestVerify:
// EdDSA hashes internally and takes none.
const char* digestFor(JwtAlgorithm alg) noexcept { return alg == JwtAlgorithm::eddsa ? nullptr : "SHA256"; }

// ES256 signatures are the fixed-size concatenation r || s (RFC 7518 §3.4);
// OpenSSL wants an ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`. Both
// halves are 32 bytes, so every length fits the short form.
std::size_t appendDerInteger(const unsigned char* bytes, std::size_t size, unsigned char* out) {
  std::size_t skip = 0;
  while (skip + 1 < size && bytes[skip] == 0) ++skip;  // minimal encoding
  const bool pad = (bytes[skip] & 0x80u) != 0;          // keep it positive
  const std::size_t len = size - skip + (pad ? 1 : 0);
  std::size_t n = 0;
  out[n++] = 0x02;
  out[n++] = static_cast<unsigned char>(len);
  if (pad) out[n++] = 0x00;
  std::memcpy(out + n, bytes + skip, size - skip);
  return n + size - skip;
}

std::size_t rawEcdsaToDer(std::string_view raw, unsigned char (&der)[80]) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  const std::size_t half = raw.size() / 2;
  unsigned char body[76];
  std::size_t n = appendDerInteger(bytes, half, body);
  n += appendDerInteger(bytes + half, half, body + n);
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(n);
  std::memcpy(der + 2, body, n);
  return n + 2;
}

std::string lastOpensslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

}  // namespace

Error keyError(const std::string& where, const std::string& problem, std::string value) {
  Error error = Error::invalidArgument(FieldError{where, problem, std::move(value)}, "invalid_jwt_key");
  error.detail = where + ": " + problem;
  return error;
}

bool readKeyFile(const std::string& path, std::size_t max_size, std::string& content, std::string& problem) {
  content.clear();
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    problem = std::string("cannot open file: ") + std::strerror(errno);
    return false;
  }
  char buffer[4096];
  bool ok = true;
  while (true) {
    const std::size_t got = std::fread(buffer, 1, sizeof buffer, file);
    content.append(buffer, got);
    if (content.size() > max_size) {
      problem = "file is larger than " + std::to_string(max_size) + " bytes";
      ok = false;
      break;
    }
    if (got < sizeof buffer) {
      if (std::ferror(file)) {
        problem = "cannot read file";
        ok = false;
      }
      break;
    }
  }
  std::fclose(file);
  OPENSSL_cleanse(buffer, sizeof buffer);
  if (!ok) {
    OPENSSL_cleanse(content.data(), content.size());
    content.clear();
  }
  return ok;
}

SignatureCheck VerificationKey::verify(std::string_view signing_input, std::string_view signature) const {
  if (signature.size() != signature_size_) return SignatureCheck::invalid;
  const auto* tbs = reinterpret_cast<const unsigned char*>(signing_input.data());

  if (alg_ == JwtAlgorithm::hs256) {
    // Duplicating the keyed template skips the HMAC key schedule; measured
    // about 2x faster than the one-shot HMAC()/EVP_Q_mac, which re-key and
    // re-fetch on every call.
    MacCtxPtr ctx(EVP_MAC_CTX_dup(hmac_.get()));
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t mac_size = 0;
    if (!ctx || EVP_MAC_update(ctx.get(), tbs, signing_input.size()) != 1 ||
        EVP_MAC_final(ctx.get(), mac, &mac_size, sizeof mac) != 1 || mac_size != kHs256Size) {
      ERR_clear_error();
      return SignatureCheck::internal_error;
    }
    // Constant time, so the comparison leaks nothing about the expected MAC.
    const bool equal = CRYPTO_memcmp(mac, signature.data(), kHs256Size) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return equal ? SignatureCheck::valid : SignatureCheck::invalid;
  }

  const unsigned char* sig = reinterpret_cast<const unsigned char*>(signature.data());
  std::size_t sig_size = signature.size();
  unsigned char der[80];
  if (alg_ == JwtAlgorithm::es256) {
    sig_size = rawEcdsaToDer(signature, der);
    sig = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return SignatureCheck::internal_error;
  if (EVP_MD_CTX_copy_ex(ctx.get(), verify_template_.get()) != 1) {
    // Copying saves the per-call set-up; should a provider not support
    // duplicating its context, initialise afresh instead.
    ERR_clear_error();
    ctx.reset(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digestFor(alg_), nullptr, nullptr, pkey_.get(),
                                        nullptr) != 1) {
      ERR_clear_error();
      return SignatureCheck::internal_error;
    }
  }
  const int rc = EVP_DigestVerify(ctx.get(), sig, sig_size, tbs, signing_input.size());
  if (rc == 1) return SignatureCheck::valid;
  // 0 is a mismatch; negative values are malformed signatures (e.g. r or s
  // out of range), which is just as much a bad signature.
  ERR_clear_error();
  return SignatureCheck::invalid;
}

Result<VerificationKey> VerificationKey::fromSecret(std::string_view secret, std::string kid,
                                                    std::size_t min_secret_size, std::string origin) {
  if (secret.empty()) return keyError(origin, "the HS256 secret is empty");
  if (secret.size() < min_secret_size) {
    return keyError(origin, "the HS256 secret has " + std::to_string(secret.size()) + " bytes; at least " +
                                std::to_string(min_secret_size) + " are required (RFC 7518 section 3.2)");
  }
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  MacCtxPtr ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params) != 1) {
    return keyError(origin, "OpenSSL cannot set up HMAC-SHA256: " + lastOpensslError());
  }
  VerificationKey key;
  key.alg_ = JwtAlgorithm::hs256;
  key.has_kid_ = !kid.empty();
  key.kid_ = std::move(kid);
  key.origin_ = std::move(origin);
  key.signature_size_ = kHs256Size;
  key.hmac_ = std::move(ctx);
  return key;
}

Result<VerificationKey> VerificationKey::fromPublicKey(PkeyPtr pkey, std::string kid, bool has_kid,
                                                       std::string origin) {
  if (!pkey) return keyError(origin, "no public key");
  VerificationKey key;
  if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < 0 || static_cast<std::size_t>(bits) < kMinRsaBits) {
      return keyError(origin, "the RSA key has " + std::to_string(bits) + " bits; at least 2048 are required");
    }
    key.alg_ = JwtAlgorithm::rs256;
    key.signature_size_ = static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()));
  } else if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    char group[64] = {};
    std::size_t group_len = 0;
    if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof group, &group_len) != 1) {
      ERR_clear_error();
      return keyError(origin, "the EC key has no named curve; only P-256 is supported");
    }
    if (std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "P-256") != 0) {
      return keyError(origin, std::string("the EC key is on curve ") + group + "; only P-256 (ES256) is supported");
    }
    key.alg_ = JwtAlgorithm::es256;
    key.signature_size_ = kEs256Size;
  } else if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    key.alg_ = JwtAlgorithm::eddsa;
    key.signature_size_ = kEd25519Size;
  } else if (EVP_PKEY_is_a(pkey.get(), "RSA-PSS")) {
    return keyError(origin, "RSA-PSS keys are not supported (only RS256, ES256, EdDSA and HS256)");
  } else if (EVP_PKEY_is_a(pkey.get(), "ED448")) {
    return keyError(origin, "Ed448 keys are not supported (EdDSA is accepted with Ed25519 only)");
  } else {
    return keyError(origin, "unsupported public key type (expected RSA, EC P-256 or Ed25519)");
  }

  // The template is initialised once; each verify copies it. Failing here
  // also proves at startup that OpenSSL can use the key at all.
  MdCtxPtr tmpl(EVP_MD_CTX_new());
  if (!tmpl || EVP_DigestVerifyInit_ex(tmpl.get(), nullptr, digestFor(key.alg_), nullptr, nullptr, pkey.get(),
                                       nullptr) != 1) {
    return keyError(origin, "OpenSSL cannot verify with this key: " + lastOpensslError());
  }
  key.has_kid_ = has_kid;
  key.kid_ = std::move(kid);
  key.origin_ = std::move(origin);
  key.pkey_ = std::move(pkey);
  key.verify_template_ = std::move(tmpl);
  return key;
}

Result<VerificationKey> VerificationKey::fromPem(std::string_view pem, std::string kid, std::string origin) {
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return keyError(origin, "PEM text is too large");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return keyError(origin, "out of memory");
  std::vector<PemBlock> blocks;
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) break;
    PemBlock block;
    block.name.reset(name);
    block.header.reset(header);
    block.data.reset(data);
    block.length = length;
    blocks.push_back(std::move(block));
  }
  ERR_clear_error();  // the loop always ends on "no start line"
  if (blocks.empty()) return keyError(origin, "no PEM block found");
  if (blocks.size() != 1) {
    return keyError(origin, "expected exactly one PEM block, found " + std::to_string(blocks.size()));
  }
  const PemBlock& block = blocks.front();
  const std::string name = block.name.get();
  const unsigned char* der = block.data.get();
  const unsigned char* const end = der + block.length;
  PkeyPtr pkey;
  if (name == "PUBLIC KEY") {
    pkey.reset(d2i_PUBKEY(nullptr, &der, block.length));
  } else if (name == "RSA PUBLIC KEY") {
    pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &der, block.length));
  } else if (name == "CERTIFICATE") {
    std::unique_ptr<X509, X509Deleter> cert(d2i_X509(nullptr, &der, block.length));
    if (cert) pkey.reset(X509_get_pubkey(cert.get()));
  } else if (name.find("PRIVATE KEY") != std::string::npos) {
    return keyError(origin, "the PEM block is a private key (" + name +
                                "); configure the public key instead (openssl pkey -pubout)");
  } else {
    return keyError(origin, "unsupported PEM block '" + name +
                                "' (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)");
  }
  if (!pkey) return keyError(origin, "cannot decode the " + name + " PEM block: " + lastOpensslError());
  if (der != end) return keyError(origin, "trailing data inside the " + name + " PEM block");
  const bool has_kid = !kid.empty();
  return fromPublicKey(std::move(pkey), std::move(kid), has_kid, std::move(origin));
}

Result<std::vector<VerificationKey>> loadKeys(const std::vector<JwtKeySource>& sources,
                                             std::size_t min_secret_size) {
  std::vector<VerificationKey> keys;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const JwtKeySource& source = sources[i];
    const std::string where = "keys[" + std::to_string(i) + "]";
    const bool from_file = source.kind == JwtKeySource::Kind::secret_file ||
                           source.kind == JwtKeySource::Kind::pem_file ||
                           source.kind == JwtKeySource::Kind::jwks_file;
    std::string content;
    if (from_file) {
      std::string problem;
      if (source.data.empty()) return keyError(where, "no file name given");
      if (!readKeyFile(source.data, kMaxKeyFileSize, content, problem)) {
        return keyError(where, problem + " (" + source.data + ")", source.data);
      }
    }
    // File problems name the file; inline secrets are never echoed.
    const std::string origin = from_file ? where + " (" + source.data + ")" : where;
    const std::string_view text = from_file ? std::string_view(content) : std::string_view(source.data);

    switch (source.kind) {
      case JwtKeySource::Kind::secret:
      case JwtKeySource::Kind::secret_file: {
        std::string_view secret = text;
        if (source.kind == JwtKeySource::Kind::secret_file) {
          while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.remove_suffix(1);
        }
        auto key = VerificationKey::fromSecret(secret, source.kid, min_secret_size, origin);
        OPENSSL_cleanse(content.data(), content.size());
        if (!key) return std::move(key).error();
        keys.push_back(std::move(key.value()));
        break;
      }
      case JwtKeySource::Kind::pem:
      case JwtKeySource::Kind::pem_file: {
        auto key = VerificationKey::fromPem(text, source.kid, origin);
        if (!key) return std::move(key).error();
        keys.push_back(std::move(key.value()));
        break;
      }
      case JwtKeySource::Kind::jwks:
      case JwtKeySource::Kind::jwks_file: {
        auto set = keysFromJwks(text, min_secret_size, origin);
        OPENSSL_cleanse(content.data(), content.size());  // may hold `oct` secrets
        if (!set) return std::move(set).error();
        for (auto& key : set.value()) keys.push_back(std::move(key));
        break;
      }
    }
  }
  if (keys.empty()) {
    Error error = Error::invalidArgument(FieldError{"keys", "no trusted keys configured", ""}, "invalid_jwt_options");
    error.detail = "keys: no trusted keys configured";
    return error;
  }
  return keys;
}

}  // namespace useradmin::detail
