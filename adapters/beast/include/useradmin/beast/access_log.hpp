// AccessLog: one JSON line per request.
#ifndef USERADMIN_BEAST_ACCESS_LOG_HPP
#define USERADMIN_BEAST_ACCESS_LOG_HPP

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "useradmin/domain.hpp"
#include "useradmin/beast/log.hpp"
#include "useradmin/export.hpp"

namespace useradmin::beast {

/// What is logged about one request. Never the token or any header value
/// other than the request id.
struct AccessRecord {
  Timestamp time{};
  std::string_view request_id;
  std::string_view method;
  /// The request path without the query string (which may carry secrets).
  std::string_view path;
  unsigned status = 0;
  std::uint64_t latency_us = 0;
  std::string_view client;
  /// The authenticated actor, when known.
  std::string_view actor;
  /// Machine reason code of a refusal (Error::reason, e.g. "expired",
  /// "not_suspended", "rate_limited_ip"), when there is one.
  std::string_view reason;
  /// Log-only detail of a 500 or an external error (Error::detail).
  std::string_view detail;
};

/// Formats `record` as one line of JSON (with a trailing '\n'), keys in this
/// order: time, request_id, method, path, status, latency_us, client, and
/// actor, reason, detail when not empty. Strings are JSON-escaped, so a
/// hostile path cannot forge a line.
USERADMIN_API void formatAccessRecord(const AccessRecord& record, std::string& out);

/// The same in a format: LogFormat::text is formatAccessRecord; json is
/// the server's log line shape, `{"ts":...,"level":...,"msg":"request"`
/// then request_id, method, path, status, latency_us, client, actor,
/// reason, detail as above. The level is `info`, `error` for a 5xx.
USERADMIN_API void formatAccessRecord(const AccessRecord& record, LogFormat format, std::string& out);

/// Writes access records. With a sink, every line is handed to it
/// synchronously (the sink must be thread-safe). Without one, lines go to
/// stderr through a buffer flushed by a background thread every 50 ms (or
/// sooner when it fills), so a busy server does not pay one write(2) per
/// request; the destructor flushes what is left. Thread-safe.
class USERADMIN_API AccessLog {
 public:
  using Sink = std::function<void(std::string_view line)>;

  explicit AccessLog(Sink sink = {}, LogFormat format = LogFormat::text);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessRecord& record);
  /// Writes buffered lines out now.
  void flush();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_ACCESS_LOG_HPP
