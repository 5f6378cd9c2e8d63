// AEAD: every Wycheproof AES-GCM and ChaCha20-Poly1305 vector, input validation, and the
// high-level Aead class under bit flips and truncation.
#include "crypto/aead.h"

#include <map>
#include <string>

#include "base/encoding.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

using ::confide::testing::HexToBytes;

constexpr AeadAlg kAllAlgs[] = {AeadAlg::kAes128Gcm, AeadAlg::kAes256Gcm,
                                AeadAlg::kChaCha20Poly1305};

// Tally counts how each Wycheproof vector was handled.
struct Tally {
  int valid_passed = 0;
  int invalid_rejected = 0;
  int skipped_aes192 = 0;    // AES-192-GCM is out of scope (AeadAlg has no such value).
  int rejected_long_iv = 0;  // "valid" GCM IVs over OpenSSL 3.0's 128-byte cap.
};

// RunWycheproofAead checks every vector in `file` (AES-GCM when `gcm`, else ChaCha20-Poly1305;
// the GCM key size picks AES-128 or AES-256).
Tally RunWycheproofAead(const nlohmann::json& file, bool gcm) {
  Tally tally;
  for (const auto& group : file["testGroups"]) {
    const int key_bits = group["keySize"].get<int>();
    const int iv_bits = group["ivSize"].get<int>();
    EXPECT_EQ(group["tagSize"].get<int>(), 128);
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      const Bytes key = HexToBytes(t["key"]);
      const Bytes iv = HexToBytes(t["iv"]);
      const Bytes aad = HexToBytes(t["aad"]);
      const Bytes msg = HexToBytes(t["msg"]);
      const Bytes ct_tag = Concat({HexToBytes(t["ct"]), HexToBytes(t["tag"])});
      const std::string result = t["result"];
      EXPECT_TRUE(result == "valid" || result == "invalid") << result;  // none "acceptable"
      AeadAlg alg = AeadAlg::kChaCha20Poly1305;
      if (gcm) {
        if (key_bits == 192) {
          // Out of scope: our API must refuse the key size rather than misuse it.
          EXPECT_EQ(AeadSeal(AeadAlg::kAes256Gcm, key, iv, aad, msg).status().code(),
                    absl::StatusCode::kInvalidArgument);
          ++tally.skipped_aes192;
          continue;
        }
        alg = key_bits == 128 ? AeadAlg::kAes128Gcm : AeadAlg::kAes256Gcm;
      }
      auto sealed = AeadSeal(alg, key, iv, aad, msg);
      auto opened = AeadOpen(alg, key, iv, aad, ct_tag);
      if (gcm && iv.size() > kGcmMaxNonceLen) {
        // OpenSSL 3.0 caps GCM IVs at 128 bytes; these are rejected up front, never misused.
        EXPECT_EQ(result, "valid");
        EXPECT_EQ(iv_bits, 2056);
        EXPECT_EQ(sealed.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
        ++tally.rejected_long_iv;
        continue;
      }
      if (result == "valid") {
        EXPECT_TRUE(sealed.ok()) << sealed.status();
        EXPECT_TRUE(opened.ok()) << opened.status();
        if (sealed.ok() && opened.ok()) {
          EXPECT_EQ(base::HexEncode(*sealed), base::HexEncode(ct_tag));
          EXPECT_EQ(base::HexEncode(*opened), base::HexEncode(msg));
          ++tally.valid_passed;
        }
      } else {
        EXPECT_FALSE(opened.ok());
        if (!opened.ok()) ++tally.invalid_rejected;
        // A bad nonce length is a caller error on both sides.
        if (iv.empty() || (!gcm && iv.size() != kAeadNonceLen)) {
          EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
          EXPECT_EQ(sealed.status().code(), absl::StatusCode::kInvalidArgument);
        } else {
          EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
          EXPECT_EQ(opened.status().message(), "decryption failed");
        }
      }
    }
  }
  return tally;
}

TEST(AeadWycheproof, AesGcm) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/aes_gcm_test.json");
  auto file = confide::testing::ReadJson(path);
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ((*file)["numberOfTests"].get<int>(), 316);
  Tally t = RunWycheproofAead(*file, /*gcm=*/true);
  EXPECT_EQ(t.valid_passed, 153);
  EXPECT_EQ(t.invalid_rejected, 58);
  EXPECT_EQ(t.skipped_aes192, 103);
  EXPECT_EQ(t.rejected_long_iv, 2);
  EXPECT_EQ(t.valid_passed + t.invalid_rejected + t.skipped_aes192 + t.rejected_long_iv, 316);
}

TEST(AeadWycheproof, ChaCha20Poly1305) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/chacha20_poly1305_test.json");
  auto file = confide::testing::ReadJson(path);
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ((*file)["numberOfTests"].get<int>(), 325);
  Tally t = RunWycheproofAead(*file, /*gcm=*/false);
  EXPECT_EQ(t.valid_passed, 256);
  EXPECT_EQ(t.invalid_rejected, 69);
}

TEST(AeadLowLevel, ValidatesKeyAndNonceSizes) {
  const Bytes nonce(12, 1);
  for (AeadAlg alg : kAllAlgs) {
    SCOPED_TRACE(AeadName(alg));
    const Bytes key(AeadKeyLen(alg), 7);
    for (size_t bad : {size_t{0}, size_t{15}, size_t{24}, size_t{31}, size_t{33}}) {
      if (bad == AeadKeyLen(alg)) continue;
      EXPECT_EQ(AeadSeal(alg, Bytes(bad, 7), nonce, {}, {}).status().code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(AeadOpen(alg, Bytes(bad, 7), nonce, {}, Bytes(16)).status().code(),
                absl::StatusCode::kInvalidArgument);
    }
    EXPECT_EQ(AeadSeal(alg, key, {}, {}, {}).status().code(), absl::StatusCode::kInvalidArgument);
    const bool gcm = alg != AeadAlg::kChaCha20Poly1305;
    for (size_t nonce_len : {size_t{1}, size_t{8}, size_t{16}, size_t{128}, size_t{129}}) {
      auto sealed = AeadSeal(alg, key, Bytes(nonce_len, 3), {}, ToBytes("x"));
      const bool expect_ok = gcm && nonce_len <= kGcmMaxNonceLen;
      EXPECT_EQ(sealed.ok(), expect_ok) << nonce_len;
      if (sealed.ok()) {
        auto opened = AeadOpen(alg, key, Bytes(nonce_len, 3), {}, *sealed);
        ASSERT_TRUE(opened.ok());
        EXPECT_EQ(*opened, ToBytes("x"));
      }
    }
    // Anything shorter than a tag is a decryption failure, not a crash.
    for (size_t len = 0; len < kAeadTagLen; ++len) {
      auto opened = AeadOpen(alg, key, nonce, {}, Bytes(len));
      EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
    }
  }
}

TEST(AeadLowLevel, EmptyPlaintextAndAad) {
  for (AeadAlg alg : kAllAlgs) {
    const Bytes key(AeadKeyLen(alg), 9);
    const Bytes nonce(kAeadNonceLen, 4);
    auto sealed = AeadSeal(alg, key, nonce, {}, {});
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), kAeadTagLen);
    auto opened = AeadOpen(alg, key, nonce, {}, *sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_TRUE(opened->empty());
    EXPECT_FALSE(AeadOpen(alg, key, nonce, ToBytes("a"), *sealed).ok());
  }
}

class AeadClass : public ::testing::TestWithParam<AeadAlg> {};

TEST_P(AeadClass, RoundTripAndFormat) {
  auto aead = Aead::Generate(GetParam());
  ASSERT_TRUE(aead.ok()) << aead.status();
  const Bytes aad = ToBytes("request-id:42");
  for (size_t len : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1000}}) {
    auto pt = RandomBytes(len);
    ASSERT_TRUE(pt.ok());
    auto sealed = aead->Seal(aad, *pt);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), len + Aead::kOverhead);
    auto opened = aead->Open(aad, *sealed);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, *pt);
    // The format is nonce || AeadSeal(...): the low-level API opens it too.
  }
  // Fresh nonces: sealing the same message twice gives different outputs.
  auto a = aead->Seal(aad, ToBytes("same"));
  auto b = aead->Seal(aad, ToBytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(Bytes(a->begin(), a->begin() + kAeadNonceLen),
            Bytes(b->begin(), b->begin() + kAeadNonceLen));
}

TEST_P(AeadClass, MatchesLowLevelFormat) {
  auto key = RandomSecret(AeadKeyLen(GetParam()));
  ASSERT_TRUE(key.ok());
  const Bytes raw_key(key->ExposeSecret().begin(), key->ExposeSecret().end());
  auto aead = Aead::Create(GetParam(), *std::move(key));
  ASSERT_TRUE(aead.ok());
  auto sealed = aead->Seal(ToBytes("aad"), ToBytes("plaintext"));
  ASSERT_TRUE(sealed.ok());
  ByteSpan s = *sealed;
  auto opened = AeadOpen(GetParam(), raw_key, s.first(kAeadNonceLen), ToBytes("aad"),
                         s.subspan(kAeadNonceLen));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, ToBytes("plaintext"));
}

TEST_P(AeadClass, EveryBitFlipFails) {
  auto aead = Aead::Generate(GetParam());
  ASSERT_TRUE(aead.ok());
  const Bytes aad = ToBytes("context");
  auto sealed = aead->Seal(aad, ToBytes("attack at dawn, bring snacks"));
  ASSERT_TRUE(sealed.ok());
  for (size_t bit = 0; bit < sealed->size() * 8; ++bit) {
    Bytes bad = *sealed;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto opened = aead->Open(aad, bad);
    ASSERT_FALSE(opened.ok()) << "bit " << bit;
    ASSERT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
    ASSERT_EQ(opened.status().message(), "decryption failed");
  }
  // Flipping any bit of the aad fails too.
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
    Bytes bad_aad = aad;
    bad_aad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_FALSE(aead->Open(bad_aad, *sealed).ok()) << "aad bit " << bit;
  }
}

TEST_P(AeadClass, EveryTruncationAndExtensionFails) {
  auto aead = Aead::Generate(GetParam());
  ASSERT_TRUE(aead.ok());
  auto sealed = aead->Seal({}, ToBytes("short message"));
  ASSERT_TRUE(sealed.ok());
  for (size_t len = 0; len < sealed->size(); ++len) {
    Bytes cut(sealed->begin(), sealed->begin() + static_cast<ptrdiff_t>(len));
    auto opened = aead->Open({}, cut);
    ASSERT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated) << len;
  }
  Bytes longer = *sealed;
  longer.push_back(0);
  EXPECT_EQ(aead->Open({}, longer).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_P(AeadClass, WrongKeyFailsAndBadKeySizeIsRejected) {
  auto a = Aead::Generate(GetParam());
  auto b = Aead::Generate(GetParam());
  ASSERT_TRUE(a.ok() && b.ok());
  auto sealed = a->Seal({}, ToBytes("secret"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(b->Open({}, *sealed).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Aead::Create(GetParam(), SecretBytes(AeadKeyLen(GetParam()) + 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Aead::Create(GetParam(), SecretBytes()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Algs, AeadClass, ::testing::ValuesIn(kAllAlgs),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case AeadAlg::kAes128Gcm:
                               return std::string("Aes128Gcm");
                             case AeadAlg::kAes256Gcm:
                               return std::string("Aes256Gcm");
                             case AeadAlg::kChaCha20Poly1305:
                               return std::string("ChaCha20Poly1305");
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace confide::crypto
