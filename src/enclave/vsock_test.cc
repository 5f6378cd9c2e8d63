#include "enclave/vsock.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace confide::enclave {
namespace {

namespace fs = std::filesystem;
constexpr absl::Duration kLong = absl::Seconds(20);

class Vsock : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: sockaddr_un paths are limited to 107 bytes.
    char tmpl[] = "/tmp/cvsXXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto parent = NewEmulatedVsockTransport(dir_, kParentCid);
    auto enclave = NewEmulatedVsockTransport(dir_, 16);
    ASSERT_TRUE(parent.ok() && enclave.ok());
    parent_ = *std::move(parent);
    enclave_ = *std::move(enclave);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Echo serves one connection: echoes until end of stream.
  static void Echo(VsockStream s) {
    std::vector<uint8_t> buf(64 * 1024);
    for (;;) {
      auto n = s.ReadSome(buf, kLong);
      if (!n.ok() || *n == 0) return;
      if (!s.WriteAll(ByteSpan(buf.data(), *n), kLong).ok()) return;
    }
  }

  std::string dir_;
  std::unique_ptr<VsockTransport> parent_, enclave_;
};

TEST(VsockAddress, ParseFormatAndCidRules) {
  auto a = ParseVsockAddress("16:5000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (VsockAddress{16, 5000}));
  EXPECT_EQ(a->ToString(), "16:5000");
  for (const char* bad : {"", "16", ":1", "1:", "x:1", "1:2:3", "-1:5", "4294967296:1", "1: 2"}) {
    EXPECT_FALSE(ParseVsockAddress(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateEnclaveCid(kParentCid).ok());
  EXPECT_FALSE(ValidateEnclaveCid(0).ok());
  EXPECT_FALSE(ValidateEnclaveCid(kVsockCidAny).ok());
  EXPECT_TRUE(ValidateEnclaveCid(kMinEnclaveCid).ok());
  EXPECT_TRUE(ValidateEnclaveCid(kMaxVsockCid).ok());
}

TEST_F(Vsock, EchoRoundTripWithPeerAddresses) {
  auto listener = enclave_->Listen(5000);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ(listener->address(), (VsockAddress{16, 5000}));
  EXPECT_TRUE(fs::exists(dir_ + "/16/5000"));

  std::thread server([&] {
    auto s = listener->Accept(kLong);
    ASSERT_TRUE(s.ok()) << s.status();
    // The acceptor learns the connecting side's CID from the kernel, as with AF_VSOCK.
    EXPECT_EQ(s->peer().cid, kParentCid);
    EXPECT_GE(s->peer().port, 49152u);
    Echo(*std::move(s));
  });
  auto c = parent_->Connect({16, 5000}, kLong);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->peer(), (VsockAddress{16, 5000}));
  Bytes msg = ToBytes("hello enclave");
  ASSERT_TRUE(c->WriteAll(msg, kLong).ok());
  Bytes back(msg.size());
  ASSERT_TRUE(c->ReadExact(back, kLong).ok());
  EXPECT_EQ(back, msg);
  ASSERT_TRUE(c->ShutdownWrite().ok());
  uint8_t b;
  auto eof = c->ReadSome(std::span<uint8_t>(&b, 1), kLong);
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(*eof, 0u);
  server.join();
  // The connecting side's name is gone from the directory; the listener's goes on Close.
  for (const auto& e : fs::directory_iterator(dir_ + "/3")) ADD_FAILURE() << e.path();
  listener->Close();
  EXPECT_FALSE(fs::exists(dir_ + "/16/5000"));
}

TEST_F(Vsock, TimeoutsAreDeadlineExceeded) {
  auto listener = enclave_->Listen(5001);
  ASSERT_TRUE(listener.ok());
  auto none = listener->Accept(absl::Milliseconds(50));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kDeadlineExceeded) << none.status();

  auto c = parent_->Connect({16, 5001}, kLong);
  ASSERT_TRUE(c.ok());
  auto s = listener->Accept(kLong);
  ASSERT_TRUE(s.ok());
  Bytes buf(4);
  EXPECT_EQ(c->ReadExact(buf, absl::Milliseconds(50)).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(c->ReadSome(buf, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  // A writer whose peer never reads fills the buffers and then times out.
  Bytes big(8 << 20, 0x5a);
  EXPECT_EQ(c->WriteAll(big, absl::Milliseconds(100)).code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(Vsock, RefusedInUseStaleAndClosed) {
  auto refused = parent_->Connect({16, 6000}, kLong);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_NE(std::string(refused.status().message()).find("refused"), std::string::npos);
  auto no_cid = parent_->Connect({99, 1}, kLong);
  EXPECT_EQ(no_cid.status().code(), absl::StatusCode::kUnavailable);

  auto first = enclave_->Listen(6001);
  ASSERT_TRUE(first.ok());
  auto second = enclave_->Listen(6001);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();

  // A socket file left by a crashed listener is stale: connecting is refused, listening works.
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = dir_ + "/16/6002";
    std::memcpy(a.sun_path, path.c_str(), path.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::close(fd);  // bound, never listened, closed: what a crash leaves
  }
  EXPECT_EQ(parent_->Connect({16, 6002}, kLong).status().code(), absl::StatusCode::kUnavailable);
  auto revived = enclave_->Listen(6002);
  ASSERT_TRUE(revived.ok()) << revived.status();
  // A connection without an emulated (cid, port) name is dropped, not handed out anonymously.
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = dir_ + "/16/6002";
    std::memcpy(a.sun_path, path.c_str(), path.size());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(revived->Accept(absl::Milliseconds(50)).status().code(),
              absl::StatusCode::kDeadlineExceeded);
    ::close(fd);
  }

  // A peer that goes away mid-read gives OutOfRange; writes to it Unavailable, not SIGPIPE.
  auto c = parent_->Connect({16, 6001}, kLong);
  ASSERT_TRUE(c.ok());
  auto s = first->Accept(kLong);
  ASSERT_TRUE(s.ok());
  s->Close();
  Bytes buf(4);
  EXPECT_EQ(c->ReadExact(buf, kLong).code(), absl::StatusCode::kOutOfRange);
  absl::Status w;
  for (int i = 0; i < 10 && w.ok(); ++i) w = c->WriteAll(Bytes(4096, 1), kLong);
  EXPECT_EQ(w.code(), absl::StatusCode::kUnavailable) << w;
  c->Close();
  EXPECT_EQ(c->WriteAll(buf, kLong).code(), absl::StatusCode::kFailedPrecondition);
  first->Close();
  EXPECT_EQ(first->Accept(kLong).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(Vsock, LargeTransferBothWays) {
  auto listener = enclave_->Listen(7000);
  ASSERT_TRUE(listener.ok());
  std::thread server([&] {
    auto s = listener->Accept(kLong);
    ASSERT_TRUE(s.ok());
    Echo(*std::move(s));
  });
  auto c = parent_->Connect({16, 7000}, kLong);
  ASSERT_TRUE(c.ok());
  Bytes data(16 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  Bytes back(data.size());
  absl::Status read_status;
  std::thread reader([&] { read_status = c->ReadExact(back, kLong); });
  EXPECT_TRUE(c->WriteAll(data, kLong).ok());
  reader.join();
  EXPECT_TRUE(read_status.ok()) << read_status;
  EXPECT_EQ(back, data);
  c->Close();
  server.join();
}

TEST_F(Vsock, ConcurrentClients) {
  auto listener = enclave_->Listen(8000);
  ASSERT_TRUE(listener.ok());
  constexpr int kClients = 8;
  std::thread server([&] {
    std::vector<std::thread> workers;
    for (int i = 0; i < kClients; ++i) {
      auto s = listener->Accept(kLong);
      ASSERT_TRUE(s.ok()) << s.status();
      workers.emplace_back(Echo, *std::move(s));
    }
    for (auto& w : workers) w.join();
  });
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto t = NewEmulatedVsockTransport(dir_, 100 + i);
      ASSERT_TRUE(t.ok());
      auto c = (*t)->Connect({16, 8000}, kLong);
      ASSERT_TRUE(c.ok()) << c.status();
      for (int round = 0; round < 20; ++round) {
        Bytes msg(1000 + i * 10 + round, static_cast<uint8_t>(i));
        Bytes back(msg.size());
        if (!c->WriteAll(msg, kLong).ok() || !c->ReadExact(back, kLong).ok() || back != msg) {
          return;
        }
      }
      ++ok;
    });
  }
  for (auto& t : clients) t.join();
  server.join();
  EXPECT_EQ(ok.load(), kClients);
}

TEST(VsockTransport, DefaultFollowsTheEnvironment) {
  ::setenv("CONFIDE_VSOCK_TRANSPORT", "emulated", 1);
  ::setenv("CONFIDE_VSOCK_DIR", "/tmp/confide-vsock-env", 1);
  ::setenv("CONFIDE_VSOCK_CID", "42", 1);
  auto t = DefaultVsockTransport();
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->kind(), VsockTransportKind::kEmulated);
  EXPECT_EQ((*t)->local_cid(), 42u);
  ::setenv("CONFIDE_VSOCK_CID", "x", 1);
  EXPECT_FALSE(DefaultVsockTransport().ok());
  ::setenv("CONFIDE_VSOCK_TRANSPORT", "tcp", 1);
  EXPECT_FALSE(DefaultVsockTransport().ok());
  ::setenv("CONFIDE_VSOCK_TRANSPORT", "vsock", 1);
  auto v = DefaultVsockTransport();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)->kind(), VsockTransportKind::kAfVsock);
  ::unsetenv("CONFIDE_VSOCK_TRANSPORT");
  ::unsetenv("CONFIDE_VSOCK_CID");
  ::unsetenv("CONFIDE_VSOCK_DIR");
  // Without Nitro devices the emulation is chosen, with the parent's CID.
  if (::access("/dev/nsm", F_OK) != 0 && ::access("/dev/nitro_enclaves", F_OK) != 0) {
    auto d = DefaultVsockTransport();
    ASSERT_TRUE(d.ok());
    EXPECT_EQ((*d)->kind(), VsockTransportKind::kEmulated);
    EXPECT_EQ((*d)->local_cid(), kParentCid);
  }
  EXPECT_FALSE(NewEmulatedVsockTransport(std::string(100, 'd'), 4).ok());
  EXPECT_FALSE(NewEmulatedVsockTransport("/tmp/x", kVsockCidAny).ok());
}

TEST(VsockTransport, AfVsockListensAndTimesOutWhereAvailable) {
  auto t = NewAfVsockTransport();
  auto l = t->Listen(0x7fff0000u + static_cast<uint32_t>(::getpid() % 0xffff));
  if (!l.ok()) GTEST_SKIP() << "AF_VSOCK unavailable here: " << l.status();
  EXPECT_EQ(l->Accept(absl::Milliseconds(20)).status().code(), absl::StatusCode::kDeadlineExceeded);
  // Loopback is not supported on every kernel; whatever happens, it must not hang or succeed
  // silently past the timeout.
  auto c = t->Connect({kVsockLocalCid, l->address().port}, absl::Milliseconds(200));
  if (!c.ok()) {
    EXPECT_TRUE(absl::IsDeadlineExceeded(c.status()) || absl::IsUnavailable(c.status()))
        << c.status();
  }
}

}  // namespace
}  // namespace confide::enclave
