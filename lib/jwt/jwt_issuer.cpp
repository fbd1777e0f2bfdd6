#include "useradmin/jwt/jwt_issuer.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include "base64url.hpp"

namespace useradmin {
namespace {

namespace json = boost::json;

// NumericDate: integer seconds when whole, else seconds with a fraction.
json::value numericDate(Timestamp t) {
  const std::int64_t ms = toMillis(t);
  if (ms % 1000 == 0) return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

std::string hmacSha256(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t size = 0;
  // EVP_Q_mac rejects a null key pointer even with length 0.
  static const char kEmpty[1] = {0};
  const void* key = secret.empty() ? kEmpty : secret.data();
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key, secret.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, sizeof mac, &size) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(mac), size);
}

}  // namespace

std::string base64urlEncode(std::string_view bytes) { return detail::base64urlEncode(bytes); }

std::string signHs256Jws(std::string_view secret, std::string_view header_json, std::string_view payload_json) {
  std::string token = detail::base64urlEncode(header_json);
  token += '.';
  token += detail::base64urlEncode(payload_json);
  const std::string mac = hmacSha256(secret, token);
  if (mac.empty()) return {};
  token += '.';
  token += detail::base64urlEncode(mac);
  return token;
}

std::string issueHs256Token(std::string_view secret, const JwtClaims& claims, std::string_view kid) {
  json::object header;
  header["alg"] = "HS256";
  header["typ"] = "JWT";
  if (!kid.empty()) header["kid"] = kid;

  json::object payload;
  if (!claims.sub.empty()) payload["sub"] = claims.sub;
  if (claims.iss) payload["iss"] = *claims.iss;
  if (claims.aud.size() == 1) {
    payload["aud"] = claims.aud.front();
  } else if (!claims.aud.empty()) {
    json::array aud;
    for (const auto& a : claims.aud) aud.emplace_back(a);
    payload["aud"] = std::move(aud);
  }
  if (claims.iat) payload["iat"] = numericDate(*claims.iat);
  if (claims.nbf) payload["nbf"] = numericDate(*claims.nbf);
  if (claims.exp) payload["exp"] = numericDate(*claims.exp);
  if (claims.scope) payload["scope"] = *claims.scope;
  if (claims.permissions) {
    json::array permissions;
    for (const auto& p : *claims.permissions) permissions.emplace_back(p);
    payload["permissions"] = std::move(permissions);
  }
  return signHs256Jws(secret, json::serialize(header), json::serialize(payload));
}

}  // namespace useradmin
