// vsock-proxy over the vsock emulation to a TCP echo server on 127.0.0.1.
#include "proxy/vsock_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "gtest/gtest.h"

namespace confide::proxy {
namespace {

// EchoServer echoes every connection on 127.0.0.1:port() until destroyed.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          char buf[4096];
          ssize_t n;
          while ((n = ::read(c, buf, sizeof(buf))) > 0) (void)!::write(c, buf, n);
          ::close(c);
        }).detach();
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

class VsockProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/confide-proxy-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto parent = enclave::NewEmulatedVsockTransport(dir_, enclave::kParentCid);
    auto enc = enclave::NewEmulatedVsockTransport(dir_, 9);
    ASSERT_TRUE(parent.ok() && enc.ok());
    parent_ = std::move(*parent);
    enclave_ = std::move(*enc);
    options_.local_port = 8000;
    options_.host = "127.0.0.1";
    options_.port = echo_.port();
    options_.allowlist = {{"127.0.0.1", echo_.port()}};
  }
  void TearDown() override {
    std::string cmd = "rm -rf " + dir_;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  absl::StatusOr<enclave::VsockStream> Dial() {
    return enclave_->Connect({enclave::kParentCid, 8000}, absl::Seconds(5));
  }

  EchoServer echo_;
  std::string dir_;
  std::unique_ptr<enclave::VsockTransport> parent_, enclave_;
  VsockProxyOptions options_;
};

TEST_F(VsockProxyTest, RelaysBothWays) {
  auto proxy = VsockProxy::Start(*parent_, options_);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto s = Dial();
  ASSERT_TRUE(s.ok()) << s.status();
  Bytes msg(100000);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(s->WriteAll(msg, absl::Seconds(5)).ok());
  Bytes back(msg.size());
  ASSERT_TRUE(s->ReadExact(back, absl::Seconds(5)).ok());
  EXPECT_EQ(back, msg);
}

TEST_F(VsockProxyTest, RefusesDestinationsNotOnTheAllowlist) {
  options_.allowlist = {{"127.0.0.1", static_cast<uint16_t>(echo_.port() + 1)},
                        {"localhost", echo_.port()}};
  EXPECT_EQ(VsockProxy::Start(*parent_, options_).status().code(),
            absl::StatusCode::kPermissionDenied);
  options_.allowlist.clear();
  EXPECT_EQ(VsockProxy::Start(*parent_, options_).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Nothing listens: refusal happens before the listener exists.
  EXPECT_EQ(Dial().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(VsockProxyTest, CapsConcurrentConnections) {
  options_.max_connections = 1;
  auto proxy = VsockProxy::Start(*parent_, options_);
  ASSERT_TRUE(proxy.ok());
  auto first = Dial();
  ASSERT_TRUE(first.ok());
  Bytes ping = {1, 2, 3}, got(3);
  ASSERT_TRUE(first->WriteAll(ping, absl::Seconds(5)).ok());
  ASSERT_TRUE(first->ReadExact(got, absl::Seconds(5)).ok());  // first is being relayed
  auto second = Dial();
  ASSERT_TRUE(second.ok());
  uint8_t b;
  auto n = second->ReadSome(std::span<uint8_t>(&b, 1), absl::Seconds(5));
  EXPECT_TRUE(!n.ok() || *n == 0);  // closed without service
  EXPECT_EQ((*proxy)->refused(), 1u);
}

TEST_F(VsockProxyTest, ClosesIdleConnections) {
  options_.idle_timeout = absl::Milliseconds(300);
  auto proxy = VsockProxy::Start(*parent_, options_);
  ASSERT_TRUE(proxy.ok());
  auto s = Dial();
  ASSERT_TRUE(s.ok());
  uint8_t b;
  auto n = s->ReadSome(std::span<uint8_t>(&b, 1), absl::Seconds(10));
  EXPECT_TRUE(n.ok() && *n == 0) << "idle connection was not closed";
  (*proxy)->Stop();
  EXPECT_EQ((*proxy)->active(), 0u);
}

}  // namespace
}  // namespace confide::proxy
