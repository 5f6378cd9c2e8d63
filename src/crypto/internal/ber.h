// Private to confide::crypto: a small bounded BER reader and DER writer (X.690), enough for
// CMS EnvelopedData as AWS KMS sends it (indefinite lengths, constructed OCTET STRINGs).
//
// The reader never allocates while walking: elements are views into the input. Every length is
// checked against the bytes left, nesting is capped at kMaxBerDepth, and only low tag numbers
// (< 31) are accepted, which is all CMS uses.
#ifndef CONFIDE_CRYPTO_INTERNAL_BER_H_
#define CONFIDE_CRYPTO_INTERNAL_BER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/cursor.h"
#include "base/status.h"

namespace confide::crypto::internal {

// Identifier octets (class | constructed | number).
inline constexpr uint8_t kBerInteger = 0x02;
inline constexpr uint8_t kBerOctetString = 0x04;
inline constexpr uint8_t kBerNull = 0x05;
inline constexpr uint8_t kBerOid = 0x06;
inline constexpr uint8_t kBerSequence = 0x30;
inline constexpr uint8_t kBerSet = 0x31;
inline constexpr uint8_t kBerConstructed = 0x20;
inline constexpr uint8_t kBerContext = 0x80;  // context-specific class

// kMaxBerDepth bounds nesting (CMS EnvelopedData needs about 10 levels).
inline constexpr int kMaxBerDepth = 32;

// BerElement is one parsed element: its identifier octet and a view of its contents octets
// (for indefinite lengths, without the end-of-contents octets).
struct BerElement {
  uint8_t tag = 0;
  ByteSpan contents;
  bool indefinite = false;
  int depth = 0;  // nesting depth of this element (0 = top level)

  bool constructed() const { return (tag & kBerConstructed) != 0; }
};

// BerReader reads consecutive elements from one span (the top level, or the contents of a
// constructed element). Not thread-safe; cheap to copy.
class BerReader {
 public:
  explicit BerReader(ByteSpan data, int depth = 0) : cursor_(data), depth_(depth) {}
  // Enter returns a reader over the contents of constructed element `e`.
  static BerReader Enter(const BerElement& e) { return BerReader(e.contents, e.depth + 1); }

  // empty returns true when no bytes are left.
  bool empty() const { return cursor_.empty(); }
  // PeekTag returns the next identifier octet without consuming it; false when empty.
  bool PeekTag(uint8_t* tag) const { return cursor_.PeekU8(tag); }

  // Next reads the next element. InvalidArgument naming `what` when it is malformed: truncated,
  // a high tag number, a reserved or oversized length, an indefinite length on a primitive
  // element, a missing end-of-contents, an unexpected end-of-contents, or nesting deeper than
  // kMaxBerDepth.
  absl::Status Next(BerElement* out, std::string_view what);
  // Expect reads the next element and checks that its identifier octet is `tag`.
  absl::Status Expect(uint8_t tag, BerElement* out, std::string_view what);
  // ExpectEnd fails with InvalidArgument naming `what` unless no bytes are left.
  absl::Status ExpectEnd(std::string_view what) const;

 private:
  base::ByteCursor cursor_;
  int depth_;
};

// ReadOctetString returns the value of an OCTET STRING element whose tag the caller has already
// checked (universal or implicitly tagged): the contents of a primitive encoding, or the
// concatenated segments of a constructed one (each a universal OCTET STRING, primitive or
// constructed). InvalidArgument when malformed or longer than `max_len`.
absl::StatusOr<Bytes> ReadOctetString(const BerElement& e, size_t max_len, std::string_view what);

// ReadSmallInteger returns the value of a primitive INTEGER element in [0, 2^31). It must be
// minimally encoded (X.690 §8.3.2). InvalidArgument otherwise.
absl::StatusOr<int> ReadSmallInteger(const BerElement& e, std::string_view what);

// OidToString returns the dotted form of OBJECT IDENTIFIER contents octets ("1.2.840..."), or
// InvalidArgument when they are empty, not minimally encoded, or have a subidentifier >= 2^63.
absl::StatusOr<std::string> OidToString(ByteSpan contents);
// OidFromString returns the contents octets of a dotted OID. InvalidArgument when malformed
// (fewer than two arcs, first arc > 2, second arc > 39 under arcs 0/1, non-digits, leading
// zeros, a subidentifier >= 2^63).
absl::StatusOr<Bytes> OidFromString(std::string_view dotted);

// DerTlv returns tag || DER length || contents (definite, minimal length).
Bytes DerTlv(uint8_t tag, ByteSpan contents);
// DerSmallInteger returns a DER INTEGER holding `value` (>= 0).
Bytes DerSmallInteger(int value);

}  // namespace confide::crypto::internal

#endif  // CONFIDE_CRYPTO_INTERNAL_BER_H_
