#include "client/sealed_session.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/log.h"
#include "crypto/random.h"
#include "nlohmann/json.hpp"
#include "ohttp/bhttp_stream.h"
#include "ohttp/chunked.h"

namespace confide::client {
namespace {

using nlohmann::json;

constexpr size_t kNonceLen = 32;
constexpr size_t kMaxProblemBytes = 16 * 1024;
constexpr char kOhttpReq[] = "message/ohttp-req";
constexpr char kOhttpRes[] = "message/ohttp-res";
constexpr char kChunkedReq[] = "message/ohttp-chunked-req";
constexpr char kChunkedRes[] = "message/ohttp-chunked-res";

absl::Status WithStep(const absl::Status& s, std::string_view step) {
  return absl::Status(s.code(), absl::StrCat(std::string(step), ": ", std::string(s.message())));
}

// MediaType returns the lower-cased media type of a Content-Type value, without parameters.
std::string MediaType(const http::Headers& headers) {
  std::string v(headers.Get("content-type").value_or(""));
  v = v.substr(0, v.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(v));
}

//= docs/design/sealed-path.md §1: an unknown key id ... gets 400 application/problem+json with
//= "type":"https://iana.org/assignments/http-problem-types#ohttp-key"
bool IsKeyProblem(int status, const http::Headers& headers, std::string_view body) {
  if (status != 400 || MediaType(headers) != "application/problem+json") return false;
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return false;
  return absl::EndsWith(j["type"].get<std::string>(), "#ohttp-key");
}

// GatewayError describes a non-200 answer to a sealed request (status and generic text only;
// the body of an error is never echoed).
absl::Status GatewayError(int status, const http::Headers& headers) {
  if (status == 429 || status == 503) {
    std::string retry(headers.Get("retry-after").value_or(""));
    const bool numeric =
        !retry.empty() && retry.size() < 8 && std::all_of(retry.begin(), retry.end(), ::isdigit);
    return absl::UnavailableError(
        absl::StrCat("gateway: busy (HTTP ", status, ")",
                     numeric ? absl::StrCat(", retry after ", retry, " s") : std::string()));
  }
  if (status == 400) {
    return absl::FailedPreconditionError(
        "request: the enclave could not open the sealed request (HTTP 400)");
  }
  return absl::UnavailableError(absl::StrCat("gateway: answered HTTP ", status));
}

bool IsHopByHop(std::string_view lower) {
  static constexpr std::string_view kDrop[] = {
      "host",
      "connection",
      "content-length",
      "transfer-encoding",
      "keep-alive",
      "upgrade",
      "te",
      "trailer",
      "proxy-connection",
      "proxy-authorization",
      "expect",
      "accept-encoding",
  };
  return std::find(std::begin(kDrop), std::end(kDrop), lower) != std::end(kDrop);
}

}  // namespace

absl::StatusOr<ohttp::SymmetricAlgorithm> ChooseAlgorithm(const ohttp::KeyConfig& config) {
  for (uint16_t aead : {uint16_t{0x0002}, uint16_t{0x0003}, uint16_t{0x0001}}) {
    const ohttp::SymmetricAlgorithm want{0x0001, aead};
    if (std::find(config.algorithms.begin(), config.algorithms.end(), want) !=
        config.algorithms.end()) {
      return want;
    }
  }
  return absl::FailedPreconditionError(
      "the key configuration offers no supported algorithm (HKDF-SHA256 with AES-GCM or "
      "ChaCha20-Poly1305)");
}

absl::StatusOr<ohttp::BhttpRequest> ToBinaryHttp(const http::Request& inner) {
  ohttp::BhttpRequest r;
  r.method = inner.method;
  if (inner.target.empty() || inner.target.front() != '/') {
    return absl::InvalidArgumentError("request: the target must be a path (origin-form)");
  }
  r.scheme = "https";
  r.path = inner.target;
  for (const auto& [name, value] : inner.headers.fields()) {
    std::string lower = absl::AsciiStrToLower(name);
    if (IsHopByHop(lower) || absl::StartsWith(lower, "proxy-")) continue;
    r.headers.push_back({std::move(lower), value});
  }
  r.content = ToBytes(inner.body);
  return r;
}

http::Response FromBinaryHttp(const ohttp::BhttpResponse& inner) {
  http::Response r;
  r.status = inner.status;
  for (const ohttp::Field& f : inner.headers) r.headers.Add(f.name, f.value);
  r.body.assign(AsStringView(inner.content));
  return r;
}

SealedSession::SealedSession(std::shared_ptr<Transport> transport, TrustPolicy policy,
                             SessionOptions options)
    : transport_(std::move(transport)), policy_(std::move(policy)), options_(std::move(options)) {}

absl::Time SealedSession::Now() const { return options_.clock ? options_.clock() : absl::Now(); }

absl::StatusOr<std::shared_ptr<const Attestation>> SealedSession::Attest() {
  std::lock_guard<std::mutex> attesting(attest_mu_);
  return AttestLocked();
}

absl::StatusOr<std::shared_ptr<const Attestation>> SealedSession::AttestLocked() {
  ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomBytes(kNonceLen));
  http::Request req;
  req.method = "GET";
  req.target = absl::StrCat(options_.path_prefix, "/v1/attestation?nonce=", base::HexEncode(nonce));
  req.headers.Add("Accept", "application/json");
  auto resp = transport_->Send(req);
  if (!resp.ok()) return WithStep(resp.status(), "gateway");
  if (resp->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("gateway: the attestation request was answered HTTP ", resp->status));
  }
  if (resp->body.size() > options_.max_outer_body_bytes) {
    return absl::InvalidArgumentError("attestation: the gateway's answer is too large");
  }
  json j = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  auto bad = [](const char* what) {
    return absl::InvalidArgumentError(
        absl::StrCat("attestation: malformed gateway answer: ", what));
  };
  if (!j.is_object()) return bad("not a JSON object");
  Bytes document, keys;
  for (auto [name, out] :
       {std::pair{"attestation_document", &document}, std::pair{"ohttp_keys", &keys}}) {
    if (!j.contains(name) || !j[name].is_string()) {
      return bad(name == std::string("ohttp_keys") ? "'ohttp_keys' is missing"
                                                   : "'attestation_document' is missing");
    }
    auto b = base::Base64Decode(j[name].get<std::string>());
    if (!b.ok()) return bad("a field is not base64");
    *out = *std::move(b);
  }
  if (!j.contains("key_id") || !j["key_id"].is_number_integer() || j["key_id"].get<int64_t>() < 0 ||
      j["key_id"].get<int64_t>() > 255) {
    return bad("'key_id' is not 0..255");
  }
  const uint8_t key_id = static_cast<uint8_t>(j["key_id"].get<int64_t>());
  std::string enclave_id;
  if (j.contains("enclave") && j["enclave"].is_string()) {
    enclave_id = j["enclave"].get<std::string>();
  } else if (j.contains("enclave") && j["enclave"].is_number_integer()) {
    enclave_id = std::to_string(j["enclave"].get<int64_t>());
  }
  // The enclave id is shown to the user: keep it short and printable.
  if (enclave_id.size() > 64 || !std::all_of(enclave_id.begin(), enclave_id.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '-' || c == '_';
      })) {
    enclave_id = "?";
  }

  auto verified = VerifyEnclave(policy_, document, keys, nonce, Now());
  if (!verified.ok()) return WithStep(verified.status(), "attestation");

  auto a = std::make_shared<Attestation>();
  a->enclave_id = enclave_id;
  a->document_time =
      absl::FromUnixMillis(static_cast<int64_t>(verified->verified.document.timestamp_ms));
  const auto& configs = verified->key_configs;
  auto it = std::find_if(configs.begin(), configs.end(),
                         [&](const ohttp::KeyConfig& c) { return c.key_id == key_id; });
  if (it == configs.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "attestation: key id ", key_id, " is not among the attested key configurations"));
  }
  a->key_config = *it;
  auto alg = ChooseAlgorithm(a->key_config);
  if (!alg.ok()) return WithStep(alg.status(), "attestation");
  a->algorithm = *alg;
  a->enclave = *std::move(verified);
  log::Debug("client.attested", {{"key_id", static_cast<uint64_t>(key_id)},
                                 {"simulation", a->enclave.verified.simulation},
                                 {"aead", static_cast<uint64_t>(a->algorithm.aead_id)}});
  std::shared_ptr<const Attestation> out = a;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = out;
  return out;
}

std::shared_ptr<const Attestation> SealedSession::Fresh() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (current_ && Now() - current_->document_time < policy_.max_document_age) return current_;
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const Attestation>> SealedSession::Current() {
  if (auto a = Fresh()) return a;
  std::lock_guard<std::mutex> attesting(attest_mu_);
  // Another request may have attested while this one waited.
  if (auto a = Fresh()) return a;
  return AttestLocked();
}

absl::StatusOr<http::Response> SealedSession::SendOnce(const Attestation& a,
                                                       const ohttp::BhttpRequest& inner,
                                                       bool* key_rejected) {
  *key_rejected = false;
  auto encoded = ohttp::EncodeRequest(inner);
  if (!encoded.ok()) return WithStep(encoded.status(), "request");
  auto sealed = ohttp::EncapsulateRequest(a.key_config, a.algorithm, *encoded);
  if (!sealed.ok()) return WithStep(sealed.status(), "request");
  http::Request req;
  req.method = "POST";
  req.target = absl::StrCat(options_.path_prefix, "/v1/ohttp");
  req.headers.Add("Content-Type", kOhttpReq);
  req.headers.Add("Accept", kOhttpRes);
  req.body.assign(AsStringView(sealed->encapsulated));
  auto resp = transport_->Send(req);
  if (!resp.ok()) return WithStep(resp.status(), "gateway");
  if (resp->status != 200) {
    if (IsKeyProblem(resp->status, resp->headers, resp->body)) {
      *key_rejected = true;
      return absl::FailedPreconditionError(
          "request: the enclave does not hold the attested key (ohttp-key)");
    }
    return GatewayError(resp->status, resp->headers);
  }
  if (MediaType(resp->headers) != kOhttpRes) {
    return absl::InvalidArgumentError("response: the gateway's answer is not message/ohttp-res");
  }
  if (resp->body.size() > options_.max_outer_body_bytes) {
    return absl::InvalidArgumentError("response: the sealed response is too large");
  }
  auto opened = sealed->context.DecapsulateResponse(AsBytes(resp->body));
  if (!opened.ok()) return WithStep(opened.status(), "response");
  auto decoded = ohttp::DecodeResponse(*opened, options_.limits);
  if (!decoded.ok()) return WithStep(decoded.status(), "response");
  return FromBinaryHttp(*decoded);
}

absl::StatusOr<http::Response> SealedSession::Send(const http::Request& inner) {
  ASSIGN_OR_RETURN(ohttp::BhttpRequest bhttp, ToBinaryHttp(inner));
  ASSIGN_OR_RETURN(auto a, Current());
  bool key_rejected = false;
  auto r = SendOnce(*a, bhttp, &key_rejected);
  if (!key_rejected) return r;
  // The enclave's key changed since we attested (a restart, a rotation): attest again, once.
  ASSIGN_OR_RETURN(a, Attest());
  return SendOnce(*a, bhttp, &key_rejected);
}

absl::Status SealedSession::StreamOnce(const Attestation& a, const ohttp::BhttpRequest& inner,
                                       const HeadCallback& on_head, const BodyCallback& on_body,
                                       bool* key_rejected) {
  *key_rejected = false;
  auto encoded = ohttp::EncodeRequest(inner);
  if (!encoded.ok()) return WithStep(encoded.status(), "request");
  auto sender = ohttp::ChunkedRequestSender::Create(a.key_config, a.algorithm);
  if (!sender.ok()) return WithStep(sender.status(), "request");
  auto chunk = sender->SealChunk(*encoded, /*final=*/true);
  if (!chunk.ok()) return WithStep(chunk.status(), "request");
  auto receiver = sender->ResponseReceiver();
  if (!receiver.ok()) return WithStep(receiver.status(), "request");

  http::Request req;
  req.method = "POST";
  req.target = absl::StrCat(options_.path_prefix, "/v1/ohttp");
  req.headers.Add("Content-Type", kChunkedReq);
  req.headers.Add("Accept", kChunkedRes);
  req.body.assign(AsStringView(sender->header()));
  req.body.append(AsStringView(*chunk));

  ohttp::BhttpResponseStreamDecoder decoder(options_.limits);
  std::optional<http::Response> outer_head;  // set when the gateway answered
  std::string error_body;                    // a non-200 answer's body (bounded)
  bool inner_head_sent = false;
  absl::Status failure;  // why we aborted the transfer, if we did

  auto deliver = [&](const ohttp::BhttpResponseEvents& e) -> absl::Status {
    if (e.head) {
      inner_head_sent = true;
      http::Response head = FromBinaryHttp(*e.head);
      if (!on_head(head)) return absl::CancelledError("cancelled by the caller");
    }
    for (const Bytes& piece : e.content) {
      if (!inner_head_sent) return absl::InternalError("response: content before the head");
      if (!on_body(AsStringView(piece))) return absl::CancelledError("cancelled by the caller");
    }
    return absl::OkStatus();
  };
  auto open = [&](ByteSpan sealed) -> absl::Status {
    auto plain = receiver->Feed(sealed);
    if (!plain.ok()) return WithStep(plain.status(), "response");
    for (const Bytes& p : *plain) {
      auto e = decoder.Feed(p);
      if (!e.ok()) return WithStep(e.status(), "response");
      RETURN_IF_ERROR(deliver(*e));
    }
    return absl::OkStatus();
  };

  absl::Status sent = transport_->SendStreaming(
      req,
      [&](const http::Response& head) {
        outer_head = head;
        return true;
      },
      [&](std::string_view piece) {
        if (outer_head->status != 200 || MediaType(outer_head->headers) != kChunkedRes) {
          if (error_body.size() + piece.size() > kMaxProblemBytes) return false;
          error_body.append(piece);
          return true;
        }
        failure = open(AsBytes(piece));
        return failure.ok();
      });
  if (!failure.ok()) return failure;
  if (!outer_head) return WithStep(sent, "gateway");
  if (outer_head->status != 200) {
    if (IsKeyProblem(outer_head->status, outer_head->headers, error_body)) {
      *key_rejected = true;
      return absl::FailedPreconditionError(
          "request: the enclave does not hold the attested key (ohttp-key)");
    }
    return GatewayError(outer_head->status, outer_head->headers);
  }
  if (MediaType(outer_head->headers) != kChunkedRes) {
    return absl::InvalidArgumentError(
        "response: the gateway's answer is not message/ohttp-chunked-res");
  }
  if (!sent.ok()) {
    return absl::DataLossError(absl::StrCat("response truncated: the connection ended early (",
                                            std::string(sent.message()), ")"));
  }
  auto last = receiver->Finish();
  if (!last.ok()) {
    if (!receiver->final_chunk_started()) {
      return absl::DataLossError(
          "response truncated: the sealed stream ended before its final chunk");
    }
    return WithStep(last.status(), "response");
  }
  if (!last->empty()) {
    auto e = decoder.Feed(*last);
    if (!e.ok()) return WithStep(e.status(), "response");
    RETURN_IF_ERROR(deliver(*e));
  }
  auto end = decoder.Finish();
  if (!end.ok()) {
    const std::string kTruncated = "bhttp: response truncated ";
    std::string message(end.status().message());
    if (absl::StartsWith(message, kTruncated)) {
      return absl::DataLossError(absl::StrCat("response truncated: the inner response ended ",
                                              message.substr(kTruncated.size())));
    }
    return WithStep(end.status(), "response");
  }
  RETURN_IF_ERROR(deliver(*end));
  if (!inner_head_sent) return absl::DataLossError("response truncated: no inner response head");
  return absl::OkStatus();
}

absl::Status SealedSession::SendStreaming(const http::Request& inner, const HeadCallback& on_head,
                                          const BodyCallback& on_body) {
  ASSIGN_OR_RETURN(ohttp::BhttpRequest bhttp, ToBinaryHttp(inner));
  ASSIGN_OR_RETURN(auto a, Current());
  bool key_rejected = false;
  absl::Status s = StreamOnce(*a, bhttp, on_head, on_body, &key_rejected);
  if (!key_rejected) return s;
  ASSIGN_OR_RETURN(a, Attest());
  return StreamOnce(*a, bhttp, on_head, on_body, &key_rejected);
}

}  // namespace confide::client
