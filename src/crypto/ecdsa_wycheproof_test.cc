// Wycheproof ECDSA verification vectors (C2SP/wycheproof testvectors_v1) against crypto/ecdsa.h.
// Every vector is run, valid and invalid; the counts are asserted so a truncated or empty file
// fails instead of passing silently.
#include <string>

#include "base/encoding.h"
#include "crypto/ecdsa.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

using ::confide::testing::HexToBytes;

struct Counts {
  int total = 0;
  int valid = 0;
  int invalid = 0;
  int failures = 0;
};

// RunFile verifies every vector of a Wycheproof ECDSA file (keys from publicKeyDer, SPKI).
Counts RunFile(const nlohmann::json& doc, Curve curve, SignatureFormat format) {
  Counts c;
  for (const auto& group : doc.at("testGroups")) {
    auto key = EcdsaPublicKey::FromSpkiDer(HexToBytes(group.at("publicKeyDer").get<std::string>()));
    EXPECT_TRUE(key.ok()) << key.status();
    if (!key.ok()) {
      c.failures += static_cast<int>(group.at("tests").size());
      continue;
    }
    EXPECT_EQ(key->curve(), curve);
    for (const auto& t : group.at("tests")) {
      ++c.total;
      const std::string result = t.at("result").get<std::string>();
      const Bytes msg = HexToBytes(t.at("msg").get<std::string>());
      const Bytes sig = HexToBytes(t.at("sig").get<std::string>());
      const absl::Status s = key->Verify(msg, sig, format);
      if (result == "valid") {
        ++c.valid;
        if (!s.ok()) ++c.failures;
        EXPECT_TRUE(s.ok()) << "tcId " << t.at("tcId") << ": " << t.at("comment") << ": " << s;
      } else if (result == "invalid") {
        ++c.invalid;
        if (s.ok()) ++c.failures;
        EXPECT_FALSE(s.ok()) << "tcId " << t.at("tcId") << ": " << t.at("comment");
        if (!s.ok()) {
          EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << "tcId " << t.at("tcId");
        }
      } else {
        ADD_FAILURE() << "unexpected result '" << result << "' in tcId " << t.at("tcId");
        ++c.failures;
      }
    }
  }
  return c;
}

TEST(EcdsaWycheproof, P384Sha384Der) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/ecdsa_secp384r1_sha384_test.json");
  auto doc = confide::testing::ReadJson(path);
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->at("numberOfTests").get<int>(), 504);
  Counts c = RunFile(*doc, Curve::kP384, SignatureFormat::kDer);
  EXPECT_EQ(c.total, 504);
  EXPECT_EQ(c.valid, 194);
  EXPECT_EQ(c.invalid, 310);
  EXPECT_EQ(c.failures, 0);
}

TEST(EcdsaWycheproof, P384Sha384P1363) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json");
  auto doc = confide::testing::ReadJson(path);
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->at("numberOfTests").get<int>(), 280);
  Counts c = RunFile(*doc, Curve::kP384, SignatureFormat::kRaw);
  EXPECT_EQ(c.total, 280);
  EXPECT_EQ(c.valid, 193);
  EXPECT_EQ(c.invalid, 87);
  EXPECT_EQ(c.failures, 0);
}

TEST(EcdsaWycheproof, P256Sha256P1363) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
  auto doc = confide::testing::ReadJson(path);
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->at("numberOfTests").get<int>(), 262);
  Counts c = RunFile(*doc, Curve::kP256, SignatureFormat::kRaw);
  EXPECT_EQ(c.total, 262);
  EXPECT_EQ(c.valid, 173);
  EXPECT_EQ(c.invalid, 89);
  EXPECT_EQ(c.failures, 0);
}

// The PEM form of each group's key must give the same point as the DER form.
TEST(EcdsaWycheproof, PemKeysMatchDer) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json");
  auto doc = confide::testing::ReadJson(path);
  ASSERT_TRUE(doc.has_value());
  int groups = 0;
  for (const auto& group : doc->at("testGroups")) {
    auto der = EcdsaPublicKey::FromSpkiDer(HexToBytes(group.at("publicKeyDer").get<std::string>()));
    auto pem = EcdsaPublicKey::FromPem(group.at("publicKeyPem").get<std::string>());
    ASSERT_TRUE(der.ok() && pem.ok());
    EXPECT_EQ(der->UncompressedPoint(), pem->UncompressedPoint());
    EXPECT_EQ(base::HexEncode(der->UncompressedPoint()),
              group.at("publicKey").at("uncompressed").get<std::string>());
    ++groups;
  }
  EXPECT_EQ(groups, 104);
}

}  // namespace
}  // namespace confide::crypto
