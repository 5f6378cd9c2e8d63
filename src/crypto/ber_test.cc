// Tests for the private BER reader / DER writer (crypto/internal/ber.h).
#include "crypto/internal/ber.h"

#include <string>

#include "base/encoding.h"
#include "gtest/gtest.h"

namespace confide::crypto::internal {
namespace {

Bytes H(const std::string& hex) {
  auto b = base::HexDecode(hex);
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : Bytes();
}

TEST(Ber, DefiniteShortAndLongForms) {
  Bytes in = H("0403aabbcc");
  BerReader r(in);
  BerElement e;
  ASSERT_TRUE(r.Next(&e, "x").ok());
  EXPECT_EQ(e.tag, kBerOctetString);
  EXPECT_EQ(Bytes(e.contents.begin(), e.contents.end()), H("aabbcc"));
  EXPECT_TRUE(r.empty());
  // Long form, also non-minimal (allowed in BER).
  Bytes long_form = H("04820003aabbcc");
  BerReader r2(long_form);
  ASSERT_TRUE(r2.Next(&e, "x").ok());
  EXPECT_EQ(e.contents.size(), 3u);
  Bytes big(300, 0x11);
  Bytes tlv = DerTlv(kBerOctetString, big);
  EXPECT_EQ(tlv[1], 0x82);
  EXPECT_EQ(tlv.size(), 304u);
  BerReader r3(tlv);
  ASSERT_TRUE(r3.Next(&e, "x").ok());
  EXPECT_EQ(e.contents.size(), 300u);
}

TEST(Ber, IndefiniteLengthsNestAndConstructedStringsConcatenate) {
  // SEQUENCE(indef) { [0](indef, constructed) { OCTET STRING 'ab', OCTET STRING(constructed,
  // definite) { 'cd' } } } then INTEGER 5 after it.
  Bytes in =
      H("3080"
        "a080"
        "0401ab"
        "2403"
        "0401cd"
        "0000"
        "0000"
        "020105");
  BerReader r(in);
  BerElement seq;
  ASSERT_TRUE(r.Expect(kBerSequence, &seq, "seq").ok());
  EXPECT_TRUE(seq.indefinite);
  EXPECT_EQ(seq.contents.size(), 2u + 3 + 5 + 2);
  BerReader in_seq = BerReader::Enter(seq);
  BerElement ctx;
  ASSERT_TRUE(in_seq.Expect(0xa0, &ctx, "ctx").ok());
  EXPECT_TRUE(in_seq.ExpectEnd("seq").ok());
  auto value = ReadOctetString(ctx, 100, "value");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, H("abcd"));
  EXPECT_FALSE(ReadOctetString(ctx, 1, "value").ok());  // over the bound
  BerElement i;
  ASSERT_TRUE(r.Expect(kBerInteger, &i, "int").ok());
  auto v = ReadSmallInteger(i, "int");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 5);
}

TEST(Ber, RejectsMalformedEncodings) {
  for (const char* hex : {
           "",                // empty
           "04",              // no length
           "0403aabb",        // short contents
           "1f0100",          // high tag number
           "04ff",            // reserved length octet
           "0485ffffffffff",  // length of 5 octets
           "0484ffffffff",    // length beyond input
           "0480aa0000",      // indefinite primitive
           "3080",            // missing end-of-contents
           "30800401aa",      // missing end-of-contents after a child
           "30800001",        // bad end-of-contents
           "0000",            // end-of-contents where an element is expected
       }) {
    Bytes in = H(hex);
    BerReader r(in);
    BerElement e;
    EXPECT_FALSE(r.Next(&e, "x").ok()) << hex;
  }
  // A non-OCTET-STRING segment in a constructed OCTET STRING.
  Bytes bad_segment = H("24030201aa");
  BerReader r(bad_segment);
  BerElement e;
  ASSERT_TRUE(r.Next(&e, "x").ok());
  EXPECT_FALSE(ReadOctetString(e, 100, "x").ok());
}

TEST(Ber, DepthIsBounded) {
  Bytes ok;
  for (int i = 0; i < kMaxBerDepth; ++i) Append(ok, H("3080"));
  for (int i = 0; i < kMaxBerDepth; ++i) Append(ok, H("0000"));
  BerReader r(ok);
  BerElement e;
  EXPECT_TRUE(r.Next(&e, "x").ok());
  Bytes deep;
  for (int i = 0; i < kMaxBerDepth + 2; ++i) Append(deep, H("3080"));
  for (int i = 0; i < kMaxBerDepth + 2; ++i) Append(deep, H("0000"));
  BerReader r2(deep);
  EXPECT_FALSE(r2.Next(&e, "x").ok());
  // Constructed strings nest too.
  Bytes strings;
  for (int i = 0; i < 200; ++i) Append(strings, H("2480"));
  for (int i = 0; i < 200; ++i) Append(strings, H("0000"));
  BerReader r3(strings);
  EXPECT_FALSE(r3.Next(&e, "x").ok());
}

TEST(Ber, SmallIntegers) {
  auto parse = [](const std::string& hex) {
    Bytes in = H(hex);
    BerReader r(in);
    BerElement e;
    EXPECT_TRUE(r.Next(&e, "i").ok());
    return ReadSmallInteger(e, "i");
  };
  EXPECT_EQ(*parse("020100"), 0);
  EXPECT_EQ(*parse("02020080"), 128);
  EXPECT_EQ(*parse("02047fffffff"), 0x7fffffff);
  EXPECT_FALSE(parse("0200").ok());
  EXPECT_FALSE(parse("02020001").ok());  // not minimal
  EXPECT_FALSE(parse("020180").ok());    // negative
  EXPECT_FALSE(parse("020500ffffffff").ok());
  for (int v : {0, 1, 2, 127, 128, 255, 256, 65535, 0x7fffffff}) {
    Bytes der = DerSmallInteger(v);
    BerReader r(der);
    BerElement e;
    ASSERT_TRUE(r.Next(&e, "i").ok());
    EXPECT_EQ(*ReadSmallInteger(e, "i"), v);
  }
}

TEST(Ber, Oids) {
  EXPECT_EQ(*OidToString(H("2a864886f70d010703")), "1.2.840.113549.1.7.3");
  EXPECT_EQ(*OidToString(H("608648016503040201")), "2.16.840.1.101.3.4.2.1");
  EXPECT_EQ(*OidToString(H("2b0e03021a")), "1.3.14.3.2.26");
  EXPECT_EQ(*OidToString(H("00")), "0.0");
  EXPECT_EQ(*OidToString(H("8837")), "2.999");
  for (const char* dotted : {"1.2.840.113549.1.7.3", "2.16.840.1.101.3.4.1.42", "0.0", "2.999",
                             "1.39.9223372036854775807"}) {
    auto der = OidFromString(dotted);
    ASSERT_TRUE(der.ok()) << dotted;
    auto back = OidToString(*der);
    ASSERT_TRUE(back.ok()) << dotted;
    EXPECT_EQ(*back, dotted);
  }
  EXPECT_FALSE(OidToString({}).ok());
  EXPECT_FALSE(OidToString(H("2a86")).ok());                    // truncated
  EXPECT_FALSE(OidToString(H("2a8001")).ok());                  // leading 0x80
  EXPECT_FALSE(OidToString(H("ffffffffffffffffffff7f")).ok());  // too large
  for (const char* bad : {"", "1", "1.", ".1", "3.1", "1.40", "1.2.x", "1.02", "1..2", "-1.2",
                          "1.39.9223372036854775808", "2.9223372036854775807"}) {
    EXPECT_FALSE(OidFromString(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace confide::crypto::internal
