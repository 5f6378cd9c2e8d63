#include "kms/http_request.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "base/http_token.h"

namespace confide::kms {
namespace {

//= https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
//# tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
//#         "~" / DIGIT / ALPHA

bool IsToken(std::string_view s) { return base::IsHttpToken(s); }

bool IsWs(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimWs(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsWs(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

//= https://www.rfc-editor.org/rfc/rfc9110#section-5.5
//# field-value = *field-content ; VCHAR, SP, HTAB, obs-text
bool IsFieldValue(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  return true;
}

absl::Status Malformed(const char* what) {
  return absl::InvalidArgumentError(std::string("malformed HTTP request: ") + what);
}

absl::Status ParseRequestLine(std::string_view line, const HttpParseLimits& limits,
                              HttpRequest& out) {
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) {
    return Malformed("request line");
  }
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, last - first - 1);
  std::string_view version = line.substr(last + 1);
  if (!IsToken(method)) {
    return Malformed("method");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return Malformed("version");
  }
  if (target.empty()) {
    return Malformed("request target");
  }
  for (unsigned char c : target) {
    bool ok = limits.allow_raw_target ? (c >= 0x20 && c != 0x7f) : (c > 0x20 && c < 0x7f);
    if (!ok) {
      return Malformed("request target");
    }
  }
  out.method = std::string(method);
  out.target = std::string(target);
  out.version = std::string(version);
  return absl::OkStatus();
}

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

const std::string* HttpRequest::FindHeader(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (EqualsIgnoreAsciiCase(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

size_t HttpRequest::CountHeader(std::string_view name) const {
  size_t n = 0;
  for (const HttpHeader& h : headers) {
    if (EqualsIgnoreAsciiCase(h.name, name)) {
      ++n;
    }
  }
  return n;
}

std::string_view HttpRequest::Path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::Query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

absl::StatusOr<HttpParseResult> ParseHttpRequestPrefix(ByteSpan data,
                                                       const HttpParseLimits& limits) {
  HttpParseResult result;
  std::string_view text = AsStringView(data);
  size_t pos = 0;
  bool have_request_line = false;
  bool head_done = false;
  HttpRequest& req = result.request;
  while (!head_done) {
    size_t nl = text.find('\n', pos);
    size_t limit_end = std::min(text.size(), limits.max_head_bytes);
    if (nl == std::string_view::npos || nl >= limit_end) {
      if (text.size() >= limits.max_head_bytes) {
        return absl::InvalidArgumentError("HTTP request head exceeds the size limit");
      }
      return result;  // incomplete
    }
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!have_request_line) {
      absl::Status s = ParseRequestLine(line, limits, req);
      if (!s.ok()) {
        return s;
      }
      have_request_line = true;
      continue;
    }
    if (line.empty()) {
      head_done = true;
      break;
    }
    if (IsWs(line.front())) {
      if (!limits.allow_obs_fold || req.headers.empty()) {
        return Malformed("obsolete line folding");
      }
      std::string_view more = TrimWs(line);
      if (!IsFieldValue(more)) {
        return Malformed("header value");
      }
      std::string& value = req.headers.back().value;
      if (!more.empty()) {
        if (!value.empty()) {
          value.push_back(' ');
        }
        value.append(more);
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Malformed("header line");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = TrimWs(line.substr(colon + 1));
    if (!IsToken(name)) {
      return Malformed("header name");
    }
    if (!IsFieldValue(value)) {
      return Malformed("header value");
    }
    if (req.headers.size() >= limits.max_headers) {
      return absl::InvalidArgumentError("HTTP request has too many headers");
    }
    req.headers.push_back(HttpHeader{std::string(name), std::string(value)});
  }
  if (req.CountHeader("transfer-encoding") != 0) {
    return absl::UnimplementedError("HTTP Transfer-Encoding is not supported");
  }
  size_t body_len = 0;
  size_t num_cl = req.CountHeader("content-length");
  if (num_cl > 1) {
    return Malformed("more than one Content-Length");
  }
  if (num_cl == 1) {
    std::optional<uint64_t> n = ParseDecimal(*req.FindHeader("content-length"));
    if (!n.has_value()) {
      return Malformed("Content-Length");
    }
    if (*n > limits.max_body_bytes) {
      return absl::InvalidArgumentError("HTTP request body exceeds the size limit");
    }
    body_len = static_cast<size_t>(*n);
  } else if (limits.body_is_rest) {
    body_len = text.size() - pos;
    if (body_len > limits.max_body_bytes) {
      return absl::InvalidArgumentError("HTTP request body exceeds the size limit");
    }
  }
  if (text.size() - pos < body_len) {
    return result;  // incomplete
  }
  req.body.assign(data.begin() + static_cast<std::ptrdiff_t>(pos),
                  data.begin() + static_cast<std::ptrdiff_t>(pos + body_len));
  result.consumed = pos + body_len;
  result.complete = true;
  return result;
}

absl::StatusOr<HttpRequest> ParseHttpRequest(ByteSpan data, const HttpParseLimits& limits) {
  absl::StatusOr<HttpParseResult> r = ParseHttpRequestPrefix(data, limits);
  if (!r.ok()) {
    return r.status();
  }
  if (!r->complete) {
    return absl::InvalidArgumentError("HTTP request is incomplete");
  }
  if (r->consumed != data.size()) {
    return absl::InvalidArgumentError("HTTP request is followed by extra bytes");
  }
  return std::move(r->request);
}

std::string SerializeHttpRequest(const HttpRequest& request) {
  std::string out;
  out.append(request.method).append(" ").append(request.target).append(" ");
  out.append(request.version).append("\r\n");
  for (const HttpHeader& h : request.headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  out.append("\r\n");
  out.append(AsStringView(request.body));
  return out;
}

}  // namespace confide::kms
