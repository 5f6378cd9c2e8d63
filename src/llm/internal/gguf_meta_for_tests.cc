#include "llm/internal/gguf_meta_for_tests.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"

namespace confide::llm::internal {
namespace {

// GGUF value types (ggml docs/gguf.md, enum gguf_metadata_value_type).
enum : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

constexpr uint64_t kMaxKeys = 1 << 16;
constexpr uint64_t kMaxStringBytes = 1 << 24;
constexpr int kMaxDepth = 4;

absl::Status Truncated(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("gguf: truncated or oversized ", what));
}

// Value holds the metadata values this reader keeps.
struct Value {
  uint32_t type = 0;
  std::optional<int64_t> integer;
  std::optional<float> real;
  std::optional<bool> boolean;
  std::string string;
  uint32_t element_type = 0;
  std::vector<std::string> strings;
  std::vector<float> floats;
  std::vector<int64_t> integers;
};

class Reader {
 public:
  explicit Reader(ByteSpan data) : cur_(data) {}

  absl::StatusOr<std::string> String(const std::string& what) {
    uint64_t len = 0;
    ByteSpan bytes;
    if (!cur_.ReadU64LE(&len) || len > kMaxStringBytes || len > cur_.remaining() ||
        !cur_.ReadBytes(static_cast<size_t>(len), &bytes)) {
      return Truncated(what);
    }
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  absl::StatusOr<uint64_t> U64(const std::string& what) {
    uint64_t v = 0;
    if (!cur_.ReadU64LE(&v)) return Truncated(what);
    return v;
  }

  absl::StatusOr<uint32_t> U32(const std::string& what) {
    uint32_t v = 0;
    if (!cur_.ReadU32LE(&v)) return Truncated(what);
    return v;
  }

  // Scalar reads one value of scalar `type` into `out`.
  absl::Status Scalar(uint32_t type, Value* out, const std::string& key) {
    uint8_t b = 0;
    uint16_t h = 0;
    uint32_t w = 0;
    uint64_t d = 0;
    switch (type) {
      case kU8:
      case kI8:
      case kBool:
        if (!cur_.ReadU8(&b)) return Truncated(key);
        if (type == kBool) {
          if (b > 1) return absl::InvalidArgumentError(absl::StrCat("gguf: bad bool in ", key));
          out->boolean = b == 1;
        } else {
          out->integer = type == kU8 ? int64_t{b} : int64_t{static_cast<int8_t>(b)};
        }
        return absl::OkStatus();
      case kU16:
      case kI16:
        if (!cur_.ReadU16LE(&h)) return Truncated(key);
        out->integer = type == kU16 ? int64_t{h} : int64_t{static_cast<int16_t>(h)};
        return absl::OkStatus();
      case kU32:
      case kI32:
      case kF32:
        if (!cur_.ReadU32LE(&w)) return Truncated(key);
        if (type == kF32) {
          float f;
          std::memcpy(&f, &w, sizeof(f));
          out->real = f;
        } else {
          out->integer = type == kU32 ? int64_t{w} : int64_t{static_cast<int32_t>(w)};
        }
        return absl::OkStatus();
      case kU64:
      case kI64:
      case kF64:
        if (!cur_.ReadU64LE(&d)) return Truncated(key);
        if (type == kF64) {
          double f;
          std::memcpy(&f, &d, sizeof(f));
          out->real = static_cast<float>(f);
        } else {
          out->integer = static_cast<int64_t>(d);
        }
        return absl::OkStatus();
      case kString: {
        ASSIGN_OR_RETURN(out->string, String(key));
        return absl::OkStatus();
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat("gguf: unknown value type in ", key));
    }
  }

  absl::Status Read(uint32_t type, Value* out, const std::string& key, int depth) {
    out->type = type;
    if (type != kArray) return Scalar(type, out, key);
    if (depth >= kMaxDepth) return absl::InvalidArgumentError("gguf: arrays nested too deeply");
    ASSIGN_OR_RETURN(out->element_type, U32(key));
    ASSIGN_OR_RETURN(const uint64_t count, U64(key));
    // Every element takes at least one byte (strings at least eight).
    const uint64_t min_size = out->element_type == kString ? 8 : 1;
    if (count > cur_.remaining() / min_size) return Truncated(key);
    for (uint64_t i = 0; i < count; ++i) {
      Value v;
      RETURN_IF_ERROR(Read(out->element_type, &v, key, depth + 1));
      if (out->element_type == kString) {
        out->strings.push_back(std::move(v.string));
      } else if (v.real) {
        out->floats.push_back(*v.real);
      } else if (v.integer) {
        out->integers.push_back(*v.integer);
      }
    }
    return absl::OkStatus();
  }

 private:
  base::ByteCursor cur_;
};

}  // namespace

absl::StatusOr<TokenizerVocab> VocabFromGgufForTests(ByteSpan file, std::string* chat_template) {
  Reader r(file);
  ASSIGN_OR_RETURN(const uint32_t magic, r.U32("magic"));
  if (magic != 0x46554747) return absl::InvalidArgumentError("gguf: bad magic");  // "GGUF"
  ASSIGN_OR_RETURN(const uint32_t version, r.U32("version"));
  if (version != 2 && version != 3) return absl::InvalidArgumentError("gguf: unsupported version");
  ASSIGN_OR_RETURN(const uint64_t n_tensors, r.U64("tensor count"));
  ASSIGN_OR_RETURN(const uint64_t n_kv, r.U64("metadata count"));
  (void)n_tensors;
  if (n_kv > kMaxKeys) return absl::InvalidArgumentError("gguf: too many metadata keys");

  TokenizerVocab vocab;
  if (chat_template) chat_template->clear();
  std::set<std::string> seen;
  for (uint64_t i = 0; i < n_kv; ++i) {
    ASSIGN_OR_RETURN(std::string key, r.String("metadata key"));
    if (!seen.insert(key).second) return absl::InvalidArgumentError("gguf: duplicate metadata key");
    ASSIGN_OR_RETURN(const uint32_t type, r.U32(key));
    Value v;
    RETURN_IF_ERROR(r.Read(type, &v, key, 0));
    const auto want = [&](uint32_t t) -> absl::Status {
      if (type != t) return absl::InvalidArgumentError(absl::StrCat("gguf: wrong type for ", key));
      return absl::OkStatus();
    };
    const auto id = [&](TokenId* out) -> absl::Status {
      if (!v.integer || *v.integer < 0 || *v.integer > INT32_MAX) {
        return absl::InvalidArgumentError(absl::StrCat("gguf: bad token id in ", key));
      }
      *out = static_cast<TokenId>(*v.integer);
      return absl::OkStatus();
    };
    if (key == "tokenizer.ggml.model") {
      RETURN_IF_ERROR(want(kString));
      vocab.model = v.string;
    } else if (key == "tokenizer.ggml.pre") {
      RETURN_IF_ERROR(want(kString));
      vocab.pre = v.string;
    } else if (key == "tokenizer.ggml.tokens") {
      RETURN_IF_ERROR(want(kArray));
      vocab.tokens = std::move(v.strings);
    } else if (key == "tokenizer.ggml.merges") {
      RETURN_IF_ERROR(want(kArray));
      vocab.merges = std::move(v.strings);
    } else if (key == "tokenizer.ggml.scores") {
      RETURN_IF_ERROR(want(kArray));
      vocab.scores = std::move(v.floats);
    } else if (key == "tokenizer.ggml.token_type") {
      RETURN_IF_ERROR(want(kArray));
      for (int64_t t : v.integers) vocab.token_type.push_back(static_cast<int32_t>(t));
    } else if (key == "tokenizer.ggml.bos_token_id") {
      RETURN_IF_ERROR(id(&vocab.bos_id));
    } else if (key == "tokenizer.ggml.eos_token_id") {
      RETURN_IF_ERROR(id(&vocab.eos_id));
    } else if (key == "tokenizer.ggml.eot_token_id") {
      RETURN_IF_ERROR(id(&vocab.eot_id));
    } else if (key == "tokenizer.ggml.unknown_token_id") {
      RETURN_IF_ERROR(id(&vocab.unk_id));
    } else if (key == "tokenizer.ggml.padding_token_id") {
      RETURN_IF_ERROR(id(&vocab.pad_id));
    } else if (key == "tokenizer.ggml.add_bos_token") {
      RETURN_IF_ERROR(want(kBool));
      vocab.add_bos = v.boolean;
    } else if (key == "tokenizer.ggml.add_eos_token") {
      RETURN_IF_ERROR(want(kBool));
      vocab.add_eos = v.boolean;
    } else if (key == "tokenizer.ggml.add_space_prefix") {
      RETURN_IF_ERROR(want(kBool));
      vocab.add_space_prefix = v.boolean;
    } else if (key == "tokenizer.chat_template" && chat_template) {
      RETURN_IF_ERROR(want(kString));
      *chat_template = v.string;
    }
  }
  return vocab;
}

}  // namespace confide::llm::internal
