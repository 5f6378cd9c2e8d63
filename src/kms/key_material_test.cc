// key_material.h without HTTP: the KeySpec x KeyUsage table, and stored material that does not
// match its spec (a damaged store) failing closed as an internal error.
#include "kms/key_material.h"

#include <string>
#include <vector>

#include "crypto/ecdsa.h"
#include "crypto/rsa.h"
#include "gtest/gtest.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

// Every KeySpec x KeyUsage value of AWS's enums, with the outcome AWS gives (allowed or
// ValidationException) and whether this server implements the allowed ones.
TEST(KeyMaterialTest, SpecUsageTable) {
  const std::vector<std::string> specs = {"SYMMETRIC_DEFAULT", "RSA_2048",        "RSA_3072",
                                          "RSA_4096",          "ECC_NIST_P256",   "ECC_NIST_P384",
                                          "ECC_NIST_P521",     "ECC_SECG_P256K1", "HMAC_224",
                                          "HMAC_256",          "HMAC_384",        "HMAC_512"};
  const std::vector<std::string> usages = {"ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC",
                                           "KEY_AGREEMENT"};
  int ok = 0, invalid = 0, unsupported = 0;
  for (const auto& spec : specs) {
    for (const auto& usage : usages) {
      auto r = ResolveKeySpecAndUsage(spec, usage);
      const std::string type = AwsErrorType(r.status());
      if (r.ok()) {
        ++ok;
        EXPECT_EQ(r->key_spec, spec);
        EXPECT_EQ(r->key_usage, usage);
      } else if (type == "ValidationException") {
        ++invalid;
        EXPECT_EQ(std::string(r.status().message()),
                  "KeyUsage " + usage + " is not compatible with KeySpec " + spec);
      } else {
        ASSERT_EQ(type, "UnsupportedOperationException") << spec << " " << usage;
        ++unsupported;
      }
    }
  }
  // Implemented: SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT, RSA x3 / SIGN_VERIFY, P-256 and P-384
  // SIGN_VERIFY, HMAC_256/384/512. AWS also allows RSA x3 ENCRYPT_DECRYPT, P-521 and P256K1
  // SIGN_VERIFY, P-256/P-384/P-521 KEY_AGREEMENT and HMAC_224: not implemented here.
  EXPECT_EQ(ok, 1 + 3 + 2 + 3);
  EXPECT_EQ(unsupported, 3 + 2 + 2 + 1 + 1);
  EXPECT_EQ(invalid, 12 * 4 - ok - unsupported);
  // Absent values.
  EXPECT_EQ(ResolveKeySpecAndUsage(std::nullopt, std::nullopt)->key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(AwsErrorType(ResolveKeySpecAndUsage("RSA_2048", std::nullopt).status()),
            "ValidationException");
  // An unprintable or long value is not echoed.
  auto weird = ResolveKeySpecAndUsage(std::string("RSA\n'x", 6), "SIGN_VERIFY");
  EXPECT_NE(std::string(weird.status().message()).find("<redacted>"), std::string::npos);
}

TEST(KeyMaterialTest, MaterialOfAnotherSpecFailsClosed) {
  auto p256 = GenerateKeyMaterial("ECC_NIST_P256");
  ASSERT_TRUE(p256.ok());
  auto hmac = GenerateKeyMaterial("HMAC_256");
  ASSERT_TRUE(hmac.ok());
  EXPECT_EQ(hmac->size(), 32u);
  auto sym = GenerateKeyMaterial("SYMMETRIC_DEFAULT");
  ASSERT_TRUE(sym.ok());
  EXPECT_EQ(sym->size(), 32u);

  // P-256 material read as P-384 or RSA, random bytes read as a private key: Internal.
  EXPECT_EQ(PublicKeyOf("ECC_NIST_P384", *p256).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(PublicKeyOf("RSA_2048", *p256).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(PublicKeyOf("ECC_NIST_P256", *sym).status().code(), absl::StatusCode::kInternal);
  auto req = CheckSigningAlgorithm("ECC_NIST_P384", "ECDSA_SHA_384", std::nullopt);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(SignWith("ECC_NIST_P384", *p256, *req, AsBytes("m")).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(VerifyWith("ECC_NIST_P384", *p256, *req, AsBytes("m"), Bytes(70, 1)).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(GenerateMacWith("HMAC_384", *hmac, AsBytes("m")).status().code(),
            absl::StatusCode::kInternal);
  // Truncated PKCS#8 at every length: Internal, never a crash.
  const auto& der = p256->ExposeSecret();
  for (size_t len = 0; len < der.size(); ++len) {
    SecretBytes cut = SecretBytes::CopyFrom(der.first(len));
    EXPECT_EQ(PublicKeyOf("ECC_NIST_P256", cut).status().code(), absl::StatusCode::kInternal)
        << len;
  }
  // The right material works, and the public key matches the private key.
  auto spki = PublicKeyOf("ECC_NIST_P256", *p256);
  ASSERT_TRUE(spki.ok());
  auto priv = crypto::EcdsaPrivateKey::FromPkcs8Der(p256->ExposeSecret());
  ASSERT_TRUE(priv.ok());
  EXPECT_EQ(*spki, priv->PublicKey().SpkiDer());
}

TEST(KeyMaterialTest, SigningAlgorithmChecks) {
  EXPECT_EQ(AwsErrorType(CheckSigningAlgorithm("RSA_2048", std::nullopt, std::nullopt).status()),
            "ValidationException");
  EXPECT_EQ(AwsErrorType(CheckSigningAlgorithm("RSA_2048", "SM2DSA", std::nullopt).status()),
            "InvalidKeyUsageException");
  EXPECT_EQ(AwsErrorType(
                CheckSigningAlgorithm("ECC_NIST_P256", "ECDSA_SHA_256", std::string("EXTERNAL_MU"))
                    .status()),
            "InvalidKeyUsageException");
  auto digest = CheckSigningAlgorithm("RSA_3072", "RSASSA_PSS_SHA_512", std::string("DIGEST"));
  ASSERT_TRUE(digest.ok());
  EXPECT_TRUE(digest->digest);
  EXPECT_EQ(AwsErrorType(CheckMacAlgorithm("HMAC_256", "HMAC_SHA_224").status()),
            "InvalidKeyUsageException");
  EXPECT_EQ(*CheckMacAlgorithm("HMAC_512", "HMAC_SHA_512"), "HMAC_SHA_512");
}

}  // namespace
}  // namespace confide::kms
