// http_stack_compare: the same no-op endpoint (POST / -> 200, 2-byte JSON body, keep-alive) on
// the two HTTP stacks DESIGN.md names, cpp-httplib and Boost.Beast/Asio, so that
// scripts/bench-http-stacks.sh can load both with wrk in one run and pick the faster.
// Usage: http_stack_compare httplib|beast PORT THREADS
// clang-format off
// Boost 1.74 asio uses std::exchange without including <utility> under C++20.
#include <utility>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
// clang-format on
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int RunHttplib(int port, int threads) {
  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(1 << 30);
  server.set_keep_alive_timeout(30);
  server.set_tcp_nodelay(true);  // off by default; without it Nagle + delayed ACK add ~40 ms
  server.Post("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/x-amz-json-1.1");
  });
  std::printf("httplib listening on %d\n", port);
  std::fflush(stdout);
  return server.listen("127.0.0.1", port) ? 0 : 1;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}
  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->Respond();
                     });
  }
  void Respond() {
    response_ = {};
    response_.version(request_.version());
    response_.result(http::status::ok);
    response_.set(http::field::content_type, "application/x-amz-json-1.1");
    response_.body() = "{}";
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (!ec && self->response_.keep_alive()) self->Read();
                      });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket))->Start();
    Accept(acceptor);
  });
}

int RunBeast(int port, int threads) {
  asio::io_context ioc(threads);
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
  Accept(acceptor);
  std::printf("beast listening on %d\n", port);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s httplib|beast PORT THREADS\n", argv[0]);
    return 2;
  }
  const std::string stack = argv[1];
  const int port = std::atoi(argv[2]);
  const int threads = std::atoi(argv[3]);
  if (stack == "httplib") return RunHttplib(port, threads);
  if (stack == "beast") return RunBeast(port, threads);
  return 2;
}
