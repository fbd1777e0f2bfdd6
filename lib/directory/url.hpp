// The base URL of a directory: scheme, host, port and path prefix.
#ifndef USERADMIN_DIRECTORY_URL_HPP
#define USERADMIN_DIRECTORY_URL_HPP

#include <cstdint>
#include <string>

#include "useradmin/result.hpp"

namespace useradmin::directory::detail {

struct BaseUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string path;  // no trailing '/', "" for the root
};

/// Parses `http[s]://host[:port][/path]`. A user-info part, query or
/// fragment is refused (`invalid_argument`, key `url`): credentials in a
/// URL would end up in logs.
Result<BaseUrl> parseBaseUrl(const std::string& text);

/// Percent-encodes one path segment (RFC 3986 unreserved kept).
std::string encodePathSegment(const std::string& segment);

}  // namespace useradmin::directory::detail

#endif  // USERADMIN_DIRECTORY_URL_HPP
