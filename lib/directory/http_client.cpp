#include "http_client.hpp"

#include <functional>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/x509v3.h>

namespace useradmin::directory::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// An answer larger than this is not a directory answer.
constexpr std::uint64_t kMaxAnswerBytes = 1024 * 1024;

TransportError transportError(DirectoryFailureReason reason, std::string what, const error_code& ec) {
  return {reason, what + ": " + ec.message()};
}

}  // namespace

struct HttpClient::Tls {
  asio::ssl::context context{asio::ssl::context::tls_client};
};

// One keep-alive connection with its own io_context, so a call runs its
// asynchronous steps on the calling thread against a deadline.
class Connection {
 public:
  asio::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool reused = false;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Runs one asynchronous step until it completes or the deadline passes;
  // on the deadline the socket is closed (the connection is then dead).
  error_code await(Clock::time_point deadline, const std::function<void(std::function<void(error_code)>)>& start,
                   const std::function<void()>& cancel) {
    std::optional<error_code> result;
    start([&result](error_code ec) { result = ec; });
    ioc.restart();
    ioc.run_until(deadline);
    if (result) return *result;
    cancel();
    ioc.restart();
    ioc.run();
    return asio::error::timed_out;
  }

  void close() {
    error_code ignored;
    lowest().socket().close(ignored);
  }
};

namespace {

std::optional<TransportError> connect(Connection& c, const BaseUrl& url, asio::ssl::context* tls,
                                      Clock::time_point deadline) {
  tcp::resolver resolver(c.ioc);
  tcp::resolver::results_type endpoints;
  error_code ec = c.await(
      deadline,
      [&](auto done) {
        resolver.async_resolve(url.host, std::to_string(url.port),
                               [&endpoints, done](error_code e, tcp::resolver::results_type r) {
                                 endpoints = std::move(r);
                                 done(e);
                               });
      },
      [&] { resolver.cancel(); });
  auto reason = [&] { return ec == asio::error::timed_out ? DirectoryFailureReason::timeout : DirectoryFailureReason::unreachable; };
  if (ec) return transportError(reason(), "resolving the directory host", ec);
  if (tls != nullptr) {
    c.secure.emplace(c.ioc, *tls);
  } else {
    c.plain.emplace(c.ioc);
  }
  ec = c.await(
      deadline, [&](auto done) { c.lowest().socket().async_connect(*endpoints.begin(), done); }, [&] { c.close(); });
  // Try the remaining addresses (e.g. ::1 then 127.0.0.1) while time remains.
  for (auto it = std::next(endpoints.begin()); ec && ec != asio::error::timed_out && it != endpoints.end(); ++it) {
    c.close();
    ec = c.await(deadline, [&](auto done) { c.lowest().socket().async_connect(*it, done); }, [&] { c.close(); });
  }
  if (ec) return transportError(reason(), "connecting to the directory", ec);
  if (!c.secure) return std::nullopt;
  SSL* ssl = c.secure->native_handle();
  // SNI and the name the certificate must carry (an IP literal is checked
  // against the certificate's IP addresses instead).
  error_code parse_ec;
  const auto address = asio::ip::make_address(url.host, parse_ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (parse_ec) {
    // SSL_set_tlsext_host_name is a macro with an old-style cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(url.host.c_str()));
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str());
  }
  ec = c.await(
      deadline, [&](auto done) { c.secure->async_handshake(asio::ssl::stream_base::client, done); },
      [&] { c.close(); });
  if (ec) return transportError(reason(), "TLS handshake with the directory (certificate or host name not trusted?)", ec);
  return std::nullopt;
}

std::optional<std::chrono::seconds> retryAfter(const http::response<http::string_body>& response) {
  const auto field = response.find(http::field::retry_after);
  if (field == response.end()) return std::nullopt;
  const auto text = field->value();
  if (text.empty() || text.size() > 9) return std::nullopt;  // an HTTP date is not used for pacing
  long seconds = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    seconds = seconds * 10 + (ch - '0');
  }
  return std::chrono::seconds(seconds);
}

template <class Stream>
HttpOutcome exchange(Connection& c, Stream& stream, const BaseUrl& url, const HttpRequest& request,
                     Clock::time_point deadline, bool& keep) {
  http::request<http::string_body> out{http::string_to_verb(request.method), request.target, 11};
  out.set(http::field::host, url.host + ":" + std::to_string(url.port));
  out.set(http::field::user_agent, "useradmin-directory");
  out.set(http::field::accept, "application/json, application/scim+json");
  if (!request.content_type.empty()) out.set(http::field::content_type, request.content_type);
  if (!request.authorization.empty()) out.set(http::field::authorization, request.authorization);
  out.body() = request.body;
  out.keep_alive(true);
  out.prepare_payload();
  error_code ec = c.await(deadline, [&](auto done) { http::async_write(stream, out, [done](error_code e, std::size_t) { done(e); }); },
                          [&] { c.close(); });
  if (ec == asio::error::timed_out) return transportError(DirectoryFailureReason::timeout, "sending to the directory", ec);
  if (ec) return transportError(DirectoryFailureReason::unreachable, "sending to the directory", ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  ec = c.await(
      deadline, [&](auto done) { http::async_read(stream, c.buffer, parser, [done](error_code e, std::size_t) { done(e); }); },
      [&] { c.close(); });
  if (ec == asio::error::timed_out) return transportError(DirectoryFailureReason::timeout, "waiting for the directory", ec);
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
    return transportError(DirectoryFailureReason::unreachable, "the directory closed the connection", ec);
  if (ec) return transportError(DirectoryFailureReason::bad_response, "reading the directory's answer", ec);
  auto response = parser.release();
  keep = response.keep_alive();
  std::string cache_control;
  if (const auto field = response.find(http::field::cache_control); field != response.end())
    cache_control = std::string(field->value());
  return HttpAnswer{response.result_int(), std::move(response.body()), retryAfter(response), std::move(cache_control)};
}

}  // namespace

HttpClient::HttpClient(BaseUrl url, HttpOptions options, std::unique_ptr<Tls> tls)
    : url_(std::move(url)), options_(std::move(options)), tls_(std::move(tls)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(BaseUrl url, HttpOptions options) {
  std::unique_ptr<Tls> tls;
  if (url.tls) {
    tls = std::make_unique<Tls>();
    error_code ec;
    tls->context.set_verify_mode(asio::ssl::verify_peer, ec);
    if (!ec) tls->context.set_default_verify_paths(ec);
    if (!ec && options.ca_file) tls->context.load_verify_file(*options.ca_file, ec);
    if (ec) return Error::internal("directory TLS set-up failed (CA file unreadable or not PEM?): " + ec.message());
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(url), std::move(options), std::move(tls)));
}

std::unique_ptr<Connection> HttpClient::takeIdle() {
  std::lock_guard<std::mutex> lock(idle_mutex_);
  if (idle_.empty()) return nullptr;
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return connection;
}

void HttpClient::giveBack(std::unique_ptr<Connection> connection) {
  std::lock_guard<std::mutex> lock(idle_mutex_);
  connection->reused = true;
  idle_.push_back(std::move(connection));
}

HttpOutcome HttpClient::send(const HttpRequest& request) {
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> connection = attempt == 0 ? takeIdle() : nullptr;
    if (!connection) {
      connection = std::make_unique<Connection>();
      if (auto failed = connect(*connection, url_, tls_ ? &tls_->context : nullptr, deadline)) return *failed;
    }
    bool keep = false;
    HttpOutcome outcome = connection->secure
                              ? exchange(*connection, *connection->secure, url_, request, deadline, keep)
                              : exchange(*connection, *connection->plain, url_, request, deadline, keep);
    const auto* failed = std::get_if<TransportError>(&outcome);
    // A pooled connection the server has closed meanwhile: the request
    // (an idempotent PATCH or a token request) goes once more on a new one.
    if (failed != nullptr && connection->reused && failed->reason == DirectoryFailureReason::unreachable) continue;
    if (failed == nullptr && keep) giveBack(std::move(connection));
    return outcome;
  }
  return TransportError{DirectoryFailureReason::unreachable, "the directory closed the connection twice"};
}

}  // namespace useradmin::directory::detail
