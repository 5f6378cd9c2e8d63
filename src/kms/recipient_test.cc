#include "kms/recipient.h"

#include "absl/strings/match.h"
#include "attest/emulated_nsm.h"
#include "crypto/cms.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"
#include "crypto/rsa.h"
#include "gtest/gtest.h"
#include "kms/errors.h"
#include "kms/policy.h"

namespace confide::kms {
namespace {

class RecipientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = attest::SimulationCa::Create(now_);
    ca_ = std::make_shared<attest::SimulationCa>(*std::move(ca));
    attest::VerifierOptions o;
    o.allow_simulation_root = true;
    verifiers_.push_back(*attest::Verifier::Create(ca_->RootDer(), o));
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = attest::ZeroPcr();
    pcrs_[0] = attest::MeasureBytes(AsBytes("enclave image"));
    rsa_.emplace(*crypto::RsaPrivateKey::Generate(2048));
  }
  Bytes Document(bool debug = false, std::optional<Bytes> public_key = std::nullopt,
                 absl::Time at = absl::InfinitePast()) {
    attest::EmulatedNsm nsm(ca_, "i-0kms-enc01", pcrs_, debug);
    if (!public_key) public_key = rsa_->PublicKey().SpkiDer();
    auto d =
        nsm.Attest(std::nullopt, std::nullopt, public_key, at == absl::InfinitePast() ? now_ : at);
    EXPECT_TRUE(d.ok()) << d.status();
    return *d;
  }

  absl::Time now_ = absl::Now();
  std::shared_ptr<attest::SimulationCa> ca_;
  std::vector<attest::Verifier> verifiers_;
  attest::PcrMap pcrs_;
  std::optional<crypto::RsaPrivateKey> rsa_;
};

TEST_F(RecipientTest, OnlyTheAttestedEnclaveOpensTheKey) {
  auto r = VerifyRecipient(verifiers_, Document(), kRecipientAlgorithm, now_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->simulation);
  EXPECT_EQ(r->pcrs.at(0), pcrs_[0]);
  auto data_key = crypto::RandomSecret(32);
  auto cms = CiphertextForRecipient(*r, *data_key);
  ASSERT_TRUE(cms.ok()) << cms.status();
  // The enclave opens it with its private key; the parts parse as aws-nitro-enclaves-sdk-c
  // expects (RSAES-OAEP key transport, AES-256-CBC content).
  auto opened = crypto::OpenEnvelopedData(*cms, *rsa_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(Bytes(opened->ExposeSecret().begin(), opened->ExposeSecret().end()),
            Bytes(data_key->ExposeSecret().begin(), data_key->ExposeSecret().end()));
  auto parts = crypto::ParseEnvelopedData(*cms);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->key_encryption_oid, crypto::kOidRsaesOaep);
  EXPECT_EQ(parts->content_encryption_oid, crypto::kOidAes256Cbc);
  // Anyone else (the parent, another key) cannot.
  auto other = crypto::RsaPrivateKey::Generate(2048);
  EXPECT_FALSE(crypto::OpenEnvelopedData(*cms, *other).ok());

  // The policy sees the document's PCRs, so an ImageSha384 condition can be evaluated.
  KmsRequestFacts facts;
  facts.principal_arn = "arn:aws:iam::111122223333:role/parent";
  facts.caller_account = "111122223333";
  facts.attested_pcrs = &r->pcrs;
  RequestContext ctx = BuildKmsRequestContext(facts);
  const auto* image = ctx.Find("kms:RecipientAttestation:ImageSha384");
  ASSERT_NE(image, nullptr);
}

TEST_F(RecipientTest, RejectionsAreValidationExceptionsNamingTheCheck) {
  struct Case {
    std::string name;
    absl::StatusOr<VerifiedRecipient> result;
    std::string want;
  };
  auto ec = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP256);
  std::vector<Case> cases;
  cases.push_back({"algorithm", VerifyRecipient(verifiers_, Document(), "RSAES_OAEP_SHA_1", now_),
                   "RSAES_OAEP_SHA_256"});
  cases.push_back(
      {"stale",
       VerifyRecipient(verifiers_, Document(), kRecipientAlgorithm, now_ + absl::Minutes(6)),
       "older"});
  cases.push_back({"not rsa",
                   VerifyRecipient(verifiers_, Document(false, ec->PublicKey().SpkiDer()),
                                   kRecipientAlgorithm, now_),
                   "not an RSA key"});
  Bytes tampered = Document();
  tampered[tampered.size() - 5] ^= 1;
  cases.push_back(
      {"tampered", VerifyRecipient(verifiers_, tampered, kRecipientAlgorithm, now_), "signature"});
  std::vector<attest::Verifier> none;
  cases.push_back({"no roots", VerifyRecipient(none, Document(), kRecipientAlgorithm, now_),
                   "trusts no attestation root"});
  for (const Case& c : cases) {
    ASSERT_FALSE(c.result.ok()) << c.name;
    EXPECT_EQ(AwsErrorType(c.result.status()), "ValidationException") << c.name;
    EXPECT_TRUE(absl::StrContains(c.result.status().message(), c.want))
        << c.name << ": " << c.result.status();
  }
}

TEST_F(RecipientTest, DebugModeDocumentsCarryZeroImagePcrs) {
  auto r = VerifyRecipient(verifiers_, Document(/*debug=*/true), kRecipientAlgorithm, now_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pcrs.at(0), attest::ZeroPcr());  // so a policy pinned to the image denies it
}

}  // namespace
}  // namespace confide::kms
