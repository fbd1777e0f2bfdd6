// Server: the asynchronous HTTP/1.1 server (Boost.Beast) around the Api.
#ifndef USERADMIN_BEAST_SERVER_HPP
#define USERADMIN_BEAST_SERVER_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "useradmin/beast/access_log.hpp"
#include "useradmin/beast/api.hpp"
#include "useradmin/beast/log.hpp"
#include "useradmin/beast/metrics.hpp"
#include "useradmin/beast/rate_limiter.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"
#include "useradmin/store_stats.hpp"

namespace useradmin::beast {

/// How the server listens, what it tolerates and how it is threaded.
/// Default worker count: the SQLite store's default group-commit batch size.
inline constexpr std::size_t kDefaultWorkerThreads = 64;

struct ServerOptions {
  /// An IP address (v4 or v6) or a host name resolved once at start.
  std::string host = "127.0.0.1";
  /// 0 picks a free port; Server::port() tells which.
  std::uint16_t port = 8080;
  /// Route prefix (see normalizeBasePath).
  std::string base_path = "/api";
  /// Threads running the sockets; 0 = hardware concurrency.
  std::size_t io_threads = 0;
  /// Threads running library calls (which block on storage); 0 =
  /// max(kDefaultWorkerThreads, 2 x hardware concurrency). Each blocked
  /// call holds a thread, so this bounds the calls in flight and with it the
  /// batch a group-committing store can form: measured with the SQLite store
  /// at FULL durability, 4 workers gave ~5.5k reactivations/s, 64 ~12-15k/s.
  std::size_t worker_threads = 0;
  /// Connections served at once. At the limit, the connection that has
  /// waited longest for its next request (idle at least `evict_idle_after`)
  /// is closed to make room; with none such, the new connection is answered
  /// 503 (data null, `Connection: close`) and closed.
  std::size_t max_connections = 4096;
  /// Connections one client address may hold at once, so that one address
  /// cannot take every slot; more are answered 503 (reason
  /// `too_many_client_connections`) and closed. 0 = no per-address limit.
  std::size_t max_connections_per_client = 256;
  /// How long a connection must have been idle to be closed for a newcomer
  /// at max_connections (a connection that just finished a request is likely
  /// to send the next one).
  std::chrono::milliseconds evict_idle_after{1'000};
  /// Request header block limit (bytes); more is answered 431 and closed.
  std::uint32_t max_header_bytes = 8 * 1024;
  /// Request body limit (bytes, after chunked decoding); more is answered
  /// 413 and closed.
  std::uint64_t max_body_bytes = 4 * 1024;
  /// From a request's first byte until its header is complete (at most
  /// request_timeout): a client that does not send its header promptly is
  /// disconnected without an answer.
  std::chrono::milliseconds header_timeout{5'000};
  /// From a request's first byte until it is fully read; a client that
  /// trickles bytes is disconnected when it runs out.
  std::chrono::milliseconds request_timeout{10'000};
  /// How long an idle keep-alive connection (no request started) is kept.
  std::chrono::milliseconds idle_timeout{30'000};
  /// How long writing one response may take (a client that does not read).
  std::chrono::milliseconds write_timeout{10'000};
  /// Token buckets per client address and per authenticated actor; absent =
  /// off. Refusals are 429 with `Retry-After`.
  std::optional<RateLimit> client_rate_limit;
  std::optional<RateLimit> actor_rate_limit;
  /// Most buckets each limiter keeps (least recently used evicted).
  std::size_t rate_limit_max_keys = 100'000;
  /// Access log: on by default, to stderr (see AccessLog); `access_log_sink`
  /// replaces stderr (tests); `access_log = false` turns it off.
  bool access_log = true;
  AccessLog::Sink access_log_sink;
  /// Readiness hook: `GET /readyz` answers 200 while the server is not
  /// draining and this returns true (unset = true), else 503. The store's
  /// health check plugs in here. Called on an I/O thread for each /readyz
  /// request: it must be fast, must not block and must not throw.
  std::function<bool()> ready_check;

  /// TLS: both set = the listener speaks HTTPS only (OpenSSL through Beast's
  /// ssl_stream; TLS 1.2 and 1.3, ECDHE with AES-GCM or ChaCha20-Poly1305,
  /// no renegotiation, no compression), with the same limits and timeouts;
  /// the handshake counts against the first request's header_timeout.
  /// `tls_certificate_file` is a PEM chain (leaf first), `tls_private_key_file`
  /// its PEM key. One set without the other, or files OpenSSL refuses, fail
  /// start() (reason `tls_failed`, detail names the file and the error).
  std::string tls_certificate_file;
  std::string tls_private_key_file;

  /// Metrics listener: set = a second listener on metrics_host:metrics_port
  /// (0 picks a free port), plain HTTP, answering `GET /metrics` (Prometheus
  /// text 0.0.4), the probes, and 404/405 for anything else. Unset = no
  /// metrics anywhere (the public listener never answers /metrics).
  std::optional<std::uint16_t> metrics_port;
  std::string metrics_host = "127.0.0.1";
  /// Read at each scrape, on a worker thread (may block briefly; must not
  /// throw): the store's commit statistics (families skipped unless
  /// `available`), and the directory outbox depth (gauge skipped when unset
  /// or nullopt).
  std::function<StoreStats()> store_stats;
  std::function<std::optional<std::uint64_t>()> directory_outbox_depth;

  /// The format of the access log and of the server's own messages (see
  /// LogFormat); `log_sink` replaces stderr for the messages (tests).
  LogFormat log_format = LogFormat::text;
  Logger::Sink log_sink;
};

/// The probe paths the server answers itself, before routing and outside
/// the base path: no authentication, no rate limit, no audit; access-logged.
/// `GET`/`HEAD` only (others: 405). /healthz is 200 while the process runs;
/// /readyz is 200 when Server::ready(), else 503.
inline constexpr std::string_view kHealthPath = "/healthz";
inline constexpr std::string_view kReadyPath = "/readyz";

/// A running server. Created listening and serving; shutdown() (or the
/// destructor) stops it gracefully. Keep-alive and pipelined requests are
/// served in order on each connection; library calls run on a worker pool
/// and never block an I/O thread.
class USERADMIN_API Server {
 public:
  /// Binds, listens and starts the I/O and worker threads. `services` must
  /// outlive the server. Errors: `invalid_argument` for unusable options
  /// (reason `bad_options`, detail says which), `unavailable` when the
  /// address cannot be resolved or bound (reason `listen_failed`, detail
  /// from the OS).
  static Result<std::unique_ptr<Server>> start(const ServerOptions& options, Services services);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port actually bound.
  std::uint16_t port() const noexcept;
  /// The bound address as text, IPv6 in brackets, e.g. "127.0.0.1" or "[::1]".
  std::string host() const;
  /// "http://HOST:PORT", or "https://HOST:PORT" with TLS.
  std::string url() const;
  /// Whether the listener speaks TLS.
  bool tls() const noexcept;

  /// The metrics listener's port, 0 when it is off.
  std::uint16_t metricsPort() const noexcept;
  /// "http://HOST:PORT/metrics", empty when off.
  std::string metricsUrl() const;
  /// The exposition text a scrape would answer now (for embedders that serve
  /// it themselves; works whether the metrics listener is on or not).
  std::string metricsText() const;

  /// Graceful shutdown: stops accepting, closes idle connections at once,
  /// lets requests in flight finish (their responses carry
  /// `Connection: close`), waits up to `drain` for connections to end,
  /// then closes what is left and joins all threads. Idempotent; blocks.
  void shutdown(std::chrono::milliseconds drain = std::chrono::seconds(10));

  /// Connections currently open (for tests and metrics).
  std::size_t connectionCount() const;

  /// What /readyz reports: false once shutdown() has begun (before the
  /// listener closes), else `ServerOptions::ready_check` (true when unset).
  bool ready() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_SERVER_HPP
