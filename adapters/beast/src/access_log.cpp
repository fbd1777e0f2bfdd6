#include "useradmin/beast/access_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

namespace useradmin::beast {

namespace {

// Flush at least this often, and as soon as this much is pending.
constexpr auto kFlushInterval = std::chrono::milliseconds(50);
constexpr std::size_t kFlushBytes = 32 * 1024;
// Beyond this much pending output (stderr blocked), lines are dropped rather
// than letting memory grow; the count of dropped lines is reported.
constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;

void appendEscaped(std::string& out, std::string_view text) {
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

// RFC 3339 with milliseconds. The date and time of day are formatted once
// per second per thread; busy servers log thousands of lines per second.
void appendTime(std::string& out, Timestamp time) {
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

}  // namespace

void formatAccessRecord(const AccessRecord& record, std::string& out) {
  constexpr std::size_t kMaxPath = 512;
  out += "{\"time\":\"";
  appendTime(out, record.time);
  out.push_back('"');
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
    if (lost > 0) out += "{\"access_log\":\"dropped " + std::to_string(lost) + " lines\"}\n";
    writeAll(STDERR_FILENO, out.data(), out.size());
    out.clear();
    lock.lock();
  }
};

AccessLog::AccessLog(Sink sink) : impl_(std::make_unique<Impl>()) {
  impl_->sink = std::move(sink);
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
  formatAccessRecord(record, line);
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
