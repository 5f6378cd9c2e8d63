#include "cbor/internal/encoder.h"

#include <algorithm>
#include <utility>

#include "cbor/codec.h"
#include "cbor/internal/float.h"

namespace confide::cbor {
namespace internal {
namespace {

struct Options {
  bool sort_map_keys;
  bool shortest_floats;  // narrow every float (key identity); otherwise keep the stored width
};

void AppendValue(const Value& v, const Options& o, Bytes& out);

void AppendFloat(FloatWidth w, uint64_t bits, Bytes& out) {
  const auto n = static_cast<size_t>(w);
  out.push_back(static_cast<uint8_t>(0xe0 | (w == FloatWidth::kHalf     ? 25
                                             : w == FloatWidth::kSingle ? 26
                                                                        : 27)));
  for (size_t i = n; i > 0; --i) {
    out.push_back(static_cast<uint8_t>(bits >> (8 * (i - 1))));
  }
}

void AppendMap(const Map& entries, const Options& o, Bytes& out) {
  AppendHead(5, entries.size(), out);
  if (!o.sort_map_keys) {
    for (const MapEntry& e : entries) {
      AppendValue(e.key, o, out);
      AppendValue(e.value, o, out);
    }
    return;
  }
  //= https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
  //# The keys in every map MUST be sorted in the bytewise lexicographic order of their
  //# deterministic encodings.
  std::vector<std::pair<Bytes, const Value*>> keyed;
  keyed.reserve(entries.size());
  for (const MapEntry& e : entries) {
    Bytes k;
    AppendValue(e.key, o, k);
    keyed.emplace_back(std::move(k), &e.value);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [k, value] : keyed) {
    Append(out, k);
    AppendValue(*value, o, out);
  }
}

void AppendValue(const Value& v, const Options& o, Bytes& out) {
  switch (v.type()) {
    case Type::kUnsigned:
      AppendHead(0, *v.as_uint64(), out);
      return;
    case Type::kNegative:
      AppendHead(1, *v.negative_argument(), out);
      return;
    case Type::kByteString:
      AppendHead(2, v.as_bytes()->size(), out);
      Append(out, *v.as_bytes());
      return;
    case Type::kTextString:
      AppendHead(3, v.as_text()->size(), out);
      Append(out, AsBytes(*v.as_text()));
      return;
    case Type::kArray:
      AppendHead(4, v.as_array()->size(), out);
      for (const Value& item : *v.as_array()) {
        AppendValue(item, o, out);
      }
      return;
    case Type::kMap:
      AppendMap(*v.as_map(), o, out);
      return;
    case Type::kTag:
      AppendHead(6, *v.tag_number(), out);
      AppendValue(*v.tag_content(), o, out);
      return;
    case Type::kSimple:
      AppendHead(7, *v.simple_value(), out);
      return;
    case Type::kFloat: {
      FloatWidth w = *v.float_width();
      uint64_t bits = *v.float_bits();
      if (o.shortest_floats) {
        const uint64_t dbits = WidenToDoubleBits(w, bits);
        w = ShortestWidth(dbits);
        bits = NarrowFromDoubleBits(dbits, w);
      }
      AppendFloat(w, bits, out);
      return;
    }
  }
}

}  // namespace

//= https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
//# Preferred serialization MUST be used. In particular, this means that arguments (see
//# Section 3) for integers, lengths in major types 2 through 5, and tags MUST be as short as
//# possible
void AppendHead(uint8_t major, uint64_t arg, Bytes& out) {
  const auto mt = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out.push_back(static_cast<uint8_t>(mt | arg));
    return;
  }
  size_t n;
  uint8_t ai;
  if (arg <= 0xff) {
    n = 1;
    ai = 24;
  } else if (arg <= 0xffff) {
    n = 2;
    ai = 25;
  } else if (arg <= 0xffffffff) {
    n = 4;
    ai = 26;
  } else {
    n = 8;
    ai = 27;
  }
  out.push_back(static_cast<uint8_t>(mt | ai));
  for (size_t i = n; i > 0; --i) {
    out.push_back(static_cast<uint8_t>(arg >> (8 * (i - 1))));
  }
}

void AppendKeyIdentity(const Value& key, Bytes& out) {
  AppendValue(key, Options{.sort_map_keys = true, .shortest_floats = true}, out);
}

}  // namespace internal

void EncodeTo(const Value& v, Bytes& out, const EncodeOptions& options) {
  internal::AppendValue(
      v, internal::Options{.sort_map_keys = options.sort_map_keys, .shortest_floats = false}, out);
}

Bytes Encode(const Value& v, const EncodeOptions& options) {
  Bytes out;
  EncodeTo(v, out, options);
  return out;
}

}  // namespace confide::cbor
