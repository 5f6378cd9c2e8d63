// The boot endpoint: request handling against a real emulated secure module over a socketpair
// (as the launcher wires it), and the parent-side client over the vsock emulation.
#include "enclave/boot.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "attest/emulated_nsm.h"
#include "attest/nsm_client.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "gtest/gtest.h"

namespace confide::enclave {
namespace {

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = attest::SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<attest::SimulationCa>(*std::move(ca));
    for (uint32_t i = 0; i < 3; ++i) pcrs_[i] = attest::MeasureBytes(Bytes{uint8_t(i)});
    nsm_ = std::make_unique<attest::EmulatedNsm>(ca_, "i-test-enc0000000000000001", pcrs_);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_fd_ = fds[1];
    server_ = std::thread([this] { (void)attest::ServeNsm(*nsm_, server_fd_, absl::Now); });
    auto client = attest::NewDescriptorNsmClient(fds[0]);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();
    if (server_.joinable()) server_.join();
    ::close(server_fd_);
  }
  absl::StatusOr<attest::VerifiedDocument> Verify(ByteSpan doc, ByteSpan nonce) {
    attest::VerifierOptions o;
    o.allow_simulation_root = true;
    auto v = attest::Verifier::Create(ca_->RootDer(), o);
    if (!v.ok()) return v.status();
    attest::Expectations e;
    e.pcrs = pcrs_;
    e.nonce = Bytes(nonce.begin(), nonce.end());
    return v->Verify(doc, e, absl::Now());
  }

  std::shared_ptr<attest::SimulationCa> ca_;
  attest::PcrMap pcrs_;
  std::unique_ptr<attest::EmulatedNsm> nsm_;
  int server_fd_ = -1;
  std::thread server_;
  std::unique_ptr<attest::NsmClient> client_;
};

TEST_F(BootTest, HealthAnswersOk) {
  BootResponse r = HandleBootRequest("GET /health HTTP/1.1\r\nHost: e", *client_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(std::string(r.body.begin(), r.body.end()), "{\"status\":\"ok\"}");
  std::string wire(reinterpret_cast<const char*>(EncodeBootResponse(r).data()),
                   EncodeBootResponse(r).size());
  EXPECT_EQ(wire.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(wire.find("Content-Length: 15\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Connection: close\r\n\r\n"), std::string::npos);
}

TEST_F(BootTest, AttestationCarriesTheNonceAndVerifies) {
  Bytes nonce = {1, 2, 3, 0xfe};
  BootResponse r = HandleBootRequest("GET /attestation?nonce=010203FE HTTP/1.1", *client_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/cbor");
  auto v = Verify(r.body, nonce);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->simulation);
  EXPECT_FALSE(Verify(r.body, Bytes{1, 2, 3}).ok());  // another nonce: refused
}

TEST_F(BootTest, BadRequestsAreRefused) {
  struct Case {
    const char* head;
    int status;
  } cases[] = {
      {"GET /nope HTTP/1.1", 404},
      {"POST /health HTTP/1.1", 405},
      {"GET /health HTTP/1.0", 400},
      {"GET /health", 400},
      {"", 400},
      {"GET /attestation?nonce= HTTP/1.1", 400},
      {"GET /attestation?nonce=abc HTTP/1.1", 400},
      {"GET /attestation?nonce=zz HTTP/1.1", 400},
      {"GET /attestation HTTP/1.1", 404},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HandleBootRequest(c.head, *client_).status, c.status) << c.head;
  }
  std::string big =
      "GET /attestation?nonce=" + std::string(2 * (kMaxNonceBytes + 1), 'a') + " HTTP/1.1";
  EXPECT_EQ(HandleBootRequest(big, *client_).status, 400);
  std::string max = "GET /attestation?nonce=" + std::string(2 * kMaxNonceBytes, 'a') + " HTTP/1.1";
  EXPECT_EQ(HandleBootRequest(max, *client_).status, 200);
}

TEST_F(BootTest, RoundTripOverEmulatedVsock) {
  char tmpl[] = "/tmp/confide-boot-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto enclave_side = NewEmulatedVsockTransport(dir, 7);
  auto parent_side = NewEmulatedVsockTransport(dir, kParentCid);
  ASSERT_TRUE(enclave_side.ok() && parent_side.ok());
  std::atomic<bool> stop{false}, ready{false};
  absl::Status served;
  BootOptions opts;
  opts.port = 5123;
  std::thread t(
      [&] { served = RunBoot(**enclave_side, *client_, opts, &stop, [&] { ready = true; }); });
  while (!ready && served.ok()) ::usleep(1000);
  VsockAddress addr{7, 5123};
  EXPECT_TRUE(CheckEnclaveHealth(**parent_side, addr, absl::Seconds(5)).ok());
  Bytes nonce(32, 0x5a);
  auto doc = FetchAttestation(**parent_side, addr, nonce, absl::Seconds(5));
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_TRUE(Verify(*doc, nonce).ok());
  EXPECT_EQ(FetchAttestation(**parent_side, addr, Bytes{}, absl::Seconds(5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckEnclaveHealth(**parent_side, VsockAddress{8, 5123}, absl::Seconds(1)).code(),
            absl::StatusCode::kUnavailable);
  stop = true;
  t.join();
  EXPECT_TRUE(served.ok()) << served;
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace confide::enclave
