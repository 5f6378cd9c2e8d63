#include "base/encoding.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"

namespace confide::crypto {
namespace {

// FIPS 180-2 "abc" examples.
TEST(Sha, KnownAnswers) {
  EXPECT_EQ(base::HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(base::HexEncode(Sha384(AsBytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(base::HexEncode(Sha512(AsBytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Sha, StreamingMatchesOneShot) {
  Hasher h(HashAlg::kSha384);
  h.Update(AsBytes("a"));
  h.Update(AsBytes("bc"));
  EXPECT_EQ(h.Finish(), Sha384(AsBytes("abc")));
  h.Update(AsBytes("abc"));  // reusable after Finish
  EXPECT_EQ(h.Finish(), Sha384(AsBytes("abc")));
}

TEST(Random, DistinctOutputs) {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

class EcdsaRoundTrip : public ::testing::TestWithParam<Curve> {};

TEST_P(EcdsaRoundTrip, SignVerifyBothFormatsAndTamper) {
  auto key = EcdsaPrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  EcdsaPublicKey pub = key->PublicKey();
  const Bytes msg = ToBytes("attestation payload");
  for (SignatureFormat f : {SignatureFormat::kDer, SignatureFormat::kRaw}) {
    auto sig = key->Sign(msg, f);
    ASSERT_TRUE(sig.ok()) << sig.status();
    if (f == SignatureFormat::kRaw) {
      EXPECT_EQ(sig->size(), 2 * CurveFieldLen(GetParam()));
    }
    EXPECT_TRUE(pub.Verify(msg, *sig, f).ok());
    Bytes bad = *sig;
    bad[bad.size() / 2] ^= 1;
    EXPECT_FALSE(pub.Verify(msg, bad, f).ok());
    Bytes other = msg;
    other[0] ^= 1;
    EXPECT_FALSE(pub.Verify(other, *sig, f).ok());
  }
  // Key encodings round-trip.
  auto pub2 = EcdsaPublicKey::FromSpkiDer(pub.SpkiDer());
  ASSERT_TRUE(pub2.ok());
  EXPECT_EQ(pub2->UncompressedPoint(), pub.UncompressedPoint());
  auto pub3 = EcdsaPublicKey::FromUncompressedPoint(GetParam(), pub.UncompressedPoint());
  ASSERT_TRUE(pub3.ok()) << pub3.status();
  auto key2 = EcdsaPrivateKey::FromPkcs8Der(key->Pkcs8Der().ExposeSecret());
  ASSERT_TRUE(key2.ok()) << key2.status();
  auto sig = key2->Sign(msg, SignatureFormat::kRaw);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(pub.Verify(msg, *sig, SignatureFormat::kRaw).ok());
  auto key3 = EcdsaPrivateKey::FromPem(AsStringView(key->Pem().ExposeSecret()));
  ASSERT_TRUE(key3.ok()) << key3.status();
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaRoundTrip, ::testing::Values(Curve::kP256, Curve::kP384));

TEST(Ecdsa, RejectsOffCurvePointAndBadScalar) {
  Bytes point(97, 0);
  point[0] = 0x04;
  point[1] = 1;
  EXPECT_FALSE(EcdsaPublicKey::FromUncompressedPoint(Curve::kP384, point).ok());
  EXPECT_FALSE(EcdsaPrivateKey::FromScalar(Curve::kP256, Bytes(32, 0)).ok());
  EXPECT_FALSE(EcdsaPrivateKey::FromScalar(Curve::kP256, Bytes(32, 0xff)).ok());
  Bytes one(32, 0);
  one[31] = 1;
  auto k = EcdsaPrivateKey::FromScalar(Curve::kP256, one);
  ASSERT_TRUE(k.ok()) << k.status();
  // d = 1 gives the generator point.
  EXPECT_EQ(base::HexEncode(k->PublicKey().UncompressedPoint()).substr(0, 66),
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
}

}  // namespace
}  // namespace confide::crypto
