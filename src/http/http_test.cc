#include "http/http.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "http/internal/beast.h"

namespace confide::http {
namespace {

// Gate is a counter one thread raises and another waits on (bounded, so that a broken
// implementation fails instead of hanging; the bound is not a timing assertion).
class Gate {
 public:
  void Raise() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  // WaitFor returns true once the count reaches n.
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return count_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

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

Request Get(std::string target) {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

TEST(HttpStream, StreamedResponseArrivesPieceByPiece) {
  Gate received;  // raised by the client per piece
  std::atomic<bool> producer_ok{true};
  ServerOptions o;
  o.threads = 1;
  auto server = Server::Start(o, [&](const Request&) {
    Response res;
    res.headers.Add("Content-Type", "text/event-stream");
    res.stream = [&](BodyWriter& w) {
      for (int i = 0; i < 5; ++i) {
        if (!w.Write(absl::StrCat("piece", i) + ";")) producer_ok = false;
        // The next piece is written only after the client has seen this one: delivery is
        // incremental, not buffered until the end.
        if (!received.WaitFor(i + 1)) producer_ok = false;
      }
    };
    return res;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  Client client("127.0.0.1", (*server)->port());
  int heads = 0;
  std::string body;
  std::vector<std::string> pieces;
  absl::Status s = client.SendStreaming(
      Get("/stream"),
      [&](const Response& head) {
        ++heads;
        EXPECT_EQ(head.status, 200);
        EXPECT_EQ(head.headers.Get("content-type"), "text/event-stream");
        EXPECT_EQ(head.headers.Get("transfer-encoding"), "chunked");
        EXPECT_TRUE(head.body.empty());
        return true;
      },
      [&](std::string_view piece) {
        body += piece;
        // A piece is complete when it ends with ';' (pieces may be split, never merged here).
        if (!body.empty() && body.back() == ';') {
          pieces.push_back(body);
          received.Raise();
        }
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(heads, 1);
  EXPECT_EQ(body, "piece0;piece1;piece2;piece3;piece4;");
  EXPECT_EQ(pieces.size(), 5u);
  EXPECT_TRUE(producer_ok.load());
  // The connection is kept alive after a chunked stream.
  auto res = client.Send(Get("/again"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 200);
}

TEST(HttpStream, SendStreamingOnContentLengthResponse) {
  const std::string big(200000, 'z');
  auto server = Server::Start({}, [&](const Request&) { return Response::Text(201, big); });
  ASSERT_TRUE(server.ok());
  Client client("127.0.0.1", (*server)->port());
  std::string body;
  int status = 0;
  int calls = 0;
  absl::Status s = client.SendStreaming(
      Get("/"),
      [&](const Response& head) {
        status = head.status;
        EXPECT_EQ(head.headers.Get("content-length"), std::to_string(big.size()));
        return true;
      },
      [&](std::string_view piece) {
        ++calls;
        body += piece;
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(status, 201);
  EXPECT_EQ(body, big);
  EXPECT_GT(calls, 1);  // bigger than one read buffer
  // Abort from on_head: Cancelled, and the client reconnects for the next request.
  s = client.SendStreaming(
      Get("/"), [](const Response&) { return false; }, [](std::string_view) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  s = client.SendStreaming(
      Get("/"), [](const Response&) { return true; }, [](std::string_view) { return false; });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  auto res = client.Send(Get("/"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->body, big);
}

TEST(HttpStream, ProducerSeesWriteFalseAfterClientDisconnects) {
  Gate client_gone;
  std::promise<bool> saw_false;
  auto server = Server::Start({}, [&](const Request&) {
    Response res;
    res.stream = [&](BodyWriter& w) {
      w.Write("first");
      client_gone.WaitFor(1);
      bool ok = true;
      const std::string block(4096, 'x');
      for (int i = 0; i < 100000 && ok; ++i) ok = w.Write(block);
      saw_false.set_value(!ok);
    };
    return res;
  });
  ASSERT_TRUE(server.ok());
  {
    Client client("127.0.0.1", (*server)->port());
    absl::Status s = client.SendStreaming(
        Get("/"), [](const Response&) { return true; }, [](std::string_view) { return false; });
    EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  }  // the connection is gone
  client_gone.Raise();
  auto result = saw_false.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_TRUE(result.get());
}

TEST(HttpStream, StopWhileStreamingReturns) {
  Gate first_piece;
  std::atomic<bool> producer_returned{false};
  auto server = Server::Start({}, [&](const Request&) {
    Response res;
    res.stream = [&](BodyWriter& w) {
      while (w.Write("tick")) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      producer_returned = true;
    };
    return res;
  });
  ASSERT_TRUE(server.ok());
  absl::Status client_status;
  std::thread reader([&] {
    Client client("127.0.0.1", (*server)->port());
    bool raised = false;
    client_status = client.SendStreaming(
        Get("/"), [](const Response&) { return true; },
        [&](std::string_view) {
          if (!raised) first_piece.Raise();
          raised = true;
          return true;
        });
  });
  ASSERT_TRUE(first_piece.WaitFor(1));
  (*server)->Stop();
  EXPECT_TRUE(producer_returned.load());
  reader.join();
  EXPECT_FALSE(client_status.ok());  // the body was cut off
}

TEST(HttpStream, BodyAndStreamTogetherIs500AndHttp10StreamsUnframed) {
  auto server = Server::Start({}, [](const Request& r) {
    Response res;
    if (r.target == "/both") res.body = "x";
    res.stream = [](BodyWriter& w) {
      w.Write("one ");
      w.Write("");
      w.Write("two");
    };
    return res;
  });
  ASSERT_TRUE(server.ok());
  Client client("127.0.0.1", (*server)->port());
  auto res = client.Send(Get("/both"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 500);
  res = client.Send(Get("/"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->body, "one two");

  namespace asio = internal::asio;
  asio::io_context ioc;
  internal::tcp::socket sock(ioc);
  sock.connect({asio::ip::make_address("127.0.0.1"), (*server)->port()});
  std::string req = "GET / HTTP/1.0\r\n\r\n";
  asio::write(sock, asio::buffer(req));
  std::string reply;
  boost::system::error_code ec;
  char buf[1024];
  while (!ec) {
    size_t n = sock.read_some(asio::buffer(buf), ec);
    reply.append(buf, n);
  }
  EXPECT_EQ(reply.find("chunked"), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.size() - 7), "one two") << reply;
}

TEST(HttpServer, BlockingHandlersDoNotStallOtherConnections) {
  Gate released;
  ServerOptions o;
  o.threads = 1;
  o.handler_threads = 2;
  auto server = Server::Start(o, [&](const Request& r) {
    if (r.target == "/wait") {
      return Response::Text(200, released.WaitFor(1) ? "released" : "gave up");
    }
    released.Raise();
    return Response::Text(200, "released the other");
  });
  ASSERT_TRUE(server.ok());
  std::string waited;
  std::thread waiter([&] {
    Client client("127.0.0.1", (*server)->port());
    auto res = client.Send(Get("/wait"));
    if (res.ok()) waited = res->body;
  });
  Client client("127.0.0.1", (*server)->port());
  auto res = client.Send(Get("/release"));
  ASSERT_TRUE(res.ok()) << res.status();
  waiter.join();
  EXPECT_EQ(waited, "released");
}

// With one handler thread, four requests are all taken while none has been answered (the
// handler returns before responding), then answered from another thread in reverse order; each
// client gets its own response. A dropped Responder closes its connection.
TEST(HttpServer, AsyncHandlersAnswerLaterFromAnotherThread) {
  std::mutex mu;
  std::vector<std::pair<std::string, Responder>> held;
  Gate taken;
  ServerOptions o;
  o.threads = 1;
  o.handler_threads = 1;
  auto server = Server::StartAsync(o, [&](const Request& r, Responder respond) {
    if (r.target == "/drop") return;  // never answered
    std::lock_guard<std::mutex> lock(mu);
    held.emplace_back(r.target, std::move(respond));
    taken.Raise();
  });
  ASSERT_TRUE(server.ok()) << server.status();
  constexpr int kClients = 4;
  std::vector<std::string> got(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Client client("127.0.0.1", (*server)->port());
      auto res = client.Send(Get(absl::StrCat("/", i)));
      if (res.ok()) got[i] = res->body;
    });
  }
  ASSERT_TRUE(taken.WaitFor(kClients));
  std::thread answerer([&] {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
      it->second(Response::Text(200, absl::StrCat("answer for ", it->first)));
    }
    held.clear();
  });
  answerer.join();
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(got[i], absl::StrCat("answer for /", i));

  Client dropped("127.0.0.1", (*server)->port(), absl::Seconds(10));
  EXPECT_FALSE(dropped.Send(Get("/drop")).ok());
}

// UnixListener is an AF_UNIX stream listener in a temporary directory.
class UnixListener {
 public:
  UnixListener() {
    char tmpl[] = "/tmp/confide-http-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = Address();
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
  }
  ~UnixListener() {
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }

  AcceptFn Acceptor() {
    return [this](absl::Duration timeout) -> absl::StatusOr<AcceptedConnection> {
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      if (r == 0) return absl::DeadlineExceededError("no connection");
      if (r < 0) return absl::UnavailableError("poll failed");
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return absl::UnavailableError("accept failed");
      ++accepted;
      return AcceptedConnection{fd, "unix:test"};
    };
  }

  ConnectFn Connector() {
    return [this](absl::Duration) -> absl::StatusOr<int> {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr = Address();
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        return absl::UnavailableError("connect failed");
      }
      return fd;
    };
  }

  std::atomic<int> accepted{0};

 private:
  sockaddr_un Address() const {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    return addr;
  }
  std::string dir_, path_;
  int fd_ = -1;
};

TEST(HttpAcceptor, ServesUnixSocketConnectionsWithLimitsAndStreaming) {
  UnixListener listener;
  ServerOptions o;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 2048;
  auto server = Server::StartWithAcceptor(listener.Acceptor(), o, [](const Request& r) {
    if (r.target == "/stream") {
      Response res;
      res.stream = [](BodyWriter& w) {
        for (int i = 0; i < 3; ++i) w.Write(absl::StrCat("s", i));
      };
      return res;
    }
    Response res = Response::Text(200, r.method + " " + r.target + " " + r.body);
    res.headers.Add("X-Remote", r.remote_address);
    res.headers.Add("X-Host", std::string(r.headers.Get("host").value_or("")));
    return res;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->port(), 0);
  Client client(listener.Connector(), ClientOptions{});
  for (int i = 0; i < 5; ++i) {
    auto res = client.Send(Post("/u", absl::StrCat("b", i)));
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->body, absl::StrCat("POST /u b", i));
    EXPECT_EQ(res->headers.Get("x-remote"), "unix:test");
    EXPECT_EQ(res->headers.Get("x-host"), "localhost");
  }
  EXPECT_EQ(listener.accepted.load(), 1);  // keep-alive over the Unix socket
  std::string body;
  absl::Status s = client.SendStreaming(
      Get("/stream"), [](const Response& h) { return h.status == 200; },
      [&](std::string_view piece) {
        body += piece;
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(body, "s0s1s2");

  auto res = client.Send(Post("/", std::string(1025, 'x')));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 413);
  Request big = Post("/", "x");
  big.headers.Add("X-Big", std::string(4096, 'a'));
  res = client.Send(big);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 431);
  res = client.Send(Post("/", "fine"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 200);

  (*server)->Stop();
  ClientOptions short_timeout;
  short_timeout.timeout = absl::Milliseconds(300);
  Client after(listener.Connector(), short_timeout);
  EXPECT_FALSE(after.Send(Post("/", "x")).ok());
}

TEST(HttpAcceptor, RejectsBadOptionsAndFailingConnectors) {
  EXPECT_EQ(Server::StartWithAcceptor(nullptr, {}, [](const Request&) { return Response{}; })
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  ServerOptions o;
  o.handler_threads = 0;
  EXPECT_EQ(Server::Start(o, [](const Request&) { return Response{}; }).status().code(),
            absl::StatusCode::kInvalidArgument);
  Client failing(
      [](absl::Duration) -> absl::StatusOr<int> { return absl::UnavailableError("no route"); },
      ClientOptions{});
  EXPECT_EQ(failing.Send(Get("/")).status().code(), absl::StatusCode::kUnavailable);
  Client not_a_socket([](absl::Duration) -> absl::StatusOr<int> { return ::dup(0); },
                      ClientOptions{});
  EXPECT_FALSE(not_a_socket.Send(Get("/")).ok());
}

TEST(HttpUrl, ParseUrl) {
  struct Case {
    const char* url;
    const char* scheme;
    const char* host;
    uint16_t port;
    const char* path;
  };
  const Case good[] = {
      {"http://example.com", "http", "example.com", 80, "/"},
      {"https://example.com", "https", "example.com", 443, "/"},
      {"HTTPS://gw.confide.local:8443/v1/ohttp", "https", "gw.confide.local", 8443, "/v1/ohttp"},
      {"http://127.0.0.1:8080/a/b?x=1&y=%20", "http", "127.0.0.1", 8080, "/a/b?x=1&y=%20"},
      {"http://[::1]:9000/x", "http", "::1", 9000, "/x"},
      {"https://[2001:db8::1]", "https", "2001:db8::1", 443, "/"},
      {"http://h?q=1", "http", "h", 80, "/?q=1"},
      {"http://h:65535/", "http", "h", 65535, "/"},
  };
  for (const Case& c : good) {
    auto u = ParseUrl(c.url);
    ASSERT_TRUE(u.ok()) << c.url << ": " << u.status();
    EXPECT_EQ(u->scheme, c.scheme) << c.url;
    EXPECT_EQ(u->host, c.host) << c.url;
    EXPECT_EQ(u->port, c.port) << c.url;
    EXPECT_EQ(u->path, c.path) << c.url;
  }
  const char* bad[] = {
      "",
      "example.com",
      "ftp://example.com",
      "http://",
      "http:///path",
      "http://:80/",
      "http://user@host/",
      "http://host:0/",
      "http://host:65536/",
      "http://host:/",
      "http://host:8x/",
      "http://host:123456/",
      "http://host/#frag",
      "http://[::1/",
      "http://[not-v6]/",
      "http://[::1]x/",
      "http://ho st/",
      "http://host/pa th",
      "http://host/\x01",
  };
  for (const char* url : bad) {
    EXPECT_EQ(ParseUrl(url).status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
}

// ------------------------------------------------------------------------------------ TLS

// TempDir is a temporary directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/confide-http-tls-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// TestPki is a CA (ca.pem) and a server certificate it issued for `dns` and `ips`
// (chain.pem: leaf then CA; key.pem), built with crypto's X.509 builder.
struct TestPki {
  explicit TestPki(std::vector<std::string> dns = {"localhost"},
                   std::vector<std::string> ips = {"127.0.0.1"}) {
    crypto::CertificateSpec ca_spec;
    ca_spec.subject.common_name = "confide test CA";
    ca_spec.not_before = absl::Now() - absl::Hours(1);
    ca_spec.not_after = absl::Now() + absl::Hours(24);
    ca_spec.is_ca = true;
    auto ca_key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
    auto ca = crypto::CreateSelfSignedCertificate(ca_spec, *ca_key);
    EXPECT_TRUE(ca.ok()) << ca.status();
    crypto::CertificateSpec leaf_spec = ca_spec;
    leaf_spec.subject.common_name = "confide test server";
    leaf_spec.is_ca = false;
    leaf_spec.dns_names = std::move(dns);
    leaf_spec.ip_addresses = std::move(ips);
    leaf_spec.server_auth = true;
    auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP256);
    auto leaf = crypto::IssueCertificate(leaf_spec, key->PublicKey(), *ca, *ca_key);
    EXPECT_TRUE(leaf.ok()) << leaf.status();
    EXPECT_TRUE(base::WriteFileAtomic(ca_file(), AsBytes(ca->Pem())).ok());
    EXPECT_TRUE(base::WriteFileAtomic(chain_file(), AsBytes(leaf->Pem() + ca->Pem())).ok());
    EXPECT_TRUE(base::WriteFileAtomic(key_file(), key->Pem().ExposeSecret(), 0600).ok());
  }
  std::string ca_file() const { return dir.File("ca.pem"); }
  std::string chain_file() const { return dir.File("chain.pem"); }
  std::string key_file() const { return dir.File("key.pem"); }
  TlsServerOptions server() const { return {chain_file(), key_file()}; }
  ClientOptions client(std::string server_name = "") const {
    ClientOptions o;
    o.timeout = absl::Seconds(10);
    o.tls = TlsClientOptions{ca_file(), std::move(server_name)};
    return o;
  }
  TempDir dir;
};

Handler StreamingEcho() {
  return [](const Request& r) {
    if (r.target == "/stream") {
      Response res;
      res.stream = [](BodyWriter& w) {
        for (int i = 0; i < 4; ++i) w.Write(absl::StrCat("tls", i));
      };
      return res;
    }
    return Response::Text(200, r.method + " " + r.target + " " + r.body);
  };
}

std::string ReadStream(Client& client, absl::Status* status) {
  std::string body;
  *status = client.SendStreaming(
      Get("/stream"), [](const Response& h) { return h.status == 200; },
      [&](std::string_view piece) {
        body += piece;
        return true;
      });
  return body;
}

TEST(HttpTls, RoundTripAndStreamingVerifiedByIpAndName) {
  TestPki pki;
  ServerOptions o;
  o.tls = pki.server();
  auto server = Server::Start(o, StreamingEcho());
  ASSERT_TRUE(server.ok()) << server.status();
  for (const std::string& name : {std::string(), std::string("localhost")}) {
    Client client("127.0.0.1", (*server)->port(), pki.client(name));
    for (int i = 0; i < 3; ++i) {
      auto res = client.Send(Post("/t", absl::StrCat("b", i)));
      ASSERT_TRUE(res.ok()) << name << ": " << res.status();
      EXPECT_EQ(res->body, absl::StrCat("POST /t b", i));
    }
    absl::Status s;
    EXPECT_EQ(ReadStream(client, &s), "tls0tls1tls2tls3");
    EXPECT_TRUE(s.ok()) << s;
    auto res = client.Send(Post("/after-stream", "x"));  // keep-alive over TLS after a stream
    ASSERT_TRUE(res.ok()) << res.status();
  }
}

TEST(HttpTls, WrongCaAndNameMismatchAreRefused) {
  TestPki pki;
  TestPki other;
  ServerOptions o;
  o.tls = pki.server();
  auto server = Server::Start(o, StreamingEcho());
  ASSERT_TRUE(server.ok()) << server.status();
  {
    Client client("127.0.0.1", (*server)->port(), other.client());
    auto res = client.Send(Get("/"));
    EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable) << res.status();
    EXPECT_NE(std::string(res.status().message()).find("certificate"), std::string::npos)
        << res.status();
  }
  {
    Client client("127.0.0.1", (*server)->port(), pki.client("other.example"));
    auto res = client.Send(Get("/"));
    EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable) << res.status();
    EXPECT_NE(std::string(res.status().message()).find("mismatch"), std::string::npos)
        << res.status();
  }
  {
    // The certificate names 127.0.0.1, not 127.0.0.2 (an IP SAN check, not a DNS one).
    Client client("127.0.0.1", (*server)->port(), pki.client("127.0.0.2"));
    EXPECT_EQ(client.Send(Get("/")).status().code(), absl::StatusCode::kUnavailable);
  }
  {
    ClientOptions bad = pki.client();
    bad.tls->ca_file = pki.dir.File("missing.pem");
    Client client("127.0.0.1", (*server)->port(), bad);
    EXPECT_EQ(client.Send(Get("/")).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // The server is unaffected.
  Client good("127.0.0.1", (*server)->port(), pki.client());
  EXPECT_TRUE(good.Send(Get("/")).ok());
}

TEST(HttpTls, PlaintextAndTlsMismatchesFailCleanly) {
  TestPki pki;
  ServerOptions o;
  o.tls = pki.server();
  o.read_timeout = absl::Seconds(5);
  auto tls_server = Server::Start(o, StreamingEcho());
  ASSERT_TRUE(tls_server.ok()) << tls_server.status();
  auto plain_server = Server::Start({}, StreamingEcho());
  ASSERT_TRUE(plain_server.ok());
  {
    Client plain("127.0.0.1", (*tls_server)->port(), absl::Seconds(10));
    auto res = plain.Send(Get("/"));
    EXPECT_FALSE(res.ok());
    EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable) << res.status();
  }
  {
    Client tls("127.0.0.1", (*plain_server)->port(), pki.client());
    auto res = tls.Send(Get("/"));
    EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable) << res.status();
  }
  Client good("127.0.0.1", (*tls_server)->port(), pki.client());
  EXPECT_TRUE(good.Send(Get("/")).ok());
}

TEST(HttpTls, BadServerFilesAreInvalidArgument) {
  TestPki pki;
  TestPki other;
  ServerOptions o;
  o.tls = TlsServerOptions{pki.dir.File("none.pem"), pki.key_file()};
  EXPECT_EQ(Server::Start(o, StreamingEcho()).status().code(), absl::StatusCode::kInvalidArgument);
  o.tls = TlsServerOptions{pki.chain_file(), pki.dir.File("none.pem")};
  EXPECT_EQ(Server::Start(o, StreamingEcho()).status().code(), absl::StatusCode::kInvalidArgument);
  o.tls = TlsServerOptions{pki.chain_file(), other.key_file()};  // key of another certificate
  EXPECT_EQ(Server::Start(o, StreamingEcho()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpTls, OverAcceptorAndConnectorWithLimits) {
  TestPki pki({"enclave.local"}, {});
  UnixListener listener;
  ServerOptions o;
  o.tls = pki.server();
  o.max_body_bytes = 1024;
  auto server = Server::StartWithAcceptor(listener.Acceptor(), o, StreamingEcho());
  ASSERT_TRUE(server.ok()) << server.status();
  Client client(listener.Connector(), pki.client("enclave.local"));
  auto res = client.Send(Post("/u", "hello"));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->body, "POST /u hello");
  absl::Status s;
  EXPECT_EQ(ReadStream(client, &s), "tls0tls1tls2tls3");
  EXPECT_TRUE(s.ok()) << s;
  res = client.Send(Post("/", std::string(2000, 'x')));
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 413);
  // Without a server name the connector's "localhost" is checked, which the certificate lacks.
  Client unnamed(listener.Connector(), pki.client());
  EXPECT_EQ(unnamed.Send(Get("/")).status().code(), absl::StatusCode::kUnavailable);
}

// RunOpenSsl runs the openssl command line tool (not linked: a separate process) with `args`
// and returns its exit status and output, or nullopt when it is not installed.
std::optional<std::pair<int, std::string>> RunOpenSsl(const std::string& args) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) return std::nullopt;
  std::string cmd = absl::StrCat("openssl ", args, " </dev/null 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out);
}

TEST(HttpTls, ProtocolPolicySeenByOpenSslClient) {
  TestPki pki;
  ServerOptions o;
  o.tls = pki.server();
  auto server = Server::Start(o, StreamingEcho());
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = absl::StrCat("s_client -connect 127.0.0.1:", (*server)->port(),
                                        " -CAfile ", pki.ca_file(), " -verify_return_error ");
  auto tls13 = RunOpenSsl(base + "-tls1_3");
  if (!tls13) GTEST_SKIP() << "openssl command line tool not installed";
  EXPECT_EQ(tls13->first, 0) << tls13->second;
  EXPECT_NE(tls13->second.find("TLSv1.3"), std::string::npos) << tls13->second;
  // TLS 1.2 with an ECDHE+AEAD suite is accepted; a CBC suite is not.
  auto gcm = RunOpenSsl(base + "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(gcm->first, 0) << gcm->second;
  auto cbc = RunOpenSsl(base + "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA");
  EXPECT_NE(cbc->first, 0) << cbc->second;
  EXPECT_NE(cbc->second.find("alert handshake failure"), std::string::npos) << cbc->second;
  // TLS 1.1 (security level 0 so that the client really offers it) is refused by the server.
  auto tls11 = RunOpenSsl(base + "-tls1_1 -cipher DEFAULT:@SECLEVEL=0");
  EXPECT_NE(tls11->first, 0) << tls11->second;
  EXPECT_NE(tls11->second.find("alert protocol version"), std::string::npos) << tls11->second;
}

}  // namespace
}  // namespace confide::http
