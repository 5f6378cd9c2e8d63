#include "ohttp/chunked.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ohttp/ohttp.h"
#include "ohttp/varint.h"

namespace confide::ohttp {
namespace {

struct Fixture {
  Gateway gateway;
  KeyConfig config;
};

Fixture Make(uint16_t kem, uint16_t kdf, uint16_t aead) {
  auto key = GatewayKey::Generate(3, kem, {{kdf, aead}});
  EXPECT_TRUE(key.ok());
  KeyConfig config = key->config();
  std::vector<GatewayKey> keys;
  keys.push_back(*std::move(key));
  return Fixture{*Gateway::Create(std::move(keys)), config};
}

// Feeds `stream` to `feed` in pieces of `step` bytes, collecting plaintext chunks.
template <typename Receiver>
absl::StatusOr<std::vector<Bytes>> FeedAll(Receiver& r, const Bytes& stream, size_t step) {
  std::vector<Bytes> got;
  for (size_t i = 0; i < stream.size(); i += step) {
    ByteSpan piece = ByteSpan(stream).subspan(i, std::min(step, stream.size() - i));
    ASSIGN_OR_RETURN(std::vector<Bytes> chunks, r.Feed(piece));
    for (Bytes& c : chunks) got.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(Bytes last, r.Finish());
  got.push_back(std::move(last));
  return got;
}

class Chunked : public ::testing::TestWithParam<std::tuple<uint16_t, uint16_t, uint16_t>> {};

TEST_P(Chunked, StreamsBothWaysInAnyPieceSize) {
  auto [kem, kdf, aead] = GetParam();
  Fixture f = Make(kem, kdf, aead);
  const std::vector<std::string> request_chunks = {"POST /v1/chat", " {\"stream\":true}", ""};
  const std::vector<std::string> response_chunks = {"data: Once", "data: upon", "data: a time",
                                                    "data: [DONE]"};
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}}) {
    auto sender = ChunkedRequestSender::Create(f.config, {kdf, aead});
    ASSERT_TRUE(sender.ok()) << sender.status();
    Bytes stream = sender->header();
    for (size_t i = 0; i < request_chunks.size(); ++i) {
      bool final = i + 1 == request_chunks.size();
      auto framed = sender->SealChunk(AsBytes(request_chunks[i]), final);
      ASSERT_TRUE(framed.ok()) << framed.status();
      Append(stream, *framed);
    }
    ChunkedRequestReceiver receiver(f.gateway);
    auto got = FeedAll(receiver, stream, step);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), request_chunks.size());
    for (size_t i = 0; i < got->size(); ++i) EXPECT_EQ(AsStringView((*got)[i]), request_chunks[i]);

    auto rsender = receiver.ResponseSender();
    ASSERT_TRUE(rsender.ok()) << rsender.status();
    Bytes rstream = rsender->nonce_prefix();
    for (size_t i = 0; i < response_chunks.size(); ++i) {
      auto framed =
          rsender->SealChunk(AsBytes(response_chunks[i]), i + 1 == response_chunks.size());
      ASSERT_TRUE(framed.ok());
      Append(rstream, *framed);
    }
    auto rreceiver = sender->ResponseReceiver();
    ASSERT_TRUE(rreceiver.ok());
    auto rgot = FeedAll(*rreceiver, rstream, step);
    ASSERT_TRUE(rgot.ok()) << rgot.status();
    ASSERT_EQ(rgot->size(), response_chunks.size());
    for (size_t i = 0; i < rgot->size(); ++i) {
      EXPECT_EQ(AsStringView((*rgot)[i]), response_chunks[i]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, Chunked,
                         ::testing::Values(std::make_tuple(0x0020, 0x0001, 0x0001),
                                           std::make_tuple(0x0020, 0x0001, 0x0003),
                                           std::make_tuple(0x0010, 0x0003, 0x0002)));

// Builds a response stream of three chunks and returns it with the request sender.
struct Exchange {
  ChunkedRequestSender sender;
  Bytes response;
  std::vector<size_t> chunk_starts;  // offsets of each chunk's length prefix
};

Exchange MakeExchange(const Fixture& f) {
  auto sender = ChunkedRequestSender::Create(f.config, {0x0001, 0x0001});
  Bytes stream = sender->header();
  Append(stream, *sender->SealChunk(AsBytes("q"), true));
  ChunkedRequestReceiver receiver(f.gateway);
  EXPECT_TRUE(receiver.Feed(stream).ok());
  EXPECT_TRUE(receiver.Finish().ok());
  auto rs = receiver.ResponseSender();
  Bytes r = rs->nonce_prefix();
  std::vector<size_t> starts;
  for (const char* c : {"one", "two"}) {
    starts.push_back(r.size());
    Append(r, *rs->SealChunk(AsBytes(c), false));
  }
  starts.push_back(r.size());
  Append(r, *rs->SealChunk(AsBytes("three"), true));
  return Exchange{*std::move(sender), r, starts};
}

TEST(ChunkedAttacks, TruncationReorderingAndBitFlipsFail) {
  Fixture f = Make(0x0020, 0x0001, 0x0001);
  Exchange ex = MakeExchange(f);
  auto open = [&](const Bytes& stream) -> absl::Status {
    auto r = ex.sender.ResponseReceiver();
    if (!r.ok()) return r.status();
    auto got = FeedAll(*r, stream, 1000);
    return got.status();
  };
  ASSERT_TRUE(open(ex.response).ok());
  // Cutting the stream at any point before its end fails (the final chunk is authenticated).
  for (size_t len = 0; len < ex.response.size(); ++len) {
    EXPECT_FALSE(open(Bytes(ex.response.begin(), ex.response.begin() + len)).ok()) << len;
  }
  // Ending after a complete non-final chunk, relabelled as final, fails: "final" is in the AAD.
  Bytes relabelled(ex.response.begin(), ex.response.begin() + ex.chunk_starts[1]);
  relabelled.push_back(0);
  Append(relabelled, ByteSpan(ex.response).subspan(ex.chunk_starts[1] + 1, 3 + 16));
  EXPECT_FALSE(open(relabelled).ok());
  // Swapping the two non-final chunks fails (the counter is in the nonce).
  Bytes swapped(ex.response.begin(), ex.response.begin() + ex.chunk_starts[0]);
  Append(
      swapped,
      ByteSpan(ex.response).subspan(ex.chunk_starts[1], ex.chunk_starts[2] - ex.chunk_starts[1]));
  Append(
      swapped,
      ByteSpan(ex.response).subspan(ex.chunk_starts[0], ex.chunk_starts[1] - ex.chunk_starts[0]));
  Append(swapped, ByteSpan(ex.response).subspan(ex.chunk_starts[2]));
  EXPECT_FALSE(open(swapped).ok());
  // Every single-bit flip fails.
  for (size_t i = 0; i < ex.response.size(); ++i) {
    Bytes m = ex.response;
    m[i] ^= 0x10;
    EXPECT_FALSE(open(m).ok()) << i;
  }
}

TEST(ChunkedAttacks, RequestTruncationAndMisuse) {
  Fixture f = Make(0x0020, 0x0001, 0x0001);
  auto sender = ChunkedRequestSender::Create(f.config, {0x0001, 0x0001});
  EXPECT_FALSE(sender->SealChunk({}, false).ok());  // empty non-final chunk
  EXPECT_FALSE(sender->ResponseReceiver().ok());    // before the final chunk
  Bytes stream = sender->header();
  Append(stream, *sender->SealChunk(AsBytes("abc"), false));
  Append(stream, *sender->SealChunk(AsBytes("def"), true));
  EXPECT_FALSE(sender->SealChunk(AsBytes("x"), true).ok());  // after the end
  for (size_t len = 0; len < stream.size(); ++len) {
    ChunkedRequestReceiver r(f.gateway);
    auto fed = r.Feed(ByteSpan(stream).first(len));
    if (fed.ok()) {
      EXPECT_FALSE(r.Finish().ok()) << len;
    }
  }
  // An oversized declared chunk is refused without buffering it.
  ChunkedRequestReceiver r(f.gateway);
  Bytes huge = sender->header();
  AppendVarint(huge, kMaxChunkBytes + 1);
  EXPECT_FALSE(r.Feed(huge).ok());
  EXPECT_FALSE(r.Feed(AsBytes("x")).ok());  // stays failed
}

TEST(ChunkedAttacks, PlainAndChunkedAreNotInterchangeable) {
  Fixture f = Make(0x0020, 0x0001, 0x0001);
  // A chunked request does not open as a plain one: different labels.
  auto sender = ChunkedRequestSender::Create(f.config, {0x0001, 0x0001});
  Bytes stream = sender->header();
  Bytes framed = *sender->SealChunk(AsBytes("abc"), true);
  Append(stream, ByteSpan(framed).subspan(1));  // drop the 0 marker
  EXPECT_FALSE(f.gateway.DecapsulateRequest(stream).ok());
}

}  // namespace
}  // namespace confide::ohttp
