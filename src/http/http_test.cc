#include "http/http.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "http/internal/beast.h"

namespace confide::http {
namespace {

std::unique_ptr<Server> StartEcho(ServerOptions options = {}) {
  auto server = Server::Start(options, [](const Request& r) {
    Response res = Response::Text(200, r.method + " " + r.target + " " + r.body);
    if (auto v = r.headers.Get("x-test")) res.headers.Add("X-Echo", std::string(*v));
    res.headers.Add("X-Remote", r.remote_address);
    return res;
  });
  EXPECT_TRUE(server.ok()) << server.status();
  return *std::move(server);
}

Request Post(std::string target, std::string body) {
  Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

TEST(Http, RoundTripHeadersAndKeepAlive) {
  auto server = StartEcho();
  Client client("127.0.0.1", server->port());
  for (int i = 0; i < 50; ++i) {
    Request r = Post("/v1/x?i=" + std::to_string(i), "body" + std::to_string(i));
    r.headers.Add("X-Test", "Value");
    auto res = client.Send(r);
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "POST /v1/x?i=" + std::to_string(i) + " body" + std::to_string(i));
    EXPECT_EQ(res->headers.Get("x-echo"), "Value");  // case-insensitive lookup
    EXPECT_EQ(res->headers.Get("X-Remote"), "127.0.0.1");
  }
}

TEST(Http, LimitsAnswer413And431AndMalformedGets400) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 2048;
  auto server = StartEcho(o);
  {
    Client client("127.0.0.1", server->port());
    auto res = client.Send(Post("/", std::string(1025, 'x')));
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->status, 413);
  }
  {
    Client client("127.0.0.1", server->port());
    Request r = Post("/", "x");
    r.headers.Add("X-Big", std::string(4096, 'a'));
    auto res = client.Send(r);
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->status, 431);
  }
  {
    // Raw garbage on a socket.
    namespace asio = internal::asio;
    asio::io_context ioc;
    internal::tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), server->port()});
    std::string garbage = "NOT HTTP AT ALL\r\n\x01\x02\r\n\r\n";
    asio::write(s, asio::buffer(garbage));
    std::string reply(256, '\0');
    boost::system::error_code ec;
    size_t n = s.read_some(asio::buffer(reply), ec);
    reply.resize(n);
    EXPECT_NE(reply.find(" 400 "), std::string::npos) << reply;
  }
  // The server still works after all that.
  Client client("127.0.0.1", server->port());
  EXPECT_EQ(client.Send(Post("/", "ok"))->status, 200);
}

TEST(Http, ConcurrentClientsAndStop) {
  auto server = StartEcho();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client client("127.0.0.1", server->port());
      for (int i = 0; i < 25; ++i) {
        auto res = client.Send(Post("/", std::to_string(t)));
        if (res.ok() && res->body == "POST / " + std::to_string(t)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
  const uint16_t port = server->port();
  server->Stop();
  Client client("127.0.0.1", port);
  EXPECT_FALSE(client.Send(Post("/", "x")).ok());
}

TEST(Http, IdleConnectionsTimeOutAndClientReconnects) {
  ServerOptions o;
  o.idle_timeout = absl::Milliseconds(200);
  auto server = StartEcho(o);
  Client client("127.0.0.1", server->port());
  ASSERT_TRUE(client.Send(Post("/", "a")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto res = client.Send(Post("/", "b"));  // the server closed the idle connection
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->body, "POST / b");
}

TEST(Http, ClientDeadlineAndStopClosesOpenConnections) {
  auto slow = Server::Start({}, [](const Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return Response::Text(200, "late");
  });
  ASSERT_TRUE(slow.ok());
  Client impatient("127.0.0.1", (*slow)->port(), absl::Milliseconds(50));
  EXPECT_EQ(impatient.Send(Post("/", "")).status().code(), absl::StatusCode::kDeadlineExceeded);

  auto server = StartEcho();
  Client client("127.0.0.1", server->port(), absl::Seconds(2));
  ASSERT_TRUE(client.Send(Post("/", "a")).ok());  // leaves a keep-alive connection open
  server->Stop();
  auto after = client.Send(Post("/", "b"));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
}

TEST(Http, ErrorsNameTheProblem) {
  auto busy = StartEcho();
  ServerOptions o;
  o.port = busy->port();
  auto second = Server::Start(o, [](const Request&) { return Response{}; });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  o.host = "not-an-ip";
  EXPECT_EQ(Server::Start(o, [](const Request&) { return Response{}; }).status().code(),
            absl::StatusCode::kInvalidArgument);
  Client nobody("127.0.0.1", 1);
  EXPECT_EQ(nobody.Send(Post("/", "")).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace confide::http
