// confide::kms HTTP/1.1 request parsing (RFC 9112), bounded, for the KMS server and SigV4 tests.
//
// Only what the AWS JSON 1.1 protocol needs: a request line, header fields, and a body framed by
// Content-Length. Transfer-Encoding is rejected (no AWS SDK sends a chunked KMS request), as are
// duplicate or malformed Content-Length, control characters, and anything over the limits.
#ifndef CONFIDE_KMS_HTTP_REQUEST_H_
#define CONFIDE_KMS_HTTP_REQUEST_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace confide::kms {

// HttpHeader is one header field: its name as sent and its value with leading and trailing
// whitespace removed (obs-fold continuations, when allowed, are joined with one space).
struct HttpHeader {
  std::string name;
  std::string value;
};

// HttpRequest is one parsed request.
struct HttpRequest {
  std::string method;   // e.g. "POST"
  std::string target;   // request-target as sent, e.g. "/" or "/a?b=c"
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  std::vector<HttpHeader> headers;
  Bytes body;

  // FindHeader returns the value of the first header named `name` (ASCII case-insensitive), or
  // nullptr.
  const std::string* FindHeader(std::string_view name) const;
  // CountHeader returns how many headers are named `name` (ASCII case-insensitive).
  size_t CountHeader(std::string_view name) const;
  // Path returns the target up to '?'.
  std::string_view Path() const;
  // Query returns the target after the first '?' (empty when there is none).
  std::string_view Query() const;
};

// HttpParseLimits bounds a parse. The defaults suit the KMS server.
struct HttpParseLimits {
  size_t max_head_bytes = 16 * 1024;  // request line + headers + blank line
  size_t max_headers = 100;
  size_t max_body_bytes = 1024 * 1024;
  // allow_obs_fold accepts obsolete line folding (RFC 9112 §5.2) by joining the lines with one
  // space; the server leaves it off (the RFC lets a server reject such a request with 400).
  bool allow_obs_fold = false;
  // allow_raw_target accepts spaces and non-ASCII bytes in the request-target (the request line
  // is then split at its first and last space). Only for SigV4 test fixtures, which carry raw
  // UTF-8 and spaces in paths.
  bool allow_raw_target = false;
  // body_is_rest takes every byte after the head as the body when there is no Content-Length
  // (test fixtures); otherwise such a request has an empty body.
  bool body_is_rest = false;
};

// HttpParseResult is the outcome of ParseHttpRequestPrefix on a buffer.
struct HttpParseResult {
  bool complete = false;  // false: more bytes are needed
  size_t consumed = 0;    // bytes of the buffer the request used (when complete)
  HttpRequest request;    // valid when complete
};

// ParseHttpRequestPrefix parses the request at the start of `data` (which may hold more bytes,
// e.g. a pipelined next request). Returns complete=false when the buffer ends before the
// request does and no limit is yet exceeded. InvalidArgument for a malformed request or one over
// `limits` (the message names what, never the bytes); Unimplemented for Transfer-Encoding.
// Lines end with CRLF or a bare LF (RFC 9112 §2.2 allows a recipient to accept LF).
absl::StatusOr<HttpParseResult> ParseHttpRequestPrefix(ByteSpan data,
                                                       const HttpParseLimits& limits);

// ParseHttpRequest parses `data` as exactly one complete request. InvalidArgument when it is
// incomplete, malformed, over `limits`, or followed by extra bytes.
absl::StatusOr<HttpRequest> ParseHttpRequest(ByteSpan data, const HttpParseLimits& limits);

// SerializeHttpRequest writes `request` as HTTP/1.1 text with CRLF line ends: request line,
// headers in order as "name: value", blank line, body. It does not add Content-Length.
std::string SerializeHttpRequest(const HttpRequest& request);

// EqualsIgnoreAsciiCase returns whether `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

// ToLowerAscii returns `s` with ASCII letters lowered.
std::string ToLowerAscii(std::string_view s);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_HTTP_REQUEST_H_
