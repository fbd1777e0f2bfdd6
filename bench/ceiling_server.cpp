// The HTTP ceiling for the load test: a minimal Beast server that answers
// every request with a fixed JSON 200 on N threads. It does no routing,
// authentication or storage, so the endpoint's throughput divided by this
// one's is the share of the HTTP stack's capacity the real work leaves.
//
//   useradmin-ceiling-server [--listen HOST:PORT] [--threads N]
#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kBody = R"({"code":200,"message":"ok","data":null})";

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}
  void start() { doRead(); }

 private:
  void doRead() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }
  void onRead(beast::error_code ec) {
    if (ec) return;
    response_ = {};
    response_.version(request_.version());
    response_.result(http::status::ok);
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = kBody;
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code wec, std::size_t) {
      if (!wec && self->response_.keep_alive()) self->doRead();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(asio::make_strand(acceptor.get_executor()), [&acceptor](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s))->start();
    }
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", port = "0";
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      host = value.substr(0, colon);
      port = value.substr(colon + 1);
    } else if (flag == "--threads") {
      threads = static_cast<unsigned>(std::stoul(value));
    } else {
      std::cerr << "usage: " << argv[0] << " [--listen HOST:PORT] [--threads N]\n";
      return 2;
    }
  }
  asio::io_context ioc(static_cast<int>(threads));
  tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(std::stoul(port)));
  tcp::acceptor acceptor(ioc, endpoint);
  accept(acceptor);
  std::cout << "listening on http://" << host << ":" << acceptor.local_endpoint().port() << std::endl;
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
