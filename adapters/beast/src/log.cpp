#include "useradmin/beast/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "log_text.hpp"
#include "useradmin/clock.hpp"

namespace useradmin::beast {

const char* toString(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

void formatLogLine(LogFormat format, std::string_view program, Timestamp time, LogLevel level,
                   std::string_view message, std::initializer_list<LogField> fields, std::string& out) {
  if (format == LogFormat::text) {
    out += program;
    out += ": ";
    if (level == LogLevel::warn) out += "warning: ";
    out += message;
    for (const auto& field : fields) {
      out.push_back(' ');
      out += field.key;
      out.push_back('=');
      out += field.value;
    }
    out.push_back('\n');
    return;
  }
  out += "{\"ts\":\"";
  detail::appendTime(out, time);
  out += "\",\"level\":\"";
  out += toString(level);
  out += "\",\"msg\":\"";
  detail::appendEscaped(out, message);
  out.push_back('"');
  for (const auto& field : fields) {
    out += ",\"";
    // A field cannot take the place of the line's own keys.
    if (field.key == "ts" || field.key == "level" || field.key == "msg") out.push_back('_');
    detail::appendEscaped(out, field.key);
    out += "\":";
    if (field.number && !field.value.empty()) {
      out += field.value;
    } else {
      out.push_back('"');
      detail::appendEscaped(out, field.value);
      out.push_back('"');
    }
  }
  out += "}\n";
}

Logger::Logger(LogFormat format, std::string program, Sink sink)
    : format_(format), program_(std::move(program)), sink_(std::move(sink)) {}

void Logger::log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) const {
  std::string line;
  formatLogLine(format_, program_, systemClock().now(), level, message, fields, line);
  if (sink_) {
    sink_(line);
    return;
  }
  const char* data = line.data();
  std::size_t size = line.size();
  while (size > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace useradmin::beast
