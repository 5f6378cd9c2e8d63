#include "llm/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"

namespace confide::llm {
namespace {

using base::ByteCursor;

//= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
//# uint32_t magic; // Magic number to announce that this is a GGUF file. Must be `GGUF` at the
//# byte level: `0x47` `0x47` `0x55` `0x46`.
constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};

bool IsIntegerType(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

bool IsSignedType(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}

bool IsFloatType(GgufType t) { return t == GgufType::kFloat32 || t == GgufType::kFloat64; }

// ScalarBytes returns the encoded size of a fixed-size scalar type, 0 for string/array/unknown.
size_t ScalarBytes(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

bool IsKnownValueType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kFloat64); }

absl::Status Truncated(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("gguf: truncated while reading ", what));
}

// Reader holds the cursor and limits while parsing.
class Reader {
 public:
  Reader(ByteSpan bytes, const GgufLimits& limits) : cur_(bytes), limits_(limits) {}

  ByteCursor& cursor() { return cur_; }

  absl::Status U32(uint32_t* out, const std::string& what) {
    if (!cur_.ReadU32LE(out)) return Truncated(what);
    return absl::OkStatus();
  }
  absl::Status U64(uint64_t* out, const std::string& what) {
    if (!cur_.ReadU64LE(out)) return Truncated(what);
    return absl::OkStatus();
  }

  //= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
  //# struct gguf_string_t { uint64_t len; char string[len]; }
  absl::Status String(uint64_t cap, std::string* out, const std::string& what) {
    uint64_t len = 0;
    RETURN_IF_ERROR(U64(&len, what + " length"));
    if (len > cap) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: ", what, " is ", len, " bytes, over the cap of ", cap));
    }
    if (len > cur_.remaining()) return Truncated(what);
    ByteSpan b;
    if (!cur_.ReadBytes(static_cast<size_t>(len), &b)) return Truncated(what);
    out->assign(reinterpret_cast<const char*>(b.data()), b.size());
    return absl::OkStatus();
  }

  // Scalar reads one fixed-size scalar of type `t` into `v`.
  absl::Status Scalar(GgufType t, GgufValue* v, const std::string& what) {
    switch (t) {
      case GgufType::kUint8:
      case GgufType::kInt8: {
        uint8_t x = 0;
        if (!cur_.ReadU8(&x)) return Truncated(what);
        *v = t == GgufType::kUint8 ? GgufValue::Uint(t, x)
                                   : GgufValue::Int(t, static_cast<int8_t>(x));
        return absl::OkStatus();
      }
      case GgufType::kUint16:
      case GgufType::kInt16: {
        uint16_t x = 0;
        if (!cur_.ReadU16LE(&x)) return Truncated(what);
        *v = t == GgufType::kUint16 ? GgufValue::Uint(t, x)
                                    : GgufValue::Int(t, static_cast<int16_t>(x));
        return absl::OkStatus();
      }
      case GgufType::kUint32:
      case GgufType::kInt32:
      case GgufType::kFloat32: {
        uint32_t x = 0;
        if (!cur_.ReadU32LE(&x)) return Truncated(what);
        if (t == GgufType::kFloat32) {
          float f;
          std::memcpy(&f, &x, 4);
          *v = GgufValue::Float(t, f);
        } else {
          *v = t == GgufType::kUint32 ? GgufValue::Uint(t, x)
                                      : GgufValue::Int(t, static_cast<int32_t>(x));
        }
        return absl::OkStatus();
      }
      case GgufType::kUint64:
      case GgufType::kInt64:
      case GgufType::kFloat64: {
        uint64_t x = 0;
        if (!cur_.ReadU64LE(&x)) return Truncated(what);
        if (t == GgufType::kFloat64) {
          double f;
          std::memcpy(&f, &x, 8);
          *v = GgufValue::Float(t, f);
        } else {
          *v = t == GgufType::kUint64 ? GgufValue::Uint(t, x)
                                      : GgufValue::Int(t, static_cast<int64_t>(x));
        }
        return absl::OkStatus();
      }
      case GgufType::kBool: {
        uint8_t x = 0;
        if (!cur_.ReadU8(&x)) return Truncated(what);
        //= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
        //# 1-byte value where 0 is false and 1 is true. Anything else is invalid
        if (x > 1) return absl::InvalidArgumentError(absl::StrCat("gguf: ", what, " is not 0/1"));
        *v = GgufValue::Bool(x == 1);
        return absl::OkStatus();
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat("gguf: ", what, " has a bad type"));
    }
  }

  absl::Status Value(GgufType t, GgufValue* v, const std::string& what) {
    if (t == GgufType::kString) {
      std::string s;
      RETURN_IF_ERROR(String(limits_.max_string_bytes, &s, what));
      *v = GgufValue::String(std::move(s));
      return absl::OkStatus();
    }
    if (t != GgufType::kArray) return Scalar(t, v, what);

    uint32_t raw_elem = 0;
    uint64_t count = 0;
    RETURN_IF_ERROR(U32(&raw_elem, what + " array type"));
    RETURN_IF_ERROR(U64(&count, what + " array length"));
    if (!IsKnownValueType(raw_elem)) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: ", what, " has unknown array element type ", raw_elem));
    }
    GgufType elem = static_cast<GgufType>(raw_elem);
    // Nested arrays are allowed by the spec but used by no model; ggml's reader rejects them too.
    if (elem == GgufType::kArray) {
      return absl::InvalidArgumentError(absl::StrCat("gguf: ", what, " is a nested array"));
    }
    if (count > limits_.max_array_elems) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gguf: ", what, " has ", count, " elements, over the cap of ", limits_.max_array_elems));
    }
    // Every element takes at least this many bytes: check before reserving.
    uint64_t min_bytes = elem == GgufType::kString ? 8 : ScalarBytes(elem);
    if (count > cur_.remaining() / min_bytes) return Truncated(what + " array");
    if (elem == GgufType::kString) {
      std::vector<std::string> strs(static_cast<size_t>(count));
      for (auto& s : strs) RETURN_IF_ERROR(String(limits_.max_string_bytes, &s, what));
      *v = GgufValue::StringArray(std::move(strs));
    } else if (IsFloatType(elem)) {
      std::vector<double> fs(static_cast<size_t>(count));
      GgufValue one;
      for (auto& f : fs) {
        RETURN_IF_ERROR(Scalar(elem, &one, what));
        f = one.raw_float();
      }
      *v = GgufValue::FloatArray(elem, std::move(fs));
    } else {
      std::vector<int64_t> is(static_cast<size_t>(count));
      GgufValue one;
      for (auto& i : is) {
        RETURN_IF_ERROR(Scalar(elem, &one, what));
        if (elem == GgufType::kUint64) {
          if (one.raw_uint() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return absl::InvalidArgumentError(
                absl::StrCat("gguf: ", what, " holds a uint64 too large for this reader"));
          }
          i = static_cast<int64_t>(one.raw_uint());
        } else if (IsSignedType(elem) || elem == GgufType::kBool) {
          i = one.raw_int();
        } else {
          i = static_cast<int64_t>(one.raw_uint());
        }
      }
      *v = GgufValue::IntArray(elem, std::move(is));
    }
    return absl::OkStatus();
  }

 private:
  ByteCursor cur_;
  const GgufLimits& limits_;
};

std::string KeyError(std::string_view key, const absl::Status& s) {
  return absl::StrCat("gguf: key ", std::string(key), ": ", std::string(s.message()));
}

void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutString(Bytes& out, const std::string& s) {
  PutU64(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
void PutScalar(Bytes& out, GgufType t, uint64_t bits) {
  size_t n = ScalarBytes(t);
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(bits >> (8 * i)));
}
uint64_t FloatBits(GgufType t, double v) {
  if (t == GgufType::kFloat32) {
    float f = static_cast<float>(v);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  }
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

void PutValue(Bytes& out, const GgufValue& v) {
  PutU32(out, static_cast<uint32_t>(v.type()));
  switch (v.type()) {
    case GgufType::kString:
      PutString(out, v.raw_string());
      return;
    case GgufType::kArray: {
      GgufType e = v.array_type();
      PutU32(out, static_cast<uint32_t>(e));
      PutU64(out, v.array_size());
      if (e == GgufType::kString) {
        for (const auto& s : v.raw_strings()) PutString(out, s);
      } else if (IsFloatType(e)) {
        for (double f : v.raw_floats()) PutScalar(out, e, FloatBits(e, f));
      } else {
        for (int64_t i : v.raw_ints()) PutScalar(out, e, static_cast<uint64_t>(i));
      }
      return;
    }
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      PutScalar(out, v.type(), FloatBits(v.type(), v.raw_float()));
      return;
    case GgufType::kBool:
      out.push_back(v.raw_int() ? 1 : 0);
      return;
    default:
      PutScalar(out, v.type(),
                IsSignedType(v.type()) ? static_cast<uint64_t>(v.raw_int()) : v.raw_uint());
      return;
  }
}

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

const char* GgmlTypeName(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kQ4_0:
      return "Q4_0";
    case GgmlType::kQ4_1:
      return "Q4_1";
    case GgmlType::kQ5_0:
      return "Q5_0";
    case GgmlType::kQ5_1:
      return "Q5_1";
    case GgmlType::kQ8_0:
      return "Q8_0";
    case GgmlType::kQ8_1:
      return "Q8_1";
    case GgmlType::kQ2_K:
      return "Q2_K";
    case GgmlType::kQ3_K:
      return "Q3_K";
    case GgmlType::kQ4_K:
      return "Q4_K";
    case GgmlType::kQ5_K:
      return "Q5_K";
    case GgmlType::kQ6_K:
      return "Q6_K";
    case GgmlType::kQ8_K:
      return "Q8_K";
    case GgmlType::kI8:
      return "I8";
    case GgmlType::kI16:
      return "I16";
    case GgmlType::kI32:
      return "I32";
    case GgmlType::kI64:
      return "I64";
    case GgmlType::kF64:
      return "F64";
    case GgmlType::kBF16:
      return "BF16";
  }
  return "unknown";
}

const char* GgufTypeName(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

// Block layouts from ggml's type_traits (ggml-common.h block structs): QK4_0 = QK5_0 = QK8_0 =
// 32, QK_K = 256.
absl::StatusOr<GgmlBlockInfo> GgmlTypeBlock(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return GgmlBlockInfo{1, 4};
    case GgmlType::kF16:
      return GgmlBlockInfo{1, 2};
    case GgmlType::kBF16:
      return GgmlBlockInfo{1, 2};
    case GgmlType::kQ4_0:
      return GgmlBlockInfo{32, 2 + 16};
    case GgmlType::kQ4_1:
      return GgmlBlockInfo{32, 4 + 16};
    case GgmlType::kQ5_0:
      return GgmlBlockInfo{32, 2 + 4 + 16};
    case GgmlType::kQ5_1:
      return GgmlBlockInfo{32, 4 + 4 + 16};
    case GgmlType::kQ8_0:
      return GgmlBlockInfo{32, 2 + 32};
    case GgmlType::kQ8_1:
      return GgmlBlockInfo{32, 4 + 32};
    case GgmlType::kQ2_K:
      return GgmlBlockInfo{256, 256 / 16 + 256 / 4 + 4};
    case GgmlType::kQ3_K:
      return GgmlBlockInfo{256, 256 / 8 + 256 / 4 + 12 + 2};
    case GgmlType::kQ4_K:
      return GgmlBlockInfo{256, 4 + 12 + 256 / 2};
    case GgmlType::kQ5_K:
      return GgmlBlockInfo{256, 4 + 12 + 256 / 8 + 256 / 2};
    case GgmlType::kQ6_K:
      return GgmlBlockInfo{256, 256 / 2 + 256 / 4 + 256 / 16 + 2};
    case GgmlType::kQ8_K:
      return GgmlBlockInfo{256, 4 + 256 + 256 / 16 * 2};
    case GgmlType::kI8:
      return GgmlBlockInfo{1, 1};
    case GgmlType::kI16:
      return GgmlBlockInfo{1, 2};
    case GgmlType::kI32:
      return GgmlBlockInfo{1, 4};
    case GgmlType::kI64:
      return GgmlBlockInfo{1, 8};
    case GgmlType::kF64:
      return GgmlBlockInfo{1, 8};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("ggml type ", static_cast<uint32_t>(type), " is not supported"));
}

absl::StatusOr<uint64_t> GgmlRowBytes(GgmlType type, uint64_t num_elements) {
  ASSIGN_OR_RETURN(GgmlBlockInfo b, GgmlTypeBlock(type));
  if (num_elements % b.block_elems != 0) {
    return absl::InvalidArgumentError(absl::StrCat("row of ", num_elements, " elements is not a ",
                                                   "whole number of ", GgmlTypeName(type),
                                                   " blocks"));
  }
  return num_elements / b.block_elems * b.block_bytes;  // < 2^61 * 292 / 256: no overflow
}

// ---- GgufValue ----

GgufValue GgufValue::Uint(GgufType type, uint64_t v) {
  GgufValue x;
  x.type_ = type;
  x.u_ = v;
  return x;
}
GgufValue GgufValue::Int(GgufType type, int64_t v) {
  GgufValue x;
  x.type_ = type;
  x.i_ = v;
  return x;
}
GgufValue GgufValue::Float(GgufType type, double v) {
  GgufValue x;
  x.type_ = type;
  x.f_ = type == GgufType::kFloat32 ? static_cast<double>(static_cast<float>(v)) : v;
  return x;
}
GgufValue GgufValue::Bool(bool v) {
  GgufValue x;
  x.type_ = GgufType::kBool;
  x.i_ = v ? 1 : 0;
  return x;
}
GgufValue GgufValue::String(std::string v) {
  GgufValue x;
  x.type_ = GgufType::kString;
  x.s_ = std::move(v);
  return x;
}
GgufValue GgufValue::IntArray(GgufType elem_type, std::vector<int64_t> v) {
  GgufValue x;
  x.type_ = GgufType::kArray;
  x.array_type_ = elem_type;
  x.ints_ = std::move(v);
  return x;
}
GgufValue GgufValue::FloatArray(GgufType elem_type, std::vector<double> v) {
  GgufValue x;
  x.type_ = GgufType::kArray;
  x.array_type_ = elem_type;
  x.floats_ = std::move(v);
  if (elem_type == GgufType::kFloat32) {
    for (double& f : x.floats_) f = static_cast<double>(static_cast<float>(f));
  }
  return x;
}
GgufValue GgufValue::StringArray(std::vector<std::string> v) {
  GgufValue x;
  x.type_ = GgufType::kArray;
  x.array_type_ = GgufType::kString;
  x.strings_ = std::move(v);
  return x;
}

size_t GgufValue::array_size() const {
  if (!is_array()) return 0;
  if (array_type_ == GgufType::kString) return strings_.size();
  if (IsFloatType(array_type_)) return floats_.size();
  return ints_.size();
}

absl::StatusOr<uint64_t> GgufValue::AsUint() const {
  if (!IsIntegerType(type_)) {
    return absl::InvalidArgumentError(absl::StrCat("is ", GgufTypeName(type_), ", not an integer"));
  }
  if (IsSignedType(type_)) {
    if (i_ < 0) return absl::InvalidArgumentError("is negative");
    return static_cast<uint64_t>(i_);
  }
  return u_;
}

absl::StatusOr<int64_t> GgufValue::AsInt() const {
  if (!IsIntegerType(type_)) {
    return absl::InvalidArgumentError(absl::StrCat("is ", GgufTypeName(type_), ", not an integer"));
  }
  if (IsSignedType(type_)) return i_;
  if (u_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError("does not fit in int64");
  }
  return static_cast<int64_t>(u_);
}

absl::StatusOr<double> GgufValue::AsFloat() const {
  if (!IsFloatType(type_)) {
    return absl::InvalidArgumentError(absl::StrCat("is ", GgufTypeName(type_), ", not a float"));
  }
  return f_;
}

absl::StatusOr<bool> GgufValue::AsBool() const {
  if (type_ != GgufType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat("is ", GgufTypeName(type_), ", not a bool"));
  }
  return i_ != 0;
}

absl::StatusOr<const std::string*> GgufValue::AsString() const {
  if (type_ != GgufType::kString) {
    return absl::InvalidArgumentError(absl::StrCat("is ", GgufTypeName(type_), ", not a string"));
  }
  return &s_;
}

absl::StatusOr<const std::vector<std::string>*> GgufValue::AsStrings() const {
  if (!is_array() || array_type_ != GgufType::kString) {
    return absl::InvalidArgumentError("is not an array of strings");
  }
  return &strings_;
}

absl::StatusOr<const std::vector<int64_t>*> GgufValue::AsInts() const {
  if (!is_array() || !(IsIntegerType(array_type_) || array_type_ == GgufType::kBool)) {
    return absl::InvalidArgumentError("is not an array of integers");
  }
  return &ints_;
}

absl::StatusOr<const std::vector<double>*> GgufValue::AsFloats() const {
  if (!is_array() || !IsFloatType(array_type_)) {
    return absl::InvalidArgumentError("is not an array of floats");
  }
  return &floats_;
}

bool operator==(const GgufValue& a, const GgufValue& b) {
  // Floats compare by bit pattern so NaNs read from a file round-trip as equal.
  auto fbits = [](double d) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    return u;
  };
  if (a.type_ != b.type_ || a.u_ != b.u_ || a.i_ != b.i_ || fbits(a.f_) != fbits(b.f_) ||
      a.s_ != b.s_) {
    return false;
  }
  if (a.is_array()) {
    if (a.array_type_ != b.array_type_ || a.ints_ != b.ints_ || a.strings_ != b.strings_ ||
        a.floats_.size() != b.floats_.size()) {
      return false;
    }
    for (size_t i = 0; i < a.floats_.size(); ++i) {
      if (fbits(a.floats_[i]) != fbits(b.floats_[i])) return false;
    }
  }
  return true;
}

// ---- GgufFile ----

absl::StatusOr<GgufFile> GgufFile::Parse(ByteSpan bytes, const GgufLimits& limits) {
  Reader r(bytes, limits);
  GgufFile f;

  ByteSpan magic;
  if (!r.cursor().ReadBytes(4, &magic)) return Truncated("magic");
  if (std::memcmp(magic.data(), kMagic, 4) != 0) {
    return absl::InvalidArgumentError("gguf: bad magic (not a GGUF file)");
  }
  //= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
  //# uint32_t version; // The version of the format implemented. Must be `3` for version
  //# described in this spec
  // v2 differs from v3 only in allowing big-endian files (which fail the magic check above
  // for a little-endian reader anyway); v1 used 32-bit counts and is not read.
  RETURN_IF_ERROR(r.U32(&f.version_, "version"));
  if (f.version_ != 2 && f.version_ != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("gguf: version ", f.version_, " is not supported (2 or 3)"));
  }
  uint64_t tensor_count = 0, kv_count = 0;
  RETURN_IF_ERROR(r.U64(&tensor_count, "tensor count"));
  RETURN_IF_ERROR(r.U64(&kv_count, "metadata count"));
  if (tensor_count > limits.max_tensors) {
    return absl::InvalidArgumentError(
        absl::StrCat("gguf: ", tensor_count, " tensors, over the cap of ", limits.max_tensors));
  }
  if (kv_count > limits.max_kv) {
    return absl::InvalidArgumentError(
        absl::StrCat("gguf: ", kv_count, " metadata pairs, over the cap of ", limits.max_kv));
  }
  // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least
  // 8 + 4 + 4 + 8 bytes.
  if (kv_count > r.cursor().remaining() / 13) return Truncated("metadata");
  f.kv_.reserve(static_cast<size_t>(kv_count));

  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key;
    RETURN_IF_ERROR(r.String(limits.max_key_bytes, &key, absl::StrCat("metadata key #", i)));
    if (f.kv_index_.count(key) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("gguf: duplicate key ", key));
    }
    uint32_t raw_type = 0;
    RETURN_IF_ERROR(r.U32(&raw_type, absl::StrCat("type of key ", key)));
    if (!IsKnownValueType(raw_type)) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: key ", key, " has unknown value type ", raw_type));
    }
    GgufValue v;
    RETURN_IF_ERROR(r.Value(static_cast<GgufType>(raw_type), &v, absl::StrCat("key ", key)));
    f.kv_index_.emplace(key, f.kv_.size());
    f.kv_.emplace_back(std::move(key), std::move(v));
  }

  //= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#general-metadata
  //# general.alignment: uint32: the global alignment to use, as described above. This can
  //# vary to allow for different alignment schemes, but it must be a multiple of 8.
  if (const GgufValue* a = f.Find("general.alignment")) {
    auto av = a->AsUint();
    if (!av.ok()) return absl::InvalidArgumentError(KeyError("general.alignment", av.status()));
    if (*av == 0 || (*av & (*av - 1)) != 0 || *av % 8 != 0 || *av > (1u << 20)) {
      return absl::InvalidArgumentError(
          "gguf: key general.alignment is not a power of two multiple of 8 (at most 1 MiB)");
    }
    f.alignment_ = *av;
  }

  if (tensor_count > r.cursor().remaining() / 24) return Truncated("tensor infos");
  f.tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensor t;
    RETURN_IF_ERROR(
        r.String(limits.max_tensor_name_bytes, &t.name, absl::StrCat("tensor name #", i)));
    if (f.tensor_index_.count(t.name) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("gguf: duplicate tensor ", t.name));
    }
    const std::string what = absl::StrCat("tensor ", t.name);
    RETURN_IF_ERROR(r.U32(&t.num_dims, what + " dimension count"));
    if (t.num_dims == 0 || t.num_dims > kGgmlMaxDims) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: ", what, " has ", t.num_dims, " dimensions (1 to 4)"));
    }
    uint64_t n = 1;
    for (uint32_t d = 0; d < t.num_dims; ++d) {
      RETURN_IF_ERROR(r.U64(&t.dims[d], what + " dimensions"));
      // Each dimension and the product stay below 2^62 (ggml keeps them in int64_t).
      if (t.dims[d] == 0 || t.dims[d] > (uint64_t{1} << 62) / n) {
        return absl::InvalidArgumentError(absl::StrCat("gguf: ", what, " has a bad shape"));
      }
      n *= t.dims[d];
    }
    t.num_elements = n;
    uint32_t raw_type = 0;
    RETURN_IF_ERROR(r.U32(&raw_type, what + " type"));
    t.type = static_cast<GgmlType>(raw_type);
    auto row = GgmlRowBytes(t.type, t.dims[0]);
    if (!row.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: ", what, ": ", std::string(row.status().message())));
    }
    uint64_t rows = n / t.dims[0];
    if (*row != 0 && rows > std::numeric_limits<uint64_t>::max() / *row) {
      return absl::InvalidArgumentError(absl::StrCat("gguf: ", what, " is too large"));
    }
    t.size_bytes = *row * rows;
    RETURN_IF_ERROR(r.U64(&t.offset, what + " offset"));
    //= https://github.com/ggml-org/ggml/blob/master/docs/gguf.md#file-structure
    //# uint64_t offset; // The offset of the tensor's data in this file in bytes. This offset
    //# is relative to `tensor_data`, not to the start of the file ... Must be a multiple of
    //# `ALIGNMENT`.
    if (t.offset % f.alignment_ != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: ", what, " offset is not a multiple of the alignment"));
    }
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }

  uint64_t data_offset = AlignUp(r.cursor().offset(), f.alignment_);
  if (data_offset > bytes.size()) {
    if (tensor_count == 0) {
      // A file with no tensors may end right after its metadata.
      data_offset = bytes.size();
    } else {
      return Truncated("padding before tensor data");
    }
  }
  f.data_offset_ = data_offset;
  const uint64_t data_len = bytes.size() - data_offset;

  // Tensor data must lie inside the file and not overlap.
  std::vector<std::pair<uint64_t, size_t>> order;
  order.reserve(f.tensors_.size());
  for (size_t i = 0; i < f.tensors_.size(); ++i) {
    GgufTensor& t = f.tensors_[i];
    if (t.offset > data_len || t.size_bytes > data_len - t.offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("gguf: tensor ", t.name, " data lies beyond the end of the file"));
    }
    t.data = bytes.subspan(static_cast<size_t>(data_offset + t.offset),
                           static_cast<size_t>(t.size_bytes));
    order.emplace_back(t.offset, i);
  }
  std::sort(order.begin(), order.end());
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensor& prev = f.tensors_[order[k - 1].second];
    if (prev.offset + prev.size_bytes > order[k].first) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gguf: tensor ", f.tensors_[order[k].second].name, " overlaps tensor ", prev.name));
    }
  }
  return f;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensor* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

template <typename T, typename Fn>
absl::StatusOr<T> Get(const GgufFile& f, std::string_view key, Fn fn) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) {
    return absl::NotFoundError(absl::StrCat("gguf: key ", std::string(key), " is missing"));
  }
  auto r = fn(*v);
  if (!r.ok()) return absl::InvalidArgumentError(KeyError(key, r.status()));
  return T(*r);
}

}  // namespace

absl::StatusOr<uint64_t> GgufFile::GetUint(std::string_view key) const {
  return Get<uint64_t>(*this, key, [](const GgufValue& v) { return v.AsUint(); });
}
absl::StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  return Get<int64_t>(*this, key, [](const GgufValue& v) { return v.AsInt(); });
}
absl::StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  return Get<double>(*this, key, [](const GgufValue& v) { return v.AsFloat(); });
}
absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  return Get<bool>(*this, key, [](const GgufValue& v) { return v.AsBool(); });
}
absl::StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(
      const std::string* s,
      Get<const std::string*>(*this, key, [](const GgufValue& v) { return v.AsString(); }));
  return *s;
}
absl::StatusOr<const std::vector<std::string>*> GgufFile::GetStringArray(
    std::string_view key) const {
  return Get<const std::vector<std::string>*>(*this, key,
                                              [](const GgufValue& v) { return v.AsStrings(); });
}
absl::StatusOr<const std::vector<int64_t>*> GgufFile::GetIntArray(std::string_view key) const {
  return Get<const std::vector<int64_t>*>(*this, key,
                                          [](const GgufValue& v) { return v.AsInts(); });
}
absl::StatusOr<const std::vector<double>*> GgufFile::GetFloatArray(std::string_view key) const {
  return Get<const std::vector<double>*>(*this, key,
                                         [](const GgufValue& v) { return v.AsFloats(); });
}
absl::StatusOr<uint64_t> GgufFile::GetUintOr(std::string_view key, uint64_t fallback) const {
  if (Find(key) == nullptr) return fallback;
  return GetUint(key);
}
absl::StatusOr<double> GgufFile::GetFloatOr(std::string_view key, double fallback) const {
  if (Find(key) == nullptr) return fallback;
  return GetFloat(key);
}

// ---- GgufWriter ----

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  if (alignment_ != kGgufDefaultAlignment) {
    SetUint32("general.alignment", static_cast<uint32_t>(alignment_));
  }
}

void GgufWriter::Set(std::string key, GgufValue value) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::SetUint32(std::string key, uint32_t v) {
  Set(std::move(key), GgufValue::Uint(GgufType::kUint32, v));
}
void GgufWriter::SetFloat32(std::string key, float v) {
  Set(std::move(key), GgufValue::Float(GgufType::kFloat32, v));
}
void GgufWriter::SetString(std::string key, std::string v) {
  Set(std::move(key), GgufValue::String(std::move(v)));
}
void GgufWriter::SetBool(std::string key, bool v) { Set(std::move(key), GgufValue::Bool(v)); }

absl::Status GgufWriter::AddTensor(std::string name, GgmlType type, std::vector<uint64_t> dims,
                                   ByteSpan data) {
  if (name.size() > 64) return absl::InvalidArgumentError("tensor name longer than 64 bytes");
  for (const auto& t : tensors_) {
    if (t.name == name) return absl::InvalidArgumentError("duplicate tensor " + name);
  }
  if (dims.empty() || dims.size() > kGgmlMaxDims) {
    return absl::InvalidArgumentError("tensor " + name + " needs 1 to 4 dimensions");
  }
  uint64_t rows = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) return absl::InvalidArgumentError("tensor " + name + " has a zero dim");
    if (i > 0) rows *= dims[i];
  }
  ASSIGN_OR_RETURN(uint64_t row, GgmlRowBytes(type, dims[0]));
  if (row * rows != data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " needs ", row * rows, " bytes, got ", data.size()));
  }
  tensors_.push_back({std::move(name), type, std::move(dims), Bytes(data.begin(), data.end())});
  return absl::OkStatus();
}

Bytes GgufWriter::Finish() const {
  Bytes out(kMagic, kMagic + 4);
  PutU32(out, 3);
  PutU64(out, tensors_.size());
  PutU64(out, kv_.size());
  for (const auto& [key, value] : kv_) {
    PutString(out, key);
    PutValue(out, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    PutString(out, t.name);
    PutU32(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) PutU64(out, d);
    PutU32(out, static_cast<uint32_t>(t.type));
    PutU64(out, offset);
    offset = AlignUp(offset + t.data.size(), alignment_);
  }
  if (!tensors_.empty()) {
    out.resize(AlignUp(out.size(), alignment_), 0);
    for (const auto& t : tensors_) {
      out.insert(out.end(), t.data.begin(), t.data.end());
      out.resize(AlignUp(out.size(), alignment_), 0);
    }
  }
  return out;
}

absl::StatusOr<GgufWriter> GgufWriter::FromFile(const GgufFile& file) {
  GgufWriter w;
  w.alignment_ = file.alignment();
  for (const auto& [key, value] : file.metadata()) w.Set(key, value);
  for (const auto& t : file.tensors()) {
    std::vector<uint64_t> dims(t.dims.begin(), t.dims.begin() + t.num_dims);
    RETURN_IF_ERROR(w.AddTensor(t.name, t.type, std::move(dims), t.data));
  }
  return w;
}

}  // namespace confide::llm
