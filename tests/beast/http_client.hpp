// A small synchronous HTTP/1.1 client on Boost.Beast for the server tests,
// plus raw-socket helpers for sending malformed bytes. Loopback only.
#ifndef USERADMIN_TESTS_BEAST_HTTP_CLIENT_HPP
#define USERADMIN_TESTS_BEAST_HTTP_CLIENT_HPP

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace useradmin::test {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// A response as the tests look at it.
struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;       // the JSON document: the body without its final newline
  std::string wire_body;  // the body as sent
  bool keep_alive = false;

  boost::json::value json() const { return boost::json::parse(body); }
  std::string header(const std::string& lower_name) const {
    auto found = headers.find(lower_name);
    return found == headers.end() ? std::string() : found->second;
  }
  bool has(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
};

inline std::string lower(std::string text) {
  for (auto& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

// Which servers a client talks to: ours, whose bodies end with a newline,
// or another (the test services of the directory tests), whose do not.
enum class BodyEnding { newline, as_sent };

inline HttpResponse toResponse(const http::response<http::string_body>& res,
                               BodyEnding ending = BodyEnding::newline) {
  HttpResponse out;
  out.status = res.result_int();
  for (const auto& field : res) out.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  // The server ends every body with a newline (issue 14); a response without
  // it fails the test that received it.
  out.wire_body = res.body();
  out.body = out.wire_body;
  if (!out.body.empty() && ending == BodyEnding::newline) {
    if (out.body.back() != '\n') throw std::runtime_error("response body without a final newline: " + out.body);
    out.body.pop_back();
  }
  out.keep_alive = res.keep_alive();
  return out;
}

// One keep-alive connection to 127.0.0.1:port.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::chrono::seconds timeout = std::chrono::seconds(10),
                      BodyEnding ending = BodyEnding::newline)
      : stream_(ioc_), timeout_(timeout), ending_(ending) {
    stream_.expires_after(timeout_);
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  // Sends one request and reads its response. `headers` are added as given.
  HttpResponse request(http::verb method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& body = {}) {
    send(method, target, headers, body);
    return receive();
  }

  void send(http::verb method, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers = {}, const std::string& body = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.insert(name, value);
    req.body() = body;
    req.prepare_payload();
    stream_.expires_after(timeout_);
    http::write(stream_, req);
  }

  HttpResponse receive(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.body_limit(1 << 20);
    stream_.expires_after(timeout_);
    http::read(stream_, buffer_, parser);
    return toResponse(parser.get(), ending_);
  }

  // Writes raw bytes (for pipelining several requests at once).
  void writeRaw(const std::string& bytes) {
    stream_.expires_after(timeout_);
    net::write(stream_, net::buffer(bytes));
  }

  // True when the server has closed the connection (a read sees EOF/reset).
  bool closedByPeer() {
    stream_.expires_after(timeout_);
    char byte;
    boost::system::error_code ec;
    stream_.read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  boost::beast::tcp_stream& stream() { return stream_; }

 private:
  net::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::chrono::seconds timeout_;
  BodyEnding ending_;
};

// The target of the reactivation endpoint for `id` (already encoded).
inline std::string reactivatePath(const std::string& id, const std::string& base = "/api") {
  return base + "/users/" + id + "/reactivate";
}

inline std::pair<std::string, std::string> bearer(const std::string& token) {
  return {"Authorization", "Bearer " + token};
}

// A raw TCP connection: write arbitrary bytes, read whatever comes back
// until the server closes (or the timeout passes).
class RawConnection {
 public:
  // `from`: the local address to connect from (another loopback address,
  // e.g. 127.0.0.2, stands for a second client); empty = any.
  explicit RawConnection(std::uint16_t port, const std::string& from = {}) : socket_(ioc_) {
    if (!from.empty()) {
      socket_.open(tcp::v4());
      socket_.bind(tcp::endpoint(net::ip::make_address(from), 0));
    }
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  // Returns false when the server has already closed or reset.
  bool write(const std::string& bytes) {
    boost::system::error_code ec;
    net::write(socket_, net::buffer(bytes), ec);
    return !ec;
  }

  struct ReadResult {
    std::string data;
    bool closed = false;  // EOF or reset seen before the deadline
    std::chrono::milliseconds elapsed{0};
  };

  // Reads until the peer closes or `timeout` passes.
  ReadResult readUntilClosed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    ReadResult result;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    socket_.non_blocking(true);
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = socket_.read_some(net::buffer(buf), ec);
      if (!ec) {
        result.data.append(buf, n);
        continue;
      }
      if (ec == net::error::would_block || ec == net::error::try_again) {
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      result.closed = true;  // eof, reset, ...
      break;
    }
    result.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    socket_.non_blocking(false);
    return result;
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
};

// The status code of the first response in raw bytes ("HTTP/1.1 431 ..."), 0 if none.
inline unsigned rawStatus(const std::string& data) {
  if (data.size() < 12 || data.compare(0, 5, "HTTP/") != 0) return 0;
  return static_cast<unsigned>(std::stoi(data.substr(9, 3)));
}

}  // namespace useradmin::test

#endif  // USERADMIN_TESTS_BEAST_HTTP_CLIENT_HPP
