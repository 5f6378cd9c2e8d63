// Strict, bounded CBOR decoder (RFC 8949 §3, Appendix C and F).
//
// Recursive descent over a ByteCursor. Recursion depth is bounded by DecodeLimits::max_depth
// (itself capped by kMaxDepthHardCap). Every declared length is checked against the bytes left
// and the caps before any allocation.
#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "cbor/codec.h"
#include "cbor/internal/encoder.h"
#include "cbor/internal/float.h"
#include "cbor/internal/utf8.h"

namespace confide::cbor {
namespace {

constexpr uint8_t kMajorUnsigned = 0;
constexpr uint8_t kMajorNegative = 1;
constexpr uint8_t kMajorBytes = 2;
constexpr uint8_t kMajorText = 3;
constexpr uint8_t kMajorArray = 4;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kMajorTag = 6;
constexpr uint8_t kMajorSimple = 7;
constexpr uint8_t kBreak = 0xff;
constexpr uint8_t kAiIndefinite = 31;

struct Head {
  size_t offset = 0;        // offset of the initial byte
  uint8_t major = 0;        // 0..7
  uint8_t ai = 0;           // additional information 0..31
  uint64_t arg = 0;         // argument (0 when indefinite / break)
  bool indefinite = false;  // AI 31 on major types 2..5
  bool shortest = true;     // argument in its shortest form (RFC 8949 §4.2.1)
};

class Decoder {
 public:
  Decoder(ByteSpan data, const DecodeLimits& limits)
      : cursor_(data), limits_(limits), max_depth_(std::min(limits.max_depth, kMaxDepthHardCap)) {}

  absl::StatusOr<Value> DecodeTop() {
    ASSIGN_OR_RETURN(Value v, DecodeItem(0));
    //= https://www.rfc-editor.org/rfc/rfc8949#section-5.1
    //# a decoder MUST treat any bytes following the top-level data item as an error ("too
    //# much data") unless it is used as a streaming decoder
    if (!cursor_.empty()) {
      return Fail("trailing bytes after the top-level data item", cursor_.offset());
    }
    return v;
  }

  bool deterministic() const { return deterministic_; }

 private:
  static absl::Status Fail(const char* what, size_t offset) {
    return absl::InvalidArgumentError(absl::StrCat("CBOR: ", what, " at offset ", offset));
  }

  absl::Status CountItem(size_t offset) {
    if (++items_ > limits_.max_items) {
      return Fail("too many data items", offset);
    }
    return absl::OkStatus();
  }

  // ReadHead reads an initial byte and its argument (RFC 8949 §3).
  absl::Status ReadHead(Head* h) {
    h->offset = cursor_.offset();
    uint8_t ib;
    if (!cursor_.ReadU8(&ib)) {
      return Fail("unexpected end of input", h->offset);
    }
    RETURN_IF_ERROR(CountItem(h->offset));
    h->major = ib >> 5;
    h->ai = ib & 0x1f;
    h->arg = 0;
    h->indefinite = false;
    h->shortest = true;
    bool ok = true;
    switch (h->ai) {
      case 24: {
        uint8_t v = 0;
        ok = cursor_.ReadU8(&v);
        h->arg = v;
        h->shortest = v >= 24;
        break;
      }
      case 25: {
        uint16_t v = 0;
        ok = cursor_.ReadU16BE(&v);
        h->arg = v;
        h->shortest = v > 0xff;
        break;
      }
      case 26: {
        uint32_t v = 0;
        ok = cursor_.ReadU32BE(&v);
        h->arg = v;
        h->shortest = v > 0xffff;
        break;
      }
      case 27: {
        uint64_t v = 0;
        ok = cursor_.ReadU64BE(&v);
        h->arg = v;
        h->shortest = v > 0xffffffff;
        break;
      }
      //= https://www.rfc-editor.org/rfc/rfc8949#section-3
      //# 28-30: Reserved for future additions to the CBOR format. In the present version
      //# of CBOR, the encoded item is not well-formed.
      case 28:
      case 29:
      case 30:
        return Fail("reserved additional information value", h->offset);
      case kAiIndefinite:
        //= https://www.rfc-editor.org/rfc/rfc8949#section-3
        //# 31: No argument value is derived. If the major type is 0, 1, or 6, the encoded
        //# item is not well-formed.
        if (h->major == kMajorUnsigned || h->major == kMajorNegative || h->major == kMajorTag) {
          return Fail("indefinite length on an integer or tag", h->offset);
        }
        h->indefinite = h->major != kMajorSimple;
        h->shortest = false;
        break;
      default:
        h->arg = h->ai;
        break;
    }
    if (!ok) {
      return Fail("truncated head", h->offset);
    }
    return absl::OkStatus();
  }

  absl::Status CheckStringLen(uint64_t len, size_t offset, size_t so_far) {
    if (len > limits_.max_string_len || so_far > limits_.max_string_len - len) {
      return Fail("string longer than the limit", offset);
    }
    if (len > cursor_.remaining()) {
      return Fail("string runs past the end of input", offset);
    }
    return absl::OkStatus();
  }

  // ReadString reads a byte or text string (major type 2 or 3) into `out`.
  absl::Status ReadString(const Head& h, Bytes* out) {
    const bool text = h.major == kMajorText;
    if (!h.indefinite) {
      RETURN_IF_ERROR(CheckStringLen(h.arg, h.offset, 0));
      ByteSpan chunk;
      if (!cursor_.ReadBytes(static_cast<size_t>(h.arg), &chunk)) {
        return Fail("string runs past the end of input", h.offset);
      }
      if (text && !internal::IsValidUtf8(chunk)) {
        return Fail("text string is not valid UTF-8", h.offset);
      }
      out->assign(chunk.begin(), chunk.end());
      return absl::OkStatus();
    }
    //= https://www.rfc-editor.org/rfc/rfc8949#section-3.2.3
    //# Indefinite-length strings are represented by a byte containing the major type for byte
    //# string or text string with an additional information value of 31, followed by a series
    //# of zero or more strings of the specified type ("chunks") that have definite lengths,
    //# and finished by the "break" stop code
    deterministic_ = false;
    for (;;) {
      uint8_t next;
      if (!cursor_.PeekU8(&next)) {
        return Fail("unterminated indefinite-length string", cursor_.offset());
      }
      if (next == kBreak) {
        (void)cursor_.Skip(1);
        return absl::OkStatus();
      }
      Head c;
      RETURN_IF_ERROR(ReadHead(&c));
      if (c.major != h.major || c.indefinite) {
        return Fail("indefinite-length string chunk of the wrong type", c.offset);
      }
      RETURN_IF_ERROR(CheckStringLen(c.arg, c.offset, out->size()));
      ByteSpan chunk;
      if (!cursor_.ReadBytes(static_cast<size_t>(c.arg), &chunk)) {
        return Fail("string runs past the end of input", c.offset);
      }
      //= https://www.rfc-editor.org/rfc/rfc8949#section-3.2.3
      //# the UTF-8 bytes of a single Unicode code point (scalar value) can never be spread
      //# between chunks
      if (text && !internal::IsValidUtf8(chunk)) {
        return Fail("text string chunk is not valid UTF-8", c.offset);
      }
      Append(*out, chunk);
    }
  }

  // CheckContainer checks a declared element count; `min_bytes_each` is 1 (array) or 2 (map).
  absl::Status CheckContainer(const Head& h, size_t min_bytes_each) {
    if (h.arg > limits_.max_container_len) {
      return Fail("container longer than the limit", h.offset);
    }
    if (h.arg > cursor_.remaining() / min_bytes_each) {
      return Fail("container runs past the end of input", h.offset);
    }
    if (h.arg * min_bytes_each > limits_.max_items - std::min(items_, limits_.max_items)) {
      return Fail("too many data items", h.offset);
    }
    return absl::OkStatus();
  }

  // AtBreak consumes a break if it is next. Error when the input ends.
  absl::StatusOr<bool> AtBreak() {
    uint8_t next;
    if (!cursor_.PeekU8(&next)) {
      return Fail("unterminated indefinite-length container", cursor_.offset());
    }
    if (next == kBreak) {
      (void)cursor_.Skip(1);
      return true;
    }
    return false;
  }

  absl::StatusOr<Value> ReadArray(const Head& h, size_t depth) {
    Array items;
    if (!h.indefinite) {
      RETURN_IF_ERROR(CheckContainer(h, 1));
      items.reserve(static_cast<size_t>(h.arg));
      for (uint64_t i = 0; i < h.arg; ++i) {
        ASSIGN_OR_RETURN(Value item, DecodeItem(depth));
        items.push_back(std::move(item));
      }
      return Value::FromArray(std::move(items));
    }
    deterministic_ = false;
    for (;;) {
      ASSIGN_OR_RETURN(bool done, AtBreak());
      if (done) {
        return Value::FromArray(std::move(items));
      }
      if (items.size() >= limits_.max_container_len) {
        return Fail("container longer than the limit", h.offset);
      }
      ASSIGN_OR_RETURN(Value item, DecodeItem(depth));
      items.push_back(std::move(item));
    }
  }

  absl::StatusOr<Value> ReadMap(const Head& h, size_t depth) {
    Map entries;
    std::set<Bytes> seen;  // key identities (see internal::AppendKeyIdentity)
    ByteSpan previous_key;
    const ByteSpan all = cursor_.rest();  // for slicing raw key bytes
    const size_t base = cursor_.offset();
    if (!h.indefinite) {
      RETURN_IF_ERROR(CheckContainer(h, 2));
      entries.reserve(static_cast<size_t>(h.arg));
    } else {
      deterministic_ = false;
    }
    for (uint64_t i = 0;; ++i) {
      if (h.indefinite) {
        ASSIGN_OR_RETURN(bool done, AtBreak());
        if (done) {
          break;
        }
        if (entries.size() >= limits_.max_container_len) {
          return Fail("container longer than the limit", h.offset);
        }
      } else if (i == h.arg) {
        break;
      }
      const size_t key_offset = cursor_.offset();
      ASSIGN_OR_RETURN(Value key, DecodeItem(depth));
      const ByteSpan raw_key = all.subspan(key_offset - base, cursor_.offset() - key_offset);
      //= https://www.rfc-editor.org/rfc/rfc8949#section-5.6
      //# A CBOR-based protocol MUST specify what happens if a decoder encounters duplicate keys
      // Ours: every duplicate is an error (RFC 9052 §3 requires it for COSE headers too).
      Bytes identity;
      internal::AppendKeyIdentity(key, identity);
      if (!seen.insert(std::move(identity)).second) {
        return Fail("duplicate map key", key_offset);
      }
      //= https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
      //# The keys in every map MUST be sorted in the bytewise lexicographic order of their
      //# deterministic encodings.
      // If the whole input is deterministic, raw bytes are the deterministic encodings; if it
      // is not, the flag is already false, so comparing raw bytes is exact either way.
      if (i > 0 && !std::lexicographical_compare(previous_key.begin(), previous_key.end(),
                                                 raw_key.begin(), raw_key.end())) {
        deterministic_ = false;
      }
      previous_key = raw_key;
      ASSIGN_OR_RETURN(Value value, DecodeItem(depth));
      entries.push_back(MapEntry{std::move(key), std::move(value)});
    }
    return Value::FromMap(std::move(entries));
  }

  absl::StatusOr<Value> ReadSimpleOrFloat(const Head& h) {
    switch (h.ai) {
      case 24:
        //= https://www.rfc-editor.org/rfc/rfc8949#section-3.3
        //# an encoder MUST NOT issue two-byte sequences that start with 0xf8 (major type 7,
        //# additional information 24) and continue with a byte less than 0x20 (32 decimal).
        //# Such sequences are not well-formed.
        if (h.arg < 32) {
          return Fail("two-byte simple value below 32", h.offset);
        }
        return Value::Simple(static_cast<uint8_t>(h.arg));
      case 25:
      case 26:
      case 27: {
        const FloatWidth w = h.ai == 25   ? FloatWidth::kHalf
                             : h.ai == 26 ? FloatWidth::kSingle
                                          : FloatWidth::kDouble;
        //= https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
        //# Floating-point values also MUST use the shortest form that preserves the value
        if (internal::ShortestWidth(internal::WidenToDoubleBits(w, h.arg)) != w) {
          deterministic_ = false;
        }
        return Value::FloatBits(w, h.arg);
      }
      case kAiIndefinite:
        return Fail("unexpected break", h.offset);
      default:  // 0..23: simple values (20..23 false, true, null, undefined)
        return Value::Simple(h.ai);
    }
  }

  absl::StatusOr<Value> DecodeItem(size_t depth) {
    Head h;
    RETURN_IF_ERROR(ReadHead(&h));
    if (!h.shortest && !h.indefinite && h.major != kMajorSimple) {
      deterministic_ = false;
    }
    switch (h.major) {
      case kMajorUnsigned:
        return Value::Unsigned(h.arg);
      case kMajorNegative:
        return Value::NegativeFromArgument(h.arg);
      case kMajorBytes: {
        Bytes b;
        RETURN_IF_ERROR(ReadString(h, &b));
        return Value::ByteString(std::move(b));
      }
      case kMajorText: {
        Bytes b;
        RETURN_IF_ERROR(ReadString(h, &b));
        return Value::Text(AsStringView(b));
      }
      case kMajorArray:
      case kMajorMap:
      case kMajorTag:
        if (depth + 1 > max_depth_) {
          return Fail("nesting deeper than the limit", h.offset);
        }
        if (h.major == kMajorArray) return ReadArray(h, depth + 1);
        if (h.major == kMajorMap) return ReadMap(h, depth + 1);
        {
          ASSIGN_OR_RETURN(Value content, DecodeItem(depth + 1));
          return Value::Tagged(h.arg, std::move(content));
        }
      default:
        return ReadSimpleOrFloat(h);
    }
  }

  base::ByteCursor cursor_;
  const DecodeLimits& limits_;
  const size_t max_depth_;
  size_t items_ = 0;
  bool deterministic_ = true;
};

}  // namespace

absl::StatusOr<DecodeResult> DecodeWithInfo(ByteSpan data, const DecodeLimits& limits) {
  Decoder d(data, limits);
  ASSIGN_OR_RETURN(Value v, d.DecodeTop());
  return DecodeResult{std::move(v), d.deterministic()};
}

absl::StatusOr<Value> Decode(ByteSpan data, const DecodeLimits& limits) {
  ASSIGN_OR_RETURN(DecodeResult r, DecodeWithInfo(data, limits));
  return std::move(r.value);
}

bool IsDeterministicEncoding(ByteSpan data, const DecodeLimits& limits) {
  absl::StatusOr<DecodeResult> r = DecodeWithInfo(data, limits);
  return r.ok() && r->deterministic;
}

}  // namespace confide::cbor
