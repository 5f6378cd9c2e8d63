#include "cbor/value.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "base/encoding.h"
#include "cbor/internal/float.h"

namespace confide::cbor {

Value::Value() : type_(Type::kSimple), num_(kSimpleNull) {}
Value::Value(const Value& other) = default;
Value::Value(Value&& other) noexcept = default;
Value& Value::operator=(const Value& other) = default;
Value& Value::operator=(Value&& other) noexcept = default;
Value::~Value() = default;

Value Value::Unsigned(uint64_t v) {
  Value out;
  out.type_ = Type::kUnsigned;
  out.num_ = v;
  return out;
}

Value Value::Int(int64_t v) {
  if (v >= 0) {
    return Unsigned(static_cast<uint64_t>(v));
  }
  // -1 - n = v  =>  n = -1 - v, computed without overflow for INT64_MIN.
  return NegativeFromArgument(~static_cast<uint64_t>(v));
}

Value Value::NegativeFromArgument(uint64_t n) {
  Value out;
  out.type_ = Type::kNegative;
  out.num_ = n;
  return out;
}

Value Value::ByteString(ByteSpan b) {
  Value out;
  out.type_ = Type::kByteString;
  out.bytes_.assign(b.begin(), b.end());
  return out;
}

Value Value::ByteString(Bytes&& b) {
  Value out;
  out.type_ = Type::kByteString;
  out.bytes_ = std::move(b);
  return out;
}

Value Value::Text(std::string_view s) {
  Value out;
  out.type_ = Type::kTextString;
  out.text_.assign(s.begin(), s.end());
  return out;
}

Value Value::FromArray(Array items) {
  Value out;
  out.type_ = Type::kArray;
  out.items_ = std::move(items);
  return out;
}

Value Value::FromMap(Map entries) {
  Value out;
  out.type_ = Type::kMap;
  out.entries_ = std::move(entries);
  return out;
}

Value Value::EmptyArray() { return FromArray({}); }
Value Value::EmptyMap() { return FromMap({}); }

Value Value::Tagged(uint64_t tag, Value content) {
  Value out;
  out.type_ = Type::kTag;
  out.num_ = tag;
  out.items_.push_back(std::move(content));
  return out;
}

Value Value::Bool(bool b) {
  Value out;
  out.num_ = b ? kSimpleTrue : kSimpleFalse;
  return out;
}

Value Value::Null() { return Value(); }

Value Value::Undefined() {
  Value out;
  out.num_ = kSimpleUndefined;
  return out;
}

absl::StatusOr<Value> Value::Simple(uint8_t n) {
  //= https://www.rfc-editor.org/rfc/rfc8949#section-3.3
  //# an encoder MUST NOT issue two-byte sequences that start with 0xf8 (major type 7,
  //# additional information 24) and continue with a byte less than 0x20 (32 decimal).
  if (n >= 24 && n < 32) {
    return absl::InvalidArgumentError("simple values 24..31 have no well-formed encoding");
  }
  Value out;
  out.num_ = n;
  return out;
}

Value Value::Float(double v) {
  const uint64_t dbits = internal::BitsFromDouble(v);
  const FloatWidth w = internal::ShortestWidth(dbits);
  return FloatBits(w, internal::NarrowFromDoubleBits(dbits, w));
}

Value Value::FloatBits(FloatWidth w, uint64_t bits) {
  Value out;
  out.type_ = Type::kFloat;
  out.width_ = w;
  switch (w) {
    case FloatWidth::kHalf:
      out.num_ = bits & 0xffff;
      break;
    case FloatWidth::kSingle:
      out.num_ = bits & 0xffffffff;
      break;
    case FloatWidth::kDouble:
      out.num_ = bits;
      break;
  }
  return out;
}

std::optional<uint64_t> Value::as_uint64() const {
  if (!is_unsigned()) return std::nullopt;
  return num_;
}

std::optional<int64_t> Value::as_int64() const {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (is_unsigned() && num_ <= kMax) {
    return static_cast<int64_t>(num_);
  }
  if (is_negative() && num_ <= kMax) {
    return -1 - static_cast<int64_t>(num_);
  }
  return std::nullopt;
}

std::optional<uint64_t> Value::negative_argument() const {
  if (!is_negative()) return std::nullopt;
  return num_;
}

const Map* Value::as_map() const { return is_map() ? &entries_ : nullptr; }
Map* Value::mutable_map() { return is_map() ? &entries_ : nullptr; }

std::optional<bool> Value::as_bool() const {
  if (!is_bool()) return std::nullopt;
  return num_ == kSimpleTrue;
}

std::optional<double> Value::as_double() const {
  if (!is_float()) return std::nullopt;
  return internal::DoubleFromBits(internal::WidenToDoubleBits(width_, num_));
}

std::optional<uint64_t> Value::tag_number() const {
  if (!is_tag()) return std::nullopt;
  return num_;
}

std::optional<uint8_t> Value::simple_value() const {
  if (!is_simple()) return std::nullopt;
  return static_cast<uint8_t>(num_);
}

std::optional<FloatWidth> Value::float_width() const {
  if (!is_float()) return std::nullopt;
  return width_;
}

std::optional<uint64_t> Value::float_bits() const {
  if (!is_float()) return std::nullopt;
  return num_;
}

const Value* Value::Find(std::string_view key) const {
  if (!is_map()) return nullptr;
  for (const MapEntry& e : entries_) {
    if (e.key.is_text() && e.key.text_ == key) {
      return &e.value;
    }
  }
  return nullptr;
}

const Value* Value::Find(int64_t key) const {
  if (!is_map()) return nullptr;
  for (const MapEntry& e : entries_) {
    if (e.key.as_int64() == key) {
      return &e.value;
    }
  }
  return nullptr;
}

const Value* Value::Find(const Value& key) const {
  if (!is_map()) return nullptr;
  for (const MapEntry& e : entries_) {
    if (e.key == key) {
      return &e.value;
    }
  }
  return nullptr;
}

Value& Value::Append(Value v) {
  if (is_array()) {
    items_.push_back(std::move(v));
  }
  return *this;
}

Value& Value::Put(Value key, Value v) {
  if (is_map()) {
    entries_.push_back(MapEntry{std::move(key), std::move(v)});
  }
  return *this;
}

bool Value::operator==(const Value& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kUnsigned:
    case Type::kNegative:
    case Type::kSimple:
      return num_ == other.num_;
    case Type::kFloat:
      return width_ == other.width_ && num_ == other.num_;
    case Type::kByteString:
      return bytes_ == other.bytes_;
    case Type::kTextString:
      return text_ == other.text_;
    case Type::kArray:
      return items_ == other.items_;
    case Type::kTag:
      return num_ == other.num_ && items_ == other.items_;
    case Type::kMap:
      return entries_ == other.entries_;
  }
  return false;
}

namespace {

void AppendQuoted(std::string_view s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendDouble(double d, std::string& out) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, res.ptr);
  // Diagnostic notation needs a '.' (or an exponent with one) to mark a float.
  if (s.find('.') == std::string::npos) {
    const size_t e = s.find('e');
    s.insert(e == std::string::npos ? s.size() : e, ".0");
  }
  out += s;
}

void AppendDiagnostic(const Value& v, std::string& out) {
  switch (v.type()) {
    case Type::kUnsigned:
      out += std::to_string(*v.as_uint64());
      return;
    case Type::kNegative: {
      const uint64_t n = *v.negative_argument();
      if (n == std::numeric_limits<uint64_t>::max()) {
        out += "-18446744073709551616";
      } else {
        out += '-';
        out += std::to_string(n + 1);
      }
      return;
    }
    case Type::kByteString:
      out += "h'" + base::HexEncode(*v.as_bytes()) + "'";
      return;
    case Type::kTextString:
      AppendQuoted(*v.as_text(), out);
      return;
    case Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : *v.as_array()) {
        if (!first) out += ", ";
        first = false;
        AppendDiagnostic(item, out);
      }
      out.push_back(']');
      return;
    }
    case Type::kMap: {
      out.push_back('{');
      bool first = true;
      for (const MapEntry& e : *v.as_map()) {
        if (!first) out += ", ";
        first = false;
        AppendDiagnostic(e.key, out);
        out += ": ";
        AppendDiagnostic(e.value, out);
      }
      out.push_back('}');
      return;
    }
    case Type::kTag:
      out += std::to_string(*v.tag_number()) + "(";
      AppendDiagnostic(*v.tag_content(), out);
      out.push_back(')');
      return;
    case Type::kSimple:
      switch (*v.simple_value()) {
        case kSimpleFalse:
          out += "false";
          return;
        case kSimpleTrue:
          out += "true";
          return;
        case kSimpleNull:
          out += "null";
          return;
        case kSimpleUndefined:
          out += "undefined";
          return;
        default:
          out += "simple(" + std::to_string(*v.simple_value()) + ")";
          return;
      }
    case Type::kFloat:
      AppendDouble(*v.as_double(), out);
      return;
  }
}

}  // namespace

std::string Diagnostic(const Value& v) {
  std::string out;
  AppendDiagnostic(v, out);
  return out;
}

}  // namespace confide::cbor
