#include "enclave/boot.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"

namespace confide::enclave {
namespace {

constexpr std::string_view kHeadEnd = "\r\n\r\n";

BootResponse Error(int status, std::string message) {
  BootResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = ToBytes(message + "\n");
  return r;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 502:
      return "Bad Gateway";
    default:
      return "Error";
  }
}

// ReadHead reads until CRLF CRLF and returns the head without it; bytes read past it go to
// `rest` when given (the server ignores them: requests carry no body).
absl::StatusOr<std::string> ReadHead(VsockStream& s, size_t cap, absl::Duration timeout,
                                     std::string* rest = nullptr) {
  std::string buf;
  uint8_t chunk[1024];
  while (true) {
    size_t pos = buf.find(kHeadEnd);
    if (pos != std::string::npos) {
      if (rest != nullptr) *rest = buf.substr(pos + kHeadEnd.size());
      return buf.substr(0, pos);
    }
    if (buf.size() >= cap) return absl::InvalidArgumentError("head too large");
    ASSIGN_OR_RETURN(size_t n, s.ReadSome(std::span<uint8_t>(
                                              chunk, std::min(sizeof(chunk), cap - buf.size() + 3)),
                                          timeout));
    if (n == 0) return absl::OutOfRangeError("peer closed before the end of the head");
    buf.append(reinterpret_cast<const char*>(chunk), n);
  }
}

struct ParsedResponse {
  int status = 0;
  Bytes body;
};

absl::StatusOr<ParsedResponse> Exchange(VsockTransport& transport, const VsockAddress& enclave,
                                        const std::string& target, absl::Duration timeout) {
  ASSIGN_OR_RETURN(VsockStream s, transport.Connect(enclave, timeout));
  std::string req =
      absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: enclave\r\n", "Connection: close\r\n\r\n");
  RETURN_IF_ERROR(s.WriteAll(AsBytes(req), timeout));
  std::string rest;
  auto head = ReadHead(s, kMaxRequestHeadBytes, timeout, &rest);
  if (!head.ok()) {
    return absl::InternalError(
        absl::StrCat("enclave response: ", std::string(head.status().message())));
  }
  // Status line: HTTP/1.1 SP 3DIGIT SP reason.
  std::string_view h = *head;
  if (h.size() < 12 || h.substr(0, 9) != "HTTP/1.1 ") {
    return absl::InternalError("enclave response: malformed status line");
  }
  ParsedResponse out;
  for (size_t i = 9; i < 12; ++i) {
    if (h[i] < '0' || h[i] > '9') return absl::InternalError("enclave response: bad status code");
    out.status = out.status * 10 + (h[i] - '0');
  }
  // Content-Length (required: the endpoint always sends it).
  std::optional<size_t> length;
  size_t line_start = h.find("\r\n");
  while (line_start != std::string_view::npos) {
    line_start += 2;
    size_t line_end = h.find("\r\n", line_start);
    std::string_view line =
        h.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                : line_end - line_start);
    constexpr std::string_view kLen = "content-length:";
    if (line.size() > kLen.size()) {
      std::string name(line.substr(0, kLen.size()));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == kLen) {
        std::string_view v = line.substr(kLen.size());
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        if (v.empty() || v.size() > 7 || length) {
          return absl::InternalError("enclave response: bad Content-Length");
        }
        size_t n = 0;
        for (char c : v) {
          if (c < '0' || c > '9')
            return absl::InternalError("enclave response: bad Content-Length");
          n = n * 10 + static_cast<size_t>(c - '0');
        }
        length = n;
      }
    }
    line_start = line_end;
  }
  if (!length) return absl::InternalError("enclave response: no Content-Length");
  if (*length > kMaxResponseBodyBytes)
    return absl::InternalError("enclave response: body too large");
  if (rest.size() > *length) return absl::InternalError("enclave response: trailing bytes");
  out.body = ToBytes(rest);
  if (out.body.size() < *length) {
    size_t have = out.body.size();
    out.body.resize(*length);
    absl::Status st = s.ReadExact(std::span<uint8_t>(out.body).subspan(have), timeout);
    if (!st.ok()) {
      return absl::InternalError(
          absl::StrCat("enclave response body: ", std::string(st.message())));
    }
  }
  return out;
}

}  // namespace

BootResponse HandleBootRequest(std::string_view head, attest::NsmClient& nsm) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1) != "HTTP/1.1") {
    return Error(400, "malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET") return Error(405, "only GET is supported");
  if (target == "/health") {
    BootResponse r;
    r.content_type = "application/json";
    r.body = ToBytes(std::string("{\"status\":\"ok\"}"));
    return r;
  }
  constexpr std::string_view kAttest = "/attestation?nonce=";
  if (target.substr(0, kAttest.size()) == kAttest) {
    auto nonce = base::HexDecode(target.substr(kAttest.size()));
    if (!nonce.ok() || nonce->empty() || nonce->size() > kMaxNonceBytes) {
      return Error(400, absl::StrCat("nonce must be 1..", kMaxNonceBytes, " bytes of hex"));
    }
    auto doc = nsm.Attestation(std::nullopt, std::move(*nonce), std::nullopt);
    if (!doc.ok()) {
      return Error(502, absl::StrCat("secure module: ", std::string(doc.status().message())));
    }
    BootResponse r;
    r.content_type = "application/cbor";
    r.body = std::move(*doc);
    return r;
  }
  return Error(404, "unknown path");
}

Bytes EncodeBootResponse(const BootResponse& r) {
  std::string head = absl::StrCat(
      "HTTP/1.1 ", r.status, " ", Reason(r.status), "\r\n", "Content-Type: ", r.content_type,
      "\r\n", "Content-Length: ", r.body.size(), "\r\n", "Connection: close\r\n\r\n");
  Bytes out = ToBytes(head);
  Append(out, r.body);
  return out;
}

absl::Status RunBoot(VsockTransport& transport, attest::NsmClient& nsm, const BootOptions& options,
                     const std::atomic<bool>* stop, const std::function<void()>& on_ready) {
  auto first = nsm.Attestation(std::nullopt, std::nullopt, std::nullopt);
  if (!first.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the secure module did not attest at boot: ",
                                                      std::string(first.status().message())));
  }
  ASSIGN_OR_RETURN(VsockListener listener, transport.Listen(options.port));
  if (on_ready) on_ready();
  while (stop == nullptr || !stop->load()) {
    auto conn = listener.Accept(absl::Milliseconds(200));
    if (absl::IsDeadlineExceeded(conn.status())) continue;
    if (!conn.ok()) return conn.status();
    auto head = ReadHead(*conn, kMaxRequestHeadBytes, options.io_timeout);
    BootResponse r = head.ok() ? HandleBootRequest(*head, nsm)
                               : Error(400, "request head missing, truncated or too large");
    // A peer that went away is its own problem; keep serving.
    (void)conn->WriteAll(EncodeBootResponse(r), options.io_timeout);
    conn->Close();
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ProbeEnclaveHealth(VsockTransport& transport, const VsockAddress& enclave,
                                       absl::Duration timeout) {
  ASSIGN_OR_RETURN(ParsedResponse r, Exchange(transport, enclave, "/health", timeout));
  return r.status;
}

absl::Status CheckEnclaveHealth(VsockTransport& transport, const VsockAddress& enclave,
                                absl::Duration timeout) {
  ASSIGN_OR_RETURN(int status, ProbeEnclaveHealth(transport, enclave, timeout));
  if (status != 200) return absl::InternalError(absl::StrCat("health check: status ", status));
  return absl::OkStatus();
}

absl::StatusOr<Bytes> FetchAttestation(VsockTransport& transport, const VsockAddress& enclave,
                                       ByteSpan nonce, absl::Duration timeout) {
  if (nonce.empty() || nonce.size() > kMaxNonceBytes) {
    return absl::InvalidArgumentError(absl::StrCat("nonce must be 1..", kMaxNonceBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(ParsedResponse r,
                   Exchange(transport, enclave,
                            absl::StrCat("/attestation?nonce=", base::HexEncode(nonce)), timeout));
  if (r.status != 200) {
    return absl::InternalError(absl::StrCat("attestation request: status ", r.status));
  }
  return std::move(r.body);
}

}  // namespace confide::enclave
