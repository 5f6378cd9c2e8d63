// confide::app sealed API: the OHTTP layer of the enclave (sealed-path.md §1). It opens an
// Encapsulated Request with the enclave's key, decodes the Binary HTTP request inside, hands it
// to the inner API (ApiService or a router around it) and seals the answer:
//
//   message/ohttp-req          -> message/ohttp-res: one sealed known-length BHTTP response (a
//                                 streamed inner reply is collected first)
//   message/ohttp-chunked-req  -> message/ohttp-chunked-res: the response nonce, then sealed
//                                 chunks. A streamed inner reply becomes an indeterminate-length
//                                 BHTTP response: its head is one chunk, every piece the inner
//                                 producer writes (one SSE event) is sealed into its own chunk as
//                                 soon as it is written, and the content terminator is the final
//                                 chunk. A non-streamed inner reply is one final chunk holding
//                                 the known-length BHTTP response.
//
// Outer errors (RFC 9458 §5.2, §6.2), plain HTTP visible to the parent: 400
// application/problem+json of type ...#ohttp-key for a key id or algorithm the enclave does not
// hold; 400 with an empty body for a malformed or undecryptable request; 415 for another
// Content-Type; 405 for another method. Once a request is opened, every error (a malformed inner
// message included) is a sealed response: nothing about the inner request leaks.
#ifndef CONFIDE_APP_SEALED_API_H_
#define CONFIDE_APP_SEALED_API_H_

#include <functional>
#include <string>
#include <vector>

#include "app/openai_api.h"
#include "base/status.h"
#include "http/http.h"
#include "ohttp/bhttp.h"
#include "ohttp/ohttp.h"

namespace confide::app {

// InnerHandler answers an opened inner request.
using InnerHandler = std::function<ApiReply(const http::Request&)>;

// kOhttpKeyProblemType is the RFC 9458 §6.2 problem type for a key the gateway does not hold.
inline constexpr char kOhttpKeyProblemType[] =
    "https://iana.org/assignments/http-problem-types#ohttp-key";

// SealedApi serves POST /ohttp. Thread-safe (each request has its own HPKE context).
class SealedApi {
 public:
  // SealedApi serves `gateway`'s keys, passing opened requests to `inner`.
  SealedApi(ohttp::Gateway gateway, InnerHandler inner)
      : gateway_(std::move(gateway)), inner_(std::move(inner)) {}

  // HandleOhttp answers one outer request (see the file comment). A stream producer refers to
  // this object, which must outlive it.
  ApiReply HandleOhttp(const http::Request& outer) const;

  // key_configs returns the application/ohttp-keys bytes.
  const Bytes& key_configs() const { return gateway_.EncodedKeyConfigs(); }
  const ohttp::Gateway& gateway() const { return gateway_; }

 private:
  ApiReply HandleSingle(const http::Request& outer) const;
  ApiReply HandleChunked(const http::Request& outer) const;
  // OuterError returns the plain (unsealed) error for a request that could not be opened.
  ApiReply OuterError(ByteSpan encapsulated, const absl::Status& status) const;

  ohttp::Gateway gateway_;
  InnerHandler inner_;
};

// ToInnerRequest converts an opened Binary HTTP request to an http::Request (path as target,
// header names as sent, content as body).
http::Request ToInnerRequest(const ohttp::BhttpRequest& request);

// ResponseFields returns the header fields of `response` for Binary HTTP: names lower-cased,
// hop-by-hop and framing fields (Connection, Transfer-Encoding, Content-Length, Keep-Alive)
// dropped.
std::vector<ohttp::Field> ResponseFields(const http::Response& response);

}  // namespace confide::app

#endif  // CONFIDE_APP_SEALED_API_H_
