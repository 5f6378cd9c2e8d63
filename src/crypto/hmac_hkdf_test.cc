// HMAC (RFC 4231 known answers) and HKDF (RFC 5869 and every Wycheproof vector).
#include <string>

#include "base/encoding.h"
#include "crypto/hkdf.h"
#include "crypto/hmac.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

using ::confide::testing::HexToBytes;

struct HmacCase {
  const char* name;
  Bytes key;
  Bytes data;
  const char* sha256;
  const char* sha384;
  const char* sha512;
};

// RFC 4231 §4.2 (test case 1), §4.3 (test case 2) and §4.7 (test case 6, key longer than the
// block size).
std::vector<HmacCase> Rfc4231Cases() {
  return {
      {"case1", Bytes(20, 0x0b), ToBytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
       "faea9ea9076ede7f4af152e8b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"case2", ToBytes("Jefe"), ToBytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       "8e2240ca5e69e2c78b3239ecfab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"case6", Bytes(131, 0xaa), ToBytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
       "0c2ef6ab4030fe8296248df163f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
       "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
  };
}

TEST(Hmac, Rfc4231KnownAnswers) {
  for (const HmacCase& c : Rfc4231Cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(base::HexEncode(Hmac(HashAlg::kSha256, c.key, c.data)), c.sha256);
    EXPECT_EQ(base::HexEncode(Hmac(HashAlg::kSha384, c.key, c.data)), c.sha384);
    EXPECT_EQ(base::HexEncode(Hmac(HashAlg::kSha512, c.key, c.data)), c.sha512);
  }
}

TEST(Hmac, EmptyKeyAndMessage) {
  // HMAC-SHA256("", ""), a widely published value.
  EXPECT_EQ(base::HexEncode(Hmac(HashAlg::kSha256, {}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Hmac, VerifyAcceptsOnlyTheExactTag) {
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    const Bytes key = ToBytes("key");
    const Bytes msg = ToBytes("message");
    const Bytes tag = Hmac(alg, key, msg);
    EXPECT_TRUE(HmacVerify(alg, key, msg, tag).ok());
    for (size_t i = 0; i < tag.size() * 8; ++i) {
      Bytes bad = tag;
      bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
      absl::Status s = HmacVerify(alg, key, msg, bad);
      ASSERT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << i;
    }
    for (size_t len = 0; len < tag.size(); ++len) {
      Bytes cut(tag.begin(), tag.begin() + static_cast<ptrdiff_t>(len));
      EXPECT_EQ(HmacVerify(alg, key, msg, cut).code(), absl::StatusCode::kUnauthenticated);
    }
    Bytes longer = tag;
    longer.push_back(0);
    EXPECT_EQ(HmacVerify(alg, key, msg, longer).code(), absl::StatusCode::kUnauthenticated);
    EXPECT_FALSE(HmacVerify(alg, ToBytes("kez"), msg, tag).ok());
    EXPECT_FALSE(HmacVerify(alg, key, ToBytes("messagf"), tag).ok());
  }
}

// RFC 5869 Appendix A.1 (test case 1).
TEST(Hkdf, Rfc5869Case1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = HexToBytes("000102030405060708090a0b0c");
  const Bytes info = HexToBytes("f0f1f2f3f4f5f6f7f8f9");
  SecretBytes prk = HkdfExtract(HashAlg::kSha256, salt, ikm);
  EXPECT_EQ(base::HexEncode(prk.ExposeSecret()),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  auto okm = HkdfExpand(HashAlg::kSha256, prk.ExposeSecret(), info, 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(base::HexEncode(okm->ExposeSecret()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(Hkdf, ExpandLimitsAndPrkLength) {
  for (HashAlg alg : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
    SecretBytes prk = HkdfExtract(alg, {}, ToBytes("ikm"));
    EXPECT_EQ(prk.size(), DigestLen(alg));
    auto max = HkdfExpand(alg, prk.ExposeSecret(), {}, 255 * DigestLen(alg));
    ASSERT_TRUE(max.ok());
    EXPECT_EQ(max->size(), 255 * DigestLen(alg));
    auto too_long = HkdfExpand(alg, prk.ExposeSecret(), {}, 255 * DigestLen(alg) + 1);
    EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
    auto empty = HkdfExpand(alg, prk.ExposeSecret(), {}, 0);
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
    auto short_prk = HkdfExpand(alg, prk.ExposeSecret().first(DigestLen(alg) - 1), {}, 16);
    EXPECT_EQ(short_prk.status().code(), absl::StatusCode::kInvalidArgument);
    // An empty salt is HashLen zeros (RFC 5869 §2.2).
    SecretBytes zero_salt = HkdfExtract(alg, Bytes(DigestLen(alg), 0), ToBytes("ikm"));
    EXPECT_EQ(base::HexEncode(zero_salt.ExposeSecret()), base::HexEncode(prk.ExposeSecret()));
    // Longer output is an extension of shorter output.
    auto a = HkdfExpand(alg, prk.ExposeSecret(), ToBytes("i"), 100);
    auto b = HkdfExpand(alg, prk.ExposeSecret(), ToBytes("i"), 37);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(
        std::equal(b->ExposeSecret().begin(), b->ExposeSecret().end(), a->ExposeSecret().begin()));
  }
}

// Runs every vector of a Wycheproof HKDF file; returns {valid run, invalid run}.
std::pair<int, int> RunWycheproofHkdf(const nlohmann::json& file, HashAlg alg) {
  int valid = 0;
  int invalid = 0;
  for (const auto& group : file["testGroups"]) {
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const Bytes ikm = HexToBytes(t["ikm"]);
      const Bytes salt = HexToBytes(t["salt"]);
      const Bytes info = HexToBytes(t["info"]);
      const size_t size = t["size"].get<size_t>();
      auto okm = Hkdf(alg, ikm, salt, info, size);
      const std::string result = t["result"];
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(okm.ok()) << okm.status();
        if (okm.ok()) {
          EXPECT_EQ(base::HexEncode(okm->ExposeSecret()), t["okm"].get<std::string>());
        }
      } else {
        EXPECT_EQ(result, "invalid");
        ++invalid;
        EXPECT_EQ(okm.status().code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
  return {valid, invalid};
}

TEST(Hkdf, WycheproofSha256) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/hkdf_sha256_test.json");
  auto file = confide::testing::ReadJson(path);
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ((*file)["numberOfTests"].get<int>(), 86);
  auto [valid, invalid] = RunWycheproofHkdf(*file, HashAlg::kSha256);
  EXPECT_EQ(valid, 83);
  EXPECT_EQ(invalid, 3);
}

TEST(Hkdf, WycheproofSha384) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/hkdf_sha384_test.json");
  auto file = confide::testing::ReadJson(path);
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ((*file)["numberOfTests"].get<int>(), 83);
  auto [valid, invalid] = RunWycheproofHkdf(*file, HashAlg::kSha384);
  EXPECT_EQ(valid, 80);
  EXPECT_EQ(invalid, 3);
}

}  // namespace
}  // namespace confide::crypto
