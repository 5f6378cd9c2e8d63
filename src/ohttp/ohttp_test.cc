#include "ohttp/ohttp.h"

#include <string>
#include <vector>

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "ohttp/bhttp.h"
#include "ohttp/varint.h"

namespace confide::ohttp {
namespace {

Bytes Hex(const std::string& h) { return *base::HexDecode(h); }

// RFC 9458 Appendix A: the complete worked example.
constexpr char kSkR[] = "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a";
constexpr char kKeyConfig[] =
    "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003";
constexpr char kRequest[] = "00034745540568747470730b6578616d706c652e636f6d012f";
constexpr char kSkE[] = "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73";
constexpr char kEncRequest[] =
    "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b4726374e469135906"
    "992e1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525";
constexpr char kResponse[] = "0140c8";
constexpr char kResponseNonce[] = "c789e7151fcba46158ca84b04464910d";
constexpr char kEncResponse[] =
    "c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f857fbd";

GatewayKey Rfc9458Key() {
  auto key = GatewayKey::FromPrivateKey(
      1, 0x0020, SecretBytes::CopyFrom(Hex(kSkR)),
      {SymmetricAlgorithm{0x0001, 0x0001}, SymmetricAlgorithm{0x0001, 0x0003}});
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

absl::StatusOr<Gateway> GatewayOf(GatewayKey key) {
  std::vector<GatewayKey> keys;
  keys.push_back(std::move(key));
  return Gateway::Create(std::move(keys));
}

TEST(Rfc9458AppendixA, KeyConfigurationEncodesAndDecodes) {
  GatewayKey key = Rfc9458Key();
  auto enc = EncodeKeyConfig(key.config());
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(base::HexEncode(*enc), kKeyConfig);
  auto dec = DecodeKeyConfig(Hex(kKeyConfig));
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(*dec, key.config());
}

TEST(Rfc9458AppendixA, RequestEncapsulationMatchesByteForByte) {
  GatewayKey key = Rfc9458Key();
  auto req = EncapsulateRequestForTesting(key.config(), {0x0001, 0x0001}, Hex(kRequest),
                                          SecretBytes::CopyFrom(Hex(kSkE)));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(base::HexEncode(req->encapsulated), kEncRequest);

  auto gateway = GatewayOf(Rfc9458Key());
  ASSERT_TRUE(gateway.ok());
  auto opened = gateway->DecapsulateRequest(Hex(kEncRequest));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(base::HexEncode(opened->request), kRequest);

  // The response, with the RFC's nonce, is byte-identical, and the client opens it.
  auto sealed = opened->context.EncapsulateResponseForTesting(Hex(kResponse), Hex(kResponseNonce));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(base::HexEncode(*sealed), kEncResponse);
  auto response = req->context.DecapsulateResponse(Hex(kEncResponse));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(base::HexEncode(*response), kResponse);
}

TEST(Rfc9458AppendixA, BinaryHttpMessagesDecode) {
  auto req = DecodeRequest(Hex(kRequest));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, "GET");
  EXPECT_EQ(req->scheme, "https");
  EXPECT_EQ(req->authority, "example.com");
  EXPECT_EQ(req->path, "/");
  EXPECT_TRUE(req->headers.empty());
  auto resp = DecodeResponse(Hex(kResponse));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
}

class RoundTrip : public ::testing::TestWithParam<std::tuple<uint16_t, uint16_t, uint16_t>> {};

TEST_P(RoundTrip, EverySuiteAndTamperingFails) {
  auto [kem, kdf, aead] = GetParam();
  auto key = GatewayKey::Generate(7, kem, {SymmetricAlgorithm{kdf, aead}});
  ASSERT_TRUE(key.ok()) << key.status();
  KeyConfig config = key->config();
  auto gateway = GatewayOf(*std::move(key));
  ASSERT_TRUE(gateway.ok());
  // A client learns the configuration from the encoded list (what attestation binds).
  auto configs = DecodeKeyConfigList(gateway->EncodedKeyConfigs());
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 1u);
  EXPECT_EQ(configs->front(), config);

  BhttpRequest r;
  r.method = "POST";
  r.authority = "enclave";
  r.path = "/v1/chat/completions";
  r.headers = {{"authorization", "Bearer tok"}, {"content-type", "application/json"}};
  r.content = ToBytes(R"({"messages":[{"role":"user","content":"hello"}]})");
  auto plain = EncodeRequest(r);
  ASSERT_TRUE(plain.ok());
  auto req = EncapsulateRequest(config, {kdf, aead}, *plain);
  ASSERT_TRUE(req.ok()) << req.status();
  auto opened = gateway->DecapsulateRequest(req->encapsulated);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto decoded = DecodeRequest(opened->request);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, r);

  BhttpResponse resp;
  resp.status = 200;
  resp.headers = {{"content-type", "application/json"}};
  resp.content = ToBytes(R"({"choices":[]})");
  auto resp_plain = EncodeResponse(resp);
  ASSERT_TRUE(resp_plain.ok());
  auto sealed = opened->context.EncapsulateResponse(*resp_plain);
  ASSERT_TRUE(sealed.ok());
  auto got = req->context.DecapsulateResponse(*sealed);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*DecodeResponse(*got), resp);

  // Every single-bit flip of the request and of the response is rejected.
  for (size_t i = 0; i < req->encapsulated.size(); ++i) {
    Bytes m = req->encapsulated;
    m[i] ^= 0x04;
    EXPECT_FALSE(gateway->DecapsulateRequest(m).ok()) << "request byte " << i;
  }
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes m = *sealed;
    m[i] ^= 0x04;
    auto bad = req->context.DecapsulateResponse(m);
    ASSERT_FALSE(bad.ok()) << "response byte " << i;
    EXPECT_EQ(bad.status().message(), "OHTTP decryption failed");
  }
  // Truncation at every length fails.
  for (size_t len = 0; len < req->encapsulated.size(); ++len) {
    EXPECT_FALSE(gateway->DecapsulateRequest(ByteSpan(req->encapsulated).first(len)).ok());
  }
  for (size_t len = 0; len < sealed->size(); ++len) {
    EXPECT_FALSE(req->context.DecapsulateResponse(ByteSpan(*sealed).first(len)).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, RoundTrip,
                         ::testing::Values(std::make_tuple(0x0020, 0x0001, 0x0001),
                                           std::make_tuple(0x0020, 0x0001, 0x0002),
                                           std::make_tuple(0x0020, 0x0001, 0x0003),
                                           std::make_tuple(0x0020, 0x0003, 0x0002),
                                           std::make_tuple(0x0010, 0x0001, 0x0001),
                                           std::make_tuple(0x0010, 0x0003, 0x0003)));

TEST(Gateway, RejectsUnknownKeyAndUnofferedAlgorithm) {
  auto key = GatewayKey::Generate(1, 0x0020, {{0x0001, 0x0001}});
  KeyConfig config = key->config();
  auto gateway = GatewayOf(*std::move(key));
  auto req = EncapsulateRequest(config, {0x0001, 0x0001}, AsBytes("x"));
  ASSERT_TRUE(req.ok());
  Bytes wrong_id = req->encapsulated;
  wrong_id[0] = 2;
  EXPECT_EQ(gateway->DecapsulateRequest(wrong_id).status().code(),
            absl::StatusCode::kInvalidArgument);
  Bytes wrong_aead = req->encapsulated;
  wrong_aead[6] = 3;  // ChaCha20-Poly1305, not offered
  EXPECT_EQ(gateway->DecapsulateRequest(wrong_aead).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(EncapsulateRequest(config, {0x0001, 0x0003}, AsBytes("x")).ok());
  // Two keys with one id are refused.
  auto a = GatewayKey::Generate(1, 0x0020, {{0x0001, 0x0001}});
  auto b = GatewayKey::Generate(1, 0x0020, {{0x0001, 0x0001}});
  std::vector<GatewayKey> keys;
  keys.push_back(*std::move(a));
  keys.push_back(*std::move(b));
  EXPECT_FALSE(Gateway::Create(std::move(keys)).ok());
}

TEST(KeyConfig, RejectsMalformed) {
  Bytes good = Hex(kKeyConfig);
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(DecodeKeyConfig(ByteSpan(good).first(len)).ok()) << len;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeKeyConfig(trailing).ok());
  Bytes bad_kem = good;
  bad_kem[2] = 0x21;  // X448: unsupported
  EXPECT_FALSE(DecodeKeyConfig(bad_kem).ok());
  // A list skips the unsupported configuration but keeps the supported one.
  Bytes list;
  for (const Bytes* c : {&bad_kem, &good}) {
    list.push_back(static_cast<uint8_t>(c->size() >> 8));
    list.push_back(static_cast<uint8_t>(c->size()));
    Append(list, *c);
  }
  auto configs = DecodeKeyConfigList(list);
  ASSERT_TRUE(configs.ok()) << configs.status();
  EXPECT_EQ(configs->size(), 1u);
}

TEST(Varint, Rfc9000Examples) {
  //= https://www.rfc-editor.org/rfc/rfc9000#appendix-A.1
  const std::vector<std::pair<std::string, uint64_t>> v = {
      {"c2197c5eff14e88c", 151288809941952652ull},
      {"9d7f3e7d", 494878333},
      {"7bbd", 15293},
      {"25", 37},
      {"4025", 37}};
  for (const auto& [hex, value] : v) {
    Bytes b = Hex(hex);
    base::ByteCursor c(b);
    uint64_t got;
    ASSERT_TRUE(ReadVarint(c, &got)) << hex;
    EXPECT_EQ(got, value);
    EXPECT_TRUE(c.empty());
  }
  Bytes out;
  AppendVarint(out, 151288809941952652ull);
  EXPECT_EQ(base::HexEncode(out), "c2197c5eff14e88c");
  Bytes truncated = Hex("9d7f3e");
  base::ByteCursor c(truncated);
  uint64_t x;
  EXPECT_FALSE(ReadVarint(c, &x));
  EXPECT_EQ(c.remaining(), 3u);
}

TEST(Bhttp, IndeterminateLengthAndPaddingAndErrors) {
  // Indeterminate-length request: framing 2, control data, one header, content in two chunks,
  // empty trailers, then padding.
  Bytes m = {2};
  for (std::string_view s : {"POST", "https", "a", "/p"}) {
    AppendVarint(m, s.size());
    Append(m, AsBytes(s));
  }
  AppendVarint(m, 1);
  m.push_back('x');
  AppendVarint(m, 1);
  m.push_back('y');
  AppendVarint(m, 0);  // end of headers
  AppendVarint(m, 2);
  Append(m, AsBytes("he"));
  AppendVarint(m, 3);
  Append(m, AsBytes("llo"));
  AppendVarint(m, 0);  // end of content
  AppendVarint(m, 0);  // empty trailers
  m.insert(m.end(), 5, 0);
  auto r = DecodeRequest(m);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(AsStringView(r->content), "hello");
  EXPECT_EQ(r->Header("x"), "y");
  // Non-zero padding, an upper-case field name, a response framing and truncation mid-section
  // are rejected.
  Bytes bad_pad = m;
  bad_pad.back() = 1;
  EXPECT_FALSE(DecodeRequest(bad_pad).ok());
  Bytes upper = m;
  ASSERT_EQ(upper[18], 'x');
  upper[18] = 'X';
  EXPECT_FALSE(DecodeRequest(upper).ok());
  EXPECT_FALSE(DecodeRequest(Hex(kResponse)).ok());
  EXPECT_FALSE(DecodeResponse(Hex(kRequest)).ok());
  for (size_t len = 0; len < 20; ++len) {
    auto t = DecodeRequest(ByteSpan(m).first(len));
    (void)t;  // must not crash; some prefixes are valid truncated messages
  }
  BhttpRequest huge;
  huge.headers.assign(300, Field{"a", "b"});
  auto enc = EncodeRequest(huge);
  ASSERT_TRUE(enc.ok());
  EXPECT_FALSE(DecodeRequest(*enc).ok());  // over max_fields
  BhttpRequest bad;
  bad.headers = {{"Bad", "x"}};
  EXPECT_FALSE(EncodeRequest(bad).ok());
  bad.headers = {{"ok", "line\r\nbreak"}};
  EXPECT_FALSE(EncodeRequest(bad).ok());
}

TEST(Bhttp, ResponseWithInformationalRoundTrips) {
  BhttpResponse r;
  r.informational = {{103, {{"link", "</a>; rel=preload"}}}};
  r.status = 404;
  r.headers = {{"content-type", "text/plain"}};
  r.content = ToBytes("not found");
  r.trailers = {{"x-t", "1"}};
  auto enc = EncodeResponse(r);
  ASSERT_TRUE(enc.ok());
  auto dec = DecodeResponse(*enc);
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(*dec, r);
  r.status = 99;
  EXPECT_FALSE(EncodeResponse(r).ok());
}

}  // namespace
}  // namespace confide::ohttp
