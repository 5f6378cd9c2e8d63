#include "client/trust_policy.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "attest/emulated_nsm.h"
#include "base/encoding.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "ohttp/ohttp.h"
#include "testing/testdata.h"

namespace confide::client {
namespace {

class TrustPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("confide_trust_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto ca = attest::SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<attest::SimulationCa>(*std::move(ca));
    Write("sim_root.pem", ca_->RootPem());
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = attest::ZeroPcr();
    pcrs_[0] = attest::MeasureBytes(AsBytes("image"));
    pcrs_[2] = attest::MeasureBytes(AsBytes("app"));
    auto key = ohttp::GatewayKey::Generate(1, 0x0020, {{0x0001, 0x0001}});
    ASSERT_TRUE(key.ok());
    std::vector<ohttp::GatewayKey> keys;
    keys.push_back(*std::move(key));
    configs_ = *ohttp::EncodeKeyConfigList(std::vector<ohttp::KeyConfig>{keys[0].config()});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string PcrHex(uint32_t i) { return base::HexEncode(pcrs_[i]); }
  Bytes Attest(ByteSpan nonce, const Bytes& user_data, bool debug = false) {
    attest::EmulatedNsm nsm(ca_, "i-0client-enc01", pcrs_, debug);
    auto doc = nsm.Attest(user_data, Bytes(nonce.begin(), nonce.end()), std::nullopt, absl::Now());
    EXPECT_TRUE(doc.ok());
    return *doc;
  }
  TrustPolicy Policy(const std::string& json) {
    auto p = ParseTrustPolicy(json, dir_.string());
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : TrustPolicy{};
  }

  std::filesystem::path dir_;
  std::shared_ptr<attest::SimulationCa> ca_;
  attest::PcrMap pcrs_;
  Bytes configs_;
  const Bytes nonce_ = Bytes(32, 0x5c);
};

TEST_F(TrustPolicyTest, AcceptsABoundEnclaveAndNamesEachFailure) {
  TrustPolicy p = Policy(R"({"roots": ["sim_root.pem"], "allow_simulation_root": true,
                             "pcrs": {"0": ")" +
                         PcrHex(0) + R"(", "2": ")" + PcrHex(2) + R"("}})");
  Bytes doc = Attest(nonce_, crypto::Sha256(configs_));
  auto ok = VerifyEnclave(p, doc, configs_, nonce_, absl::Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->verified.simulation);
  EXPECT_EQ(ok->key_configs.size(), 1u);

  // A key configuration that is not the one the document binds.
  auto other = ohttp::GatewayKey::Generate(1, 0x0020, {{0x0001, 0x0001}});
  Bytes other_configs = *ohttp::EncodeKeyConfigList(std::vector<ohttp::KeyConfig>{other->config()});
  auto unbound = VerifyEnclave(p, doc, other_configs, nonce_, absl::Now());
  EXPECT_TRUE(absl::StrContains(unbound.status().message(), "not bound")) << unbound.status();
  // Another session's nonce.
  auto replay = VerifyEnclave(p, doc, configs_, Bytes(32, 1), absl::Now());
  EXPECT_TRUE(absl::StrContains(replay.status().message(), "nonce")) << replay.status();
  // A debug-mode enclave does not match the image PCRs.
  Bytes debug_doc = Attest(nonce_, crypto::Sha256(configs_), /*debug=*/true);
  auto debug = VerifyEnclave(p, debug_doc, configs_, nonce_, absl::Now());
  EXPECT_TRUE(absl::StrContains(debug.status().message(), "PCR0")) << debug.status();
  // Too old.
  auto old = VerifyEnclave(p, doc, configs_, nonce_, absl::Now() + absl::Minutes(10));
  EXPECT_TRUE(absl::StrContains(old.status().message(), "older")) << old.status();
}

TEST_F(TrustPolicyTest, SimulationRootNeedsExplicitConsent) {
  TrustPolicy p = Policy(R"({"roots": ["sim_root.pem"]})");
  Bytes doc = Attest(nonce_, crypto::Sha256(configs_));
  auto r = VerifyEnclave(p, doc, configs_, nonce_, absl::Now());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "simulation root")) << r.status();
}

TEST_F(TrustPolicyTest, OnlyTheDocumentsRootMatters) {
  CONFIDE_SHARED_FILE_OR_SKIP(nitro_root, "testdata/nitro/aws_nitro_root_g1.pem");
  TrustPolicy p = Policy(R"({"roots": [")" + nitro_root.string() +
                         R"(", "sim_root.pem"], "allow_simulation_root": true})");
  Bytes doc = Attest(nonce_, crypto::Sha256(configs_));
  EXPECT_TRUE(VerifyEnclave(p, doc, configs_, nonce_, absl::Now()).ok());
  TrustPolicy nitro_only = Policy(R"({"roots": [")" + nitro_root.string() + R"("]})");
  auto r = VerifyEnclave(nitro_only, doc, configs_, nonce_, absl::Now());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "does not chain to any root")) << r.status();
}

TEST_F(TrustPolicyTest, ImageDescriptionAndWarnings) {
  Write("app.describe.json", R"({"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": ")" +
                                 PcrHex(0) + R"(", "PCR2": ")" + PcrHex(2) + R"("}})");
  TrustPolicy p = Policy(R"({"roots": ["sim_root.pem"], "allow_simulation_root": true,
                             "image": "app.describe.json", "max_document_age_seconds": 60})");
  EXPECT_EQ(p.pcrs.size(), 2u);
  EXPECT_EQ(p.max_document_age, absl::Seconds(60));
  EXPECT_EQ(PolicyWarnings(p).size(), 1u);  // simulation only
  TrustPolicy weak =
      Policy(R"({"roots": ["sim_root.pem"], "pcrs": {"3": ")" + PcrHex(3) + R"("}})");
  auto w = PolicyWarnings(weak);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(absl::StrContains(w[0], "no image measurement"));
}

TEST_F(TrustPolicyTest, MalformedPoliciesAreRejectedWithTheField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[]", "not a JSON object"},
      {"{", "not a JSON object"},
      {R"({})", "'roots' is required"},
      {R"({"roots": []})", "'roots'"},
      {R"({"roots": ["missing.pem"]})", "cannot read"},
      {R"({"roots": ["sim_root.pem"], "pcr": {}})", "unknown field 'pcr'"},
      {R"({"roots": ["sim_root.pem"], "pcrs": {"32": "00"}})", "0..31"},
      {R"({"roots": ["sim_root.pem"], "pcrs": {"1": "zz"}})", "PCR1"},
      {R"({"roots": ["sim_root.pem"], "allow_simulation_root": "yes"})", "true or false"},
      {R"({"roots": ["sim_root.pem"], "max_document_age_seconds": -1})", "positive"},
      {R"({"roots": ["sim_root.pem"], "image": "sim_root.pem"})", "Measurements"},
  };
  for (const auto& [json, want] : bad) {
    auto p = ParseTrustPolicy(json, dir_.string());
    ASSERT_FALSE(p.ok()) << json;
    EXPECT_TRUE(absl::StrContains(p.status().message(), want)) << json << " -> " << p.status();
  }
}

}  // namespace
}  // namespace confide::client
