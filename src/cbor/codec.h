// confide::cbor codec: a strict, bounded CBOR decoder and a deterministic encoder (RFC 8949).
//
// Decode accepts exactly one well-formed data item (RFC 8949 §3, Appendix F) and nothing after
// it; it also rejects duplicate map keys, text that is not UTF-8, and input that exceeds the
// DecodeLimits. It does not check tag semantics (validity in the RFC's sense: a tag 0 holding
// a number is accepted). Encode writes the core deterministic encoding (§4.2.1) except that a
// float keeps the width it was decoded or built with (see docs/design/cbor.md).
//
// All functions are thread-safe (no shared state).
#ifndef CONFIDE_CBOR_CODEC_H_
#define CONFIDE_CBOR_CODEC_H_

#include <cstddef>

#include "base/bytes.h"
#include "base/status.h"
#include "cbor/value.h"

namespace confide::cbor {

// DecodeLimits bounds the work and memory one Decode may use. The defaults fit attestation
// documents (a few KiB, at most ~64 KiB) with room to spare. Every declared length is checked
// against the bytes left and these caps before anything is allocated.
struct DecodeLimits {
  // max_depth is the deepest nesting of arrays, maps and tags: a top-level scalar is at depth
  // 0, [[1]] reaches depth 2. Values above kMaxDepthHardCap are treated as kMaxDepthHardCap.
  size_t max_depth = 16;
  // max_items caps the number of data items (every head read, including string chunks).
  size_t max_items = 16384;
  // max_string_len caps one byte or text string (after joining indefinite-length chunks).
  size_t max_string_len = 64 * 1024;
  // max_container_len caps the elements of one array and the entries of one map.
  size_t max_container_len = 16384;
};

// kMaxDepthHardCap bounds recursion whatever DecodeLimits says.
inline constexpr size_t kMaxDepthHardCap = 256;

// DecodeResult is a decoded item plus facts about its encoding.
struct DecodeResult {
  Value value;
  // deterministic is true when the input was in core deterministic encoding (RFC 8949 §4.2.1):
  // shortest heads, definite lengths only, map keys in strictly increasing bytewise
  // lexicographic order of their encodings, floats in their shortest exact width. For such
  // input Encode(value) returns the input bytes.
  bool deterministic = false;
};

// Decode parses `data` as exactly one CBOR data item. InvalidArgument (the message names the
// problem and the byte offset, never content) on: truncation, reserved additional information
// 28..30, indefinite length on major types 0/1/6, a misplaced break, a two-byte simple value
// below 32, an indefinite-length string chunk of the wrong type, trailing bytes, a duplicate
// map key (keys compared by deterministic encoding, so 1 and 0x1801 are the same key), text
// that is not valid UTF-8, or a limit exceeded.
absl::StatusOr<Value> Decode(ByteSpan data, const DecodeLimits& limits = {});

// DecodeWithInfo is Decode that also reports whether the input was deterministic.
absl::StatusOr<DecodeResult> DecodeWithInfo(ByteSpan data, const DecodeLimits& limits = {});

// IsDeterministicEncoding returns true when `data` decodes (within `limits`) and is in core
// deterministic encoding.
bool IsDeterministicEncoding(ByteSpan data, const DecodeLimits& limits = {});

// EncodeOptions tunes Encode.
struct EncodeOptions {
  // sort_map_keys sorts map entries by the bytewise lexicographic order of their encoded keys
  // (RFC 8949 §4.2.1). Set it to false to keep each map's insertion order, e.g. to write an
  // AWS Nitro attestation document, whose payload map has a fixed, unsorted key order. Heads
  // stay shortest and lengths definite either way.
  bool sort_map_keys = true;
};

// Encode returns the encoding of `v`: shortest-form heads, definite lengths, map keys sorted
// (unless options say otherwise), floats in their stored width. With the defaults, a Value
// built with the Value builders (Value::Float picks the shortest width) encodes to the core
// deterministic encoding, and Encode(Decode(x)) == x for every deterministic x. Encode does
// not fail: it does not check text for UTF-8 or maps for duplicate keys (the builders'
// callers own that).
Bytes Encode(const Value& v, const EncodeOptions& options = {});

// EncodeTo appends the encoding of `v` to `out`.
void EncodeTo(const Value& v, Bytes& out, const EncodeOptions& options = {});

}  // namespace confide::cbor

#endif  // CONFIDE_CBOR_CODEC_H_
