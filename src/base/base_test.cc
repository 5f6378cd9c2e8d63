#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/ct.h"
#include "base/cursor.h"
#include "base/encoding.h"
#include "base/log.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "gtest/gtest.h"

namespace confide {
namespace {

using base::ByteCursor;

TEST(ByteCursor, ReadsBigAndLittleEndianAndStopsAtEnd) {
  const Bytes data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  ByteCursor c(data);
  uint16_t u16;
  ASSERT_TRUE(c.ReadU16BE(&u16));
  EXPECT_EQ(u16, 0x0102);
  uint32_t u32;
  ASSERT_TRUE(c.ReadU32LE(&u32));
  EXPECT_EQ(u32, 0x06050403u);
  EXPECT_EQ(c.offset(), 6u);
  uint64_t u64 = 42;
  EXPECT_FALSE(c.ReadU64BE(&u64));  // only 3 left
  EXPECT_EQ(u64, 42u);              // untouched on failure
  EXPECT_EQ(c.remaining(), 3u);     // and not consumed
  ByteSpan s;
  EXPECT_FALSE(c.ReadBytes(4, &s));
  ASSERT_TRUE(c.ReadBytes(3, &s));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2], 0x09);
  EXPECT_TRUE(c.empty());
  uint8_t u8;
  EXPECT_FALSE(c.ReadU8(&u8));
  EXPECT_FALSE(c.PeekU8(&u8));
  EXPECT_FALSE(c.Skip(1));
  EXPECT_TRUE(c.Skip(0));
}

TEST(ByteCursor, HugeLengthDoesNotOverflow) {
  const Bytes data = {1, 2, 3};
  ByteCursor c(data);
  ASSERT_TRUE(c.Skip(1));
  ByteSpan s;
  EXPECT_FALSE(c.ReadBytes(SIZE_MAX, &s));
  EXPECT_FALSE(c.Skip(SIZE_MAX - 1));
  EXPECT_EQ(c.remaining(), 2u);
}

TEST(SecretBytes, MoveOnlyAndWipes) {
  static_assert(!std::is_copy_constructible_v<SecretBytes>);
  static_assert(!std::is_copy_assignable_v<SecretBytes>);
  const Bytes key = {1, 2, 3, 4};
  SecretBytes a = SecretBytes::CopyFrom(key);
  EXPECT_EQ(a.size(), 4u);
  SecretBytes b = std::move(a);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(Bytes(b.ExposeSecret().begin(), b.ExposeSecret().end()), key);
  SecretBytes c = b.Clone();
  b.Wipe();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(c.size(), 4u);
  SecretBytes zero(8);
  for (uint8_t x : zero.ExposeSecret()) EXPECT_EQ(x, 0);
}

TEST(SecureZero, ZeroesBuffer) {
  Bytes buf = {9, 9, 9, 9};
  SecureZero(buf);
  EXPECT_EQ(buf, Bytes(4, 0));
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  const Bytes a = {1, 2, 3};
  const Bytes b = {1, 2, 3};
  const Bytes c = {1, 2, 4};
  const Bytes d = {1, 2};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_FALSE(ConstantTimeEquals(a, d));
  EXPECT_TRUE(ConstantTimeEquals(ByteSpan(), ByteSpan()));
  for (size_t i = 0; i < a.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes m = a;
      m[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(ConstantTimeEquals(a, m));
    }
  }
}

TEST(Hex, RoundTripAndErrors) {
  const Bytes data = {0x00, 0xab, 0xFF, 0x10};
  EXPECT_EQ(base::HexEncode(data), "00abff10");
  EXPECT_EQ(*base::HexDecode("00ABff10"), data);
  EXPECT_FALSE(base::HexDecode("abc").ok());
  EXPECT_FALSE(base::HexDecode("zz").ok());
  EXPECT_TRUE(base::HexDecode("").ok());
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> v = {{"", ""},
                                                              {"f", "Zg=="},
                                                              {"fo", "Zm8="},
                                                              {"foo", "Zm9v"},
                                                              {"foob", "Zm9vYg=="},
                                                              {"fooba", "Zm9vYmE="},
                                                              {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(base::Base64Encode(AsBytes(plain)), enc);
    auto dec = base::Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(AsStringView(*dec), plain);
  }
}

TEST(Base64, RejectsNonCanonical) {
  for (const char* bad :
       {"Zg", "Zg=", "Zh==", "Zm9v\n", "Zm9v YmFy", "Z===", "Zm9$", "====", "Zg==Zg=="}) {
    EXPECT_FALSE(base::Base64Decode(bad).ok()) << bad;
  }
}

TEST(Base64Url, UnpaddedAndPaddedAccepted) {
  const Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base::Base64UrlEncode(data), "-_-_");
  EXPECT_EQ(base::Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(AsStringView(*base::Base64UrlDecode("Zg")), "f");
  EXPECT_EQ(AsStringView(*base::Base64UrlDecode("Zg==")), "f");
  EXPECT_FALSE(base::Base64UrlDecode("+/+/").ok());
  EXPECT_FALSE(base::Base64UrlDecode("Z").ok());
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x));
  return absl::OkStatus();
}

TEST(StatusMacros, Propagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

class LogCapture {
 public:
  LogCapture() {
    log::SetSink([this](std::string_view line) { lines_.emplace_back(line); });
    log::SetLevel(log::Level::kDebug);
  }
  ~LogCapture() {
    log::SetSink(nullptr);
    log::SetLevel(log::Level::kInfo);
  }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

TEST(Log, EmitsStructuredJsonLine) {
  LogCapture cap;
  log::Info("kms.decrypt", {{"key_id", log::SafeText::Identifier("alias/model-key")},
                            {"bytes", size_t{42}},
                            {"ok", true},
                            {"status", absl::NotFoundError("no such key")}});
  ASSERT_EQ(cap.lines().size(), 1u);
  const std::string& l = cap.lines()[0];
  EXPECT_NE(l.find("\"event\":\"kms.decrypt\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"key_id\":\"alias/model-key\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"bytes\":42"), std::string::npos) << l;
  EXPECT_NE(l.find("\"ok\":true"), std::string::npos) << l;
  EXPECT_NE(l.find("NOT_FOUND: no such key"), std::string::npos) << l;
}

TEST(Log, IdentifierRejectsFreeTextCanary) {
  LogCapture cap;
  // A payload that slipped into an identifier slot must not be printed.
  const std::string canary = "patient John Doe has CANARY-7f3a diabetes";
  log::Warning("test.event", {{"id", log::SafeText::Identifier(canary)}});
  ASSERT_EQ(cap.lines().size(), 1u);
  EXPECT_EQ(cap.lines()[0].find("CANARY-7f3a"), std::string::npos) << cap.lines()[0];
  EXPECT_NE(cap.lines()[0].find("<rejected-identifier len="), std::string::npos);
}

TEST(Log, LevelFilters) {
  LogCapture cap;
  log::SetLevel(log::Level::kWarning);
  log::Info("dropped");
  log::Error("kept");
  ASSERT_EQ(cap.lines().size(), 1u);
  EXPECT_NE(cap.lines()[0].find("\"level\":\"error\""), std::string::npos);
}

// The logger API must not accept runtime strings or bytes; these are compile-time properties.
static_assert(!std::is_constructible_v<log::Field, log::Literal, std::string>);
static_assert(!std::is_constructible_v<log::Field, log::Literal, std::string_view>);
static_assert(!std::is_constructible_v<log::Field, log::Literal, const char*>);
static_assert(!std::is_constructible_v<log::Field, log::Literal, ByteSpan>);
static_assert(!std::is_constructible_v<log::SafeText, std::string>);
static_assert(!std::is_constructible_v<log::Literal, const char*>);

}  // namespace
}  // namespace confide
