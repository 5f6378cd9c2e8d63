// Drives the KMS server over real HTTP (src/http Client) with SigV4-signed requests, as an AWS
// SDK would: port 0, temporary data directory, simulation attestation root.
#include "kms/server.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "crypto/cms.h"
#include "crypto/rsa.h"
#include "gtest/gtest.h"
#include "kms/internal/test_dir.h"
#include "kms/internal/test_server.h"
#include "kms/sigv4.h"
#include "nlohmann/json.hpp"

namespace confide::kms {
namespace {

using Json = nlohmann::json;

constexpr char kAccount[] = "111122223333";
constexpr const char* kAdminArn = internal::kTestAdminArn;
constexpr const char* kParentArn = internal::kTestParentArn;

using Reply = internal::TestReply;

class KmsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms_ = std::make_unique<internal::TestKmsServer>();
    ASSERT_TRUE(kms_->ok());
    dir_ = kms_->dir();
    ca_ = kms_->ca();
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = attest::ZeroPcr();
    pcrs_[0] = attest::MeasureBytes(AsBytes("the model server image"));
    rsa_.emplace(*crypto::RsaPrivateKey::Generate(2048));
  }
  void TearDown() override { kms_.reset(); }

  // Call is TestKmsServer::Call plus the checks every AWS JSON response must pass.
  Reply Call(const std::string& op, const Json& body, bool parent = false,
             const std::string& tamper = "") {
    Reply r = kms_->Call(op, body, parent, tamper);
    EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
    EXPECT_EQ(r.request_id.size(), 36u);
    return r;
  }

  std::string CreateKey(const Json& extra = Json::object()) {
    Json body = extra;
    body["Description"] = "test";
    Reply r = Call("CreateKey", body);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body["KeyMetadata"]["KeyId"].get<std::string>();
  }

  std::string Document(bool debug = false) {
    attest::EmulatedNsm nsm(ca_, "i-0kms-enc01", pcrs_, debug);
    auto d = nsm.Attest(std::nullopt, std::nullopt, rsa_->PublicKey().SpkiDer(), absl::Now());
    EXPECT_TRUE(d.ok()) << d.status();
    return base::Base64Encode(*d);
  }

  std::unique_ptr<internal::TestKmsServer> kms_;
  std::string dir_;
  std::shared_ptr<attest::SimulationCa> ca_;
  attest::PcrMap pcrs_;
  std::optional<crypto::RsaPrivateKey> rsa_;
};

TEST_F(KmsServerTest, CreateDescribeListAliasEncryptDecrypt) {
  std::string id = CreateKey();
  Reply d = Call("DescribeKey", {{"KeyId", id}});
  ASSERT_EQ(d.status, 200);
  const std::string arn = "arn:aws:kms:us-east-1:111122223333:key/" + id;
  EXPECT_EQ(d.body["KeyMetadata"]["Arn"], arn);
  EXPECT_EQ(d.body["KeyMetadata"]["AWSAccountId"], kAccount);
  EXPECT_EQ(d.body["KeyMetadata"]["KeyState"], "Enabled");
  EXPECT_TRUE(d.body["KeyMetadata"]["CreationDate"].is_number());

  ASSERT_EQ(Call("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id}}).status, 200);
  Reply dup = Call("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id}});
  EXPECT_EQ(dup.type(), "AlreadyExistsException");
  EXPECT_EQ(Call("CreateAlias", {{"AliasName", "app"}, {"TargetKeyId", id}}).type(),
            "ValidationException");
  Reply aliases = Call("ListAliases", Json::object());
  ASSERT_EQ(aliases.body["Aliases"].size(), 1u);
  EXPECT_EQ(aliases.body["Aliases"][0]["AliasArn"], "arn:aws:kms:us-east-1:111122223333:alias/app");

  CreateKey();
  Reply keys = Call("ListKeys", {{"Limit", 1}});
  EXPECT_EQ(keys.body["Keys"].size(), 1u);
  EXPECT_EQ(keys.body["Truncated"], true);
  Reply keys2 = Call("ListKeys", {{"Limit", 1}, {"Marker", keys.body["NextMarker"]}});
  EXPECT_EQ(keys2.body["Keys"].size(), 1u);
  EXPECT_EQ(keys2.body["Truncated"], false);

  Json ctx = {{"purpose", "test"}};
  Reply enc = Call("Encrypt", {{"KeyId", "alias/app"},
                               {"Plaintext", base::Base64Encode(AsBytes("hello kms"))},
                               {"EncryptionContext", ctx}});
  ASSERT_EQ(enc.status, 200) << enc.body.dump();
  EXPECT_EQ(enc.body["KeyId"], arn);
  Reply dec =
      Call("Decrypt", {{"CiphertextBlob", enc.body["CiphertextBlob"]}, {"EncryptionContext", ctx}});
  ASSERT_EQ(dec.status, 200) << dec.body.dump();
  EXPECT_EQ(dec.body["Plaintext"], base::Base64Encode(AsBytes("hello kms")));
  EXPECT_EQ(dec.body["KeyId"], arn);
  // Wrong context: one error, empty message.
  Reply bad = Call("Decrypt", {{"CiphertextBlob", enc.body["CiphertextBlob"]}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.type(), "InvalidCiphertextException");
  EXPECT_EQ(bad.body["message"], "");

  // Any flipped bit: the same error.
  Bytes raw = *base::Base64Decode(enc.body["CiphertextBlob"].get<std::string>());
  for (size_t i = 0; i < raw.size(); i += 7) {
    Bytes flipped = raw;
    flipped[i] ^= 0x01;
    Reply r = Call("Decrypt",
                   {{"CiphertextBlob", base::Base64Encode(flipped)}, {"EncryptionContext", ctx}});
    EXPECT_EQ(r.type(), "InvalidCiphertextException") << "byte " << i;
    EXPECT_EQ(r.body["message"], "") << "byte " << i;
  }

  // Unknown keys.
  EXPECT_EQ(Call("DescribeKey", {{"KeyId", "alias/nope"}}).type(), "NotFoundException");
  Reply nf = Call("DescribeKey", {{"KeyId", "00000000-0000-4000-8000-000000000000"}});
  EXPECT_EQ(nf.type(), "NotFoundException");
  EXPECT_EQ(nf.body["message"],
            "Key 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000' "
            "does not exist");
}

TEST_F(KmsServerTest, DataKeysRandomAndStates) {
  std::string id = CreateKey();
  Reply dk = Call("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  ASSERT_EQ(dk.status, 200) << dk.body.dump();
  auto pt = base::Base64Decode(dk.body["Plaintext"].get<std::string>());
  EXPECT_EQ(pt->size(), 32u);
  Reply dec = Call("Decrypt", {{"CiphertextBlob", dk.body["CiphertextBlob"]}});
  EXPECT_EQ(dec.body["Plaintext"], dk.body["Plaintext"]);
  Reply np = Call("GenerateDataKeyWithoutPlaintext", {{"KeyId", id}, {"NumberOfBytes", 16}});
  ASSERT_EQ(np.status, 200);
  EXPECT_FALSE(np.body.contains("Plaintext"));
  Reply rnd = Call("GenerateRandom", {{"NumberOfBytes", 64}});
  EXPECT_EQ(base::Base64Decode(rnd.body["Plaintext"].get<std::string>())->size(), 64u);
  Reply rnd0 = Call("GenerateRandom", {{"NumberOfBytes", 0}});
  EXPECT_EQ(rnd0.body["message"],
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1");

  ASSERT_EQ(Call("DisableKey", {{"KeyId", id}}).status, 200);
  Reply dis = Call("Encrypt", {{"KeyId", id}, {"Plaintext", "AAAA"}});
  EXPECT_EQ(dis.type(), "DisabledException");
  ASSERT_EQ(Call("EnableKey", {{"KeyId", id}}).status, 200);
  Reply sched = Call("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  ASSERT_EQ(sched.status, 200);
  EXPECT_EQ(sched.body["KeyState"], "PendingDeletion");
  EXPECT_EQ(Call("Encrypt", {{"KeyId", id}, {"Plaintext", "AAAA"}}).type(),
            "KMSInvalidStateException");
  Reply cancel = Call("CancelKeyDeletion", {{"KeyId", id}});
  ASSERT_EQ(cancel.status, 200);
  EXPECT_EQ(Call("DescribeKey", {{"KeyId", id}}).body["KeyMetadata"]["KeyState"], "Disabled");

  // Everything survives a restart.
  kms_->Stop();
  kms_->Start();
  EXPECT_EQ(Call("DescribeKey", {{"KeyId", id}}).body["KeyMetadata"]["KeyState"], "Disabled");
  ASSERT_EQ(Call("EnableKey", {{"KeyId", id}}).status, 200);
  EXPECT_EQ(Call("Decrypt", {{"CiphertextBlob", dk.body["CiphertextBlob"]}}).body["Plaintext"],
            dk.body["Plaintext"]);
}

TEST_F(KmsServerTest, AuthenticationFailures) {
  EXPECT_EQ(Call("ListKeys", Json::object(), false, "{\"Limit\":2}").type(),
            "InvalidSignatureException");
  http::Request unsigned_req;
  unsigned_req.method = "POST";
  unsigned_req.target = "/";
  unsigned_req.headers.Add("X-Amz-Target", "TrentService.ListKeys");
  unsigned_req.body = "{}";
  auto resp = kms_->client().Send(unsigned_req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 400);
  EXPECT_EQ(Json::parse(resp->body)["__type"], "MissingAuthenticationTokenException");
  EXPECT_EQ(Call("NoSuchOperation", Json::object()).type(), "UnknownOperationException");
}

// The seeds' scenario: the parent may Decrypt only inside an enclave whose image matches.
TEST_F(KmsServerTest, AttestationConditionDeniesTheParentAndAdmitsTheEnclave) {
  const std::string image = base::HexEncode(pcrs_[0]);
  Json policy = {
      {"Version", "2012-10-17"},
      {"Statement",
       {{{"Sid", "Admin"},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", kAdminArn}}},
         {"Action", "kms:*"},
         {"Resource", "*"}},
        {{"Sid", "ParentEncrypt"},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", kParentArn}}},
         {"Action", Json::array({"kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"})},
         {"Resource", "*"}},
        {{"Sid", "EnclaveDecrypt"},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", kParentArn}}},
         {"Action", "kms:Decrypt"},
         {"Resource", "*"},
         {"Condition",
          {{"StringEqualsIgnoreCase", {{"kms:RecipientAttestation:ImageSha384", image}}}}}}}}};
  std::string id = CreateKey({{"Policy", policy.dump()}});
  Reply enc =
      Call("Encrypt", {{"KeyId", id}, {"Plaintext", base::Base64Encode(AsBytes("model key"))}},
           /*parent=*/true);
  ASSERT_EQ(enc.status, 200) << enc.body.dump();

  Reply plain = Call("Decrypt", {{"CiphertextBlob", enc.body["CiphertextBlob"]}}, true);
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(plain.type(), "AccessDeniedException");

  Reply attested = Call(
      "Decrypt",
      {{"CiphertextBlob", enc.body["CiphertextBlob"]},
       {"Recipient",
        {{"AttestationDocument", Document()}, {"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"}}}},
      true);
  ASSERT_EQ(attested.status, 200) << attested.body.dump();
  EXPECT_FALSE(attested.body.contains("Plaintext"));
  auto cms = base::Base64Decode(attested.body["CiphertextForRecipient"].get<std::string>());
  ASSERT_TRUE(cms.ok());
  auto opened = crypto::OpenEnvelopedData(*cms, *rsa_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(Bytes(opened->ExposeSecret().begin(), opened->ExposeSecret().end()),
            ToBytes("model key"));

  // A different image is denied; so is a GenerateDataKey with plaintext to the parent? No: the
  // policy allows it (the lint below says why that matters for Decrypt only).
  pcrs_[0] = attest::MeasureBytes(AsBytes("another image"));
  Reply wrong = Call(
      "Decrypt",
      {{"CiphertextBlob", enc.body["CiphertextBlob"]},
       {"Recipient",
        {{"AttestationDocument", Document()}, {"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"}}}},
      true);
  EXPECT_EQ(wrong.type(), "AccessDeniedException");

  // A policy that also grants kms:Decrypt unconditionally gets a lint warning.
  Json weak = policy;
  weak["Statement"].push_back({{"Sid", "Oops"},
                               {"Effect", "Allow"},
                               {"Principal", {{"AWS", kParentArn}}},
                               {"Action", "kms:Decrypt"},
                               {"Resource", "*"}});
  Reply put =
      Call("PutKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}, {"Policy", weak.dump()}});
  ASSERT_EQ(put.status, 200) << put.body.dump();
  EXPECT_FALSE(put.body["Warnings"].empty());
  Reply got = Call("GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}});
  EXPECT_EQ(Json::parse(got.body["Policy"].get<std::string>()), weak);
}

TEST_F(KmsServerTest, EveryRequestIsAudited) {
  std::string id = CreateKey();
  Call("Decrypt", {{"CiphertextBlob", "AAAA"}});  // denied/invalid: audited too
  Call("DescribeKey", {{"KeyId", id}}, true);     // parent: default policy allows only root
  kms_->Stop();
  std::ifstream in(dir_ + "/audit.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto v = VerifyAuditLog(AsBytes(text), nullptr);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 3u);
  EXPECT_NE(text.find("InvalidCiphertextException"), std::string::npos);
  EXPECT_NE(text.find("CreateKey"), std::string::npos);
}

TEST_F(KmsServerTest, RotationAliasesAndTags) {
  std::string id = CreateKey();
  std::string id2 = CreateKey();
  Reply old_blob = Call("Encrypt", {{"KeyId", id}, {"Plaintext", "b2xk"}});
  ASSERT_EQ(Call("EnableKeyRotation", {{"KeyId", id}, {"RotationPeriodInDays", 90}}).status, 200);
  Reply rs = Call("GetKeyRotationStatus", {{"KeyId", id}});
  EXPECT_EQ(rs.body["KeyRotationEnabled"], true);
  EXPECT_EQ(rs.body["RotationPeriodInDays"], 90);
  ASSERT_EQ(Call("RotateKeyOnDemand", {{"KeyId", id}}).status, 200);
  Reply new_blob = Call("Encrypt", {{"KeyId", id}, {"Plaintext", "bmV3"}});
  EXPECT_NE(old_blob.body["CiphertextBlob"], new_blob.body["CiphertextBlob"]);
  EXPECT_EQ(
      Call("Decrypt", {{"CiphertextBlob", old_blob.body["CiphertextBlob"]}}).body["Plaintext"],
      "b2xk");
  EXPECT_EQ(
      Call("Decrypt", {{"CiphertextBlob", new_blob.body["CiphertextBlob"]}}).body["Plaintext"],
      "bmV3");
  ASSERT_EQ(Call("DisableKeyRotation", {{"KeyId", id}}).status, 200);
  EXPECT_EQ(Call("GetKeyRotationStatus", {{"KeyId", id}}).body["KeyRotationEnabled"], false);
  EXPECT_EQ(Call("ListKeyPolicies", {{"KeyId", id}}).body["PolicyNames"][0], "default");

  ASSERT_EQ(Call("CreateAlias", {{"AliasName", "alias/x"}, {"TargetKeyId", id}}).status, 200);
  ASSERT_EQ(Call("UpdateAlias", {{"AliasName", "alias/x"}, {"TargetKeyId", id2}}).status, 200);
  EXPECT_EQ(Call("DescribeKey", {{"KeyId", "alias/x"}}).body["KeyMetadata"]["KeyId"], id2);
  ASSERT_EQ(Call("DeleteAlias", {{"AliasName", "alias/x"}}).status, 200);
  EXPECT_EQ(Call("DescribeKey", {{"KeyId", "alias/x"}}).type(), "NotFoundException");

  Json tags = Json::array(
      {{{"TagKey", "team"}, {"TagValue", "ml"}}, {{"TagKey", "env"}, {"TagValue", "dev"}}});
  ASSERT_EQ(Call("TagResource", {{"KeyId", id}, {"Tags", tags}}).status, 200);
  ASSERT_EQ(Call("UntagResource", {{"KeyId", id}, {"TagKeys", Json::array({"env"})}}).status, 200);
  Reply lt = Call("ListResourceTags", {{"KeyId", id}});
  ASSERT_EQ(lt.body["Tags"].size(), 1u);
  EXPECT_EQ(lt.body["Tags"][0]["TagKey"], "team");
}

}  // namespace
}  // namespace confide::kms
