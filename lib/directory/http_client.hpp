// A small blocking HTTP/1.1 client for the directory calls: Beast over TCP
// or OpenSSL TLS (certificate and host name verified), keep-alive
// connections pooled per client, one deadline per call. Blocking is by
// design: the core calls DirectorySync from worker threads.
#ifndef USERADMIN_DIRECTORY_HTTP_CLIENT_HPP
#define USERADMIN_DIRECTORY_HTTP_CLIENT_HPP

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "url.hpp"
#include "useradmin/directory/directory_clients.hpp"
#include "useradmin/error.hpp"
#include "useradmin/result.hpp"

namespace useradmin::directory::detail {

struct HttpRequest {
  std::string method;  // "PATCH", "POST"
  std::string target;  // absolute path, already encoded
  std::string content_type;
  std::string authorization;  // the whole header value; empty: none
  std::string body;
};

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;
  std::string cache_control;  // the Cache-Control header, "" when absent
};

/// No usable answer: `reason` is timeout, unreachable or bad_response;
/// `detail` is log-safe (no body, no credentials).
struct TransportError {
  DirectoryFailureReason reason = DirectoryFailureReason::unreachable;
  std::string detail;
};

using HttpOutcome = std::variant<HttpAnswer, TransportError>;

class Connection;

class HttpClient {
 public:
  /// `internal` when the TLS context or the CA file cannot be set up.
  static Result<std::unique_ptr<HttpClient>> create(BaseUrl url, HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// One request and its answer within the timeout. A pooled connection
  /// that turns out closed by the peer is replaced once, transparently.
  HttpOutcome send(const HttpRequest& request);

  const BaseUrl& url() const { return url_; }

 private:
  struct Tls;
  HttpClient(BaseUrl url, HttpOptions options, std::unique_ptr<Tls> tls);
  std::unique_ptr<Connection> takeIdle();
  void giveBack(std::unique_ptr<Connection> connection);

  BaseUrl url_;
  HttpOptions options_;
  std::unique_ptr<Tls> tls_;
  std::mutex idle_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace useradmin::directory::detail

#endif  // USERADMIN_DIRECTORY_HTTP_CLIENT_HPP
