#include "app/sealed_api.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "ohttp/bhttp.h"
#include "ohttp/bhttp_stream.h"
#include "ohttp/chunked.h"

namespace confide::app {
namespace {

constexpr char kOhttpReq[] = "message/ohttp-req";
constexpr char kOhttpRes[] = "message/ohttp-res";
constexpr char kChunkedReq[] = "message/ohttp-chunked-req";
constexpr char kChunkedRes[] = "message/ohttp-chunked-res";
//= https://www.rfc-editor.org/rfc/rfc9458#section-4.1
//# hdr = concat(encode(1, key_id), encode(2, kem_id), encode(2, kdf_id), encode(2, aead_id))
constexpr size_t kHeaderLen = 7;

std::string MediaType(const http::Request& r) {
  std::string_view v = r.headers.Get("Content-Type").value_or("");
  if (size_t semi = v.find(';'); semi != std::string_view::npos) v = v.substr(0, semi);
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(std::string(v)));
}

http::Response Plain(int status, std::string content_type, std::string body) {
  http::Response r;
  r.status = status;
  if (!content_type.empty()) r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

// KnownKey returns true when hdr names a key id this gateway holds with that KEM, KDF and AEAD.
bool KnownKey(const ohttp::Gateway& gateway, ByteSpan encapsulated) {
  if (encapsulated.size() < kHeaderLen) return false;
  const uint8_t key_id = encapsulated[0];
  const auto u16 = [&](size_t i) {
    return static_cast<uint16_t>((encapsulated[i] << 8) | encapsulated[i + 1]);
  };
  for (const ohttp::KeyConfig& c : gateway.Configs()) {
    if (c.key_id != key_id || c.kem_id != u16(1)) continue;
    for (const ohttp::SymmetricAlgorithm& a : c.algorithms) {
      if (a.kdf_id == u16(3) && a.aead_id == u16(5)) return true;
    }
  }
  return false;
}

// InnerError is a sealed-side error response (an inner request that could not be decoded).
http::Response InnerError(int status, std::string_view message) {
  return OpenAiError(status, "invalid_request_error", message, "", "invalid_request");
}

absl::StatusOr<Bytes> EncodeKnown(const http::Response& r) {
  ohttp::BhttpResponse b;
  b.status = static_cast<uint16_t>(r.status);
  b.headers = ResponseFields(r);
  b.content = ToBytes(r.body);
  return ohttp::EncodeResponse(b);
}

// Buffer runs a streamed reply's producer into its body.
http::Response Buffer(ApiReply reply) {
  if (reply.stream) {
    std::string body;
    reply.stream([&](std::string_view piece) {
      body.append(piece.data(), piece.size());
      return true;
    });
    reply.response.body = std::move(body);
  }
  return std::move(reply.response);
}

}  // namespace

http::Request ToInnerRequest(const ohttp::BhttpRequest& b) {
  http::Request r;
  r.method = b.method;
  r.target = b.path;
  for (const ohttp::Field& f : b.headers) r.headers.Add(f.name, f.value);
  if (!b.authority.empty() && !r.headers.Get("host")) r.headers.Add("host", b.authority);
  r.body.assign(b.content.begin(), b.content.end());
  return r;
}

std::vector<ohttp::Field> ResponseFields(const http::Response& response) {
  std::vector<ohttp::Field> out;
  for (const auto& [name, value] : response.headers.fields()) {
    std::string n = absl::AsciiStrToLower(name);
    if (n == "connection" || n == "transfer-encoding" || n == "content-length" ||
        n == "keep-alive") {
      continue;
    }
    out.push_back({std::move(n), value});
  }
  return out;
}

ApiReply SealedApi::HandleOhttp(const http::Request& outer) const {
  if (outer.method != "POST") {
    http::Response r = Plain(405, "", "");
    r.headers.Set("Allow", "POST");
    return {std::move(r), nullptr};
  }
  const std::string type = MediaType(outer);
  if (type == kOhttpReq) return HandleSingle(outer);
  if (type == kChunkedReq) return HandleChunked(outer);
  return {Plain(415, "", ""), nullptr};
}

ApiReply SealedApi::OuterError(ByteSpan encapsulated, const absl::Status& status) const {
  (void)status;  // the kind of failure is never told beyond "key" vs "not decryptable"
  if (!KnownKey(gateway_, encapsulated)) {
    //= https://www.rfc-editor.org/rfc/rfc9458#section-6.2
    //# an Oblivious Gateway Resource ... can respond with an error response ... problem type
    //# "https://iana.org/assignments/http-problem-types#ohttp-key"
    return {Plain(400, "application/problem+json",
                  std::string("{\"type\":\"") + kOhttpKeyProblemType +
                      "\",\"title\":\"key identifier unknown\"}"),
            nullptr};
  }
  //= https://www.rfc-editor.org/rfc/rfc9458#section-5.2
  //# ... it MUST respond with an error status code ... 400 (Bad Request)
  return {Plain(400, "", ""), nullptr};
}

ApiReply SealedApi::HandleSingle(const http::Request& outer) const {
  const ByteSpan encapsulated = AsBytes(outer.body);
  if (!KnownKey(gateway_, encapsulated)) {
    return OuterError(encapsulated, absl::InvalidArgumentError("key"));
  }
  auto opened = gateway_.DecapsulateRequest(encapsulated);
  if (!opened.ok()) return OuterError(encapsulated, opened.status());
  http::Response inner;
  auto request = ohttp::DecodeRequest(opened->request);
  if (!request.ok()) {
    inner = InnerError(400, "the Binary HTTP request is malformed");
  } else {
    inner = Buffer(inner_(ToInnerRequest(*request)));
  }
  auto bhttp = EncodeKnown(inner);
  if (!bhttp.ok()) bhttp = EncodeKnown(InnerError(500, "the response could not be encoded"));
  auto sealed = bhttp.ok() ? opened->context.EncapsulateResponse(*bhttp) : bhttp.status();
  if (!sealed.ok()) return {Plain(500, "", ""), nullptr};
  return {Plain(200, kOhttpRes, std::string(AsStringView(*sealed))), nullptr};
}

ApiReply SealedApi::HandleChunked(const http::Request& outer) const {
  const ByteSpan encapsulated = AsBytes(outer.body);
  if (!KnownKey(gateway_, encapsulated)) {
    return OuterError(encapsulated, absl::InvalidArgumentError("key"));
  }
  ohttp::ChunkedRequestReceiver receiver(gateway_);
  auto chunks = receiver.Feed(encapsulated);
  if (!chunks.ok()) return OuterError(encapsulated, chunks.status());
  auto last = receiver.Finish();
  if (!last.ok()) return OuterError(encapsulated, last.status());
  auto sender_or = receiver.ResponseSender();
  if (!sender_or.ok()) return {Plain(500, "", ""), nullptr};
  auto sender = std::make_shared<ohttp::ChunkedResponseSender>(*std::move(sender_or));
  Bytes plaintext;
  for (const Bytes& c : *chunks) Append(plaintext, c);
  Append(plaintext, *last);

  ApiReply inner;
  auto request = ohttp::DecodeRequest(plaintext);
  if (!request.ok()) {
    inner.response = InnerError(400, "the Binary HTTP request is malformed");
  } else {
    inner = inner_(ToInnerRequest(*request));
  }

  http::Response head = Plain(200, kChunkedRes, "");
  StreamProducer producer;
  if (!inner.stream) {
    // One final chunk: the known-length response.
    auto bhttp = EncodeKnown(inner.response);
    if (!bhttp.ok()) bhttp = EncodeKnown(InnerError(500, "the response could not be encoded"));
    auto sealed = bhttp.ok() ? sender->SealChunk(*bhttp, /*final=*/true) : bhttp.status();
    if (!sealed.ok()) return {Plain(500, "", ""), nullptr};
    Bytes body = sender->nonce_prefix();
    Append(body, *sealed);
    head.body.assign(body.begin(), body.end());
    return {std::move(head), nullptr};
  }
  // Streamed: head chunk, one chunk per piece, final chunk = content terminator + trailers.
  producer = [sender, inner](const StreamWriter& write) {
    auto head_bytes = ohttp::EncodeIndeterminateResponseHead(
        static_cast<uint16_t>(inner.response.status), ResponseFields(inner.response));
    if (!head_bytes.ok()) return;
    auto sealed = sender->SealChunk(*head_bytes, false);
    if (!sealed.ok()) return;
    Bytes first = sender->nonce_prefix();
    Append(first, *sealed);
    if (!write(AsStringView(first))) return;
    bool ok = true;
    inner.stream([&](std::string_view piece) {
      Bytes chunk = ohttp::EncodeIndeterminateContentChunk(AsBytes(piece));
      if (chunk.empty()) return true;
      auto s = sender->SealChunk(chunk, false);
      ok = s.ok() && write(AsStringView(*s));
      return ok;
    });
    if (!ok) return;  // the client sees no final chunk: a truncated stream it detects
    auto end = ohttp::EncodeIndeterminateResponseEnd();
    if (!end.ok()) return;
    auto fin = sender->SealChunk(*end, /*final=*/true);
    if (fin.ok()) write(AsStringView(*fin));
  };
  return {std::move(head), std::move(producer)};
}

}  // namespace confide::app
