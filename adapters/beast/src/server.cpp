// The Server: listener (acceptor), I/O threads, worker pool and the drain.
#include "useradmin/beast/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server_state.hpp"
#include "useradmin/beast/envelope.hpp"

namespace useradmin::beast {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace detail {

namespace {

std::unique_ptr<AccessLog> makeAccessLog(const ServerOptions& options) {
  if (!options.access_log) return nullptr;
  return std::make_unique<AccessLog>(options.access_log_sink, options.log_format);
}

std::unique_ptr<RateLimiter> makeLimiter(const std::optional<RateLimit>& limit, std::size_t max_keys) {
  if (!limit) return nullptr;
  return std::make_unique<RateLimiter>(*limit, max_keys);
}

}  // namespace

ServerState::ServerState(const ServerOptions& opts, Services services, std::size_t io_threads,
                         std::size_t worker_threads)
    : options(opts),
      client_limiter(makeLimiter(opts.client_rate_limit, opts.rate_limit_max_keys)),
      actor_limiter(makeLimiter(opts.actor_rate_limit, opts.rate_limit_max_keys)),
      api(services, opts.base_path, apiRoutes(), client_limiter.get(), actor_limiter.get()),
      access_log(makeAccessLog(opts)),
      logger(opts.log_format, "useradmin", opts.log_sink),
      metrics(opts.base_path, apiRoutes()),
      unavailable_body(simpleEnvelope(503, kServiceUnavailableMessage, EnvelopeData::null)),
      ioc(static_cast<int>(io_threads)),
      workers(worker_threads) {}

Admission ServerState::admit(const std::string& client, std::shared_ptr<SessionControl>& victim) {
  const std::lock_guard<std::mutex> lock(sessions_mutex);
  if (options.max_connections_per_client > 0) {
    const auto held = sessions_per_client.find(client);
    if (held != sessions_per_client.end() && held->second >= options.max_connections_per_client)
      return Admission::client_full;
  }
  if (sessions.size() < options.max_connections) return Admission::admitted;
  // Full: the connection idle longest (and long enough) makes room.
  const auto latest = (std::chrono::steady_clock::now() - options.evict_idle_after).time_since_epoch().count();
  const SessionControl* oldest = nullptr;
  auto oldest_since = latest;
  for (const auto& entry : sessions) {
    const auto since = entry.first->idle_since_.load();
    if (since != 0 && since <= oldest_since) {
      oldest = entry.first;
      oldest_since = since;
    }
  }
  // Claimed (idle_since_ = 0) so that no later newcomer picks it again.
  if (oldest == nullptr || !oldest->idle_since_.compare_exchange_strong(oldest_since, 0)) return Admission::server_full;
  victim = sessions.at(oldest).session.lock();
  return victim ? Admission::admitted : Admission::server_full;
}

void ServerState::registerSession(const std::shared_ptr<SessionControl>& session, const std::string& client) {
  const std::lock_guard<std::mutex> lock(sessions_mutex);
  sessions.emplace(session.get(), SessionEntry{session, client});
  ++sessions_per_client[client];
}

void ServerState::unregisterSession(const SessionControl* session) {
  const std::lock_guard<std::mutex> lock(sessions_mutex);
  const auto found = sessions.find(session);
  if (found == sessions.end()) return;
  const auto held = sessions_per_client.find(found->second.client);
  if (held != sessions_per_client.end() && --held->second == 0) sessions_per_client.erase(held);
  sessions.erase(found);
  if (sessions.empty()) drained.notify_all();
}

std::size_t ServerState::sessionCount() {
  const std::lock_guard<std::mutex> lock(sessions_mutex);
  return sessions.size();
}

std::string ServerState::metricsText() {
  MetricsExtras extras;
  extras.open_connections = sessionCount();
  try {
    if (options.store_stats) extras.store = options.store_stats();
    if (options.directory_outbox_depth) extras.outbox_depth = options.directory_outbox_depth();
  } catch (const std::exception& e) {
    logger.error("metrics hook threw", {{"error", e.what()}});
  }
  std::string out;
  out.reserve(16 * 1024);
  metrics.render(extras, out);
  return out;
}

std::vector<std::shared_ptr<SessionControl>> ServerState::liveSessions() {
  std::vector<std::shared_ptr<SessionControl>> out;
  const std::lock_guard<std::mutex> lock(sessions_mutex);
  out.reserve(sessions.size());
  for (auto& entry : sessions)
    if (auto session = entry.second.session.lock()) out.push_back(std::move(session));
  return out;
}

// A descriptor held in reserve: when accept fails for want of descriptors,
// releasing it lets one pending connection be accepted, answered 503 and
// closed, instead of being left unanswered in the backlog.
int openReserveDescriptor() noexcept { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

// Lets a message through at most once per interval and counts the rest.
class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::seconds interval) : interval_(interval) {}
  // True when a line may be written now; `suppressed` tells how many were
  // held back since the last one.
  bool due(std::size_t& suppressed) {
    const auto now = std::chrono::steady_clock::now();
    if (written_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    written_ = true;
    last_ = now;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point last_{};
  bool written_ = false;
  std::size_t suppressed_ = 0;
};

bool outOfDescriptors(const boost::system::error_code& ec) {
  return ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
}

// Accepts connections on its own strand until the acceptor is closed.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ServerState& state, tcp::acceptor acceptor, ListenerKind kind)
      : state_(state),
        kind_(kind),
        acceptor_(std::move(acceptor)),
        retry_timer_(acceptor_.get_executor()),
        reserve_fd_(openReserveDescriptor()) {}

  ~Listener() {
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->accept(); });
  }

  // Stops accepting; connections already accepted are not touched.
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_timer_.cancel();
    });
  }

 private:
  void accept() {
    if (!acceptor_.is_open()) return;
    // Each connection gets its own strand.
    acceptor_.async_accept(net::make_strand(state_.ioc), [self = shared_from_this()](
                                                             boost::system::error_code ec, tcp::socket socket) {
      self->onAccept(ec, std::move(socket));
    });
  }

  void onAccept(boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      const bool answered = outOfDescriptors(ec) && refuseWithReserve();
      logAcceptFailure(ec, answered);
      if (answered) return accept();
      // Back off instead of spinning.
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    try {
      admit(std::move(socket));
    } catch (const std::exception& e) {
      state_.logger.error(std::string("cannot start a connection: ") + e.what());
    }
    accept();
  }

  // Out of descriptors: frees the reserve, accepts one pending connection
  // with it, answers 503, closes, and takes the reserve back. False when
  // there was no reserve or nothing to accept.
  bool refuseWithReserve() noexcept {
    if (reserve_fd_ < 0) reserve_fd_ = openReserveDescriptor();
    if (reserve_fd_ < 0) return false;
    ::close(reserve_fd_);
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      try {
        // A TLS client could not read a plaintext answer: the close must do.
        if (!usesTls(state_, kind_)) answerWithoutSession(fd, unavailableResponseBytes(state_));
      } catch (...) {
        // Out of memory as well: the close alone must do.
      }
      ::close(fd);
      ++refused_for_descriptors_;
    }
    reserve_fd_ = openReserveDescriptor();
    return fd >= 0;
  }

  // At most one line a second, however fast accept fails.
  void logAcceptFailure(const boost::system::error_code& ec, bool answered) {
    std::size_t suppressed = 0;
    if (!accept_log_.due(suppressed)) return;
    state_.logger.error("accept failed: " + ec.message() + (answered ? "; answered 503 and closed" : "") + " (" +
                        std::to_string(suppressed) + " similar failures not shown; " +
                        std::to_string(refused_for_descriptors_) +
                        " connections answered 503 for want of descriptors so far)");
  }

  void admit(tcp::socket socket) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    const auto remote = socket.remote_endpoint(ec);
    const std::string client = ec ? std::string("unknown") : remote.address().to_string();
    std::shared_ptr<SessionControl> victim;
    switch (state_.admit(client, victim)) {
      case Admission::admitted:
        if (victim) victim->evict();
        victim.reset();  // the last reference may unregister: outside admit's lock
        return startSession(state_, std::move(socket), client, kind_);
      case Admission::server_full:
        return rejectConnection(state_, std::move(socket), client, "too_many_connections", kind_);
      case Admission::client_full:
        return rejectConnection(state_, std::move(socket), client, "too_many_client_connections", kind_);
    }
  }

  ServerState& state_;
  ListenerKind kind_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  int reserve_fd_;
  std::size_t refused_for_descriptors_ = 0;
  LogThrottle accept_log_{std::chrono::seconds(1)};
};

}  // namespace detail

struct Server::Impl {
  std::unique_ptr<detail::ServerState> state;
  std::shared_ptr<detail::Listener> listener;
  std::shared_ptr<detail::Listener> metrics_listener;
  tcp::endpoint metrics_endpoint;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  tcp::endpoint endpoint;
  std::mutex shutdown_mutex;
  bool shut_down = false;

  // I/O threads still inside io_context::run.
  std::mutex running_mutex;
  std::condition_variable running_changed;
  std::size_t running = 0;

  void runIo() {
    for (;;) {
      try {
        state->ioc.run();
        break;
      } catch (const std::exception& e) {
        // Sessions catch their own exceptions; this is the last resort.
        state->logger.error(std::string("exception in I/O thread: ") + e.what());
      } catch (...) {
        state->logger.error("unknown exception in I/O thread");
      }
    }
    const std::lock_guard<std::mutex> lock(running_mutex);
    --running;
    running_changed.notify_all();
  }

  // Waits until every session is gone or `deadline` passes.
  bool waitDrained(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(state->sessions_mutex);
    return state->drained.wait_until(lock, deadline, [&] { return state->sessions.empty(); });
  }
};

namespace {

std::size_t hardwareThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

Error optionError(std::string detail) {
  Error e = Error::invalidArgument({"options", "invalid", detail}, "bad_options");
  e.detail = std::move(detail);
  return e;
}

Error listenError(std::string detail) {
  Error e = Error::unavailable(std::move(detail));
  e.message = "cannot listen";
  e.reason = "listen_failed";
  return e;
}

Error tlsError(std::string detail) {
  Error e = Error::invalidArgument({"tls", "invalid", detail}, "tls_failed");
  e.fields.clear();  // the detail says it all: "cannot use certificate file X: ..."
  e.message = "cannot set up TLS";
  e.detail = std::move(detail);
  return e;
}

// The oldest queued OpenSSL error as text (and the queue cleared).
std::string openSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// The server context: TLS 1.2 minimum, forward-secret AEAD suites only
// (TLS 1.3's are all AEAD), no renegotiation, no compression, the server's
// cipher order; the certificate chain and key from PEM files, checked to
// match.
Result<std::unique_ptr<net::ssl::context>> makeTlsContext(const ServerOptions& options) {
  try {
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    ERR_clear_error();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
      return tlsError("cannot require TLS 1.2: " + openSslError());
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    static constexpr const char* kTls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
      return tlsError("cannot set the cipher list: " + openSslError());
    if (SSL_CTX_use_certificate_chain_file(native, options.tls_certificate_file.c_str()) != 1)
      return tlsError("cannot use certificate file " + options.tls_certificate_file + ": " + openSslError());
    if (SSL_CTX_use_PrivateKey_file(native, options.tls_private_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return tlsError("cannot use private key file " + options.tls_private_key_file + ": " + openSslError());
    if (SSL_CTX_check_private_key(native) != 1)
      return tlsError("private key " + options.tls_private_key_file + " does not match certificate " +
                      options.tls_certificate_file + ": " + openSslError());
    return ctx;
  } catch (const std::exception& e) {
    return tlsError(e.what());
  }
}

// Resolves, opens, binds and listens; the bound address in `bound`.
std::optional<Error> openAcceptor(net::io_context& ioc, const std::string& host, std::uint16_t port,
                                  tcp::acceptor& acceptor, tcp::endpoint& bound) {
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  const auto address = net::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return listenError("cannot resolve " + host + ": " + ec.message());
    endpoint = results.begin()->endpoint();
  }
  auto fail = [&](const char* what) {
    return listenError(std::string(what) + " " + endpoint.address().to_string() + ":" +
                       std::to_string(endpoint.port()) + ": " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("cannot open a socket for");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("cannot set SO_REUSEADDR on");
  acceptor.bind(endpoint, ec);
  if (ec) return fail("cannot bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on");
  bound = acceptor.local_endpoint(ec);
  if (ec) return fail("cannot read the bound address of");
  return std::nullopt;
}

std::string hostText(const net::ip::address& address) {
  return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options, Services services) {
  if (options.max_header_bytes < 256) return optionError("max_header_bytes must be at least 256");
  if (options.max_connections == 0) return optionError("max_connections must be at least 1");
  for (const auto* limit : {&options.client_rate_limit, &options.actor_rate_limit})
    if (*limit && !((*limit)->rate > 0)) return optionError("rate limits need a rate > 0");
  for (auto timeout : {options.header_timeout, options.request_timeout, options.idle_timeout, options.write_timeout})
    if (timeout.count() <= 0) return optionError("timeouts must be positive");
  if (options.evict_idle_after.count() < 0) return optionError("evict_idle_after must not be negative");
  if (options.tls_certificate_file.empty() != options.tls_private_key_file.empty())
    return tlsError("TLS needs both a certificate file and a private key file");

  const std::size_t io_threads = options.io_threads > 0 ? options.io_threads : hardwareThreads();
  const std::size_t worker_threads =
      options.worker_threads > 0 ? options.worker_threads : std::max<std::size_t>(kDefaultWorkerThreads, 2 * hardwareThreads());

  auto impl = std::make_unique<Impl>();
  try {
    impl->state = std::make_unique<detail::ServerState>(options, services, io_threads, worker_threads);
  } catch (const std::exception& e) {
    return optionError(e.what());
  }
  auto& ioc = impl->state->ioc;

  if (!options.tls_certificate_file.empty()) {
    auto ctx = makeTlsContext(options);
    if (!ctx) return ctx.error();
    impl->state->tls_context = std::move(*ctx);
  }

  tcp::acceptor acceptor(net::make_strand(ioc));
  if (auto failed = openAcceptor(ioc, options.host, options.port, acceptor, impl->endpoint)) return *failed;
  std::optional<tcp::acceptor> metrics_acceptor;
  if (options.metrics_port) {
    metrics_acceptor.emplace(net::make_strand(ioc));
    if (auto failed = openAcceptor(ioc, options.metrics_host, *options.metrics_port, *metrics_acceptor,
                                   impl->metrics_endpoint))
      return *failed;
  }

  impl->listener = std::make_shared<detail::Listener>(*impl->state, std::move(acceptor), detail::ListenerKind::api);
  if (metrics_acceptor)
    impl->metrics_listener =
        std::make_shared<detail::Listener>(*impl->state, std::move(*metrics_acceptor), detail::ListenerKind::metrics);
  impl->work.emplace(ioc.get_executor());
  impl->listener->start();
  if (impl->metrics_listener) impl->metrics_listener->start();
  impl->running = io_threads;
  impl->io_threads.reserve(io_threads);
  for (std::size_t i = 0; i < io_threads; ++i) impl->io_threads.emplace_back([p = impl.get()] { p->runIo(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { shutdown(std::chrono::seconds(10)); }

std::uint16_t Server::port() const noexcept { return impl_->endpoint.port(); }

std::string Server::host() const { return hostText(impl_->endpoint.address()); }

std::string Server::url() const { return (tls() ? "https://" : "http://") + host() + ":" + std::to_string(port()); }

bool Server::tls() const noexcept { return impl_->state->tls_context != nullptr; }

std::uint16_t Server::metricsPort() const noexcept {
  return impl_->metrics_listener ? impl_->metrics_endpoint.port() : 0;
}

std::string Server::metricsUrl() const {
  if (!impl_->metrics_listener) return {};
  return "http://" + hostText(impl_->metrics_endpoint.address()) + ":" + std::to_string(metricsPort()) +
         std::string(kMetricsPath);
}

std::string Server::metricsText() const { return impl_->state->metricsText(); }

std::size_t Server::connectionCount() const { return impl_->state->sessionCount(); }

bool Server::ready() const { return impl_->state->ready(); }

void Server::shutdown(std::chrono::milliseconds drain) {
  const std::lock_guard<std::mutex> guard(impl_->shutdown_mutex);
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  auto& state = *impl_->state;
  const auto deadline = std::chrono::steady_clock::now() + drain;

  // 1. Stop accepting. 2. Ask every connection to finish: idle ones close
  // now, ones with a request in flight answer it (Connection: close).
  state.stopping.store(true);
  impl_->listener->close();
  if (impl_->metrics_listener) impl_->metrics_listener->close();
  for (auto& session : state.liveSessions()) session->stop();

  // 3. Wait for the drain; past the deadline, close what is left.
  if (!impl_->waitDrained(deadline)) {
    for (auto& session : state.liveSessions()) session->forceClose();
    impl_->waitDrained(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }

  // 4. Let the library calls still on the pool finish, then let the I/O
  // threads run out of work. Only if they do not (a handler stuck past
  // every timeout) is the io_context stopped.
  state.workers.join();
  impl_->work.reset();
  {
    std::unique_lock<std::mutex> lock(impl_->running_mutex);
    if (!impl_->running_changed.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->running == 0; }))
      state.ioc.stop();
  }
  for (auto& thread : impl_->io_threads) thread.join();
  impl_->listener.reset();
  impl_->metrics_listener.reset();
  if (state.access_log) state.access_log->flush();
}

}  // namespace useradmin::beast
