#include "url.hpp"

#include <cctype>

namespace useradmin::directory::detail {

namespace {

Error badUrl(const std::string& why) {
  // The value is left out on purpose: a refused URL may hold a credential.
  return Error::invalidArgument({"url", "invalid_format", ""}, "bad_directory_url: " + why);
}

bool parsePort(const std::string& text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

Result<BaseUrl> parseBaseUrl(const std::string& text) {
  BaseUrl url;
  std::string rest;
  if (text.rfind("https://", 0) == 0) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else {
    return badUrl("the scheme must be http or https");
  }
  if (rest.find_first_of("?#") != std::string::npos) return badUrl("no query or fragment allowed");
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  url.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
  if (authority.find('@') != std::string::npos) return badUrl("credentials in the URL are not allowed");
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) return badUrl("unclosed IPv6 address");
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return badUrl("junk after the IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return badUrl("no host");
  if (port_text.empty()) {
    url.port = url.tls ? 443 : 80;
  } else if (!parsePort(port_text, url.port)) {
    return badUrl("bad port");
  }
  return url;
}

std::string encodePathSegment(const std::string& segment) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (char ch : segment) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace useradmin::directory::detail
