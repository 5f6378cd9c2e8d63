// X25519 (every Wycheproof vector, RFC 7748 §6.1) and P-256 ECDH (validation, agreement).
#include "crypto/x25519.h"

#include <string>

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

using ::confide::testing::HexToBytes;

SecretBytes Secret(const std::string& hex) { return SecretBytes::CopyFrom(HexToBytes(hex)); }

TEST(X25519, Rfc7748Section6_1) {
  SecretBytes alice = Secret("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  SecretBytes bob = Secret("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  auto alice_pub = X25519PublicKeyFromPrivate(alice);
  auto bob_pub = X25519PublicKeyFromPrivate(bob);
  ASSERT_TRUE(alice_pub.ok() && bob_pub.ok());
  EXPECT_EQ(base::HexEncode(*alice_pub),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(base::HexEncode(*bob_pub),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = X25519(alice, *bob_pub);
  auto k2 = X25519(bob, *alice_pub);
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(base::HexEncode(k1->ExposeSecret()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(base::HexEncode(k2->ExposeSecret()), base::HexEncode(k1->ExposeSecret()));
}

TEST(X25519, GeneratedPairsAgreeAndSizesAreChecked) {
  auto a = X25519GenerateKeyPair();
  auto b = X25519GenerateKeyPair();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key.size(), kX25519KeyLen);
  EXPECT_NE(a->public_key, b->public_key);
  auto k1 = X25519(a->private_key, b->public_key);
  auto k2 = X25519(b->private_key, a->public_key);
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(base::HexEncode(k1->ExposeSecret()), base::HexEncode(k2->ExposeSecret()));
  EXPECT_EQ(X25519(a->private_key, Bytes(31)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519(SecretBytes(31), b->public_key).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519PublicKeyFromPrivate(SecretBytes(33)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // u = 0 and u = 1 are low-order points: the all-zero result is refused.
  EXPECT_EQ(X25519(a->private_key, Bytes(32, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  Bytes one(32, 0);
  one[0] = 1;
  EXPECT_EQ(X25519(a->private_key, one).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(X25519, Wycheproof) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/wycheproof/x25519_test.json");
  auto file = confide::testing::ReadJson(path);
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ((*file)["numberOfTests"].get<int>(), 518);
  int valid = 0;
  int acceptable_accepted = 0;
  int acceptable_rejected_zero = 0;
  for (const auto& group : (*file)["testGroups"]) {
    ASSERT_EQ(group["curve"], "curve25519");
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE("tcId " + std::to_string(t["tcId"].get<int>()));
      SecretBytes priv = Secret(t["private"]);
      const Bytes pub = HexToBytes(t["public"]);
      const std::string shared_hex = t["shared"];
      const std::string result = t["result"];
      auto shared = X25519(priv, pub);
      if (result == "valid") {
        ++valid;
        ASSERT_TRUE(shared.ok()) << shared.status();
        EXPECT_EQ(base::HexEncode(shared->ExposeSecret()), shared_hex);
        continue;
      }
      ASSERT_EQ(result, "acceptable");
      bool zero_flag = false;
      for (const auto& f : t["flags"]) zero_flag |= f == "ZeroSharedSecret";
      if (shared.ok()) {
        // Acceptable and accepted: the result must still be the right one.
        EXPECT_FALSE(zero_flag);
        EXPECT_EQ(base::HexEncode(shared->ExposeSecret()), shared_hex);
        ++acceptable_accepted;
      } else {
        // We reject exactly the all-zero shared secrets (RFC 9180 §7.1.4).
        EXPECT_TRUE(zero_flag);
        EXPECT_EQ(shared_hex, std::string(64, '0'));
        EXPECT_EQ(shared.status().code(), absl::StatusCode::kInvalidArgument);
        ++acceptable_rejected_zero;
      }
    }
  }
  EXPECT_EQ(valid, 264);
  EXPECT_EQ(acceptable_accepted, 223);
  EXPECT_EQ(acceptable_rejected_zero, 31);
}

// n - 1 and n for P-256 (SEC 2).
constexpr char kOrderHex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
constexpr char kOrderMinus1Hex[] =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550";
// The field prime p.
constexpr char kPrimeHex[] = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

TEST(P256Ecdh, PrivateKeyRange) {
  EXPECT_TRUE(P256ValidatePrivateKey(HexToBytes(kOrderMinus1Hex)).ok());
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_TRUE(P256ValidatePrivateKey(one).ok());
  EXPECT_FALSE(P256ValidatePrivateKey(Bytes(32, 0)).ok());
  EXPECT_FALSE(P256ValidatePrivateKey(HexToBytes(kOrderHex)).ok());
  EXPECT_FALSE(P256ValidatePrivateKey(Bytes(32, 0xff)).ok());
  EXPECT_FALSE(P256ValidatePrivateKey(Bytes(31, 1)).ok());
  EXPECT_FALSE(P256ValidatePrivateKey(Bytes(33, 1)).ok());
  // Just above n in a low byte, and just below n in a high byte.
  Bytes above = HexToBytes(kOrderHex);
  above[31] = 0x52;
  EXPECT_FALSE(P256ValidatePrivateKey(above).ok());
  Bytes below = HexToBytes(kOrderHex);
  below[4] = 0xff;  // larger than n in a middle byte
  EXPECT_FALSE(P256ValidatePrivateKey(below).ok());
  below = HexToBytes(kOrderHex);
  below[16] = 0xbc - 1;  // smaller than n in a middle byte, larger in later ones
  EXPECT_TRUE(P256ValidatePrivateKey(below).ok());
  // 1·G is the generator.
  auto g = P256PublicKeyFromPrivate(SecretBytes::CopyFrom(one));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(base::HexEncode(*g),
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  EXPECT_EQ(P256PublicKeyFromPrivate(SecretBytes::CopyFrom(HexToBytes(kOrderHex))).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(P256Ecdh, AgreementAndPublicKeyValidation) {
  auto a = P256GenerateKeyPair();
  auto b = P256GenerateKeyPair();
  ASSERT_TRUE(a.ok() && b.ok()) << a.status();
  EXPECT_EQ(a->public_key.size(), kP256PointLen);
  EXPECT_TRUE(P256ValidatePublicKey(a->public_key).ok());
  auto derived = P256PublicKeyFromPrivate(a->private_key);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, a->public_key);
  auto k1 = P256Ecdh(a->private_key, b->public_key);
  auto k2 = P256Ecdh(b->private_key, a->public_key);
  ASSERT_TRUE(k1.ok() && k2.ok()) << k1.status();
  EXPECT_EQ(k1->size(), kP256SharedSecretLen);
  EXPECT_EQ(base::HexEncode(k1->ExposeSecret()), base::HexEncode(k2->ExposeSecret()));

  // Invalid peer points, each refused by validation and by ECDH.
  std::vector<Bytes> bad;
  bad.push_back(Bytes{0x00});                                               // infinity
  bad.push_back(Bytes(a->public_key.begin(), a->public_key.begin() + 33));  // compressed-length
  Bytes wrong_prefix = a->public_key;
  wrong_prefix[0] = 0x03;
  bad.push_back(wrong_prefix);
  Bytes off_curve = a->public_key;
  off_curve[64] ^= 1;
  bad.push_back(off_curve);
  Bytes x_is_p = Concat({Bytes{0x04}, HexToBytes(kPrimeHex), Bytes(32, 0)});
  bad.push_back(x_is_p);
  Bytes zeros(65, 0);
  zeros[0] = 0x04;
  bad.push_back(zeros);
  bad.push_back(Bytes());
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(P256ValidatePublicKey(bad[i]).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(P256Ecdh(a->private_key, bad[i]).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(P256Ecdh(SecretBytes(32), b->public_key).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// (5, y) is on P-256; (5 + p, y) is the same point with an out-of-range x. Partial public-key
// validation (SP 800-56A §5.6.2.3.4) requires coordinates in [0, p-1], so only the canonical
// encoding is accepted.
TEST(P256Ecdh, RejectsNonCanonicalCoordinate) {
  const Bytes canonical = HexToBytes(
      "040000000000000000000000000000000000000000000000000000000000000005"
      "459243b9aa581806fe913bce99817ade11ca503c64d9a3c533415c083248fbcc");
  const Bytes x_plus_p = HexToBytes(
      "04ffffffff00000001000000000000000000000001000000000000000000000004"
      "459243b9aa581806fe913bce99817ade11ca503c64d9a3c533415c083248fbcc");
  EXPECT_TRUE(P256ValidatePublicKey(canonical).ok());
  EXPECT_EQ(P256ValidatePublicKey(x_plus_p).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace confide::crypto
