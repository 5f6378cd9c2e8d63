#include "llm/gguf.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llm/mapped_file.h"
#include "testing/testdata.h"

namespace confide::llm {
namespace {

Bytes F32Bytes(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// SmallFile has every value type and two tensors; the last tensor ends on an alignment
// boundary so that every strict prefix is a truncated file.
Bytes SmallFile() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.Set("u8", GgufValue::Uint(GgufType::kUint8, 200));
  w.Set("i8", GgufValue::Int(GgufType::kInt8, -5));
  w.Set("u16", GgufValue::Uint(GgufType::kUint16, 60000));
  w.Set("i16", GgufValue::Int(GgufType::kInt16, -30000));
  w.SetUint32("u32", 4000000000u);
  w.Set("i32", GgufValue::Int(GgufType::kInt32, -7));
  w.Set("u64", GgufValue::Uint(GgufType::kUint64, 1ull << 40));
  w.Set("i64", GgufValue::Int(GgufType::kInt64, -(1ll << 40)));
  w.SetFloat32("f32", 1.5f);
  w.Set("f64", GgufValue::Float(GgufType::kFloat64, 0.1));
  w.SetBool("b", true);
  w.Set("strs", GgufValue::StringArray({"a", "", "\xE2\x96\x81hello"}));
  w.Set("ints", GgufValue::IntArray(GgufType::kInt32, {1, -2, 3}));
  w.Set("floats", GgufValue::FloatArray(GgufType::kFloat32, {0.5, -0.25}));
  w.Set("bools", GgufValue::IntArray(GgufType::kBool, {0, 1}));
  EXPECT_TRUE(w.AddTensor("a", GgmlType::kF32, {3, 2}, F32Bytes({1, 2, 3, 4, 5, 6})).ok());
  EXPECT_TRUE(w.AddTensor("b", GgmlType::kF32, {8}, F32Bytes({1, 2, 3, 4, 5, 6, 7, 8})).ok());
  return w.Finish();
}

TEST(GgufTest, RoundTripsEveryValueType) {
  Bytes file = SmallFile();
  auto f = GgufFile::Parse(file);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->metadata().size(), 16u);
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  EXPECT_EQ(*f->GetUint("u8"), 200u);
  EXPECT_EQ(*f->GetInt("i8"), -5);
  EXPECT_EQ(*f->GetUint("u16"), 60000u);
  EXPECT_EQ(*f->GetInt("i16"), -30000);
  EXPECT_EQ(*f->GetUint("u32"), 4000000000u);
  EXPECT_EQ(*f->GetInt("u32"), 4000000000);  // any integer width
  EXPECT_EQ(*f->GetInt("i32"), -7);
  EXPECT_EQ(*f->GetUint("u64"), 1ull << 40);
  EXPECT_EQ(*f->GetInt("i64"), -(1ll << 40));
  EXPECT_EQ(*f->GetFloat("f32"), 1.5);
  EXPECT_EQ(*f->GetFloat("f64"), 0.1);
  EXPECT_TRUE(*f->GetBool("b"));
  EXPECT_EQ(**f->GetStringArray("strs"), (std::vector<std::string>{"a", "", "\xE2\x96\x81hello"}));
  EXPECT_EQ(**f->GetIntArray("ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(**f->GetFloatArray("floats"), (std::vector<double>{0.5, -0.25}));
  EXPECT_EQ(**f->GetIntArray("bools"), (std::vector<int64_t>{0, 1}));

  ASSERT_EQ(f->tensors().size(), 2u);
  const GgufTensor* a = f->FindTensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->num_dims, 2u);
  EXPECT_EQ(a->dims[0], 3u);
  EXPECT_EQ(a->dims[1], 2u);
  EXPECT_EQ(a->num_elements, 6u);
  EXPECT_EQ(a->size_bytes, 24u);
  EXPECT_EQ(Bytes(a->data.begin(), a->data.end()), F32Bytes({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f->FindTensor("b")->offset, 32u);
  EXPECT_EQ(f->data_offset() % 32, 0u);

  // Writer(Parse(x)) reproduces x byte for byte.
  auto w = GgufWriter::FromFile(*f);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->Finish(), file);
}

TEST(GgufTest, TypedGettersNameTheKey) {
  Bytes file = SmallFile();
  auto f = GgufFile::Parse(file);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->GetUint("missing").status().code(), absl::StatusCode::kNotFound);
  auto s = f->GetUint("general.architecture");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.status().message()).find("general.architecture"), std::string::npos);
  EXPECT_FALSE(f->GetUint("i8").ok());  // negative
  EXPECT_FALSE(f->GetFloat("u8").ok());
  EXPECT_FALSE(f->GetString("strs").ok());
  EXPECT_FALSE(f->GetStringArray("ints").ok());
  EXPECT_FALSE(f->GetIntArray("floats").ok());
  EXPECT_EQ(*f->GetUintOr("missing", 7), 7u);
  EXPECT_FALSE(f->GetUintOr("f32", 7).ok());
  EXPECT_EQ(*f->GetFloatOr("missing", 2.5), 2.5);
}

TEST(GgufTest, RejectsTruncationAtEveryLength) {
  Bytes file = SmallFile();
  ASSERT_TRUE(GgufFile::Parse(file).ok());
  for (size_t len = 0; len < file.size(); ++len) {
    auto f = GgufFile::Parse(ByteSpan(file.data(), len));
    EXPECT_FALSE(f.ok()) << "prefix of " << len << " bytes parsed";
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// Every bit flip in the header, metadata and tensor infos either fails cleanly or yields a file
// that re-serialises consistently (flips inside names or values can be valid).
TEST(GgufTest, BitFlipsInHeadersFailCleanlyOrStayConsistent) {
  Bytes file = SmallFile();
  auto f = GgufFile::Parse(file);
  ASSERT_TRUE(f.ok());
  const size_t header_end = static_cast<size_t>(f->data_offset());
  size_t rejected = 0, accepted = 0;
  for (size_t i = 0; i < header_end; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes m = file;
      m[i] ^= static_cast<uint8_t>(1 << bit);
      auto g = GgufFile::Parse(m);
      if (!g.ok()) {
        EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
        ++rejected;
        continue;
      }
      ++accepted;
      auto w = GgufWriter::FromFile(*g);
      ASSERT_TRUE(w.ok());
      auto again = GgufFile::Parse(w->Finish());
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->metadata(), g->metadata());
    }
  }
  EXPECT_GT(rejected, 0u);
  EXPECT_EQ(rejected + accepted, header_end * 8);
  // Flips in the magic, version and the high bytes of the counts are always rejected (except
  // version 3 -> 2, which is valid).
  for (size_t i : {0u, 1u, 2u, 3u, 4u, 5u, 14u, 22u}) {
    for (int bit = i == 4 ? 1 : 0; bit < 8; ++bit) {
      Bytes m = file;
      m[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(GgufFile::Parse(m).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

// Builds a raw header by hand for cases a writer refuses to produce.
struct Raw {
  Bytes b;
  Raw& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Raw& U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Raw& Str(const std::string& s) {
    U64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Raw& Header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    b = {'G', 'G', 'U', 'F'};
    return U32(version).U64(tensors).U64(kvs);
  }
};

void ExpectRejected(const Bytes& b, const std::string& needle) {
  auto f = GgufFile::Parse(b);
  ASSERT_FALSE(f.ok()) << "expected rejection mentioning " << needle;
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(f.status().message()).find(needle), std::string::npos)
      << f.status().message();
}

TEST(GgufTest, RejectsMalformedHeaders) {
  ExpectRejected(Raw().Header(0, 0, 1).b, "version 1");
  ExpectRejected(Raw().Header(0, 0, 4).b, "version 4");
  Bytes bad_magic = Raw().Header(0, 0).b;
  bad_magic[0] = 'X';
  ExpectRejected(bad_magic, "magic");
  EXPECT_TRUE(GgufFile::Parse(Raw().Header(0, 0, 2).b).ok());  // v2 is read
  // Counts over the caps or beyond the bytes left, before any allocation.
  ExpectRejected(Raw().Header(1ull << 40, 0).b, "tensors");
  ExpectRejected(Raw().Header(0, 1ull << 40).b, "metadata");
  ExpectRejected(Raw().Header(0, 1000).b, "truncated");
  // Key/value problems name the key.
  ExpectRejected(Raw().Header(0, 2).Str("k").U32(4).U32(1).Str("k").U32(4).U32(2).b,
                 "duplicate key k");
  ExpectRejected(Raw().Header(0, 1).Str("k").U32(13).U32(1).b, "key k has unknown value type");
  ExpectRejected(Raw().Header(0, 1).Str("flag").U32(7).b, "flag");  // truncated bool
  Raw bad_bool = Raw().Header(0, 1).Str("flag").U32(7);
  bad_bool.b.push_back(2);
  ExpectRejected(bad_bool.b, "not 0/1");
  ExpectRejected(Raw().Header(0, 1).Str("s").U32(8).U64(1ull << 50).b, "over the cap");
  ExpectRejected(Raw().Header(0, 1).Str("s").U32(8).U64(100).b, "truncated while reading key s");
  ExpectRejected(Raw().Header(0, 1).Str("arr").U32(9).U32(4).U64(1ull << 30).b, "arr");
  ExpectRejected(Raw().Header(0, 1).Str("arr").U32(9).U32(4).U64(1000).U32(1).b,
                 "truncated while reading key arr");
  ExpectRejected(Raw().Header(0, 1).Str("arr").U32(9).U32(9).U64(1).b, "nested");
  ExpectRejected(Raw().Header(0, 1).Str("arr").U32(9).U32(99).U64(1).b, "element type");
  // Alignment.
  ExpectRejected(Raw().Header(0, 1).Str("general.alignment").U32(4).U32(48).b, "general.alignment");
  ExpectRejected(Raw().Header(0, 1).Str("general.alignment").U32(4).U32(0).b, "general.alignment");
  ExpectRejected(Raw().Header(0, 1).Str("general.alignment").U32(8).Str("x").b,
                 "general.alignment");
  // An alignment stored as uint64 (any integer width) is accepted.
  auto wide = GgufFile::Parse(Raw().Header(0, 1).Str("general.alignment").U32(10).U64(64).b);
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(wide->alignment(), 64u);
}

TEST(GgufTest, RejectsBadTensorInfos) {
  auto tensor = [](Raw r, const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                   uint64_t offset) {
    r.Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) r.U64(d);
    return r.U32(type).U64(offset);
  };
  auto pad = [](Raw r, size_t data_bytes) {
    r.b.resize((r.b.size() + 31) / 32 * 32 + data_bytes, 0);
    return r.b;
  };
  // Good: one F32 tensor of 8 elements.
  EXPECT_TRUE(GgufFile::Parse(pad(tensor(Raw().Header(1, 0), "t", {8}, 0, 0), 32)).ok());
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {8}, 0, 0), 31), "tensor t data");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {8}, 0, 32), 32), "tensor t data");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {8}, 0, 16), 64), "tensor t offset");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {8}, 99, 0), 64), "tensor t");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {8}, 4, 0), 64), "tensor t");  // removed id
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {}, 0, 0), 64), "dimensions");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {1, 1, 1, 1, 1}, 0, 0), 64), "dimensions");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {8, 0}, 0, 0), 64), "bad shape");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {1ull << 40, 1ull << 40}, 0, 0), 64),
                 "bad shape");
  ExpectRejected(pad(tensor(Raw().Header(1, 0), "t", {16}, 8, 0), 64), "Q8_0 blocks");  // 16 % 32
  ExpectRejected(pad(tensor(Raw().Header(1, 0), std::string(65, 'n'), {8}, 0, 0), 64),
                 "over the cap");
  ExpectRejected(pad(tensor(tensor(Raw().Header(2, 0), "t", {8}, 0, 0), "t", {8}, 0, 32), 64),
                 "duplicate tensor t");
  ExpectRejected(pad(tensor(tensor(Raw().Header(2, 0), "t", {16}, 0, 0), "u", {8}, 0, 32), 128),
                 "overlaps");
}

TEST(GgufTest, WriterRejectsBadTensors) {
  GgufWriter w;
  EXPECT_FALSE(w.AddTensor("t", GgmlType::kF32, {3}, F32Bytes({1, 2})).ok());
  EXPECT_FALSE(w.AddTensor("t", GgmlType::kF32, {}, {}).ok());
  EXPECT_FALSE(w.AddTensor("t", GgmlType::kQ8_0, {16}, Bytes(17)).ok());
  EXPECT_TRUE(w.AddTensor("t", GgmlType::kQ8_0, {32}, Bytes(34)).ok());
  EXPECT_FALSE(w.AddTensor("t", GgmlType::kF32, {1}, F32Bytes({1})).ok());
  GgufWriter w64(64);
  ASSERT_TRUE(w64.AddTensor("x", GgmlType::kF32, {1}, F32Bytes({1})).ok());
  ASSERT_TRUE(w64.AddTensor("y", GgmlType::kF32, {1}, F32Bytes({2})).ok());
  auto f = GgufFile::Parse(w64.Finish());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->FindTensor("y")->offset, 64u);
}

// The real stories260K.gguf, as described in ../shared/models/SOURCES.md.
TEST(GgufTest, ReadsStories260K) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto m = MappedFile::Open(path.string());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->bytes().size(), 1185376u);
  auto f = GgufFile::Parse(m->bytes());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->metadata().size(), 19u);
  EXPECT_EQ(f->tensors().size(), 48u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset(), 14176u);
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  EXPECT_EQ(*f->GetUint("llama.embedding_length"), 64u);
  EXPECT_EQ((*f->GetStringArray("tokenizer.ggml.tokens"))->size(), 512u);
  for (const auto& t : f->tensors()) EXPECT_EQ(t.type, GgmlType::kF32) << t.name;
  // Writer(Parse(file)) reproduces the real file byte for byte.
  auto w = GgufWriter::FromFile(*f);
  ASSERT_TRUE(w.ok());
  Bytes again = w->Finish();
  EXPECT_TRUE(again.size() == m->bytes().size() &&
              std::memcmp(again.data(), m->bytes().data(), again.size()) == 0);
  // Truncations of the real file (inside the header, and in the data) are rejected.
  for (size_t len : {0ul, 10ul, 100ul, 1000ul, 14000ul, 14176ul, 600000ul, 1185375ul}) {
    EXPECT_FALSE(GgufFile::Parse(m->bytes().first(len)).ok()) << len;
  }
}

TEST(MappedFileTest, ErrorsAndLocking) {
  EXPECT_EQ(MappedFile::Open("/nonexistent/x.gguf").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MappedFile::Open("/tmp").status().code(), absl::StatusCode::kInvalidArgument);
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto locked = MappedFile::Open(path.string(), {.lock = true});
  // mlock can be refused by RLIMIT_MEMLOCK; then the error says so.
  if (locked.ok()) {
    EXPECT_TRUE(locked->locked());
    MappedFile moved = std::move(*locked);
    EXPECT_TRUE(moved.locked());
    EXPECT_EQ(moved.bytes().size(), 1185376u);
  } else {
    EXPECT_EQ(locked.status().code(), absl::StatusCode::kResourceExhausted);
  }
}

}  // namespace
}  // namespace confide::llm
