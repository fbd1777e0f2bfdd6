#include "useradmin/beast/access_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

#include "log_text.hpp"

namespace useradmin::beast {

namespace {

using detail::appendEscaped;
using detail::appendTime;

// Flush at least this often, and as soon as this much is pending.
constexpr auto kFlushInterval = std::chrono::milliseconds(50);
constexpr std::size_t kFlushBytes = 32 * 1024;
// Beyond this much pending output (stderr blocked), lines are dropped rather
// than letting memory grow; the count of dropped lines is reported.
constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;

void appendString(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":\"";
  appendEscaped(out, value);
  out.push_back('"');
}

void writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report a broken stderr
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void formatAccessRecord(const AccessRecord& record, std::string& out) {
  formatAccessRecord(record, LogFormat::text, out);
}

void formatAccessRecord(const AccessRecord& record, LogFormat format, std::string& out) {
  constexpr std::size_t kMaxPath = 512;
  if (format == LogFormat::json) {
    out += "{\"ts\":\"";
    appendTime(out, record.time);
    out += record.status >= 500 ? "\",\"level\":\"error\"" : "\",\"level\":\"info\"";
    out += ",\"msg\":\"request\"";
  } else {
    out += "{\"time\":\"";
    appendTime(out, record.time);
    out.push_back('"');
  }
  appendString(out, "request_id", record.request_id);
  appendString(out, "method", record.method.substr(0, 32));
  appendString(out, "path", record.path.substr(0, kMaxPath));
  out += ",\"status\":";
  out += std::to_string(record.status);
  out += ",\"latency_us\":";
  out += std::to_string(record.latency_us);
  appendString(out, "client", record.client);
  if (!record.actor.empty()) appendString(out, "actor", record.actor);
  if (!record.reason.empty()) appendString(out, "reason", record.reason);
  if (!record.detail.empty()) appendString(out, "detail", record.detail.substr(0, 1024));
  out += "}\n";
}

struct AccessLog::Impl {
  Sink sink;
  LogFormat format = LogFormat::text;
  std::mutex mutex;
  // Held while writing, so batches reach stderr whole and in order.
  std::mutex write_mutex;
  std::condition_variable wake;
  std::string pending;
  std::size_t dropped = 0;
  bool stop = false;
  std::thread writer;

  void run() {
    std::string out;
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      wake.wait_for(lock, kFlushInterval, [&] { return stop || pending.size() >= kFlushBytes; });
      drain(lock, out);
      if (stop) return;
    }
  }

  // Writes everything pending with the lock released around the write.
  void drain(std::unique_lock<std::mutex>& lock, std::string& out) {
    if (pending.empty() && dropped == 0) return;
    lock.unlock();
    const std::lock_guard<std::mutex> writing(write_mutex);
    lock.lock();
    out.swap(pending);
    const std::size_t lost = std::exchange(dropped, 0);
    lock.unlock();
    if (lost > 0) {
      if (format == LogFormat::json) {
        formatLogLine(format, "", std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()),
                      LogLevel::warn, "access log lines dropped", {{"dropped", std::to_string(lost), true}}, out);
      } else {
        out += "{\"access_log\":\"dropped " + std::to_string(lost) + " lines\"}\n";
      }
    }
    writeAll(STDERR_FILENO, out.data(), out.size());
    out.clear();
    lock.lock();
  }
};

AccessLog::AccessLog(Sink sink, LogFormat format) : impl_(std::make_unique<Impl>()) {
  impl_->sink = std::move(sink);
  impl_->format = format;
  if (!impl_->sink) impl_->writer = std::thread([impl = impl_.get()] { impl->run(); });
}

AccessLog::~AccessLog() {
  if (impl_->writer.joinable()) {
    {
      const std::lock_guard<std::mutex> lock(impl_->mutex);
      impl_->stop = true;
    }
    impl_->wake.notify_one();
    impl_->writer.join();
  }
}

void AccessLog::write(const AccessRecord& record) {
  thread_local std::string line;
  line.clear();
  formatAccessRecord(record, impl_->format, line);
  if (impl_->sink) {
    impl_->sink(line);
    return;
  }
  bool notify = false;
  {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->pending.size() + line.size() > kMaxPendingBytes) {
      ++impl_->dropped;
      return;
    }
    impl_->pending += line;
    notify = impl_->pending.size() >= kFlushBytes;
  }
  if (notify) impl_->wake.notify_one();
}

void AccessLog::flush() {
  if (impl_->sink) return;
  std::string out;
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->drain(lock, out);
}

}  // namespace useradmin::beast
