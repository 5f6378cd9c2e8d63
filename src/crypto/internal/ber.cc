#include "crypto/internal/ber.h"

#include <charconv>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"

namespace confide::crypto::internal {
namespace {

absl::Status Malformed(std::string_view what, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed ", std::string(what), ": ", std::string(problem)));
}

// ReadHeader reads an identifier octet and a length. On success *indefinite says whether the
// length octets were 0x80 and, if not, *len holds the definite length (already checked
// against the bytes left).
absl::Status ReadHeader(base::ByteCursor& cur, std::string_view what, uint8_t* tag, size_t* len,
                        bool* indefinite) {
  uint8_t id = 0;
  if (!cur.ReadU8(&id)) return Malformed(what, "truncated identifier");
  if ((id & 0x1f) == 0x1f) return Malformed(what, "high tag numbers are not supported");
  uint8_t first = 0;
  if (!cur.ReadU8(&first)) return Malformed(what, "truncated length");
  *tag = id;
  *indefinite = false;
  //= https://www.itu.int/rec/T-REC-X.690 §8.1.3.4, §8.1.3.5, §8.1.3.6
  if (first < 0x80) {
    *len = first;
  } else if (first == 0x80) {
    //# The indefinite form ... can only be used if the encoding is constructed.
    if ((id & kBerConstructed) == 0) {
      return Malformed(what, "indefinite length on a primitive element");
    }
    *indefinite = true;
    *len = 0;
    return absl::OkStatus();
  } else if (first == 0xff) {
    //# the value 11111111 shall not be used.
    return Malformed(what, "reserved length octet");
  } else {
    const size_t n = first & 0x7f;
    if (n > 4) return Malformed(what, "length is too large");
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) {
      uint8_t b = 0;
      if (!cur.ReadU8(&b)) return Malformed(what, "truncated length");
      value = (value << 8) | b;
    }
    *len = static_cast<size_t>(value);
  }
  if (*len > cur.remaining()) return Malformed(what, "length exceeds the bytes left");
  return absl::OkStatus();
}

// ReadElement reads one element at `depth`, finding the end of indefinite-length contents by
// walking the nested elements (each level bounded by kMaxBerDepth).
absl::Status ReadElement(base::ByteCursor& cur, int depth, std::string_view what, BerElement* out) {
  if (depth > kMaxBerDepth) return Malformed(what, "nesting is too deep");
  uint8_t tag = 0;
  size_t len = 0;
  bool indefinite = false;
  RETURN_IF_ERROR(ReadHeader(cur, what, &tag, &len, &indefinite));
  if (tag == 0x00) return Malformed(what, "unexpected end-of-contents");
  out->tag = tag;
  out->depth = depth;
  out->indefinite = indefinite;
  if (!indefinite) {
    if (!cur.ReadBytes(len, &out->contents)) return Malformed(what, "truncated contents");
    return absl::OkStatus();
  }
  const ByteSpan start = cur.rest();
  while (true) {
    const size_t offset = start.size() - cur.remaining();
    uint8_t peek[2] = {0, 0};
    base::ByteCursor look = cur;
    if (!look.ReadU8(&peek[0]) || !look.ReadU8(&peek[1])) {
      return Malformed(what, "missing end-of-contents");
    }
    if (peek[0] == 0x00) {
      //# The end-of-contents octets shall consist of two zero octets.
      if (peek[1] != 0x00) return Malformed(what, "bad end-of-contents");
      out->contents = start.first(offset);
      if (!cur.Skip(2)) return Malformed(what, "missing end-of-contents");
      return absl::OkStatus();
    }
    BerElement child;
    RETURN_IF_ERROR(ReadElement(cur, depth + 1, what, &child));
  }
}

absl::Status AppendOctetString(const BerElement& e, size_t max_len, std::string_view what,
                               Bytes& out) {
  if (!e.constructed()) {
    if (e.contents.size() > max_len - out.size()) return Malformed(what, "value is too long");
    Append(out, e.contents);
    return absl::OkStatus();
  }
  //= https://www.itu.int/rec/T-REC-X.690 §8.7.3.2
  //# ... the contents octets shall consist of zero, one or more encodings. Each such encoding
  //# shall include identifier, length, and contents octets, and may be either primitive or
  //# constructed, [and] shall be an octetstring.
  BerReader r = BerReader::Enter(e);
  while (!r.empty()) {
    BerElement seg;
    RETURN_IF_ERROR(r.Next(&seg, what));
    if (seg.tag != kBerOctetString && seg.tag != (kBerOctetString | kBerConstructed)) {
      return Malformed(what, "segment of a constructed string is not an OCTET STRING");
    }
    RETURN_IF_ERROR(AppendOctetString(seg, max_len, what, out));
  }
  return absl::OkStatus();
}

void AppendBase128(Bytes& out, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v != 0);
  while (n > 0) {
    --n;
    out.push_back(static_cast<uint8_t>(tmp[n] | (n > 0 ? 0x80 : 0x00)));
  }
}

}  // namespace

absl::Status BerReader::Next(BerElement* out, std::string_view what) {
  base::ByteCursor copy = cursor_;
  RETURN_IF_ERROR(ReadElement(copy, depth_, what, out));
  cursor_ = copy;
  return absl::OkStatus();
}

absl::Status BerReader::Expect(uint8_t tag, BerElement* out, std::string_view what) {
  uint8_t next = 0;
  if (!PeekTag(&next)) return Malformed(what, "missing");
  if (next != tag) return Malformed(what, "unexpected tag");
  return Next(out, what);
}

absl::Status BerReader::ExpectEnd(std::string_view what) const {
  if (!empty()) return Malformed(what, "unexpected trailing data");
  return absl::OkStatus();
}

absl::StatusOr<Bytes> ReadOctetString(const BerElement& e, size_t max_len, std::string_view what) {
  Bytes out;
  RETURN_IF_ERROR(AppendOctetString(e, max_len, what, out));
  return out;
}

absl::StatusOr<int> ReadSmallInteger(const BerElement& e, std::string_view what) {
  if (e.constructed()) return Malformed(what, "INTEGER is constructed");
  const ByteSpan c = e.contents;
  if (c.empty()) return Malformed(what, "empty INTEGER");
  //= https://www.itu.int/rec/T-REC-X.690 §8.3.2
  //# If the contents octets of an integer value encoding consist of more than one octet, then
  //# the bits of the first octet and bit 8 of the second octet: a) shall not all be ones; and
  //# b) shall not all be zero.
  if (c.size() > 1 && ((c[0] == 0x00 && (c[1] & 0x80) == 0) || (c[0] == 0xff && (c[1] & 0x80)))) {
    return Malformed(what, "INTEGER is not minimally encoded");
  }
  if ((c[0] & 0x80) != 0) return Malformed(what, "INTEGER is negative");
  if (c.size() > 4 || (c.size() == 4 && c[0] > 0x7f)) {
    return Malformed(what, "INTEGER is too large");
  }
  int v = 0;
  for (uint8_t b : c) v = (v << 8) | b;
  return v;
}

absl::StatusOr<std::string> OidToString(ByteSpan contents) {
  if (contents.empty()) return absl::InvalidArgumentError("empty OBJECT IDENTIFIER");
  std::vector<uint64_t> arcs;
  uint64_t value = 0;
  bool in_arc = false;
  for (uint8_t b : contents) {
    //= https://www.itu.int/rec/T-REC-X.690 §8.19.2
    //# the leading octet of the subidentifier shall not have the value 80 (hexadecimal).
    if (!in_arc && b == 0x80) {
      return absl::InvalidArgumentError("OBJECT IDENTIFIER is not minimally encoded");
    }
    if (value > (std::numeric_limits<uint64_t>::max() >> 8)) {
      return absl::InvalidArgumentError("OBJECT IDENTIFIER arc is too large");
    }
    value = (value << 7) | (b & 0x7f);
    in_arc = (b & 0x80) != 0;
    if (!in_arc) {
      arcs.push_back(value);
      value = 0;
    }
  }
  if (in_arc) return absl::InvalidArgumentError("OBJECT IDENTIFIER is truncated");
  //= https://www.itu.int/rec/T-REC-X.690 §8.19.4
  //# ... (X*40) + Y
  std::string out;
  const uint64_t first = arcs[0];
  if (first < 40) {
    absl::StrAppend(&out, "0.", first);
  } else if (first < 80) {
    absl::StrAppend(&out, "1.", first - 40);
  } else {
    absl::StrAppend(&out, "2.", first - 80);
  }
  for (size_t i = 1; i < arcs.size(); ++i) absl::StrAppend(&out, ".", arcs[i]);
  return out;
}

absl::StatusOr<Bytes> OidFromString(std::string_view dotted) {
  std::vector<uint64_t> arcs;
  size_t pos = 0;
  while (true) {
    const size_t dot = dotted.find('.', pos);
    const std::string_view part =
        dotted.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    uint64_t v = 0;
    if (part.empty() || (part.size() > 1 && part[0] == '0')) {
      return absl::InvalidArgumentError("malformed dotted OID");
    }
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc() || end != part.data() + part.size()) {
      return absl::InvalidArgumentError("malformed dotted OID");
    }
    arcs.push_back(v);
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  // Subidentifiers are capped below 2^63, as OidToString accepts them.
  constexpr uint64_t kMaxSubidentifier = (uint64_t{1} << 63) - 1;
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) ||
      arcs[1] > kMaxSubidentifier - 80) {
    return absl::InvalidArgumentError("malformed dotted OID");
  }
  for (size_t i = 2; i < arcs.size(); ++i) {
    if (arcs[i] > kMaxSubidentifier) return absl::InvalidArgumentError("malformed dotted OID");
  }
  Bytes out;
  AppendBase128(out, arcs[0] * 40 + arcs[1]);
  for (size_t i = 2; i < arcs.size(); ++i) AppendBase128(out, arcs[i]);
  return out;
}

Bytes DerTlv(uint8_t tag, ByteSpan contents) {
  Bytes out;
  out.reserve(contents.size() + 6);
  out.push_back(tag);
  const size_t n = contents.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else {
    uint8_t len_bytes[sizeof(size_t)];
    size_t k = 0;
    for (size_t v = n; v != 0; v >>= 8) len_bytes[k++] = static_cast<uint8_t>(v & 0xff);
    out.push_back(static_cast<uint8_t>(0x80 | k));
    while (k > 0) out.push_back(len_bytes[--k]);
  }
  Append(out, contents);
  return out;
}

Bytes DerSmallInteger(int value) {
  Bytes c;
  uint32_t v = static_cast<uint32_t>(value < 0 ? 0 : value);
  do {
    c.insert(c.begin(), static_cast<uint8_t>(v & 0xff));
    v >>= 8;
  } while (v != 0);
  if ((c[0] & 0x80) != 0) c.insert(c.begin(), 0x00);
  return DerTlv(kBerInteger, c);
}

}  // namespace confide::crypto::internal
