// What the listener and the sessions share: options, the Api, the threads'
// io_context and worker pool, the access log and the registry of open
// connections (for max_connections and the graceful drain).
#ifndef USERADMIN_BEAST_SRC_SERVER_STATE_HPP
#define USERADMIN_BEAST_SRC_SERVER_STATE_HPP

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "useradmin/beast/access_log.hpp"
#include "useradmin/beast/api.hpp"
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
};

struct ServerState {
  ServerState(const ServerOptions& opts, Services services, std::size_t io_threads, std::size_t worker_threads);

  ServerOptions options;
  // Declared before `api`, which points at them.
  std::unique_ptr<RateLimiter> client_limiter;
  std::unique_ptr<RateLimiter> actor_limiter;
  Api api;
  std::unique_ptr<AccessLog> access_log;  // null when off
  std::atomic<bool> stopping{false};

  // Open connections. A session registers when it starts and unregisters in
  // its destructor; `drained` is signalled when the map empties.
  std::mutex sessions_mutex;
  std::condition_variable drained;
  std::unordered_map<const SessionControl*, std::weak_ptr<SessionControl>> sessions;

  void registerSession(const std::shared_ptr<SessionControl>& session);
  void unregisterSession(const SessionControl* session);
  std::size_t sessionCount();
  /// Strong references to every live session (for stop / forceClose).
  std::vector<std::shared_ptr<SessionControl>> liveSessions();

  // Destroyed in reverse order: the worker pool first (it posts back into
  // the io_context), then the io_context (whose pending handlers own the
  // sessions, which unregister through the mutex above).
  net::io_context ioc;
  net::thread_pool workers;
};

/// Starts serving an accepted connection (registered for the drain).
void startSession(ServerState& state, net::ip::tcp::socket socket);

/// Answers an accepted connection 503 (too many connections) and closes it.
void rejectConnection(ServerState& state, net::ip::tcp::socket socket);

}  // namespace useradmin::beast::detail

#endif  // USERADMIN_BEAST_SRC_SERVER_STATE_HPP
