// One HTTP/1.1 connection: reads requests (keep-alive, pipelined) with
// limits and timeouts, hands them to the Api, writes the responses in order.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server_state.hpp"
#include "useradmin/beast/envelope.hpp"
#include "useradmin/beast/request_id.hpp"

namespace useradmin::beast::detail {

namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// The pieces of a request the adapter uses, in buffers reused from one
// request to the next (steady state: no allocation while parsing).
struct ParsedRequest {
  std::string method;
  std::string target;
  std::string authorization;
  unsigned authorization_count = 0;
  std::string request_id;
  std::string body;
  int version = 11;
  unsigned host_count = 0;
  bool expect_continue = false;
  bool has_transfer_encoding = false;
  // Transfer codings named across all Transfer-Encoding fields: only a
  // single "chunked" is understood.
  unsigned chunked_codings = 0;
  unsigned other_codings = 0;

  void reset() {
    method.clear();
    target.clear();
    authorization.clear();
    authorization_count = 0;
    request_id.clear();
    body.clear();
    version = 11;
    host_count = 0;
    expect_continue = false;
    has_transfer_encoding = false;
    chunked_codings = 0;
    other_codings = 0;
  }

  // Counts the codings of one Transfer-Encoding value ("gzip, chunked").
  void addTransferCodings(boost::beast::string_view value) {
    has_transfer_encoding = true;
    while (!value.empty()) {
      const auto comma = value.find(',');
      boost::beast::string_view coding = value.substr(0, comma);
      value = comma == boost::beast::string_view::npos ? boost::beast::string_view() : value.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
      if (coding.empty()) continue;  // empty list elements are allowed (RFC 9110 §5.6.1)
      if (boost::beast::iequals(coding, "chunked")) ++chunked_codings;
      else ++other_codings;
    }
  }

  // Why the header cannot be served as it stands (RFC 9112 §3.2, §6.1), or
  // null.
  const char* framingProblem(bool parser_chunked) const {
    if (host_count > 1) return "duplicate_host";
    if (host_count == 0 && version == 11) return "missing_host";
    // A coding other than one final "chunked" leaves the body length
    // unknown or undecodable (§6.3): refuse rather than guess.
    if (has_transfer_encoding && (!parser_chunked || chunked_codings != 1 || other_codings != 0))
      return "bad_transfer_encoding";
    return nullptr;
  }
};

// A Beast parser that keeps only what ParsedRequest holds. Beast validates
// the syntax (request line, field names and values, Content-Length,
// Transfer-Encoding, chunks) and the body limit. Beast's header_limit
// bounds the request line and the fields separately, so the session counts
// the exact header block itself (see HttpSession::parseBuffered).
class RequestParser final : public http::basic_parser<true> {
 public:
  RequestParser(ParsedRequest& out, std::size_t header_limit) : out_(out) {
    this->header_limit(static_cast<std::uint32_t>(header_limit));
  }

 private:
  void on_request_impl(http::verb, boost::beast::string_view method, boost::beast::string_view target, int version,
                       error_code& ec) override {
    // HTTP/1.0 and 1.1 only (the parser accepts any single digits).
    if (version != 10 && version != 11) {
      ec = http::error::bad_version;
      return;
    }
    out_.version = version;
    out_.method.assign(method.data(), method.size());
    out_.target.assign(target.data(), target.size());
  }

  void on_response_impl(int, boost::beast::string_view, int, error_code& ec) override {
    ec = http::error::bad_version;  // never called for requests
  }

  void on_field_impl(http::field name, boost::beast::string_view name_string, boost::beast::string_view value,
                     error_code&) override {
    switch (name) {
      case http::field::authorization:
        if (out_.authorization_count++ == 0) out_.authorization.assign(value.data(), value.size());
        break;
      case http::field::expect:
        out_.expect_continue = boost::beast::iequals(value, "100-continue");
        break;
      case http::field::host: ++out_.host_count; break;
      case http::field::transfer_encoding: out_.addTransferCodings(value); break;
      default:
        if (out_.request_id.empty() && boost::beast::iequals(name_string, "x-request-id"))
          out_.request_id.assign(value.data(), std::min<std::size_t>(value.size(), kMaxRequestIdLength + 1));
        break;
    }
  }

  void on_header_impl(error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) override {
    if (content_length) out_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*content_length, 65536)));
  }

  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(error_code&) override {}

  ParsedRequest& out_;
};

// True when `bytes` hold a LF not preceded by CR at or after `from` (the
// bytes before were checked already, so a trickled header costs linear
// time). Called on bytes the parser is waiting to complete, which are
// always framing (request line, fields, chunk-size lines, trailers), never
// body data: there a bare LF can never become valid, and Beast would wait
// for a CRLF until the timeout.
bool hasBareLineFeed(const char* bytes, std::size_t size, std::size_t from) {
  for (std::size_t i = from; i < size; ++i)
    if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) return true;
  return false;
}

constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kBufferLimit = 32 * 1024;
// After a closing response: how long (and how much) unread input is drained
// so the peer sees the response instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// 503s being written and lingered over at once; past this, refusals are
// written in one non-blocking send and closed, so a flood of refused
// connections holds no descriptors.
constexpr std::size_t kMaxRefusalsInFlight = 64;

void appendNumber(std::string& out, std::uint64_t value) {
  char buf[20];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) out.push_back(buf[--n]);
}

std::string_view pathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// Writes the status line, the headers and (unless `head`) the body of
// `response` into `out`. A body goes out with a final newline (counted in
// Content-Length), so pasted curl output does not run into the prompt; the
// envelope JSON itself is unchanged.
void serializeResponse(std::string& out, const ApiResponse& response, std::string_view request_id, bool keep_alive,
                       bool head) {
  out.clear();
  out += "HTTP/1.1 ";
  appendNumber(out, response.status);
  out.push_back(' ');
  out += reasonPhrase(response.status);
  out += "\r\nContent-Type: ";
  out += response.content_type.empty() ? std::string_view("application/json") : response.content_type;
  out +=
      "\r\n"
      "Cache-Control: no-store\r\n"
      "X-Request-Id: ";
  out += request_id;
  out += "\r\n";
  if (response.status == 401) out += "WWW-Authenticate: Bearer\r\n";
  if (!response.allow.empty()) {
    out += "Allow: ";
    out += response.allow;
    out += "\r\n";
  }
  if (response.retry_after > 0) {
    out += "Retry-After: ";
    appendNumber(out, response.retry_after);
    out += "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "Content-Length: ";
  // A body that already ends with a newline (the metrics text) gets none.
  const bool add_newline = !response.body.empty() && response.body.back() != '\n';
  appendNumber(out, response.body.size() + (add_newline ? 1 : 0));
  out += "\r\n\r\n";
  if (!head) {
    out += response.body;
    if (add_newline) out.push_back('\n');
  }
}

ApiResponse unavailableResponse(const ServerState& state, const char* reason) {
  ApiResponse response;
  response.status = 503;
  response.body = state.unavailable_body;
  response.reason = reason;
  return response;
}

// The probes (kHealthPath, kReadyPath), answered before routing; nullopt for
// any other path.
std::optional<ApiResponse> probeResponse(const ServerState& state, std::string_view method, std::string_view path) {
  if (path != kHealthPath && path != kReadyPath) return std::nullopt;
  ApiResponse response;
  if (method != "GET" && method != "HEAD") {
    response.status = 405;
    response.body = simpleEnvelope(405, kMethodNotAllowedMessage, EnvelopeData::null);
    response.allow = "GET, HEAD";
    response.reason = "method_not_allowed";
  } else if (path == kHealthPath) {
    response.status = 200;
    response.body = R"({"code":200,"message":"ok","data":{"status":"ok"}})";
  } else if (state.ready()) {
    response.status = 200;
    response.body = R"({"code":200,"message":"ready","data":{"status":"ready"}})";
  } else {
    response.status = 503;
    response.body = R"({"code":503,"message":"service unavailable","data":{"status":"not_ready"}})";
    response.reason = "not_ready";
  }
  return response;
}

// What the metrics listener answers itself: /metrics (built on a worker,
// see HttpSession), the probes, 405 for other methods on those, 404 for
// any other path.
std::optional<ApiResponse> metricsListenerResponse(const ServerState& state, std::string_view method,
                                                   std::string_view path) {
  if (auto probe = probeResponse(state, method, path)) return probe;
  ApiResponse response;
  if (path != kMetricsPath) {
    response.status = 404;
    response.body = simpleEnvelope(404, kRouteNotFoundMessage, EnvelopeData::null);
    response.reason = "route_not_found";
    return response;
  }
  if (method != "GET" && method != "HEAD") {
    response.status = 405;
    response.body = simpleEnvelope(405, kMethodNotAllowedMessage, EnvelopeData::null);
    response.allow = "GET, HEAD";
    response.reason = "method_not_allowed";
    return response;
  }
  return std::nullopt;  // the scrape itself
}

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <class Stream>
class HttpSession final : public SessionControl, public std::enable_shared_from_this<HttpSession<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  HttpSession(ServerState& state, tcp::socket socket, std::string client, ListenerKind kind)
      : state_(state),
        stream_(openStream(state, std::move(socket))),
        buffer_(kBufferLimit),
        client_address_(std::move(client)),
        kind_(kind),
        route_slot_(state.metrics.specialSlot(Metrics::Special::unmatched)) {}

  ~HttpSession() override {
    if (registered_) state_.unregisterSession(this);
    if (refusing_) state_.refusals_in_flight.fetch_sub(1);
  }

  // Serves the connection.
  void start() {
    state_.registerSession(this->shared_from_this(), client_address_);
    registered_ = true;
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->guarded([&] { self->handshakeThen([self] { self->waitRequest(); }); });
    });
  }

  // Answers 503 and closes (over a connection limit); not registered, but
  // counted in refusals_in_flight until it is gone.
  void startRejected(const char* reason) {
    refusing_ = true;
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this(), reason] {
      self->guarded([&] {
        self->handshakeThen([self, reason] {
          self->phase_ = Phase::processing;
          self->request_id_ = generateRequestId();
          self->close_after_ = true;
          self->send(unavailableResponse(self->state_, reason));
        });
      });
    });
  }

  void evict() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      if (self->phase_ == Phase::idle) self->closeNow();
    });
  }

  void stop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      // An idle connection has nothing in flight: close it now. A request
      // being read or processed completes and its response says close.
      if (self->phase_ == Phase::idle) self->closeNow();
    });
  }

  void forceClose() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->closeNow(); });
  }

 private:
  enum class Phase { idle, reading, processing, writing, closing };

  static Stream openStream(ServerState& state, tcp::socket socket) {
    if constexpr (kTls) return TlsStream(PlainStream(std::move(socket)), *state.tls_context);
    else return PlainStream(std::move(socket));
  }

  boost::beast::tcp_stream& lowest() noexcept { return boost::beast::get_lowest_layer(stream_); }

  // TLS: the handshake first, within header_timeout (a plaintext client, a
  // failed or slow handshake: closed, counted, nothing answered); then
  // `next`, with what is left of header_timeout as the wait for the first
  // request's first byte. Plain HTTP: `next` at once.
  template <class Next>
  void handshakeThen(Next next) {
    if constexpr (kTls) {
      const auto deadline = std::chrono::steady_clock::now() + state_.options.header_timeout;
      lowest().expires_at(deadline);
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this(), next = std::move(next), deadline](error_code ec) {
                                self->guarded([&] {
                                  if (ec) {
                                    self->state_.metrics.recordTlsHandshakeFailure();
                                    return self->closeNow();
                                  }
                                  self->first_byte_deadline_ = deadline;
                                  next();
                                });
                              });
    } else {
      next();
    }
  }

  bool shuttingDown() const { return stopping_ || state_.stopping.load(std::memory_order_relaxed); }

  // Every completion handler runs inside this: an exception never escapes
  // into Asio. Before the response is under way it becomes a 500.
  template <class F>
  void guarded(F&& f) noexcept {
    try {
      f();
      return;
    } catch (const std::exception& e) {
      onException(e.what());
    } catch (...) {
      onException("unknown exception");
    }
  }

  void onException(const char* what) noexcept {
    try {
      if (phase_ == Phase::reading || phase_ == Phase::processing) {
        close_after_ = true;
        send(internalErrorResponse(std::string("exception in session: ") + what));
        return;
      }
    } catch (...) {
    }
    closeNow();
  }

  // Waits for the next request; the idle timeout runs until its first byte.
  void waitRequest() {
    phase_ = Phase::idle;
    if (shuttingDown()) return closeNow();
    if (buffer_.size() > 0) return readHeader();  // pipelined bytes already here
    if (first_byte_deadline_) {
      lowest().expires_at(*first_byte_deadline_);
      first_byte_deadline_.reset();
    } else {
      lowest().expires_after(state_.options.idle_timeout);
    }
    markIdle();
    stream_.async_read_some(buffer_.prepare(std::min(kReadChunk, buffer_.max_size())),
                            boost::beast::bind_front_handler(&HttpSession::onFirstBytes, this->shared_from_this()));
  }

  void onFirstBytes(error_code ec, std::size_t n) {
    markBusy();
    guarded([&] {
      if (ec) return closeNow();  // EOF, idle timeout, reset, or stopped
      buffer_.commit(n);
      readHeader();
    });
  }

  // Reads one request's header; the header and request timeouts run from
  // here.
  void readHeader() {
    phase_ = Phase::reading;
    head_ = false;
    route_slot_ = state_.metrics.specialSlot(Metrics::Special::unmatched);
    started_ = std::chrono::steady_clock::now();
    request_.reset();
    parser_.emplace(request_, state_.options.max_header_bytes);
    parser_->body_limit(state_.options.max_body_bytes);
    parser_->eager(false);  // stop after the header, so it can be checked first
    reading_header_ = true;
    header_bytes_ = 0;
    checked_bytes_ = 0;
    request_deadline_ = std::chrono::steady_clock::now() + state_.options.request_timeout;
    lowest().expires_after(std::min(state_.options.header_timeout, state_.options.request_timeout));
    parseBuffered();
  }

  // Feeds what is buffered to the parser and reads more until the header
  // (then the whole request) is complete. The header block is counted
  // exactly: the request line, every field line and the empty line, CRLFs
  // included, at most max_header_bytes.
  void parseBuffered() {
    for (;;) {
      error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      checked_bytes_ = used >= checked_bytes_ ? 0 : checked_bytes_ - used;
      if (reading_header_) header_bytes_ += used;
      if (ec == http::error::need_more) return needMore();
      if (ec) return failRead(ec);
      if (reading_header_ && parser_->is_header_done()) {
        reading_header_ = false;
        if (header_bytes_ > state_.options.max_header_bytes) return failRead(http::error::header_limit);
        lowest().expires_at(request_deadline_);
        return onHeader();
      }
      if (parser_->is_done()) return onRequest();
      if (used == 0) return needMore();
    }
  }

  // The parser waits for bytes: refuse what can never complete, else read.
  void needMore() {
    const auto pending = buffer_.data();
    if (hasBareLineFeed(static_cast<const char*>(pending.data()), pending.size(), checked_bytes_))
      return failRead(http::error::bad_line_ending);
    checked_bytes_ = pending.size();
    if (reading_header_ && header_bytes_ + buffer_.size() > state_.options.max_header_bytes)
      return failRead(http::error::header_limit);
    if (buffer_.size() >= buffer_.max_size()) return failRead(http::error::buffer_overflow);
    stream_.async_read_some(buffer_.prepare(std::min(kReadChunk, buffer_.max_size() - buffer_.size())),
                            boost::beast::bind_front_handler(&HttpSession::onRead, this->shared_from_this()));
  }

  void onRead(error_code ec, std::size_t n) {
    guarded([&] {
      if (ec) return closeNow();  // EOF mid-request, timeout, reset, or stopped
      buffer_.commit(n);
      parseBuffered();
    });
  }

  void onHeader() {
    if (const char* problem = request_.framingProblem(parser_->chunked()))
      return refuse(400, kBadRequestMessage, problem, {});
    if (parser_->is_done()) return onRequest();
    if (request_.expect_continue) {
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              boost::beast::bind_front_handler(&HttpSession::onContinueSent, this->shared_from_this()));
    }
    readBody();
  }

  void onContinueSent(error_code ec, std::size_t) {
    guarded([&] {
      if (ec) return closeNow();
      readBody();
    });
  }

  void readBody() {
    parser_->eager(true);
    parseBuffered();
  }

  // A read failed: answer what deserves an answer, then close.
  void failRead(error_code ec) {
    if (ec == http::error::header_limit) return refuse(431, kHeaderTooLargeMessage, "header_too_large", {});
    if (ec == http::error::body_limit) return refuse(413, kPayloadTooLargeMessage, "body_too_large", {});
    if (ec == http::error::buffer_overflow) return refuse(431, kHeaderTooLargeMessage, "buffer_overflow", {});
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::need_more) {
      return refuse(400, kBadRequestMessage, "malformed_request", ec.message());
    }
    // EOF, timeout (a trickling client), reset, or cancelled: nobody to answer.
    closeNow();
  }

  void refuse(unsigned status, std::string_view message, const char* reason, std::string detail) {
    close_after_ = true;
    ApiResponse response;
    response.status = status;
    response.body = simpleEnvelope(status, message, EnvelopeData::null);
    response.reason = reason;
    response.detail = std::move(detail);
    assignRequestId(request_id_, request_.request_id);
    send(std::move(response));
  }

  // A complete request: decide what needs no storage here, run the library
  // call on the worker pool, and come back to this strand with the answer.
  void onRequest() {
    phase_ = Phase::processing;
    keep_alive_ = parser_->keep_alive();
    head_ = request_.method == "HEAD";
    assignRequestId(request_id_, request_.request_id);
    ApiRequest request;
    request.method = request_.method;
    request.target = request_.target;
    request.authorization = request_.authorization;
    request.authorization_count = request_.authorization_count;
    request.body = request_.body;
    request.request_id = request_id_;
    request.client_address = client_address_;
    const std::string_view path = pathOf(request.target);
    if (path == kHealthPath) route_slot_ = state_.metrics.specialSlot(Metrics::Special::healthz);
    else if (path == kReadyPath) route_slot_ = state_.metrics.specialSlot(Metrics::Special::readyz);
    if (kind_ == ListenerKind::metrics) {
      if (path == kMetricsPath) route_slot_ = state_.metrics.specialSlot(Metrics::Special::metrics);
      if (auto answer = metricsListenerResponse(state_, request.method, path)) return send(std::move(*answer));
      return scrape();
    }
    if (auto probe = probeResponse(state_, request.method, path)) return send(std::move(*probe));
    Prepared prepared = state_.api.prepare(request);
    route_slot_ = state_.metrics.routeSlot(prepared.matched);
    if (prepared.response) return send(std::move(*prepared.response));

    net::post(state_.workers, [self = this->shared_from_this(), route = prepared.route, call = std::move(prepared.call)] {
      try {
        ApiResponse response = self->state_.api.execute(*route, call);
        net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
          self->guarded([&] { self->send(std::move(response)); });
        });
      } catch (...) {
        // Only allocation can fail here; dropping `self` closes the connection.
      }
    });
  }

  // GET /metrics: rendered on a worker (the store and outbox hooks may
  // block briefly), answered on this strand.
  void scrape() {
    net::post(state_.workers, [self = this->shared_from_this()] {
      try {
        ApiResponse response;
        response.status = 200;
        response.body = self->state_.metricsText();
        response.content_type = kMetricsContentType;
        net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
          self->guarded([&] { self->send(std::move(response)); });
        });
      } catch (...) {
        // Only allocation can fail here; dropping `self` closes the connection.
      }
    });
  }

  // Serializes the response into out_ (reused) and writes it.
  void send(ApiResponse&& response) {
    phase_ = Phase::writing;
    const bool keep_alive = keep_alive_ && !close_after_ && !shuttingDown();
    keep_alive_ = keep_alive;
    serializeResponse(out_, response, request_id_, keep_alive, head_);

    status_ = response.status;
    actor_ = std::move(response.actor_id);
    reason_ = std::move(response.reason);
    detail_ = std::move(response.detail);
    lowest().expires_after(state_.options.write_timeout);
    net::async_write(stream_, net::buffer(out_),
                     boost::beast::bind_front_handler(&HttpSession::onWrite, this->shared_from_this()));
  }

  void onWrite(error_code ec, std::size_t) {
    guarded([&] {
      record();
      if (ec) return closeNow();
      if (close_after_) return lingeringClose();
      if (!keep_alive_) return gracefulClose();
      waitRequest();
    });
  }

  // Metrics and the access log line of the response just written.
  void record() {
    const auto latency = std::chrono::steady_clock::now() - started_;
    Metrics& metrics = state_.metrics;
    metrics.recordRequest(route_slot_, request_.method, status_,
                          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()));
    if (status_ == 401) metrics.recordTokenRefusal(reason_);
    else if (status_ == 429 && reason_ == "rate_limited_client") metrics.recordRateLimitRefusal(Metrics::Limiter::client);
    else if (status_ == 429 && reason_ == "rate_limited_actor") metrics.recordRateLimitRefusal(Metrics::Limiter::actor);
    if (!state_.access_log) return;
    AccessRecord record;
    record.time = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    record.request_id = request_id_;
    record.method = request_.method.empty() ? std::string_view("-") : std::string_view(request_.method);
    record.path = request_.target.empty() ? std::string_view("-") : pathOf(request_.target);
    record.status = status_;
    record.latency_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count());
    record.client = client_address_;
    record.actor = actor_;
    record.reason = reason_;
    record.detail = detail_;
    state_.access_log->write(record);
  }

  // After a normal last response (the client asked to close, or the server
  // is stopping): the whole request was read, so close at once.
  void gracefulClose() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    closeNow();
  }

  // After a refusal, when unread input may remain: half-closes, then reads and discards what the peer still sends (bounded
  // in time and bytes), so the response is not lost to a TCP reset.
  void lingeringClose() {
    phase_ = Phase::closing;
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    lowest().expires_after(kLingerTime);
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    // Raw bytes from the socket, TLS or not: they are only discarded.
    lowest().async_read_some(buffer_.prepare(kReadChunk), [self = this->shared_from_this()](error_code ec, std::size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > kLingerBytes) return self->closeNow();
      self->guarded([&] { self->drain(); });
    });
  }

  void closeNow() noexcept {
    phase_ = Phase::closing;
    lowest().close();  // cancels whatever is pending
  }

  ServerState& state_;
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  ParsedRequest request_;
  std::optional<RequestParser> parser_;
  std::string out_;
  std::string client_address_;
  ListenerKind kind_;
  std::size_t route_slot_ = 0;
  std::optional<std::chrono::steady_clock::time_point> first_byte_deadline_;
  std::string request_id_;
  std::chrono::steady_clock::time_point started_{std::chrono::steady_clock::now()};
  std::chrono::steady_clock::time_point request_deadline_{};
  Phase phase_ = Phase::idle;
  bool keep_alive_ = false;
  bool close_after_ = false;
  bool head_ = false;
  bool stopping_ = false;
  bool registered_ = false;
  bool refusing_ = false;
  bool reading_header_ = false;
  std::size_t header_bytes_ = 0;
  std::size_t checked_bytes_ = 0;  // leading buffered bytes known free of bare LFs
  std::size_t lingered_ = 0;
  // For the access log line of the response being written.
  unsigned status_ = 0;
  std::string actor_;
  std::string reason_;
  std::string detail_;
};

}  // namespace

SessionControl::~SessionControl() = default;

namespace {

template <class Stream>
void rejectWith(ServerState& state, tcp::socket socket, const std::string& client, const char* reason,
                ListenerKind kind) {
  std::shared_ptr<HttpSession<Stream>> session;
  try {
    session = std::make_shared<HttpSession<Stream>>(state, std::move(socket), client, kind);
  } catch (...) {
    state.refusals_in_flight.fetch_sub(1);
    throw;
  }
  session->startRejected(reason);  // from here its destructor gives the slot back
}

}  // namespace

void startSession(ServerState& state, tcp::socket socket, const std::string& client, ListenerKind kind) {
  if (usesTls(state, kind)) std::make_shared<HttpSession<TlsStream>>(state, std::move(socket), client, kind)->start();
  else std::make_shared<HttpSession<PlainStream>>(state, std::move(socket), client, kind)->start();
}

void rejectConnection(ServerState& state, tcp::socket socket, const std::string& client, const char* reason,
                      ListenerKind kind) {
  if (state.refusals_in_flight.fetch_add(1) >= kMaxRefusalsInFlight) {
    state.refusals_in_flight.fetch_sub(1);
    // A TLS client could not read a plaintext answer: the close must do.
    if (!usesTls(state, kind)) answerWithoutSession(socket.native_handle(), unavailableResponseBytes(state));
    return;  // the socket closes here
  }
  if (usesTls(state, kind)) rejectWith<TlsStream>(state, std::move(socket), client, reason, kind);
  else rejectWith<PlainStream>(state, std::move(socket), client, reason, kind);
}

std::string unavailableResponseBytes(const ServerState& state) {
  std::string out;
  serializeResponse(out, unavailableResponse(state, "too_many_connections"), generateRequestId(), false, false);
  return out;
}

void answerWithoutSession(int fd, const std::string& response) noexcept {
  char discard[4096];
  while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
  }
  [[maybe_unused]] const auto sent = ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
}

}  // namespace useradmin::beast::detail
