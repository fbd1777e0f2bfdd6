// What the listener and the sessions share: options, the Api, the threads'
// io_context and worker pool, the access log and the registry of open
// connections (for max_connections and the graceful drain).
#ifndef USERADMIN_BEAST_SRC_SERVER_STATE_HPP
#define USERADMIN_BEAST_SRC_SERVER_STATE_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "useradmin/beast/access_log.hpp"
#include "useradmin/beast/api.hpp"
#include "useradmin/beast/log.hpp"
#include "useradmin/beast/metrics.hpp"
#include "useradmin/beast/rate_limiter.hpp"
#include "useradmin/beast/server.hpp"

namespace useradmin::beast::detail {

namespace net = boost::asio;

/// The part of a connection the server drives from outside its strand.
class SessionControl {
 public:
  SessionControl() = default;
  SessionControl(const SessionControl&) = delete;
  SessionControl& operator=(const SessionControl&) = delete;
  virtual ~SessionControl();
  /// Graceful stop: an idle connection closes now; a request in flight is
  /// answered (with `Connection: close`) and then the connection closes.
  virtual void stop() = 0;
  /// Closes the socket now, aborting whatever is in flight.
  virtual void forceClose() = 0;
  /// Makes room at max_connections: closes the connection if it is still
  /// idle, else lets its request finish and then closes (as stop()).
  virtual void evict() = 0;

  // Written by the session on its strand, read by the listener choosing whom
  // to evict: since when the connection waits for its next request (steady
  // clock ticks), 0 while a request is under way.
  void markIdle() noexcept { idle_since_.store(std::chrono::steady_clock::now().time_since_epoch().count()); }
  void markBusy() noexcept { idle_since_.store(0); }

 private:
  friend struct ServerState;
  mutable std::atomic<std::chrono::steady_clock::rep> idle_since_{0};
};

/// Which listener accepted a connection: the public one (the API, the
/// probes; TLS when configured) or the metrics listener (plain HTTP).
enum class ListenerKind { api, metrics };

/// Whether a new connection may be served (ServerState::admit).
enum class Admission { admitted, server_full, client_full };

struct ServerState {
  ServerState(const ServerOptions& opts, Services services, std::size_t io_threads, std::size_t worker_threads);

  ServerOptions options;
  // Declared before `api`, which points at them.
  std::unique_ptr<RateLimiter> client_limiter;
  std::unique_ptr<RateLimiter> actor_limiter;
  Api api;
  std::unique_ptr<AccessLog> access_log;  // null when off
  Logger logger;
  Metrics metrics;
  // Set when the public listener speaks TLS.
  std::unique_ptr<net::ssl::context> tls_context;
  // The 503 envelope, serialized once: out of descriptors, the answer must
  // not depend on anything that could need one.
  const std::string unavailable_body;
  std::atomic<bool> stopping{false};

  // Connections being answered 503 (not registered), bounded so that
  // refusing cannot itself exhaust descriptors.
  std::atomic<std::size_t> refusals_in_flight{0};

  // Open connections and how many each client address holds. A session
  // registers when it starts and unregisters in its destructor; `drained`
  // is signalled when the map empties.
  struct SessionEntry {
    std::weak_ptr<SessionControl> session;
    std::string client;
  };
  std::mutex sessions_mutex;
  std::condition_variable drained;
  std::unordered_map<const SessionControl*, SessionEntry> sessions;
  std::unordered_map<std::string, std::size_t> sessions_per_client;

  /// Whether a connection from `client` may be served now. At
  /// max_connections it may instead choose the longest-idle session (idle
  /// at least evict_idle_after) as `victim`, which the caller evicts (outside
  /// the lock) while admitting the newcomer; the count then exceeds the
  /// maximum by the victims still closing.
  Admission admit(const std::string& client, std::shared_ptr<SessionControl>& victim);
  void registerSession(const std::shared_ptr<SessionControl>& session, const std::string& client);
  void unregisterSession(const SessionControl* session);
  std::size_t sessionCount();
  /// Server::ready(): not stopping, and the hook (if any) says so.
  bool ready() const {
    return !stopping.load() && (!options.ready_check || options.ready_check());
  }
  /// The exposition text of a scrape now (calls the store and outbox hooks).
  std::string metricsText();
  /// Strong references to every live session (for stop / forceClose).
  std::vector<std::shared_ptr<SessionControl>> liveSessions();

  // Destroyed in reverse order: the worker pool first (it posts back into
  // the io_context), then the io_context (whose pending handlers own the
  // sessions, which unregister through the mutex above).
  net::io_context ioc;
  net::thread_pool workers;
};

/// Starts serving an accepted connection from `client` (registered for the
/// drain and the per-client count).
void startSession(ServerState& state, net::ip::tcp::socket socket, const std::string& client, ListenerKind kind);

/// Answers an accepted connection 503 and closes it; `reason` is for the
/// access log. Past a bounded number of refusals in flight the answer is
/// written at once, without waiting for or logging anything.
void rejectConnection(ServerState& state, net::ip::tcp::socket socket, const std::string& client,
                      const char* reason, ListenerKind kind);

/// A complete 503 response (`Connection: close`, a fresh X-Request-Id), for
/// connections answered without a session.
std::string unavailableResponseBytes(const ServerState& state);

/// Whether connections of `kind` speak TLS.
inline bool usesTls(const ServerState& state, ListenerKind kind) {
  return kind == ListenerKind::api && state.tls_context != nullptr;
}

/// Best effort, never blocks: writes `response` to the connected socket
/// `fd`, discards what the peer already sent (so the close is less likely
/// to reset the answer away), half-closes. Does not close `fd`.
void answerWithoutSession(int fd, const std::string& response) noexcept;

}  // namespace useradmin::beast::detail

#endif  // USERADMIN_BEAST_SRC_SERVER_STATE_HPP
