// JSON text helpers shared by the access log and the server's log lines.
#ifndef USERADMIN_BEAST_SRC_LOG_TEXT_HPP
#define USERADMIN_BEAST_SRC_LOG_TEXT_HPP

#include <cstdint>
#include <string>
#include <string_view>

#include "useradmin/domain.hpp"

namespace useradmin::beast::detail {

// Appends `text` JSON-escaped (without quotes). Bytes >= 0x80 are escaped
// one by one: a log line stays valid JSON whatever the input.
inline void appendEscaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20 || byte == 0x7F) {
          out += "\\u00";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xF]);
        } else if (byte >= 0x80) {
          // Not trusted to be valid UTF-8: keep the log line valid JSON.
          out += "\\u00";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
}


// RFC 3339 with milliseconds. The date and time of day are formatted once
// per second per thread; busy servers log thousands of lines per second.
inline void appendTime(std::string& out, Timestamp time) {
  struct Cache {
    std::int64_t second = -1;
    std::string text;  // "YYYY-MM-DDTHH:MM:SS"
  };
  thread_local Cache cache;
  std::int64_t ms = toMillis(time);
  std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != cache.second) {
    cache.text = formatRfc3339(timestampFromMillis(second * 1000));
    if (!cache.text.empty() && cache.text.back() == 'Z') cache.text.pop_back();
    cache.second = second;
  }
  const auto millis = static_cast<int>(ms - second * 1000);
  out += cache.text;
  out.push_back('.');
  out.push_back(static_cast<char>('0' + millis / 100));
  out.push_back(static_cast<char>('0' + millis / 10 % 10));
  out.push_back(static_cast<char>('0' + millis % 10));
  out.push_back('Z');
}


}  // namespace useradmin::beast::detail

#endif  // USERADMIN_BEAST_SRC_LOG_TEXT_HPP
