// confide::cbor::Value: one CBOR data item (RFC 8949 §3) in memory.
//
// A Value is a plain, copyable tree. It keeps what the generic data model needs plus the width
// of floats (so that decoded floats re-encode to the same bytes); it does not keep head widths,
// indefinite-length framing or string chunking, which carry no meaning (RFC 8949 §2).
// Maps are ordered vectors of key/value pairs in insertion (or input) order; Encode sorts them
// unless told not to (codec.h). Values are not thread-safe to mutate; const access is.
//
// Accessors never abort: is_x() tests the type, as_x() returns a pointer (nullptr) or an
// optional (nullopt) when the type does not match.
#ifndef CONFIDE_CBOR_VALUE_H_
#define CONFIDE_CBOR_VALUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::cbor {

// Type is the kind of a Value. Major types 0..6 map one to one; major type 7 is split into
// simple values (false, true, null, undefined and simple(n)) and floats.
enum class Type : uint8_t {
  kUnsigned,    // major type 0: 0 .. 2^64-1
  kNegative,    // major type 1: -1 .. -2^64
  kByteString,  // major type 2
  kTextString,  // major type 3 (valid UTF-8)
  kArray,       // major type 4
  kMap,         // major type 5
  kTag,         // major type 6
  kSimple,      // major type 7, simple values (incl. false/true/null/undefined)
  kFloat,       // major type 7, half/single/double precision
};

// FloatWidth is the encoded width of a float, in bytes after the initial byte.
enum class FloatWidth : uint8_t { kHalf = 2, kSingle = 4, kDouble = 8 };

// Simple values with a meaning (RFC 8949 §3.3, Table 4).
inline constexpr uint8_t kSimpleFalse = 20;
inline constexpr uint8_t kSimpleTrue = 21;
inline constexpr uint8_t kSimpleNull = 22;
inline constexpr uint8_t kSimpleUndefined = 23;

class Value;
struct MapEntry;
// Array is the element list of a CBOR array.
using Array = std::vector<Value>;
// Map is the entry list of a CBOR map, in insertion/input order.
using Map = std::vector<MapEntry>;

class Value {
 public:
  // Value() is null.
  Value();
  // Copies are deep. Special members are defined in value.cc because MapEntry is incomplete
  // here.
  Value(const Value& other);
  Value(Value&& other) noexcept;
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept;
  ~Value();

  // --- Builders ---------------------------------------------------------------------------
  // Unsigned returns the unsigned integer `v`.
  static Value Unsigned(uint64_t v);
  // Int returns `v` as an unsigned (v >= 0) or negative (v < 0) integer.
  static Value Int(int64_t v);
  // NegativeFromArgument returns the negative integer -1 - n (so n = 2^64-1 gives -2^64).
  static Value NegativeFromArgument(uint64_t n);
  // ByteString returns a byte string holding a copy of `b`.
  static Value ByteString(ByteSpan b);
  // ByteString returns a byte string that takes over `b` without copying.
  static Value ByteString(Bytes&& b);
  // Text returns a text string. `s` must be valid UTF-8: Encode does not check it, and the
  // decoder rejects invalid UTF-8, so invalid text would not round-trip.
  static Value Text(std::string_view s);
  // FromArray returns an array of `items`.
  static Value FromArray(Array items);
  // FromMap returns a map of `entries` in the given order. Keys must be distinct; Encode does
  // not check it.
  static Value FromMap(Map entries);
  // EmptyArray / EmptyMap return containers to fill with Append / Put.
  static Value EmptyArray();
  static Value EmptyMap();
  // Tagged returns tag `tag` around `content`.
  static Value Tagged(uint64_t tag, Value content);
  // Bool returns false or true (simple 20/21).
  static Value Bool(bool b);
  // Null returns null (simple 22).
  static Value Null();
  // Undefined returns undefined (simple 23).
  static Value Undefined();
  // Simple returns simple(n). InvalidArgument for 24..31, which have no well-formed encoding
  // (RFC 8949 §3.3).
  static absl::StatusOr<Value> Simple(uint8_t n);
  // Float returns `v` stored at the shortest of half/single/double that represents it exactly
  // (RFC 8949 §4.2.2 preferred serialization; a NaN keeps its payload when it fits, so the
  // default quiet NaN becomes half 0x7e00).
  static Value Float(double v);
  // FloatBits returns a float of width `w` with the raw IEEE 754 bits `bits` (the low 16/32/64
  // bits are used). This is how a non-preferred width or a particular NaN is built.
  static Value FloatBits(FloatWidth w, uint64_t bits);

  // --- Type tests -------------------------------------------------------------------------
  Type type() const { return type_; }
  bool is_unsigned() const { return type_ == Type::kUnsigned; }
  bool is_negative() const { return type_ == Type::kNegative; }
  // is_integer is true for major types 0 and 1.
  bool is_integer() const { return is_unsigned() || is_negative(); }
  bool is_bytes() const { return type_ == Type::kByteString; }
  bool is_text() const { return type_ == Type::kTextString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_map() const { return type_ == Type::kMap; }
  bool is_tag() const { return type_ == Type::kTag; }
  bool is_simple() const { return type_ == Type::kSimple; }
  bool is_float() const { return type_ == Type::kFloat; }
  bool is_bool() const { return is_simple() && (num_ == kSimpleFalse || num_ == kSimpleTrue); }
  bool is_null() const { return is_simple() && num_ == kSimpleNull; }
  bool is_undefined() const { return is_simple() && num_ == kSimpleUndefined; }

  // --- Accessors (nullptr / nullopt on a type mismatch) -----------------------------------
  // as_uint64 returns the value of an unsigned integer.
  std::optional<uint64_t> as_uint64() const;
  // as_int64 returns an unsigned or negative integer that fits int64_t; nullopt otherwise.
  std::optional<int64_t> as_int64() const;
  // negative_argument returns n for the negative integer -1 - n.
  std::optional<uint64_t> negative_argument() const;
  // as_bytes returns the content of a byte string.
  const Bytes* as_bytes() const { return is_bytes() ? &bytes_ : nullptr; }
  // as_text returns the content of a text string.
  const std::string* as_text() const { return is_text() ? &text_ : nullptr; }
  // as_array returns the elements of an array.
  const Array* as_array() const { return is_array() ? &items_ : nullptr; }
  // as_map returns the entries of a map.
  const Map* as_map() const;
  // as_bool returns false/true.
  std::optional<bool> as_bool() const;
  // as_double returns a float widened to double (exact; NaN stays NaN).
  std::optional<double> as_double() const;
  // tag_number returns the tag number of a tag.
  std::optional<uint64_t> tag_number() const;
  // tag_content returns the content of a tag.
  const Value* tag_content() const { return is_tag() ? &items_[0] : nullptr; }
  // simple_value returns n for simple(n), including 20..23.
  std::optional<uint8_t> simple_value() const;
  // float_width / float_bits return the stored width and raw bits of a float.
  std::optional<FloatWidth> float_width() const;
  std::optional<uint64_t> float_bits() const;

  // --- Map lookup (nullptr when this is not a map or the key is absent) -------------------
  // Find returns the value stored under the text key `key`.
  const Value* Find(std::string_view key) const;
  // Find returns the value stored under the integer key `key`.
  const Value* Find(int64_t key) const;
  // Find returns the value stored under a key equal to `key`.
  const Value* Find(const Value& key) const;

  // --- Mutation (for building) ------------------------------------------------------------
  // mutable_array / mutable_map return the containers, or nullptr on a type mismatch.
  Array* mutable_array() { return is_array() ? &items_ : nullptr; }
  Map* mutable_map();
  // Append adds `v` to an array and returns *this. No effect unless this is an array.
  Value& Append(Value v);
  // Put adds `key` -> `v` at the end of a map and returns *this. No effect unless this is a
  // map. It does not replace or detect an existing key (use Find first when that matters).
  Value& Put(Value key, Value v);
  Value& Put(std::string_view key, Value v) { return Put(Text(key), std::move(v)); }
  Value& Put(int64_t key, Value v) { return Put(Int(key), std::move(v)); }

  // operator== is structural: same type, same content, same float width and bits, maps with
  // the same entries in the same order.
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Type type_;
  FloatWidth width_ = FloatWidth::kDouble;  // kFloat only
  // kUnsigned: the value; kNegative: n of -1-n; kTag: tag number; kSimple: n; kFloat: bits.
  uint64_t num_ = 0;
  Bytes bytes_;                    // kByteString
  std::string text_;               // kTextString
  std::vector<Value> items_;       // kArray elements; kTag: exactly one element, the content
  std::vector<MapEntry> entries_;  // kMap
};

// MapEntry is one key/value pair of a map.
struct MapEntry {
  Value key;
  Value value;
  bool operator==(const MapEntry& other) const = default;
};

// Diagnostic returns RFC 8949 §8 diagnostic notation of `v` (e.g. {1: h'0102', "a": [-1]}).
// For tests and debugging: it prints content, so never log it for untrusted or secret data.
std::string Diagnostic(const Value& v);

}  // namespace confide::cbor

#endif  // CONFIDE_CBOR_VALUE_H_
