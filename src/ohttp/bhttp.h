// confide::ohttp Binary HTTP messages (RFC 9292): the plaintext inside every OHTTP request and
// response, carrying an ordinary HTTP request (method, path, headers with the user's bearer
// token, JSON body) to the enclave and its answer back.
//
// Encoding writes the known-length form. Decoding accepts known-length and
// indeterminate-length messages, trailing zero padding, and truncation of trailing empty
// sections (§3.8); it bounds every length against the input and the DecodeLimits before
// allocating, checks field names (lower-case tokens) and values (no CR, LF or NUL), and
// returns InvalidArgument naming the problem and offset, never message content.
#ifndef CONFIDE_OHTTP_BHTTP_H_
#define CONFIDE_OHTTP_BHTTP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::ohttp {

// Field is one header or trailer line. Names are lower case (RFC 9292 §3.6).
struct Field {
  std::string name;
  std::string value;
  bool operator==(const Field&) const = default;
};

struct BhttpRequest {
  std::string method = "GET";
  std::string scheme = "https";
  std::string authority;
  std::string path = "/";
  std::vector<Field> headers;
  Bytes content;
  std::vector<Field> trailers;

  // Header returns the value of the first header named `name` (lower case), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
  bool operator==(const BhttpRequest&) const = default;
};

struct InformationalResponse {
  uint16_t status = 100;  // 100..199
  std::vector<Field> headers;
  bool operator==(const InformationalResponse&) const = default;
};

struct BhttpResponse {
  std::vector<InformationalResponse> informational;
  uint16_t status = 200;  // 200..599
  std::vector<Field> headers;
  Bytes content;
  std::vector<Field> trailers;

  std::optional<std::string_view> Header(std::string_view name) const;
  bool operator==(const BhttpResponse&) const = default;
};

// BhttpLimits bounds decoding. Defaults suit chat requests with long documents.
struct BhttpLimits {
  size_t max_message_bytes = 16 * 1024 * 1024;
  size_t max_fields = 256;  // per section
  size_t max_field_section_bytes = 64 * 1024;
  size_t max_control_bytes = 8 * 1024;  // each of method, scheme, authority, path
  size_t max_informational = 8;
};

// EncodeRequest returns the known-length encoding of `r`. InvalidArgument if a field name is not
// a lower-case token, a value holds CR/LF/NUL, or the method is not a token.
absl::StatusOr<Bytes> EncodeRequest(const BhttpRequest& r);
// DecodeRequest parses a known- or indeterminate-length request (framing 0 or 2).
absl::StatusOr<BhttpRequest> DecodeRequest(ByteSpan data, const BhttpLimits& limits = {});

// EncodeResponse returns the known-length encoding of `r`. InvalidArgument on a bad status
// (final 200..599, informational 100..199) or field.
absl::StatusOr<Bytes> EncodeResponse(const BhttpResponse& r);
// DecodeResponse parses a known- or indeterminate-length response (framing 1 or 3).
absl::StatusOr<BhttpResponse> DecodeResponse(ByteSpan data, const BhttpLimits& limits = {});

}  // namespace confide::ohttp

#endif  // CONFIDE_OHTTP_BHTTP_H_
