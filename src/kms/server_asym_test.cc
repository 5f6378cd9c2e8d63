// Asymmetric KMS keys (Sign, Verify, GetPublicKey), data key pairs and ReEncrypt, driven over
// real HTTP with SigV4 as an AWS SDK would. Expected error names and messages are those AWS
// returned in shared/testdata/kms/localstack/test_kms.snapshot.json where it recorded them.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "crypto/cms.h"
#include "crypto/ecdsa.h"
#include "crypto/rsa.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "kms/audit_log.h"
#include "kms/internal/test_server.h"

namespace confide::kms {
namespace {

using Json = nlohmann::json;
using internal::TestReply;

constexpr char kMessage[] = "test message !%$@ 1234567890";

std::string B64(std::string_view s) { return base::Base64Encode(AsBytes(s)); }
std::string B64(ByteSpan b) { return base::Base64Encode(b); }
Bytes Unb64(const Json& v) { return *base::Base64Decode(v.get<std::string>()); }

crypto::HashAlg HashOf(const std::string& alg) {
  if (alg.find("384") != std::string::npos) return crypto::HashAlg::kSha384;
  if (alg.find("512") != std::string::npos) return crypto::HashAlg::kSha512;
  return crypto::HashAlg::kSha256;
}

// AdminOnlyPolicy lets the admin role do everything and nobody else anything. (The default key
// policy names the account root, which admits every principal of the account.)
std::string AdminOnlyPolicy() {
  return Json{{"Version", "2012-10-17"},
              {"Statement",
               {{{"Sid", "Admin"},
                 {"Effect", "Allow"},
                 {"Principal", {{"AWS", internal::kTestAdminArn}}},
                 {"Action", "kms:*"},
                 {"Resource", "*"}}}}}
      .dump();
}

class KmsAsymTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kms_.ok()); }

  TestReply Call(const std::string& op, const Json& body, bool parent = false) {
    return kms_.Call(op, body, parent);
  }
  // CreateKey returns the new key's metadata.
  Json CreateKey(const Json& body) {
    TestReply r = Call("CreateKey", body);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body["KeyMetadata"];
  }
  std::string SignKey(const std::string& spec, const Json& extra = Json::object()) {
    Json body = extra;
    body["KeySpec"] = spec;
    body["KeyUsage"] = "SIGN_VERIFY";
    return CreateKey(body)["KeyId"].get<std::string>();
  }
  std::string SymmetricKey(const Json& extra = Json::object()) {
    return CreateKey(extra)["KeyId"].get<std::string>();
  }
  std::string Arn(const std::string& id) { return "arn:aws:kms:us-east-1:111122223333:key/" + id; }
  std::string AuditText() {
    std::ifstream in(kms_.dir() + "/audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  internal::TestKmsServer kms_;
};

TEST_F(KmsAsymTest, CreateKeyValidatesSpecAndUsageAsAws) {
  TestReply no_usage = Call("CreateKey", {{"KeySpec", "RSA_2048"}});
  EXPECT_EQ(no_usage.status, 400);
  EXPECT_EQ(no_usage.type(), "ValidationException");
  EXPECT_EQ(no_usage.message(),
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption "
            "keys.");
  TestReply bad_spec =
      Call("CreateKey", {{"KeySpec", "HMAC_random"}, {"KeyUsage", "GENERATE_VERIFY_MAC"}});
  EXPECT_EQ(bad_spec.message(),
            "1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy "
            "constraint: Member must satisfy enum value set: [RSA_2048, ECC_NIST_P384, "
            "ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, "
            "SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512]");
  TestReply bad_usage = Call("CreateKey", {{"KeySpec", "RSA_2048"}, {"KeyUsage", "RANDOM"}});
  EXPECT_EQ(bad_usage.message(),
            "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy "
            "constraint: Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, "
            "GENERATE_VERIFY_MAC]");
  TestReply sym_sign = Call("CreateKey", {{"KeyUsage", "SIGN_VERIFY"}});
  EXPECT_EQ(sym_sign.type(), "ValidationException");
  EXPECT_EQ(sym_sign.message(),
            "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT");
  TestReply ecc_enc =
      Call("CreateKey", {{"KeySpec", "ECC_NIST_P256"}, {"KeyUsage", "ENCRYPT_DECRYPT"}});
  EXPECT_EQ(ecc_enc.message(),
            "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256");
  TestReply hmac_sign = Call("CreateKey", {{"KeySpec", "HMAC_256"}, {"KeyUsage", "SIGN_VERIFY"}});
  EXPECT_EQ(hmac_sign.type(), "ValidationException");
  // Pairs AWS allows that this server does not implement.
  for (const auto& [spec, usage] :
       std::vector<std::pair<std::string, std::string>>{{"ECC_NIST_P521", "SIGN_VERIFY"},
                                                        {"ECC_SECG_P256K1", "SIGN_VERIFY"},
                                                        {"HMAC_224", "GENERATE_VERIFY_MAC"},
                                                        {"RSA_2048", "ENCRYPT_DECRYPT"}}) {
    TestReply r = Call("CreateKey", {{"KeySpec", spec}, {"KeyUsage", usage}});
    EXPECT_EQ(r.type(), "UnsupportedOperationException") << spec;
  }
  // CustomerMasterKeySpec (the deprecated name) still works.
  Json md = CreateKey({{"CustomerMasterKeySpec", "ECC_NIST_P384"}, {"KeyUsage", "SIGN_VERIFY"}});
  EXPECT_EQ(md["KeySpec"], "ECC_NIST_P384");
}

TEST_F(KmsAsymTest, DescribeKeyListsTheAlgorithmsOfTheSpec) {
  Json rsa = CreateKey({{"KeySpec", "RSA_2048"}, {"KeyUsage", "SIGN_VERIFY"}});
  EXPECT_EQ(rsa["KeySpec"], "RSA_2048");
  EXPECT_EQ(rsa["CustomerMasterKeySpec"], "RSA_2048");
  EXPECT_EQ(rsa["KeyUsage"], "SIGN_VERIFY");
  EXPECT_EQ(rsa["SigningAlgorithms"],
            Json::array({"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                         "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384",
                         "RSASSA_PSS_SHA_512"}));
  EXPECT_FALSE(rsa.contains("EncryptionAlgorithms"));
  // The recorded AWS metadata of P-256 and P-384 signing keys.
  Json p256 = CreateKey({{"KeySpec", "ECC_NIST_P256"}, {"KeyUsage", "SIGN_VERIFY"}});
  EXPECT_EQ(p256["SigningAlgorithms"], Json::array({"ECDSA_SHA_256"}));
  Json p384 = CreateKey({{"KeySpec", "ECC_NIST_P384"}, {"KeyUsage", "SIGN_VERIFY"}});
  TestReply d = Call("DescribeKey", {{"KeyId", p384["KeyId"]}});
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.body["KeyMetadata"]["SigningAlgorithms"], Json::array({"ECDSA_SHA_384"}));
  EXPECT_EQ(d.body["KeyMetadata"]["KeyUsage"], "SIGN_VERIFY");
  Json sym = CreateKey(Json::object());
  EXPECT_EQ(sym["EncryptionAlgorithms"], Json::array({"SYMMETRIC_DEFAULT"}));
  EXPECT_FALSE(sym.contains("SigningAlgorithms"));
}

// Every algorithm of every implemented spec, RAW and DIGEST; each signature is also checked with
// the public key from GetPublicKey by confide::crypto directly (not through the server).
TEST_F(KmsAsymTest, SignVerifyEveryAlgorithmAndCheckWithThePublicKey) {
  int checked = 0;
  for (const std::string spec : {"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384"}) {
    const std::string id = SignKey(spec);
    TestReply pk = Call("GetPublicKey", {{"KeyId", id}});
    ASSERT_EQ(pk.status, 200) << pk.body.dump();
    EXPECT_EQ(pk.body["KeyId"], Arn(id));
    EXPECT_EQ(pk.body["KeySpec"], spec);
    EXPECT_EQ(pk.body["CustomerMasterKeySpec"], spec);
    EXPECT_EQ(pk.body["KeyUsage"], "SIGN_VERIFY");
    EXPECT_FALSE(pk.body.contains("EncryptionAlgorithms"));
    const Bytes spki = Unb64(pk.body["PublicKey"]);
    for (const auto& alg : pk.body["SigningAlgorithms"]) {
      const std::string a = alg.get<std::string>();
      const Bytes digest = crypto::Hash(HashOf(a), AsBytes(kMessage));
      for (const bool raw : {true, false}) {
        Json req = {{"KeyId", id},
                    {"SigningAlgorithm", a},
                    {"MessageType", raw ? "RAW" : "DIGEST"},
                    {"Message", raw ? B64(kMessage) : B64(digest)}};
        TestReply s = Call("Sign", req);
        ASSERT_EQ(s.status, 200) << s.body.dump();
        EXPECT_EQ(s.body["KeyId"], Arn(id));
        EXPECT_EQ(s.body["SigningAlgorithm"], a);
        const Bytes sig = Unb64(s.body["Signature"]);
        Json vreq = req;
        vreq["Signature"] = s.body["Signature"];
        TestReply v = Call("Verify", vreq);
        ASSERT_EQ(v.status, 200) << v.body.dump();
        EXPECT_EQ(v.body["SignatureValid"], true);
        EXPECT_EQ(v.body["SigningAlgorithm"], a);
        EXPECT_EQ(v.body["KeyId"], Arn(id));
        if (spec == "RSA_2048") {
          auto pub = crypto::RsaPublicKey::FromSpkiDer(spki);
          ASSERT_TRUE(pub.ok());
          const auto padding = a.find("PSS") != std::string::npos
                                   ? crypto::RsaSignaturePadding::kPss
                                   : crypto::RsaSignaturePadding::kPkcs1v15;
          EXPECT_TRUE(pub->Verify(padding, HashOf(a), AsBytes(kMessage), sig).ok()) << a;
        } else {
          auto pub = crypto::EcdsaPublicKey::FromSpkiDer(spki);
          ASSERT_TRUE(pub.ok());
          // DER, as AWS returns ECDSA signatures.
          EXPECT_TRUE(pub->Verify(AsBytes(kMessage), sig, crypto::SignatureFormat::kDer).ok());
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, (6 + 1 + 1) * 2);
}

TEST_F(KmsAsymTest, VerifyRejectsTamperingAndBadInputs) {
  const std::string rsa = SignKey("RSA_2048");
  const std::string ec = SignKey("ECC_NIST_P256");
  for (const auto& [id, alg] :
       std::vector<std::pair<std::string, std::string>>{{rsa, "RSASSA_PSS_SHA_256"},
                                                        {rsa, "RSASSA_PKCS1_V1_5_SHA_256"},
                                                        {ec, "ECDSA_SHA_256"}}) {
    Json req = {{"KeyId", id}, {"SigningAlgorithm", alg}, {"Message", B64(kMessage)}};
    TestReply s = Call("Sign", req);
    ASSERT_EQ(s.status, 200) << s.body.dump();
    const Bytes sig = Unb64(s.body["Signature"]);
    // Flipped bits anywhere in the signature: KMSInvalidSignatureException, empty message.
    for (size_t i = 0; i < sig.size(); i += std::max<size_t>(1, sig.size() / 12)) {
      Bytes bad = sig;
      bad[i] ^= 0x01;
      Json v = req;
      v["Signature"] = B64(bad);
      TestReply r = Call("Verify", v);
      EXPECT_EQ(r.status, 400);
      EXPECT_EQ(r.type(), "KMSInvalidSignatureException") << alg << " byte " << i;
      EXPECT_EQ(r.message(), "");
    }
    Json truncated = req;
    truncated["Signature"] = B64(ByteSpan(sig).first(sig.size() - 1));
    EXPECT_EQ(Call("Verify", truncated).type(), "KMSInvalidSignatureException");
    // Another message.
    Json other = req;
    other["Signature"] = s.body["Signature"];
    other["Message"] = B64("bad message 321");
    EXPECT_EQ(Call("Verify", other).type(), "KMSInvalidSignatureException");
    // A digest of the wrong length: ValidationException, for Sign and Verify (AWS's message).
    Json digest = req;
    digest["MessageType"] = "DIGEST";
    TestReply bad_digest = Call("Sign", digest);
    EXPECT_EQ(bad_digest.type(), "ValidationException");
    EXPECT_EQ(bad_digest.message(), "Digest is invalid length for algorithm " + alg + ".");
    digest["Signature"] = s.body["Signature"];
    EXPECT_EQ(Call("Verify", digest).message(),
              "Digest is invalid length for algorithm " + alg + ".");
  }
  // An algorithm of the wrong family or hash for the key: InvalidKeyUsageException.
  TestReply wrong_hash = Call(
      "Sign", {{"KeyId", ec}, {"SigningAlgorithm", "ECDSA_SHA_384"}, {"Message", B64(kMessage)}});
  EXPECT_EQ(wrong_hash.type(), "InvalidKeyUsageException");
  EXPECT_EQ(wrong_hash.message(),
            "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.");
  EXPECT_EQ(
      Call("Sign",
           {{"KeyId", ec}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}, {"Message", B64(kMessage)}})
          .type(),
      "InvalidKeyUsageException");
  EXPECT_EQ(
      Call("Sign",
           {{"KeyId", rsa}, {"SigningAlgorithm", "ECDSA_SHA_256"}, {"Message", B64(kMessage)}})
          .type(),
      "InvalidKeyUsageException");
  TestReply bad_enum =
      Call("Sign", {{"KeyId", rsa}, {"SigningAlgorithm", "RSA_WHATEVER"}, {"Message", B64("x")}});
  EXPECT_EQ(bad_enum.type(), "ValidationException");
  EXPECT_NE(bad_enum.message().find("at 'signingAlgorithm' failed to satisfy constraint"),
            std::string::npos);
  EXPECT_EQ(Call("Sign", {{"KeyId", rsa},
                          {"SigningAlgorithm", "RSASSA_PSS_SHA_256"},
                          {"MessageType", "COOKED"},
                          {"Message", B64("x")}})
                .type(),
            "ValidationException");
  // AWS's 4096-byte Message limit (RAW and DIGEST alike); 4096 itself is fine.
  const std::string big(4097, 'a');
  TestReply too_big = Call(
      "Sign", {{"KeyId", rsa}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}, {"Message", B64(big)}});
  EXPECT_EQ(too_big.message(),
            "1 validation error detected: Value at 'message' failed to satisfy constraint: Member "
            "must have length less than or equal to 4096");
  EXPECT_EQ(Call("Sign", {{"KeyId", rsa},
                          {"SigningAlgorithm", "RSASSA_PSS_SHA_256"},
                          {"Message", B64(big.substr(1))}})
                .status,
            200);
  EXPECT_EQ(Call("Sign", {{"KeyId", rsa}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}}).type(),
            "ValidationException");
  EXPECT_EQ(
      Call("Verify",
           {{"KeyId", rsa}, {"SigningAlgorithm", "RSASSA_PSS_SHA_256"}, {"Message", B64("x")}})
          .type(),
      "ValidationException");
  // DryRun: the request would have succeeded.
  TestReply dry = Call("Sign", {{"KeyId", rsa},
                                {"SigningAlgorithm", "RSASSA_PSS_SHA_256"},
                                {"Message", B64("x")},
                                {"DryRun", true}});
  EXPECT_EQ(dry.type(), "DryRunOperationException");
  EXPECT_EQ(dry.message(), "The request would have succeeded, but the DryRun option is set.");
}

TEST_F(KmsAsymTest, KeyUsageStatesAndPolicy) {
  const std::string sign = SignKey("ECC_NIST_P256", {{"Policy", AdminOnlyPolicy()}});
  const std::string sym = SymmetricKey();
  // A symmetric key cannot sign; a signing key cannot encrypt (AWS's recorded messages).
  TestReply sym_sign =
      Call("Sign", {{"KeyId", sym}, {"SigningAlgorithm", "ECDSA_SHA_256"}, {"Message", B64("x")}});
  EXPECT_EQ(sym_sign.type(), "InvalidKeyUsageException");
  EXPECT_EQ(sym_sign.message(),
            Arn(sym) + " key usage is ENCRYPT_DECRYPT which is not valid for Sign.");
  TestReply enc = Call("Encrypt", {{"KeyId", sign}, {"Plaintext", B64("x")}});
  EXPECT_EQ(enc.type(), "InvalidKeyUsageException");
  EXPECT_EQ(enc.message(), Arn(sign) + " key usage is SIGN_VERIFY which is not valid for Encrypt.");
  EXPECT_EQ(Call("GenerateDataKey", {{"KeyId", sign}, {"KeySpec", "AES_256"}}).type(),
            "InvalidKeyUsageException");
  EXPECT_EQ(Call("GenerateDataKeyPair", {{"KeyId", sign}, {"KeyPairSpec", "ECC_NIST_P256"}}).type(),
            "InvalidKeyUsageException");
  TestReply blob = Call("Encrypt", {{"KeyId", sym}, {"Plaintext", B64("x")}});
  TestReply dec =
      Call("Decrypt", {{"CiphertextBlob", blob.body["CiphertextBlob"]}, {"KeyId", sign}});
  EXPECT_EQ(dec.type(), "IncorrectKeyException");
  EXPECT_EQ(Call("GetPublicKey", {{"KeyId", sym}}).type(), "UnsupportedOperationException");
  // Asymmetric keys are not rotated (AWS: UnsupportedOperationException, empty message).
  TestReply rot = Call("RotateKeyOnDemand", {{"KeyId", sign}});
  EXPECT_EQ(rot.type(), "UnsupportedOperationException");
  EXPECT_EQ(rot.message(), "");
  EXPECT_EQ(Call("EnableKeyRotation", {{"KeyId", sign}}).type(), "UnsupportedOperationException");

  // Disabled and pending-deletion keys neither sign, verify nor give their public key.
  ASSERT_EQ(Call("DisableKey", {{"KeyId", sign}}).status, 200);
  Json req = {{"KeyId", sign}, {"SigningAlgorithm", "ECDSA_SHA_256"}, {"Message", B64("x")}};
  EXPECT_EQ(Call("Sign", req).type(), "DisabledException");
  EXPECT_EQ(Call("GetPublicKey", {{"KeyId", sign}}).type(), "DisabledException");
  ASSERT_EQ(Call("EnableKey", {{"KeyId", sign}}).status, 200);
  TestReply ok_sig = Call("Sign", req);
  ASSERT_EQ(ok_sig.status, 200);

  // The admin-only policy denies the parent role.
  EXPECT_EQ(Call("Sign", req, /*parent=*/true).type(), "AccessDeniedException");
  EXPECT_EQ(Call("GetPublicKey", {{"KeyId", sign}}, true).type(), "AccessDeniedException");
  // A policy that lets the parent verify and read the public key, but not sign.
  Json policy = {{"Version", "2012-10-17"},
                 {"Statement",
                  {{{"Sid", "Admin"},
                    {"Effect", "Allow"},
                    {"Principal", {{"AWS", internal::kTestAdminArn}}},
                    {"Action", "kms:*"},
                    {"Resource", "*"}},
                   {{"Sid", "Verifiers"},
                    {"Effect", "Allow"},
                    {"Principal", {{"AWS", internal::kTestParentArn}}},
                    {"Action", Json::array({"kms:Verify", "kms:GetPublicKey"})},
                    {"Resource", "*"}}}}};
  ASSERT_EQ(Call("PutKeyPolicy", {{"KeyId", sign}, {"Policy", policy.dump()}}).status, 200);
  TestReply denied = Call("Sign", req, true);
  EXPECT_EQ(denied.type(), "AccessDeniedException");
  EXPECT_NE(denied.message().find("kms:Sign"), std::string::npos);
  Json vreq = req;
  vreq["Signature"] = ok_sig.body["Signature"];
  EXPECT_EQ(Call("Verify", vreq, true).body["SignatureValid"], true);
  EXPECT_EQ(Call("GetPublicKey", {{"KeyId", sign}}, true).status, 200);

  // Pending deletion.
  ASSERT_EQ(Call("ScheduleKeyDeletion", {{"KeyId", sign}, {"PendingWindowInDays", 7}}).status, 200);
  EXPECT_EQ(Call("Verify", vreq).type(), "KMSInvalidStateException");
}

TEST_F(KmsAsymTest, SigningKeysSurviveARestartAndStayEncryptedAtRest) {
  const std::string id = SignKey("RSA_2048");
  const Bytes spki = Unb64(Call("GetPublicKey", {{"KeyId", id}}).body["PublicKey"]);
  kms_.Stop();
  // The store file never holds the private key in the clear: the PKCS#8 prefix of an RSA key
  // (SEQUENCE, INTEGER 0, rsaEncryption AlgorithmIdentifier) appears nowhere in it.
  std::ifstream db(kms_.dir() + "/kms.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
  const std::string rsa_oid("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 9);
  EXPECT_EQ(bytes.find(rsa_oid), std::string::npos);
  kms_.Start();
  TestReply s = Call("Sign", {{"KeyId", id},
                              {"SigningAlgorithm", "RSASSA_PKCS1_V1_5_SHA_384"},
                              {"Message", B64(kMessage)}});
  ASSERT_EQ(s.status, 200) << s.body.dump();
  auto pub = crypto::RsaPublicKey::FromSpkiDer(spki);
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->Verify(crypto::RsaSignaturePadding::kPkcs1v15, crypto::HashAlg::kSha384,
                          AsBytes(kMessage), Unb64(s.body["Signature"]))
                  .ok());
}

TEST_F(KmsAsymTest, GenerateDataKeyPair) {
  const std::string key = SymmetricKey({{"Policy", AdminOnlyPolicy()}});
  const Json ctx = {{"purpose", "pairs"}};
  int checked = 0;
  for (const std::string spec : {"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384"}) {
    TestReply r = Call("GenerateDataKeyPair",
                       {{"KeyId", key}, {"KeyPairSpec", spec}, {"EncryptionContext", ctx}});
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["KeyId"], Arn(key));
    EXPECT_EQ(r.body["KeyPairSpec"], spec);
    const Bytes pkcs8 = Unb64(r.body["PrivateKeyPlaintext"]);
    const Bytes spki = Unb64(r.body["PublicKey"]);
    // The private key is PKCS#8 and matches the SPKI public key.
    if (spec == "RSA_2048") {
      auto priv = crypto::RsaPrivateKey::FromPkcs8Der(pkcs8);
      ASSERT_TRUE(priv.ok());
      EXPECT_EQ(priv->PublicKey().SpkiDer(), spki);
      EXPECT_EQ(priv->ModulusBits(), 2048);
    } else {
      auto priv = crypto::EcdsaPrivateKey::FromPkcs8Der(pkcs8);
      ASSERT_TRUE(priv.ok());
      EXPECT_EQ(priv->PublicKey().SpkiDer(), spki);
      EXPECT_EQ(priv->curve(),
                spec == "ECC_NIST_P256" ? crypto::Curve::kP256 : crypto::Curve::kP384);
    }
    // The private key's ciphertext is an ordinary blob under the symmetric key and context.
    TestReply dec = Call("Decrypt", {{"CiphertextBlob", r.body["PrivateKeyCiphertextBlob"]},
                                     {"EncryptionContext", ctx}});
    ASSERT_EQ(dec.status, 200) << dec.body.dump();
    EXPECT_EQ(Unb64(dec.body["Plaintext"]), pkcs8);
    EXPECT_EQ(Call("Decrypt", {{"CiphertextBlob", r.body["PrivateKeyCiphertextBlob"]}}).type(),
              "InvalidCiphertextException");
    ++checked;
  }
  EXPECT_EQ(checked, 3);
  TestReply np = Call("GenerateDataKeyPairWithoutPlaintext",
                      {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P256"}});
  ASSERT_EQ(np.status, 200) << np.body.dump();
  EXPECT_FALSE(np.body.contains("PrivateKeyPlaintext"));
  EXPECT_TRUE(np.body.contains("PrivateKeyCiphertextBlob"));
  EXPECT_TRUE(np.body.contains("PublicKey"));

  TestReply bad = Call("GenerateDataKeyPair", {{"KeyId", key}, {"KeyPairSpec", "RSA_1024"}});
  EXPECT_EQ(bad.type(), "ValidationException");
  EXPECT_NE(bad.message().find("at 'keyPairSpec' failed to satisfy constraint"), std::string::npos);
  EXPECT_EQ(Call("GenerateDataKeyPair", {{"KeyId", key}}).type(), "ValidationException");
  EXPECT_EQ(Call("GenerateDataKeyPair", {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P521"}}).type(),
            "UnsupportedOperationException");
  EXPECT_EQ(Call("GenerateDataKeyPair",
                 {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P256"}, {"DryRun", true}})
                .type(),
            "DryRunOperationException");
  // The parent has no grant.
  EXPECT_EQ(
      Call("GenerateDataKeyPair", {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P256"}}, true).type(),
      "AccessDeniedException");
  ASSERT_EQ(Call("DisableKey", {{"KeyId", key}}).status, 200);
  EXPECT_EQ(Call("GenerateDataKeyPairWithoutPlaintext",
                 {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P256"}})
                .type(),
            "DisabledException");
}

// GenerateDataKeyPair with a Recipient, as GenerateDataKey: no PrivateKeyPlaintext; the private
// key is in CiphertextForRecipient, sealed to the enclave's key in the attestation document, and
// the policy sees the document's PCRs.
TEST_F(KmsAsymTest, GenerateDataKeyPairForAnAttestedRecipient) {
  attest::PcrMap pcrs;
  for (uint32_t i = 0; i < 16; ++i) pcrs[i] = attest::ZeroPcr();
  pcrs[0] = attest::MeasureBytes(AsBytes("the signer image"));
  auto enclave_key = crypto::RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(enclave_key.ok());
  auto document = [&](const attest::PcrMap& p) {
    attest::EmulatedNsm nsm(kms_.ca(), "i-0kms-asym01", p);
    auto d =
        nsm.Attest(std::nullopt, std::nullopt, enclave_key->PublicKey().SpkiDer(), absl::Now());
    EXPECT_TRUE(d.ok()) << d.status();
    return base::Base64Encode(*d);
  };
  Json policy = {{"Version", "2012-10-17"},
                 {"Statement",
                  {{{"Sid", "Admin"},
                    {"Effect", "Allow"},
                    {"Principal", {{"AWS", internal::kTestAdminArn}}},
                    {"Action", "kms:*"},
                    {"Resource", "*"}},
                   {{"Sid", "EnclavePairs"},
                    {"Effect", "Allow"},
                    {"Principal", {{"AWS", internal::kTestParentArn}}},
                    {"Action", "kms:GenerateDataKeyPair"},
                    {"Resource", "*"},
                    {"Condition",
                     {{"StringEqualsIgnoreCase",
                       {{"kms:RecipientAttestation:ImageSha384", base::HexEncode(pcrs[0])}}}}}}}}};
  const std::string key = SymmetricKey({{"Policy", policy.dump()}});
  auto recipient = [&](const attest::PcrMap& p) {
    return Json{{"AttestationDocument", document(p)},
                {"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"}};
  };
  TestReply r =
      Call("GenerateDataKeyPair",
           {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P384"}, {"Recipient", recipient(pcrs)}},
           /*parent=*/true);
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_FALSE(r.body.contains("PrivateKeyPlaintext"));
  auto opened = crypto::OpenEnvelopedData(Unb64(r.body["CiphertextForRecipient"]), *enclave_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto priv = crypto::EcdsaPrivateKey::FromPkcs8Der(opened->ExposeSecret());
  ASSERT_TRUE(priv.ok());
  EXPECT_EQ(priv->PublicKey().SpkiDer(), Unb64(r.body["PublicKey"]));
  // Without a Recipient, or with another image, the parent is denied.
  EXPECT_EQ(
      Call("GenerateDataKeyPair", {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P384"}}, true).type(),
      "AccessDeniedException");
  attest::PcrMap other = pcrs;
  other[0] = attest::MeasureBytes(AsBytes("another image"));
  EXPECT_EQ(
      Call("GenerateDataKeyPair",
           {{"KeyId", key}, {"KeyPairSpec", "ECC_NIST_P384"}, {"Recipient", recipient(other)}},
           true)
          .type(),
      "AccessDeniedException");
  // The audit log records the recipient's image, never the key.
  kms_.Stop();
  const std::string audit = AuditText();
  EXPECT_NE(audit.find(base::HexEncode(pcrs[0])), std::string::npos);
  EXPECT_EQ(audit.find(r.body["CiphertextForRecipient"].get<std::string>().substr(0, 40)),
            std::string::npos);
}

TEST_F(KmsAsymTest, ReEncrypt) {
  const std::string a = SymmetricKey();
  const std::string b = SymmetricKey();
  const Json ctx_a = {{"stage", "a"}};
  const Json ctx_b = {{"stage", "b"}};
  TestReply enc = Call(
      "Encrypt", {{"KeyId", a}, {"Plaintext", B64("re-encrypt me")}, {"EncryptionContext", ctx_a}});
  ASSERT_EQ(enc.status, 200);
  TestReply re = Call("ReEncrypt", {{"CiphertextBlob", enc.body["CiphertextBlob"]},
                                    {"SourceEncryptionContext", ctx_a},
                                    {"DestinationKeyId", b},
                                    {"DestinationEncryptionContext", ctx_b}});
  ASSERT_EQ(re.status, 200) << re.body.dump();
  EXPECT_EQ(re.body["SourceKeyId"], Arn(a));
  EXPECT_EQ(re.body["KeyId"], Arn(b));
  EXPECT_EQ(re.body["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(re.body["DestinationEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  TestReply dec = Call(
      "Decrypt", {{"CiphertextBlob", re.body["CiphertextBlob"]}, {"EncryptionContext", ctx_b}});
  ASSERT_EQ(dec.status, 200) << dec.body.dump();
  EXPECT_EQ(dec.body["KeyId"], Arn(b));
  EXPECT_EQ(Unb64(dec.body["Plaintext"]), ToBytes("re-encrypt me"));

  // SourceKeyId, when given, must be the blob's key (AWS: IncorrectKeyException).
  Json base = {{"CiphertextBlob", enc.body["CiphertextBlob"]},
               {"SourceEncryptionContext", ctx_a},
               {"DestinationKeyId", b}};
  Json with_source = base;
  with_source["SourceKeyId"] = a;
  EXPECT_EQ(Call("ReEncrypt", with_source).status, 200);
  with_source["SourceKeyId"] = b;
  TestReply wrong_source = Call("ReEncrypt", with_source);
  EXPECT_EQ(wrong_source.type(), "IncorrectKeyException");
  EXPECT_EQ(wrong_source.message(),
            "The key ID in the request does not identify a CMK that can perform this operation.");
  // The wrong source context, or a flipped bit: InvalidCiphertextException, empty message.
  Json wrong_ctx = base;
  wrong_ctx["SourceEncryptionContext"] = ctx_b;
  TestReply bad_ctx = Call("ReEncrypt", wrong_ctx);
  EXPECT_EQ(bad_ctx.type(), "InvalidCiphertextException");
  EXPECT_EQ(bad_ctx.message(), "");
  Bytes flipped = Unb64(enc.body["CiphertextBlob"]);
  flipped.back() ^= 1;
  Json bad_blob = base;
  bad_blob["CiphertextBlob"] = B64(flipped);
  EXPECT_EQ(Call("ReEncrypt", bad_blob).type(), "InvalidCiphertextException");
  // A destination that cannot encrypt.
  Json to_sign = base;
  to_sign["DestinationKeyId"] = SignKey("ECC_NIST_P256");
  EXPECT_EQ(Call("ReEncrypt", to_sign).type(), "InvalidKeyUsageException");
  Json rsa_alg = base;
  rsa_alg["DestinationEncryptionAlgorithm"] = "RSAES_OAEP_SHA_256";
  EXPECT_EQ(Call("ReEncrypt", rsa_alg).type(), "InvalidKeyUsageException");
  EXPECT_EQ(Call("ReEncrypt", {{"CiphertextBlob", enc.body["CiphertextBlob"]}}).type(),
            "ValidationException");
  Json dry = base;
  dry["DryRun"] = true;
  EXPECT_EQ(Call("ReEncrypt", dry).type(), "DryRunOperationException");
  // Disabled destination.
  ASSERT_EQ(Call("DisableKey", {{"KeyId", b}}).status, 200);
  EXPECT_EQ(Call("ReEncrypt", base).type(), "DisabledException");
  ASSERT_EQ(Call("EnableKey", {{"KeyId", b}}).status, 200);
}

// kms:ReEncryptFrom is evaluated on the source key and kms:ReEncryptTo on the destination, each
// with its own encryption context; both keys are audited.
TEST_F(KmsAsymTest, ReEncryptAuthorizesBothKeysAndAuditsBoth) {
  auto policy = [](const Json& parent_actions, const Json& condition) {
    Json parent = {{"Sid", "Parent"},
                   {"Effect", "Allow"},
                   {"Principal", {{"AWS", internal::kTestParentArn}}},
                   {"Action", parent_actions},
                   {"Resource", "*"}};
    if (!condition.is_null()) parent["Condition"] = condition;
    return Json{{"Version", "2012-10-17"},
                {"Statement",
                 {{{"Sid", "Admin"},
                   {"Effect", "Allow"},
                   {"Principal", {{"AWS", internal::kTestAdminArn}}},
                   {"Action", "kms:*"},
                   {"Resource", "*"}},
                  parent}}}
        .dump();
  };
  const std::string src = SymmetricKey(
      {{"Policy", policy(Json::array({"kms:Encrypt", "kms:ReEncryptFrom"}), nullptr)}});
  // The destination admits ReEncryptTo only with destination context tenant=blue.
  const std::string dst = SymmetricKey(
      {{"Policy",
        policy("kms:ReEncrypt*", {{"StringEquals", {{"kms:EncryptionContext:tenant", "blue"}}}})}});
  const std::string closed = SymmetricKey({{"Policy", AdminOnlyPolicy()}});
  TestReply enc = Call("Encrypt", {{"KeyId", src}, {"Plaintext", B64("x")}}, true);
  ASSERT_EQ(enc.status, 200) << enc.body.dump();
  Json req = {{"CiphertextBlob", enc.body["CiphertextBlob"]},
              {"DestinationKeyId", dst},
              {"DestinationEncryptionContext", {{"tenant", "blue"}}}};
  TestReply ok = Call("ReEncrypt", req, true);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  Json red = req;
  red["DestinationEncryptionContext"] = {{"tenant", "red"}};
  TestReply denied_to = Call("ReEncrypt", red, true);
  EXPECT_EQ(denied_to.type(), "AccessDeniedException");
  EXPECT_NE(denied_to.message().find("kms:ReEncryptTo"), std::string::npos);
  // The source denies ReEncryptFrom for a blob of the closed key.
  TestReply enc_closed = Call("Encrypt", {{"KeyId", closed}, {"Plaintext", B64("x")}});
  Json from_closed = req;
  from_closed["CiphertextBlob"] = enc_closed.body["CiphertextBlob"];
  TestReply denied_from = Call("ReEncrypt", from_closed, true);
  EXPECT_EQ(denied_from.type(), "AccessDeniedException");
  EXPECT_NE(denied_from.message().find("kms:ReEncryptFrom"), std::string::npos);

  kms_.Stop();
  const std::string audit = AuditText();
  auto verified = VerifyAuditLog(AsBytes(audit), nullptr);
  ASSERT_TRUE(verified.ok()) << verified.status();
  // A record per key each ReEncrypt used, matched by key ARN (the request id ties them).
  std::map<std::string, int> records;  // key ARN -> ReEncrypt records
  std::map<std::string, std::set<std::string>> keys_of_request;
  std::istringstream lines(audit);
  std::string line;
  while (std::getline(lines, line)) {
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("eventName", "") != "ReEncrypt") continue;
    ++records[j.value("keyId", "")];
    keys_of_request[j.value("requestId", "")].insert(j.value("keyId", ""));
  }
  EXPECT_EQ(records[Arn(src)], 2);     // ok, denied_to
  EXPECT_EQ(records[Arn(dst)], 2);     // ok, denied_to (its own denial is recorded)
  EXPECT_EQ(records[Arn(closed)], 1);  // denied_from: the destination was never reached
  EXPECT_EQ(keys_of_request.size(), 3u);
  int both = 0;
  for (const auto& [request, keys] : keys_of_request) both += keys.size() == 2 ? 1 : 0;
  EXPECT_EQ(both, 2);
}

// HMAC keys, as AWS recorded them: metadata with MacAlgorithms, GenerateMac / VerifyMac, a wrong
// message is KMSInvalidMacException (empty message), a wrong algorithm InvalidKeyUsageException.
TEST_F(KmsAsymTest, HmacKeysGenerateAndVerifyMacs) {
  int checked = 0;
  for (const std::string bits : {"256", "384", "512"}) {
    const std::string spec = "HMAC_" + bits;
    const std::string alg = "HMAC_SHA_" + bits;
    Json md = CreateKey({{"KeySpec", spec}, {"KeyUsage", "GENERATE_VERIFY_MAC"}});
    EXPECT_EQ(md["KeyUsage"], "GENERATE_VERIFY_MAC");
    EXPECT_EQ(md["MacAlgorithms"], Json::array({alg}));
    EXPECT_FALSE(md.contains("EncryptionAlgorithms"));
    const std::string id = md["KeyId"].get<std::string>();
    Json req = {{"KeyId", id}, {"MacAlgorithm", alg}, {"Message", B64(kMessage)}};
    TestReply g = Call("GenerateMac", req);
    ASSERT_EQ(g.status, 200) << g.body.dump();
    EXPECT_EQ(g.body["KeyId"], Arn(id));
    EXPECT_EQ(g.body["MacAlgorithm"], alg);
    const Bytes mac = Unb64(g.body["Mac"]);
    EXPECT_EQ(mac.size(), crypto::DigestLen(HashOf(alg)));
    // Deterministic: the same message gives the same MAC.
    EXPECT_EQ(Call("GenerateMac", req).body["Mac"], g.body["Mac"]);
    Json v = req;
    v["Mac"] = g.body["Mac"];
    TestReply ok = Call("VerifyMac", v);
    ASSERT_EQ(ok.status, 200) << ok.body.dump();
    EXPECT_EQ(ok.body["MacValid"], true);
    EXPECT_EQ(ok.body["MacAlgorithm"], alg);
    for (size_t i = 0; i < mac.size(); i += 7) {
      Bytes bad = mac;
      bad[i] ^= 0x80;
      v["Mac"] = B64(bad);
      TestReply r = Call("VerifyMac", v);
      EXPECT_EQ(r.type(), "KMSInvalidMacException") << i;
      EXPECT_EQ(r.message(), "");
    }
    v["Mac"] = B64(ByteSpan(mac).first(mac.size() - 1));
    EXPECT_EQ(Call("VerifyMac", v).type(), "KMSInvalidMacException");
    v["Mac"] = g.body["Mac"];
    v["Message"] = B64("some different important message");
    EXPECT_EQ(Call("VerifyMac", v).type(), "KMSInvalidMacException");
    ++checked;
  }
  EXPECT_EQ(checked, 3);
  const std::string id =
      CreateKey({{"KeySpec", "HMAC_256"}, {"KeyUsage", "GENERATE_VERIFY_MAC"}})["KeyId"]
          .get<std::string>();
  TestReply wrong =
      Call("GenerateMac", {{"KeyId", id}, {"MacAlgorithm", "HMAC_SHA_512"}, {"Message", B64("x")}});
  EXPECT_EQ(wrong.type(), "InvalidKeyUsageException");
  EXPECT_EQ(wrong.message(), "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.");
  TestReply invalid = Call(
      "VerifyMac",
      {{"KeyId", id}, {"MacAlgorithm", "INVALID"}, {"Message", B64("x")}, {"Mac", B64("mac")}});
  EXPECT_EQ(invalid.message(),
            "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy "
            "constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, "
            "HMAC_SHA_224, HMAC_SHA_512]");
  // Key usage both ways (AWS's recorded messages).
  const std::string sym = SymmetricKey();
  TestReply sym_mac = Call(
      "GenerateMac", {{"KeyId", sym}, {"MacAlgorithm", "HMAC_SHA_256"}, {"Message", B64("x")}});
  EXPECT_EQ(sym_mac.message(),
            Arn(sym) + " key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.");
  TestReply mac_sign =
      Call("Sign", {{"KeyId", id}, {"SigningAlgorithm", "ECDSA_SHA_256"}, {"Message", B64("x")}});
  EXPECT_EQ(mac_sign.message(),
            Arn(id) + " key usage is GENERATE_VERIFY_MAC which is not valid for Sign.");
  EXPECT_EQ(Call("Encrypt", {{"KeyId", id}, {"Plaintext", B64("x")}}).type(),
            "InvalidKeyUsageException");
  EXPECT_EQ(Call("GetPublicKey", {{"KeyId", id}}).type(), "UnsupportedOperationException");
  EXPECT_EQ(Call("GenerateMac", {{"KeyId", id},
                                 {"MacAlgorithm", "HMAC_SHA_256"},
                                 {"Message", B64("x")},
                                 {"DryRun", true}})
                .type(),
            "DryRunOperationException");
  // The HMAC key never leaves the KMS, so no known-answer check here (crypto/hmac is tested
  // against RFC 4231); instead: another key gives another MAC, which the first key refuses.
  const std::string id2 =
      CreateKey({{"KeySpec", "HMAC_256"}, {"KeyUsage", "GENERATE_VERIFY_MAC"}})["KeyId"]
          .get<std::string>();
  Json req = {{"MacAlgorithm", "HMAC_SHA_256"}, {"Message", B64(kMessage)}};
  req["KeyId"] = id;
  TestReply m1 = Call("GenerateMac", req);
  req["KeyId"] = id2;
  TestReply m2 = Call("GenerateMac", req);
  EXPECT_NE(m1.body["Mac"], m2.body["Mac"]);
  Json cross = req;
  cross["Mac"] = m1.body["Mac"];
  EXPECT_EQ(Call("VerifyMac", cross).type(), "KMSInvalidMacException");
}

}  // namespace
}  // namespace confide::kms
