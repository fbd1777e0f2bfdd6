// Strict base64url (RFC 4648 §5) without padding, as JWS requires (RFC 7515 §2).
#ifndef USERADMIN_JWT_BASE64URL_HPP
#define USERADMIN_JWT_BASE64URL_HPP

#include <string>
#include <string_view>

#include "useradmin/export.hpp"

namespace useradmin::detail {

/// True when every character of `text` is in the base64url alphabet
/// `A-Z a-z 0-9 - _` (no padding, no whitespace).
USERADMIN_API bool isBase64urlAlphabet(std::string_view text) noexcept;

/// Decodes `text` into `out` (replacing its contents). Returns false, leaving
/// `out` unspecified, for a character outside the alphabet, `=` padding, a
/// length that is 1 mod 4, or non-zero unused bits in the last character: the
/// only accepted spelling of a byte string is its canonical encoding, so a
/// signature cannot be altered without changing its bytes.
USERADMIN_API bool base64urlDecode(std::string_view text, std::string& out);

/// Encodes `bytes` as base64url without padding.
USERADMIN_API std::string base64urlEncode(std::string_view bytes);

}  // namespace useradmin::detail

#endif  // USERADMIN_JWT_BASE64URL_HPP
