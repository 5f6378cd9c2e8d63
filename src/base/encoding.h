// confide::base encodings: hex, base64 (RFC 4648 §4) and base64url (RFC 4648 §5).
//
// Decoders are strict: they reject characters outside the alphabet, whitespace, wrong padding
// and non-zero trailing bits, so that each byte string has exactly one accepted encoding.
#ifndef CONFIDE_BASE_ENCODING_H_
#define CONFIDE_BASE_ENCODING_H_

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::base {

// HexEncode returns lower-case hex of `data`.
std::string HexEncode(ByteSpan data);
// HexDecode decodes upper- or lower-case hex. InvalidArgument on odd length or a non-hex
// character (the error names the offset, not the content).
absl::StatusOr<Bytes> HexDecode(std::string_view hex);

// Base64Encode returns padded standard base64.
std::string Base64Encode(ByteSpan data);
// Base64Decode decodes padded standard base64. InvalidArgument on any deviation.
absl::StatusOr<Bytes> Base64Decode(std::string_view text);

// Base64UrlEncode returns unpadded base64url (as JWT/JWK use it).
std::string Base64UrlEncode(ByteSpan data);
// Base64UrlDecode decodes base64url with or without padding. InvalidArgument on any deviation.
absl::StatusOr<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace confide::base

#endif  // CONFIDE_BASE_ENCODING_H_
