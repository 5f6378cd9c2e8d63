// The in-enclave NSM client over an inherited descriptor, served by the emulated module as the
// launcher would (a real socketpair, a server thread).
#include "attest/nsm_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "gtest/gtest.h"

namespace confide::attest {
namespace {

class NsmChannel : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<SimulationCa>(*std::move(ca));
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = MeasureBytes(Bytes{static_cast<uint8_t>(i)});
    nsm_ = std::make_unique<EmulatedNsm>(ca_, "i-0test-enc0000000000000009", pcrs_);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_fd_ = fds[1];
    server_ = std::thread([this] { served_ = ServeNsm(*nsm_, server_fd_, absl::Now); });
    auto client = NewDescriptorNsmClient(fds[0]);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();  // closes the client's end: the server sees end of stream
    if (server_.joinable()) server_.join();
    ::close(server_fd_);
  }

  std::shared_ptr<SimulationCa> ca_;
  PcrMap pcrs_;
  std::unique_ptr<EmulatedNsm> nsm_;
  int server_fd_ = -1;
  std::thread server_;
  absl::Status served_;
  std::unique_ptr<NsmClient> client_;
};

TEST_F(NsmChannel, EveryRequestOverTheDescriptor) {
  auto pcr0 = client_->DescribePcr(0);
  ASSERT_TRUE(pcr0.ok()) << pcr0.status();
  EXPECT_TRUE(pcr0->lock);
  EXPECT_EQ(pcr0->data, pcrs_[0]);

  auto ro = client_->ExtendPcr(3, Bytes{1});
  EXPECT_EQ(ro.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(ro.status().message()).find("ReadOnlyIndex"), std::string::npos);

  auto v = client_->ExtendPcr(16, Bytes{1, 2, 3});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, *ExtendPcr(ZeroPcr(), Bytes{1, 2, 3}));
  EXPECT_TRUE(client_->LockPcr(16).ok());
  EXPECT_TRUE(client_->LockPcrs(18).ok());
  auto desc = client_->DescribeNsm();
  ASSERT_TRUE(desc.ok());
  EXPECT_EQ(desc->locked_pcrs.size(), 18u);
  auto rnd = client_->GetRandom();
  ASSERT_TRUE(rnd.ok());
  EXPECT_EQ(rnd->size(), EmulatedNsm::kRandomLen);

  auto doc = client_->Attestation(Bytes(32, 1), Bytes(16, 2), std::nullopt);
  ASSERT_TRUE(doc.ok()) << doc.status();
  VerifierOptions options;
  options.allow_simulation_root = true;
  auto verifier = Verifier::Create(ca_->RootDer(), options);
  ASSERT_TRUE(verifier.ok());
  Expectations e;
  e.pcrs[0] = pcrs_[0];
  e.pcrs[16] = *v;
  e.nonce = Bytes(16, 2);
  auto verified = verifier->Verify(*doc, e, absl::Now());
  EXPECT_TRUE(verified.ok()) << verified.status();

  EXPECT_EQ(client_->DescribePcr(40).status().code(), absl::StatusCode::kFailedPrecondition);
  client_.reset();
  server_.join();
  EXPECT_TRUE(served_.ok()) << served_;
}

TEST_F(NsmChannel, OversizedFrameIsRefusedAndEndsTheSession) {
  // Speak the framing by hand on a second channel: a length above 0x1000.
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  absl::Status served;
  std::thread t([&] { served = ServeNsm(*nsm_, fds[1], absl::Now); });
  uint8_t head[4] = {0, 0, 0x10, 0x01};
  ASSERT_EQ(::write(fds[0], head, 4), 4);
  uint8_t resp_head[4];
  ASSERT_EQ(::read(fds[0], resp_head, 4), 4);
  size_t len = (size_t{resp_head[2]} << 8) | resp_head[3];
  Bytes body(len);
  ASSERT_EQ(::read(fds[0], body.data(), len), static_cast<ssize_t>(len));
  auto decoded = DecodeNsmResponse(body);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<NsmErrorResponse>(*decoded).code, NsmErrorCode::kInputTooLarge);
  t.join();
  EXPECT_EQ(served.code(), absl::StatusCode::kInvalidArgument);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(NsmDevice, MissingDeviceIsNotFound) {
  auto c = NewDeviceNsmClient("/nonexistent/nsm");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(NewDescriptorNsmClient(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace confide::attest
