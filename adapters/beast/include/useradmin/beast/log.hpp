// Logger: the server's own messages (start-up, drain, storage events,
// errors) as one line each on stderr, as text or as JSON.
#ifndef USERADMIN_BEAST_LOG_HPP
#define USERADMIN_BEAST_LOG_HPP

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "useradmin/domain.hpp"
#include "useradmin/export.hpp"

namespace useradmin::beast {

/// `text` (the default): messages as `PROGRAM: MESSAGE[ key=value...]`, the
/// access log as its JSON lines with `time` (docs/http-api.md). `json`:
/// every line is one JSON object `{"ts":..., "level":..., "msg":...}` plus
/// fields, the access log's included (`"msg":"request"`).
enum class LogFormat { text, json };
enum class LogLevel { debug, info, warn, error };

USERADMIN_API const char* toString(LogLevel level) noexcept;

/// A field of a log line; `number` writes the value unquoted in JSON (it
/// must then be a JSON number).
struct LogField {
  std::string_view key;
  std::string_view value;
  bool number = false;
};

/// Formats one line (with its trailing '\n') into `out`. Text:
/// `PROGRAM: [warning: ]MESSAGE[ key=value...]` ("warning: " for
/// LogLevel::warn). JSON: keys ts, level, msg, then the fields in order (a
/// field named ts, level or msg is written as _ts, _level, _msg); strings
/// JSON-escaped (bytes >= 0x80 as \u00XX), so no input can forge a line or
/// a key.
USERADMIN_API void formatLogLine(LogFormat format, std::string_view program, Timestamp time, LogLevel level,
                                 std::string_view message, std::initializer_list<LogField> fields,
                                 std::string& out);

/// Writes log lines: to the sink when set (tests), else to stderr with one
/// write(2) per line. Thread-safe; meant for rare messages (the access log
/// has its own buffered writer).
class USERADMIN_API Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;

  explicit Logger(LogFormat format = LogFormat::text, std::string program = "useradmin", Sink sink = {});

  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {}) const;
  void info(std::string_view message, std::initializer_list<LogField> fields = {}) const {
    log(LogLevel::info, message, fields);
  }
  void warn(std::string_view message, std::initializer_list<LogField> fields = {}) const {
    log(LogLevel::warn, message, fields);
  }
  void error(std::string_view message, std::initializer_list<LogField> fields = {}) const {
    log(LogLevel::error, message, fields);
  }

  LogFormat format() const noexcept { return format_; }

 private:
  LogFormat format_;
  std::string program_;
  Sink sink_;
};

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_LOG_HPP
