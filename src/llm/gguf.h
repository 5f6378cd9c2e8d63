// confide::llm GGUF: a bounded reader and a writer for ggml's GGUF v2/v3 model files.
//
//= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
//# GGUF files are structured as follows. They use a global alignment specified in the
//# `general.alignment` metadata field, referred to as `ALIGNMENT` below. Where required, the file
//# is padded with `0x00` bytes to the next multiple of `general.alignment`.
//
// The reader works over a borrowed span (an mmap'ed file or a buffer another module decrypted):
// metadata is copied out, tensor data is returned as views into that span, so the span must
// outlive every GgufTensor::data taken from it. Every count and length is checked against the
// bytes left and a hard cap before anything is allocated.
#ifndef CONFIDE_LLM_GGUF_H_
#define CONFIDE_LLM_GGUF_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::llm {

//= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
//# enum gguf_metadata_value_type: uint32_t { GGUF_METADATA_VALUE_TYPE_UINT8 = 0, ... INT8 = 1,
//# UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
//# UINT64 = 10, INT64 = 11, FLOAT64 = 12 }
// GgufType is the type of a metadata value (or of an array's elements).
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// GgmlType is a tensor's element type (ggml.h's enum ggml_type; ids 4 and 5 were removed).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

// GgmlTypeName returns "F32", "Q8_0", ... or "unknown".
const char* GgmlTypeName(GgmlType type);
// GgufTypeName returns "uint8", "string", ... or "unknown".
const char* GgufTypeName(GgufType type);

// GgmlBlockInfo describes how a type packs elements: `block_elems` elements take `block_bytes`.
struct GgmlBlockInfo {
  uint32_t block_elems = 0;
  uint32_t block_bytes = 0;
};

// GgmlTypeBlock returns the block layout of `type`; InvalidArgument for an id this reader does
// not know (IQ* types among them).
absl::StatusOr<GgmlBlockInfo> GgmlTypeBlock(GgmlType type);

// GgmlRowBytes returns the bytes taken by `num_elements` consecutive elements of `type`;
// InvalidArgument if the type is unknown or `num_elements` is not a whole number of blocks.
absl::StatusOr<uint64_t> GgmlRowBytes(GgmlType type, uint64_t num_elements);

// GgufValue is one metadata value: a scalar or a one-level array. Integers keep their declared
// width (type()) so a writer reproduces them; getters accept any integer width.
class GgufValue {
 public:
  GgufValue() = default;
  // Scalar constructors.
  static GgufValue Uint(GgufType type, uint64_t v);
  static GgufValue Int(GgufType type, int64_t v);
  static GgufValue Float(GgufType type, double v);
  static GgufValue Bool(bool v);
  static GgufValue String(std::string v);
  // Array constructors; `elem_type` must be an integer type (or bool) for IntArray, a float type
  // for FloatArray.
  static GgufValue IntArray(GgufType elem_type, std::vector<int64_t> v);
  static GgufValue FloatArray(GgufType elem_type, std::vector<double> v);
  static GgufValue StringArray(std::vector<std::string> v);

  // type returns the value's type (kArray for arrays).
  GgufType type() const { return type_; }
  // array_type returns the element type of an array (meaningless for scalars).
  GgufType array_type() const { return array_type_; }
  // is_array returns true for arrays.
  bool is_array() const { return type_ == GgufType::kArray; }
  // array_size returns the number of elements of an array, 0 for scalars.
  size_t array_size() const;

  // AsUint returns an integer scalar of any width as uint64; InvalidArgument if it is not an
  // integer or is negative.
  absl::StatusOr<uint64_t> AsUint() const;
  // AsInt returns an integer scalar of any width as int64; InvalidArgument if it is not an
  // integer or does not fit.
  absl::StatusOr<int64_t> AsInt() const;
  // AsFloat returns a float32/float64 scalar; InvalidArgument otherwise.
  absl::StatusOr<double> AsFloat() const;
  // AsBool returns a bool scalar; InvalidArgument otherwise.
  absl::StatusOr<bool> AsBool() const;
  // AsString returns a string scalar; InvalidArgument otherwise. The pointer lives as long as
  // the value.
  absl::StatusOr<const std::string*> AsString() const;
  // AsStrings / AsInts / AsFloats return an array of strings / integers (any width, bools as 0
  // or 1) / floats; InvalidArgument for any other value. Pointers live as long as the value.
  absl::StatusOr<const std::vector<std::string>*> AsStrings() const;
  absl::StatusOr<const std::vector<int64_t>*> AsInts() const;
  absl::StatusOr<const std::vector<double>*> AsFloats() const;

  // Raw accessors for the writer and for tests.
  uint64_t raw_uint() const { return u_; }
  int64_t raw_int() const { return i_; }
  double raw_float() const { return f_; }
  const std::string& raw_string() const { return s_; }
  const std::vector<int64_t>& raw_ints() const { return ints_; }
  const std::vector<double>& raw_floats() const { return floats_; }
  const std::vector<std::string>& raw_strings() const { return strings_; }

  friend bool operator==(const GgufValue& a, const GgufValue& b);

 private:
  GgufType type_ = GgufType::kUint8;
  GgufType array_type_ = GgufType::kUint8;
  uint64_t u_ = 0;  // unsigned scalars
  int64_t i_ = 0;   // signed scalars, bool
  double f_ = 0;    // float scalars
  std::string s_;   // string scalar
  std::vector<int64_t> ints_;
  std::vector<double> floats_;
  std::vector<std::string> strings_;
};

// kGgmlMaxDims is ggml's GGML_MAX_DIMS.
inline constexpr uint32_t kGgmlMaxDims = 4;

// GgufTensor describes one tensor. dims[0] is the innermost (row) length, as in ggml's ne[].
struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  uint32_t num_dims = 0;
  std::array<uint64_t, kGgmlMaxDims> dims = {1, 1, 1, 1};
  uint64_t num_elements = 0;
  uint64_t offset = 0;      // from the start of the tensor data section
  uint64_t size_bytes = 0;  // GgmlRowBytes(type, dims[0]) * rows
  ByteSpan data;            // view into the parsed span (empty for tensors from a writer)
};

// GgufLimits caps what the reader accepts before allocating (the defaults fit every real
// llama/qwen2 model: vocabularies of 152k tokens, merges of ~300k, templates of some KB).
struct GgufLimits {
  uint64_t max_tensors = 65536;
  uint64_t max_kv = 65536;
  uint64_t max_string_bytes = 1 << 20;  // one string (a chat template, a key)
  uint64_t max_array_elems = 1u << 24;  // one array
  uint64_t max_key_bytes = 65535;       // per the spec, keys are at most 2^16-1 bytes
  uint64_t max_tensor_name_bytes = 64;  // ggml's GGML_MAX_NAME
};

// kGgufDefaultAlignment is used when general.alignment is absent.
inline constexpr uint64_t kGgufDefaultAlignment = 32;

// GgufFile is a parsed GGUF file: metadata in file order, tensors in file order.
class GgufFile {
 public:
  // Parse reads a GGUF v2 or v3 file from `bytes`. InvalidArgument naming the offending field,
  // key or tensor when the file is truncated, exceeds `limits`, has duplicate keys or tensors,
  // an unknown value or tensor type, a bad alignment, or tensor data outside the file. Tensor
  // data views point into `bytes`, which must outlive them.
  static absl::StatusOr<GgufFile> Parse(ByteSpan bytes, const GgufLimits& limits = {});

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // data_offset returns the file offset of the tensor data section.
  uint64_t data_offset() const { return data_offset_; }

  // metadata returns every key/value pair in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  // tensors returns every tensor in file order.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

  // Find returns the value of `key`, or nullptr.
  const GgufValue* Find(std::string_view key) const;
  // FindTensor returns the tensor called `name`, or nullptr.
  const GgufTensor* FindTensor(std::string_view name) const;

  // Typed getters: NotFound if `key` is absent, InvalidArgument (naming the key) if its value
  // has another type. Integer getters accept any integer width.
  absl::StatusOr<uint64_t> GetUint(std::string_view key) const;
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;
  absl::StatusOr<double> GetFloat(std::string_view key) const;
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<std::string> GetString(std::string_view key) const;
  absl::StatusOr<const std::vector<std::string>*> GetStringArray(std::string_view key) const;
  absl::StatusOr<const std::vector<int64_t>*> GetIntArray(std::string_view key) const;
  absl::StatusOr<const std::vector<double>*> GetFloatArray(std::string_view key) const;
  // GetUintOr / GetFloatOr return `fallback` when `key` is absent; InvalidArgument when it is
  // present with another type.
  absl::StatusOr<uint64_t> GetUintOr(std::string_view key, uint64_t fallback) const;
  absl::StatusOr<double> GetFloatOr(std::string_view key, double fallback) const;

 private:
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// GgufWriter builds a GGUF v3 file in memory (for tests and tools). Not thread-safe.
class GgufWriter {
 public:
  // GgufWriter starts an empty file with the given alignment (a power of two); an alignment
  // other than 32 is also written as general.alignment (uint32).
  explicit GgufWriter(uint64_t alignment = kGgufDefaultAlignment);

  // Set adds or replaces metadata `key`. Keys keep the order of their first Set.
  void Set(std::string key, GgufValue value);
  // Convenience setters for the common types.
  void SetUint32(std::string key, uint32_t v);
  void SetFloat32(std::string key, float v);
  void SetString(std::string key, std::string v);
  void SetBool(std::string key, bool v);

  // AddTensor appends a tensor with `dims` (innermost first) and raw `data`. InvalidArgument if
  // the name is taken or too long, dims are empty/too many/zero, or `data` has the wrong size.
  absl::Status AddTensor(std::string name, GgmlType type, std::vector<uint64_t> dims,
                         ByteSpan data);

  // Finish returns the serialised file.
  Bytes Finish() const;

  // FromFile returns a writer holding `file`'s metadata and tensors (data copied from their
  // views), so that Finish() re-serialises it.
  static absl::StatusOr<GgufWriter> FromFile(const GgufFile& file);

 private:
  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> dims;
    Bytes data;
  };
  std::vector<PendingTensor> tensors_;
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_GGUF_H_
