// Canary test: plants a recognisable secret in plaintexts, keys, tokens and attestation fields,
// drives every failure path of the foundation's modules, and checks that no error message and
// no log line carries the canary — raw, hex or base64.
#include <string>
#include <vector>

#include "attest/emulated_nsm.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "base/log.h"
#include "client/internal/test_peer.h"
#include "client/openai_proxy.h"
#include "client/sealed_session.h"
#include "client/trust_policy.h"
#include "crypto/aead.h"
#include "crypto/cms.h"
#include "crypto/hpke.h"
#include "crypto/rsa.h"
#include "gtest/gtest.h"
#include "ohttp/bhttp.h"
#include "ohttp/chunked.h"
#include "ohttp/ohttp.h"

namespace confide {
namespace {

constexpr char kCanary[] = "CANARY-patient-4711-diabetes";

class CanaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink([this](std::string_view line) { seen_.emplace_back(line); });
    log::SetLevel(log::Level::kDebug);
  }
  void TearDown() override {
    log::SetSink(nullptr);
    log::SetLevel(log::Level::kInfo);
    const Bytes canary = ToBytes(kCanary);
    const std::vector<std::string> forms = {kCanary, base::HexEncode(canary),
                                            base::Base64Encode(canary), "CANARY"};
    ASSERT_GT(checked_, 0u);
    for (const std::string& s : seen_) {
      for (const std::string& f : forms) {
        EXPECT_EQ(s.find(f), std::string::npos) << "canary leaked: " << s;
      }
    }
  }
  // Record remembers a status for the check in TearDown and asserts it failed.
  void Record(const absl::Status& s) {
    EXPECT_FALSE(s.ok());
    seen_.push_back(s.ToString());
    ++checked_;
  }
  template <typename T>
  void Record(const absl::StatusOr<T>& s) {
    Record(s.status());
  }

  std::vector<std::string> seen_;
  size_t checked_ = 0;
};

TEST_F(CanaryTest, CryptoFailuresCarryNoPlaintextOrKey) {
  const Bytes secret = ToBytes(kCanary);
  // A key made of the canary, a ciphertext of the canary, opened wrongly.
  Bytes key(32, 0);
  std::copy(secret.begin(), secret.begin() + 28, key.begin());
  auto sealed = crypto::AeadSeal(crypto::AeadAlg::kAes256Gcm, key, Bytes(12, 1), {}, secret);
  ASSERT_TRUE(sealed.ok());
  Bytes other_key = key;
  other_key[0] ^= 1;
  Record(crypto::AeadOpen(crypto::AeadAlg::kAes256Gcm, other_key, Bytes(12, 1), {}, *sealed));
  Record(crypto::AeadSeal(crypto::AeadAlg::kAes256Gcm, secret, Bytes(12, 1), {}, secret));

  auto suite = crypto::HpkeSuite::FromIds(0x0020, 0x0001, 0x0001);
  auto kp = crypto::HpkeGenerateKeyPair(crypto::HpkeKemId::kX25519HkdfSha256);
  crypto::HpkeSetupParams params;
  params.info = secret;
  auto hs = crypto::HpkeSeal(*suite, kp->public_key, params, secret, secret);
  ASSERT_TRUE(hs.ok());
  Bytes bad = hs->ciphertext;
  bad.back() ^= 1;
  Record(crypto::HpkeOpen(*suite, hs->enc, kp->private_key, params, secret, bad));

  auto rsa = crypto::RsaPrivateKey::Generate(2048);
  auto rsa2 = crypto::RsaPrivateKey::Generate(2048);
  auto cms = crypto::CreateEnvelopedData(rsa->PublicKey(), Bytes(32, 7), secret);
  ASSERT_TRUE(cms.ok());
  Record(crypto::OpenEnvelopedData(*cms, *rsa2));
  Record(crypto::OpenEnvelopedData(secret, *rsa));
}

TEST_F(CanaryTest, OhttpAndBhttpFailuresCarryNoContent) {
  auto key = ohttp::GatewayKey::Generate(1, 0x0020, {{0x0001, 0x0001}});
  ohttp::KeyConfig config = key->config();
  std::vector<ohttp::GatewayKey> keys;
  keys.push_back(*std::move(key));
  auto gateway = ohttp::Gateway::Create(std::move(keys));
  ohttp::BhttpRequest r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.headers = {{"authorization", std::string("Bearer ") + kCanary}};
  r.content = ToBytes(kCanary);
  auto plain = ohttp::EncodeRequest(r);
  auto req = ohttp::EncapsulateRequest(config, {0x0001, 0x0001}, *plain);
  Bytes tampered = req->encapsulated;
  tampered[tampered.size() / 2] ^= 1;
  Record(gateway->DecapsulateRequest(tampered));
  // Malformed Binary HTTP whose bytes hold the canary.
  Bytes broken = *plain;
  broken.resize(broken.size() - 3);
  broken.push_back(0x7f);
  Record(ohttp::DecodeRequest(broken));
  Bytes upper = *plain;
  for (auto& b : upper) {
    if (b == 'a') b = 'A';
  }
  Record(ohttp::DecodeRequest(upper));
  ohttp::BhttpRequest bad_field;
  bad_field.headers = {{kCanary, "x"}};
  Record(ohttp::EncodeRequest(bad_field));
  ohttp::ChunkedRequestReceiver receiver(*gateway);
  auto sender = ohttp::ChunkedRequestSender::Create(config, {0x0001, 0x0001});
  Bytes stream = sender->header();
  Append(stream, *sender->SealChunk(ToBytes(kCanary), true));
  stream.back() ^= 1;
  auto fed = receiver.Feed(stream);
  if (fed.ok()) {
    Record(receiver.Finish());
  } else {
    Record(fed);
  }
}

TEST_F(CanaryTest, AttestationRejectionsCarryNoFieldContent) {
  auto ca = attest::SimulationCa::Create(absl::Now());
  auto shared = std::make_shared<attest::SimulationCa>(*std::move(ca));
  attest::PcrMap pcrs = {{0, attest::ZeroPcr()}};
  attest::EmulatedNsm nsm(shared, "i-0canary-enc1", pcrs);
  const Bytes secret = ToBytes(kCanary);
  auto doc = nsm.Attest(secret, secret, secret, absl::Now());
  ASSERT_TRUE(doc.ok());
  attest::VerifierOptions o;
  o.allow_simulation_root = true;
  auto v = attest::Verifier::Create(shared->RootDer(), o);
  attest::Expectations e;
  e.nonce = ToBytes("another nonce");
  Record(v->Verify(*doc, e, absl::Now()));
  e = {};
  e.user_data = ToBytes("other");
  Record(v->Verify(*doc, e, absl::Now()));
  e = {};
  e.public_key = ToBytes("other");
  Record(v->Verify(*doc, e, absl::Now()));
  Bytes flipped = *doc;
  flipped[flipped.size() - 10] ^= 1;
  Record(v->Verify(flipped, {}, absl::Now()));
  Record(v->Verify(secret, {}, absl::Now()));
  client::TrustPolicy policy;
  policy.roots = {shared->RootDer()};
  policy.allow_simulation_root = true;
  Record(client::VerifyEnclave(policy, *doc, secret, secret, absl::Now()));
}

// The client: a prompt and a bearer token carrying the canary go through every refusal of the
// sealed session and the local proxy (replayed and truncated responses, a header that cannot be
// encoded, a wrong PCR, a 502 from the proxy); no status and no log line may carry them.
TEST_F(CanaryTest, ClientFailuresCarryNoPromptOrToken) {
  auto peer = std::make_shared<client::testing::TestPeer>();
  auto chat = [](bool stream) {
    http::Request r;
    r.method = "POST";
    r.target = "/v1/chat/completions";
    r.headers.Add("Authorization", std::string("Bearer ") + kCanary);
    r.body = std::string(R"({"stream":)") + (stream ? "true" : "false") +
             R"(,"messages":[{"role":"user","content":")" + kCanary + R"("}]})";
    return r;
  };
  auto stream = [&](client::SealedSession& s) {
    return s.SendStreaming(
        chat(true), [](const http::Response&) { return true; },
        [](std::string_view) { return true; });
  };
  auto session = std::make_shared<client::SealedSession>(peer, peer->Policy());
  ASSERT_TRUE(session->Send(chat(false)).ok());
  peer->replay_response = true;
  Record(session->Send(chat(false)));
  peer->replay_response = false;
  peer->truncate_stream = true;
  peer->truncate_after_pieces = 1;
  Record(stream(*session));
  peer->truncate_stream = false;
  peer->truncate_after_pieces = -1;
  http::Request bad = chat(false);
  bad.headers.Add("X-Note", std::string(kCanary) + "\r\n");
  Record(session->Send(bad));

  client::TrustPolicy wrong = peer->Policy();
  wrong.pcrs[0] = attest::ZeroPcr();
  auto refused = std::make_shared<client::SealedSession>(peer, wrong);
  Record(refused->Send(chat(false)));
  auto handler = client::ProxyHandler(refused);
  for (bool streamed : {false, true}) {
    http::Response r = handler(chat(streamed));
    EXPECT_EQ(r.status, 502);
    seen_.push_back(r.body);
  }
}

}  // namespace
}  // namespace confide
