#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "base/encoding.h"
#include "cbor/codec.h"
#include "cbor/value.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::cbor {

// PrintTo makes gtest show values in diagnostic notation (test data only).
void PrintTo(const Value& v, std::ostream* os) { *os << Diagnostic(v); }

namespace {

using ::confide::testing::HexToBytes;

std::string Hex(ByteSpan b) { return base::HexEncode(b); }

absl::StatusOr<Value> DecodeHex(const std::string& hex, const DecodeLimits& limits = {}) {
  return Decode(HexToBytes(hex), limits);
}

// ToJson converts values that JSON can hold exactly; nullopt for the rest (big integers,
// byte strings, tags, undefined, simple(n), non-finite floats, non-text map keys).
std::optional<nlohmann::json> ToJson(const Value& v) {
  switch (v.type()) {
    case Type::kUnsigned:
      return nlohmann::json(*v.as_uint64());
    case Type::kNegative:
      if (auto i = v.as_int64()) return nlohmann::json(*i);
      return std::nullopt;
    case Type::kTextString:
      return nlohmann::json(*v.as_text());
    case Type::kArray: {
      nlohmann::json out = nlohmann::json::array();
      for (const Value& item : *v.as_array()) {
        auto j = ToJson(item);
        if (!j) return std::nullopt;
        out.push_back(*j);
      }
      return out;
    }
    case Type::kMap: {
      nlohmann::json out = nlohmann::json::object();
      for (const MapEntry& e : *v.as_map()) {
        auto j = ToJson(e.value);
        if (!e.key.is_text() || !j) return std::nullopt;
        out[*e.key.as_text()] = *j;
      }
      return out;
    }
    case Type::kSimple:
      if (v.is_bool()) return nlohmann::json(*v.as_bool());
      if (v.is_null()) return nlohmann::json(nullptr);
      return std::nullopt;
    case Type::kFloat:
      if (std::isfinite(*v.as_double())) return nlohmann::json(*v.as_double());
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// RFC 8949 Appendix A (via cbor/test-vectors, RFC 7049's list). See testdata/cbor/SOURCES.md.
TEST(CborVectors, AppendixA) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/cbor/appendix_a.json");
  auto json = confide::testing::ReadJson(path);
  ASSERT_TRUE(json.has_value());
  ASSERT_EQ(json->size(), 82u) << "appendix_a.json changed";
  int decoded_ok = 0, rejected = 0, roundtrips = 0, json_compared = 0, diag_compared = 0;
  for (const auto& t : *json) {
    const std::string hex = t["hex"];
    SCOPED_TRACE(hex);
    const Bytes in = HexToBytes(hex);
    EXPECT_EQ(base::Base64Encode(in), t["cbor"].get<std::string>());
    auto r = DecodeWithInfo(in);
    if (hex == "f818") {
      // simple(24) in two bytes: RFC 8949 removed this example (erratum 5917); it is not
      // well-formed (§3.3), so a strict decoder rejects it.
      EXPECT_FALSE(r.ok());
      ++rejected;
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status();
    ++decoded_ok;
    // Every roundtrip:true entry is in deterministic encoding and re-encodes byte for byte;
    // every roundtrip:false entry (non-shortest floats, indefinite lengths) is not.
    EXPECT_EQ(r->deterministic, t["roundtrip"].get<bool>());
    if (t["roundtrip"].get<bool>()) {
      EXPECT_EQ(Hex(Encode(r->value)), hex);
      ++roundtrips;
    }
    // Whatever was decoded re-encodes to something that decodes to the same value (keeping
    // map order), and the deterministic re-encoding is a fixed point.
    auto again = Decode(Encode(r->value, EncodeOptions{.sort_map_keys = false}));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, r->value);
    auto sorted = Decode(Encode(r->value));
    ASSERT_TRUE(sorted.ok());
    EXPECT_EQ(Encode(*sorted), Encode(r->value));
    if (t.contains("decoded")) {
      auto j = ToJson(r->value);
      if (j) {
        EXPECT_EQ(*j, t["decoded"]);
        ++json_compared;
      } else {
        // Only the integers beyond int64 and the bignum tags cannot be compared as JSON;
        // they are covered by the byte-exact round trip above.
        EXPECT_TRUE(r->value.is_negative() || r->value.is_tag() || r->value.is_unsigned());
      }
    } else {
      const std::string diag = t["diagnostic"];
      if (diag == "(_ h'0102', h'030405')") {
        EXPECT_EQ(Diagnostic(r->value), "h'0102030405'");  // chunking carries no meaning
      } else {
        EXPECT_EQ(Diagnostic(r->value), diag);
      }
      ++diag_compared;
    }
  }
  EXPECT_EQ(decoded_ok, 81);
  EXPECT_EQ(rejected, 1);
  EXPECT_EQ(roundtrips, 64);  // 65 roundtrip:true minus f818
  EXPECT_EQ(json_compared, 56);
  EXPECT_EQ(diag_compared, 22);
}

// RFC 8949 Appendix F.1: every example MUST be rejected.
TEST(CborVectors, NotWellFormed) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/cbor/rfc8949_not_well_formed.json");
  auto json = confide::testing::ReadJson(path);
  ASSERT_TRUE(json.has_value());
  const auto& tests = (*json)["tests"];
  ASSERT_EQ(tests.size(), 94u);
  int rejected = 0;
  for (const auto& t : tests) {
    const std::string hex = t["hex"];
    SCOPED_TRACE(hex + " " + t["category"].get<std::string>());
    auto r = DecodeHex(hex);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(r.status().message()).find(" at offset "), std::string::npos);
    ++rejected;
  }
  EXPECT_EQ(rejected, 94);
}

TEST(CborDecode, ErrorsNameProblemAndOffset) {
  auto r = DecodeHex("9f01");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            "CBOR: unterminated indefinite-length container at offset 2");
  r = DecodeHex("8301");
  EXPECT_EQ(std::string(r.status().message()),
            "CBOR: container runs past the end of input at offset 0");
  r = DecodeHex("820118");
  EXPECT_EQ(std::string(r.status().message()), "CBOR: truncated head at offset 2");
  r = DecodeHex("0000");
  EXPECT_EQ(std::string(r.status().message()),
            "CBOR: trailing bytes after the top-level data item at offset 1");
  r = DecodeHex("a2616101616102");
  EXPECT_EQ(std::string(r.status().message()), "CBOR: duplicate map key at offset 4");
}

TEST(CborDecode, RejectsDuplicateKeys) {
  for (const char* hex : {
           "a201000100",              // 1, 1
           "a20100180100",            // 1, 1 in a non-shortest head: same value
           "a2616100616100",          // "a", "a"
           "a27f6161ff00616100",      // indefinite "a" then "a"
           "a2f93c0000fa3f80000000",  // 1.0 as half and as single
           "bf0100010000ff",          // indefinite map; second key 1 again (after value 0)
           "a28201020082010200",      // [1,2] twice
           "a2a10102f6a1010200",      // {1:2} twice
       }) {
    SCOPED_TRACE(hex);
    auto r = DecodeHex(hex);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string(r.status().message()).find("duplicate map key"), std::string::npos)
        << r.status();
  }
  // Different values are different keys: 1 vs 1.0, 0.0 vs -0.0, "a" vs h'61'.
  EXPECT_TRUE(DecodeHex("a201f6f93c00f6").ok());
  EXPECT_TRUE(DecodeHex("a2f90000f6f98000f6").ok());
  EXPECT_TRUE(DecodeHex("a26161f64161f6").ok());
}

TEST(CborDecode, RejectsTrailingBytes) {
  EXPECT_FALSE(DecodeHex("0001").ok());
  EXPECT_FALSE(DecodeHex("80ff").ok());
  EXPECT_FALSE(DecodeHex("9fff00").ok());
  EXPECT_FALSE(DecodeHex("").ok());
}

TEST(CborDecode, DepthLimit) {
  auto nested = [](size_t depth) {
    Bytes b(depth, 0x81);
    b.push_back(0x00);
    return b;
  };
  EXPECT_TRUE(Decode(nested(16)).ok());
  auto r = Decode(nested(17));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("nesting deeper"), std::string::npos);
  // Tags and maps count as levels too.
  Bytes tags(17, 0xc1);
  tags.push_back(0x00);
  EXPECT_FALSE(Decode(tags).ok());
  EXPECT_TRUE(Decode(ByteSpan(tags).subspan(1)).ok());
  DecodeLimits shallow;
  shallow.max_depth = 1;
  EXPECT_TRUE(DecodeHex("a10102", shallow).ok());
  EXPECT_FALSE(DecodeHex("a101a0", shallow).ok());
  EXPECT_TRUE(DecodeHex("00", DecodeLimits{.max_depth = 0}).ok());
  EXPECT_FALSE(DecodeHex("80", DecodeLimits{.max_depth = 0}).ok());
  // A caller-raised limit is still capped, so the stack stays bounded.
  DecodeLimits deep;
  deep.max_depth = std::numeric_limits<size_t>::max();
  deep.max_items = std::numeric_limits<size_t>::max();
  EXPECT_TRUE(Decode(nested(kMaxDepthHardCap), deep).ok());
  EXPECT_FALSE(Decode(nested(kMaxDepthHardCap + 1), deep).ok());
  EXPECT_FALSE(Decode(nested(100000), deep).ok());
}

TEST(CborDecode, LengthCapsFailBeforeAllocating) {
  // Declared lengths of 2^63 and 2^64-1 with no content: must fail on the check, not on an
  // allocation (ASan would report a huge allocation).
  DecodeLimits unlimited{.max_depth = 16,
                         .max_items = std::numeric_limits<size_t>::max(),
                         .max_string_len = std::numeric_limits<size_t>::max(),
                         .max_container_len = std::numeric_limits<size_t>::max()};
  for (const char* hex : {"5b8000000000000000", "7b8000000000000000", "5bffffffffffffffff",
                          "9b8000000000000000", "bb8000000000000000", "9bffffffffffffffff",
                          "bbffffffffffffffff", "5f5b8000000000000000ff", "5a7fffffff00"}) {
    SCOPED_TRACE(hex);
    auto r = DecodeHex(hex);
    ASSERT_FALSE(r.ok());
    auto r2 = DecodeHex(hex, unlimited);
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(std::string(r2.status().message()).find("past the end"), std::string::npos)
        << r2.status();
  }
  auto r = DecodeHex("5b8000000000000000");
  EXPECT_NE(std::string(r.status().message()).find("longer than the limit"), std::string::npos);

  DecodeLimits small;
  small.max_string_len = 4;
  small.max_container_len = 2;
  EXPECT_TRUE(DecodeHex("4401020304", small).ok());
  EXPECT_FALSE(DecodeHex("450102030405", small).ok());
  EXPECT_FALSE(DecodeHex("6568656c6c6f", small).ok());
  // Indefinite-length strings are capped after joining the chunks.
  EXPECT_TRUE(DecodeHex("5f420102420304ff", small).ok());
  EXPECT_FALSE(DecodeHex("5f42010243030405ff", small).ok());
  EXPECT_TRUE(DecodeHex("820102", small).ok());
  EXPECT_FALSE(DecodeHex("83010203", small).ok());
  EXPECT_FALSE(DecodeHex("9f010203ff", small).ok());
  EXPECT_TRUE(DecodeHex("a201020304", small).ok());
  EXPECT_FALSE(DecodeHex("a3010203040506", small).ok());
  EXPECT_FALSE(DecodeHex("bf010203040506ff", small).ok());

  DecodeLimits few_items;
  few_items.max_items = 3;
  EXPECT_TRUE(DecodeHex("820102", few_items).ok());
  EXPECT_FALSE(DecodeHex("83010203", few_items).ok());
  EXPECT_FALSE(DecodeHex("5f40404040ff", few_items).ok());  // chunks count as items
}

TEST(CborDecode, IndefiniteLengthsAccepted) {
  auto v = DecodeHex("5f42010243030405ff");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Hex(*v->as_bytes()), "0102030405");
  v = DecodeHex("5fff");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->as_bytes()->empty());
  v = DecodeHex("7f657374726561646d696e67ff");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v->as_text(), "streaming");
  v = DecodeHex("7f6000ff");
  EXPECT_FALSE(v.ok());  // a non-string chunk
  v = DecodeHex("bf6346756ef563416d7421ff");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("Fun")->as_bool(), true);
  EXPECT_EQ(v->Find("Amt")->as_int64(), -2);
  v = DecodeHex("9f9fff9f9fffffbfbfffa0ffff");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Diagnostic(*v), "[[], [[]], {{}: {}}]");
  EXPECT_EQ(Hex(Encode(*v)), "83808180a1a0a0");
  // Bad chunks and misplaced breaks.
  for (const char* hex : {"5f01ff", "5f5fffff", "7f4100ff", "5f6100ff", "5f", "5f41", "9f",
                          "bf00ff", "bf000000", "ff", "81ff", "a1ff00", "a100ff", "c6ff"}) {
    SCOPED_TRACE(hex);
    EXPECT_FALSE(DecodeHex(hex).ok());
  }
}

TEST(CborDecode, Utf8) {
  EXPECT_TRUE(DecodeHex("64f0908591").ok());
  EXPECT_TRUE(DecodeHex("63efbfbf").ok());    // U+FFFF
  EXPECT_TRUE(DecodeHex("64f48fbfbf").ok());  // U+10FFFF
  for (const char* hex : {"61ff", "61c0", "62c080", "62c1bf", "63e08080", "63eda080", "63edbfbf",
                          "64f08f8080", "64f4908080", "64f5808080", "62e6b0", "6180", "63e6b020",
                          "7f61e662b0b4ff"}) {  // the last splits a code point between chunks
    SCOPED_TRACE(hex);
    auto r = DecodeHex(hex);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string(r.status().message()).find("UTF-8"), std::string::npos);
  }
  EXPECT_TRUE(DecodeHex("4180").ok());  // byte strings are not checked
}

TEST(CborDecode, Deterministic) {
  EXPECT_TRUE(IsDeterministicEncoding(HexToBytes("a201020304")));
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("a203040102")));  // unsorted keys
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("1801")));        // non-shortest head
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("5800")));
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("d80100")));      // tag 1 in two bytes
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("fa3fc00000")));  // 1.5 fits half
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("fb3ff8000000000000")));
  EXPECT_TRUE(IsDeterministicEncoding(HexToBytes("f93e00")));
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("9f00ff")));
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("0000")));  // not even well-formed
  // Keys sort bytewise, not length-first: "aa" (626161) < [1] (8101)? no: 0x62 < 0x81.
  EXPECT_TRUE(IsDeterministicEncoding(HexToBytes("a2626161008101f6")));
  EXPECT_TRUE(IsDeterministicEncoding(HexToBytes("a21864f620f6")));  // 100 (1864) < -1 (20)
  // A NaN whose payload does not fit half precision is deterministic at single width.
  EXPECT_TRUE(IsDeterministicEncoding(HexToBytes("fa7fc00001")));
  EXPECT_FALSE(IsDeterministicEncoding(HexToBytes("fa7fc00000")));
}

//= https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
//# 10, encoded as 0x0a. 100, encoded as 0x1864. -1, encoded as 0x20. "z", encoded as
//# 0x617a. "aa", encoded as 0x626161. [100], encoded as 0x811864. [-1], encoded as 0x8120.
//# false, encoded as 0xf4.
TEST(CborEncode, SortsMapKeysBytewise) {
  Value m = Value::EmptyMap();
  m.Put(Value::Bool(false), Value::Unsigned(7))
      .Put(Value::FromArray({Value::Int(-1)}), Value::Unsigned(6))
      .Put(Value::FromArray({Value::Unsigned(100)}), Value::Unsigned(5))
      .Put("aa", Value::Unsigned(4))
      .Put("z", Value::Unsigned(3))
      .Put(-1, Value::Unsigned(2))
      .Put(100, Value::Unsigned(1))
      .Put(10, Value::Unsigned(0));
  const Bytes sorted = Encode(m);
  EXPECT_EQ(Hex(sorted),
            "a80a001864012002617a0362616104811864058120"
            "06f407");
  EXPECT_TRUE(IsDeterministicEncoding(sorted));
  // Insertion order when asked (Nitro documents need a fixed, unsorted order).
  const Bytes as_is = Encode(m, EncodeOptions{.sort_map_keys = false});
  EXPECT_EQ(Hex(as_is),
            "a8f407812006811864056261610461"
            "7a03200218640"
            "10a00");
  EXPECT_FALSE(IsDeterministicEncoding(as_is));
  auto back = Decode(as_is);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);  // order preserved by the decoder
  EXPECT_EQ(Encode(*back), sorted);
  // Nested maps are sorted too.
  Value outer = Value::EmptyMap();
  outer.Put(2, m).Put(1, Value::Null());
  EXPECT_EQ(Hex(Encode(outer)), "a201f602" + Hex(sorted));
}

TEST(CborEncode, ShortestHeads) {
  struct Case {
    Value v;
    const char* hex;
  };
  const Case cases[] = {
      {Value::Unsigned(0), "00"},
      {Value::Unsigned(23), "17"},
      {Value::Unsigned(24), "1818"},
      {Value::Unsigned(255), "18ff"},
      {Value::Unsigned(256), "190100"},
      {Value::Unsigned(65535), "19ffff"},
      {Value::Unsigned(65536), "1a00010000"},
      {Value::Unsigned(0xffffffff), "1affffffff"},
      {Value::Unsigned(0x100000000), "1b0000000100000000"},
      {Value::Int(-1), "20"},
      {Value::Int(-24), "37"},
      {Value::Int(-25), "3818"},
      {Value::Int(std::numeric_limits<int64_t>::min()), "3b7fffffffffffffff"},
      {Value::NegativeFromArgument(std::numeric_limits<uint64_t>::max()), "3bffffffffffffffff"},
      {Value::Text(""), "60"},
      {Value::Tagged(18, Value::EmptyArray()), "d280"},
      {Value::Tagged(256, Value::Null()), "d90100f6"},
      {Value::Bool(true), "f5"},
      {Value::Null(), "f6"},
      {Value::Undefined(), "f7"},
      {*Value::Simple(16), "f0"},
      {*Value::Simple(32), "f820"},
      {*Value::Simple(255), "f8ff"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Hex(Encode(c.v)), c.hex);
    auto back = Decode(Encode(c.v));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c.v);
  }
  EXPECT_EQ(Hex(Encode(Value::ByteString(Bytes(24, 0xaa)))), "5818" + std::string(48, 'a'));
  EXPECT_EQ(Hex(Encode(Value::Text(std::string(256, 'a')))).substr(0, 6), "790100");
  EXPECT_FALSE(Value::Simple(24).ok());
  EXPECT_FALSE(Value::Simple(31).ok());
}

TEST(CborEncode, FloatsPickShortestExactWidth) {
  EXPECT_EQ(Hex(Encode(Value::Float(0.0))), "f90000");
  EXPECT_EQ(Hex(Encode(Value::Float(-0.0))), "f98000");
  EXPECT_EQ(Hex(Encode(Value::Float(1.5))), "f93e00");
  EXPECT_EQ(Hex(Encode(Value::Float(65504.0))), "f97bff");
  EXPECT_EQ(Hex(Encode(Value::Float(100000.0))), "fa47c35000");
  EXPECT_EQ(Hex(Encode(Value::Float(1.1))), "fb3ff199999999999a");
  EXPECT_EQ(Hex(Encode(Value::Float(std::ldexp(1.0, -24)))), "f90001");  // smallest subnormal
  EXPECT_EQ(Hex(Encode(Value::Float(std::ldexp(1.0, -25)))), "fa33000000");
  EXPECT_EQ(Hex(Encode(Value::Float(std::ldexp(1.0, -14)))), "f90400");
  EXPECT_EQ(Hex(Encode(Value::Float(std::ldexp(1.0, -149)))), "fa00000001");
  EXPECT_EQ(Hex(Encode(Value::Float(3.4028234663852886e+38))), "fa7f7fffff");
  EXPECT_EQ(Hex(Encode(Value::Float(1e300))), "fb7e37e43c8800759c");
  EXPECT_EQ(Hex(Encode(Value::Float(std::numeric_limits<double>::infinity()))), "f97c00");
  EXPECT_EQ(Hex(Encode(Value::Float(-std::numeric_limits<double>::infinity()))), "f9fc00");
  EXPECT_EQ(Hex(Encode(Value::Float(std::numeric_limits<double>::quiet_NaN()))), "f97e00");
  // A stored width is kept: non-preferred floats re-encode unchanged.
  EXPECT_EQ(Hex(Encode(Value::FloatBits(FloatWidth::kDouble, 0x3ff8000000000000))),
            "fb3ff8000000000000");
  auto nan = DecodeHex("fb7ff8000000000001");
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(*nan->as_double()));
  EXPECT_EQ(Hex(Encode(*nan)), "fb7ff8000000000001");  // NaN payload kept
  // Half-precision values widen exactly.
  EXPECT_EQ(*DecodeHex("f97bff")->as_double(), 65504.0);
  EXPECT_EQ(*DecodeHex("f90001")->as_double(), std::ldexp(1.0, -24));
  EXPECT_EQ(*DecodeHex("f9c400")->as_double(), -4.0);
  EXPECT_TRUE(std::signbit(*DecodeHex("f98000")->as_double()));
}

TEST(CborValue, Accessors) {
  auto v = DecodeHex("a3616101200282f6f4a1182a40");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->is_map());
  EXPECT_EQ(v->Find("a")->as_uint64(), 1u);
  EXPECT_EQ(v->Find(-1)->as_int64(), 2);
  EXPECT_EQ(v->Find(2), nullptr);
  EXPECT_EQ(v->Find("b"), nullptr);
  EXPECT_EQ(v->Find(Value::Int(-1)), v->Find(-1));
  const Value* key_array = v->Find(Value::FromArray({Value::Null(), Value::Bool(false)}));
  ASSERT_NE(key_array, nullptr);
  EXPECT_EQ(key_array->Find(42)->as_bytes()->size(), 0u);
  EXPECT_EQ(v->as_array(), nullptr);
  EXPECT_EQ(v->as_text(), nullptr);
  EXPECT_FALSE(v->as_uint64().has_value());
  EXPECT_EQ(Value::Null().Find("a"), nullptr);
  // 2^64-1 and -2^64 are representable; as_int64 refuses what does not fit.
  auto big = DecodeHex("1bffffffffffffffff");
  EXPECT_EQ(big->as_uint64(), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(big->as_int64().has_value());
  auto neg = DecodeHex("3bffffffffffffffff");
  EXPECT_EQ(neg->negative_argument(), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(neg->as_int64().has_value());
  EXPECT_EQ(Diagnostic(*neg), "-18446744073709551616");
  EXPECT_EQ(DecodeHex("3b7fffffffffffffff")->as_int64(), std::numeric_limits<int64_t>::min());
  // Tags.
  auto tag = DecodeHex("d818456449455446");
  EXPECT_EQ(tag->tag_number(), 24u);
  EXPECT_EQ(Hex(*tag->tag_content()->as_bytes()), "6449455446");
  // Defaults and null checks.
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(DecodeHex("f6")->is_null());
  EXPECT_TRUE(DecodeHex("f7")->is_undefined());
  EXPECT_EQ(DecodeHex("f0")->simple_value(), 16);
  EXPECT_FALSE(DecodeHex("f0")->is_bool());
}

// Random values with distinct keys: unsorted encoding decodes to the same tree, sorted encoding
// is deterministic and idempotent.
Value RandomValue(std::mt19937_64& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 7 : 10));
  switch (kind) {
    case 0:
      return Value::Unsigned(rng() >> (rng() % 64));
    case 1:
      return Value::NegativeFromArgument(rng() >> (rng() % 64));
    case 2: {
      Bytes b(rng() % 40);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      return Value::ByteString(b);
    }
    case 3: {
      std::string s(rng() % 30, 'x');
      for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
      return Value::Text(s);
    }
    case 4:
      return Value::Float(
          std::ldexp(static_cast<double>(rng() % 4096), static_cast<int>(rng() % 80) - 40));
    case 5:
      return Value::FloatBits(static_cast<FloatWidth>(2 << (rng() % 3)), rng());
    case 6:
      return *Value::Simple(static_cast<uint8_t>(rng() % 2 ? rng() % 24 : 32 + rng() % 224));
    case 7: {
      Value a = Value::EmptyArray();
      for (size_t i = rng() % 6; i > 0; --i) a.Append(RandomValue(rng, depth + 1));
      return a;
    }
    case 8: {
      Value m = Value::EmptyMap();
      for (size_t i = rng() % 6; i > 0; --i) {
        Value k = RandomValue(rng, depth + 1);
        // Keep only keys that are new in the data model (1.0 as half and as single are one
        // key): the decoder is the judge.
        Value candidate = m;
        candidate.Put(k, Value());
        if (Decode(Encode(candidate), DecodeLimits{.max_depth = 64}).ok()) {
          m.Put(std::move(k), RandomValue(rng, depth + 1));
        }
      }
      return m;
    }
    default:
      return Value::Tagged(rng() >> (rng() % 64), RandomValue(rng, depth + 1));
  }
}

TEST(CborEncode, RandomRoundTrip) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    Value v = RandomValue(rng, 0);
    const Bytes unsorted = Encode(v, EncodeOptions{.sort_map_keys = false});
    auto back = Decode(unsorted, DecodeLimits{.max_depth = 64});
    ASSERT_TRUE(back.ok()) << back.status() << " " << Hex(unsorted);
    EXPECT_EQ(*back, v) << Hex(unsorted);
    const Bytes sorted = Encode(v);
    auto again = DecodeWithInfo(sorted, DecodeLimits{.max_depth = 64});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Encode(again->value), sorted);
  }
}

TEST(CborDecode, TruncationAtEveryLengthFails) {
  for (const char* hex : {"a56161614161626142616361436164614461656145", "bf61610161629f0203ffff",
                          "c249010000000000000000", "fb3ff199999999999a",
                          "7f657374726561646d696e67ff", "5f42010243030405ff"}) {
    const Bytes in = HexToBytes(hex);
    ASSERT_TRUE(Decode(in).ok()) << hex;
    for (size_t n = 0; n < in.size(); ++n) {
      EXPECT_FALSE(Decode(ByteSpan(in).first(n)).ok()) << hex << " cut at " << n;
    }
  }
}

// The real Nitro attestation document (testdata/nitro/SOURCES.md): an untagged COSE_Sign1
// whose payload is a map with text keys, an integer-keyed pcrs map, byte strings, an array
// and nulls, in Nitro's own (unsorted) key order.
TEST(CborNitro, DecodesRealAttestationDocument) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/nitro/attestation_ic_tee_2024-11-05.hex");
  auto hex = confide::testing::ReadFile(path);
  ASSERT_TRUE(hex.has_value());
  const Bytes doc = HexToBytes(std::string(hex->begin(), hex->end()));
  ASSERT_EQ(doc.size(), 4461u);
  auto cose = DecodeWithInfo(doc);
  ASSERT_TRUE(cose.ok()) << cose.status();
  EXPECT_TRUE(cose->deterministic);
  EXPECT_EQ(Encode(cose->value), doc);
  const Array* parts = cose->value.as_array();
  ASSERT_NE(parts, nullptr);
  ASSERT_EQ(parts->size(), 4u);
  EXPECT_EQ(Hex(*(*parts)[0].as_bytes()), "a1013822");
  EXPECT_TRUE((*parts)[1].is_map() && (*parts)[1].as_map()->empty());
  EXPECT_EQ((*parts)[3].as_bytes()->size(), 96u);

  const Bytes& payload = *(*parts)[2].as_bytes();
  ASSERT_EQ(payload.size(), 4353u);
  auto info = DecodeWithInfo(payload);
  ASSERT_TRUE(info.ok()) << info.status();
  const Value& p = info->value;
  EXPECT_FALSE(info->deterministic);  // Nitro's key order is not sorted
  const char* order[] = {"module_id", "digest",     "timestamp", "pcrs", "certificate",
                         "cabundle",  "public_key", "user_data", "nonce"};
  ASSERT_EQ(p.as_map()->size(), 9u);
  for (size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(*(*p.as_map())[i].key.as_text(), order[i]);
  }
  EXPECT_EQ(*p.Find("module_id")->as_text(), "i-056e1ab9a31cd77a0-enc0192fb4ace44d1cf");
  EXPECT_EQ(*p.Find("digest")->as_text(), "SHA384");
  EXPECT_EQ(p.Find("timestamp")->as_uint64(), 1730792863352u);
  const Value* pcrs = p.Find("pcrs");
  ASSERT_TRUE(pcrs != nullptr && pcrs->is_map());
  ASSERT_EQ(pcrs->as_map()->size(), 16u);
  for (int64_t i = 0; i < 16; ++i) {
    ASSERT_NE(pcrs->Find(i), nullptr);
    EXPECT_EQ(pcrs->Find(i)->as_bytes()->size(), 48u);
  }
  EXPECT_EQ(Hex(*pcrs->Find(int64_t{0})->as_bytes()),
            "495f5bf7567422bf53a4ff549a250d35f989062469c06e20eccc1b5f98f82e957a66b44b094372ebd"
            "037cb113affd4a1");
  EXPECT_EQ(p.Find("cabundle")->as_array()->size(), 4u);
  EXPECT_TRUE(p.Find("public_key")->is_null());
  EXPECT_TRUE(p.Find("user_data")->is_null());
  EXPECT_TRUE(p.Find("nonce")->is_null());
  // Keeping insertion order reproduces Nitro's bytes exactly.
  EXPECT_EQ(Encode(p, EncodeOptions{.sort_map_keys = false}), payload);
}

}  // namespace
}  // namespace confide::cbor
