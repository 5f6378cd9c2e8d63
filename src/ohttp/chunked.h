// confide::ohttp chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp-08): requests and
// responses sealed chunk by chunk, so a streamed answer (tokens as the model produces them)
// reaches the client sealed without waiting for the whole response.
//
// Framing: a chunked request is hdr || enc, then chunks each prefixed by a varint length; the
// final chunk is prefixed by 0 and runs to the end of the stream. A chunked response is the
// response nonce, then chunks framed the same way. Chunk order is bound by the HPKE sequence
// number (requests) or the nonce counter (responses); the final chunk is sealed with AAD
// "final", so truncation after any chunk is detected when the stream ends.
//
// Receivers are incremental: Feed() returns the plaintext of each complete non-final chunk as
// soon as it has arrived; Finish() is called at end of stream and returns the final chunk's
// plaintext. Every cryptographic failure is Unauthenticated "OHTTP decryption failed"; framing
// errors (an oversized chunk, data after the stream ended) are InvalidArgument. After any
// error a receiver stays failed. None of these classes is thread-safe.
#ifndef CONFIDE_OHTTP_CHUNKED_H_
#define CONFIDE_OHTTP_CHUNKED_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/hpke.h"
#include "ohttp/ohttp.h"

namespace confide::ohttp {

// kChunkedLabels are the media-type labels of the chunked variant.
Labels ChunkedLabels();

// kMaxChunkBytes bounds one sealed chunk a receiver accepts (and buffers for the final chunk).
inline constexpr size_t kMaxChunkBytes = 1024 * 1024;

class ChunkedResponseReceiver;

// ChunkedRequestSender seals a request chunk by chunk (client side).
class ChunkedRequestSender {
 public:
  // Create starts a chunked request to `config` with `algorithm`. header() must be sent first.
  static absl::StatusOr<ChunkedRequestSender> Create(const KeyConfig& config,
                                                     const SymmetricAlgorithm& algorithm);
  // header returns hdr || enc, the first bytes of the request stream.
  const Bytes& header() const { return header_; }
  // SealChunk returns the framed sealed chunk. A non-final chunk must not be empty; after the
  // final chunk nothing more may be sealed (FailedPrecondition).
  absl::StatusOr<Bytes> SealChunk(ByteSpan chunk, bool final);
  // ResponseReceiver returns the receiver for this request's response. Call it after the final
  // chunk was sealed (FailedPrecondition otherwise).
  absl::StatusOr<ChunkedResponseReceiver> ResponseReceiver() const;

 private:
  ChunkedRequestSender(crypto::HpkeSenderContext ctx, Bytes header)
      : ctx_(std::move(ctx)), header_(std::move(header)) {}
  crypto::HpkeSenderContext ctx_;
  Bytes header_;
  bool finished_ = false;
};

// ChunkedResponseSender seals a response chunk by chunk (enclave side).
class ChunkedResponseSender {
 public:
  // nonce_prefix returns the response nonce: the first bytes of the response stream.
  const Bytes& nonce_prefix() const { return response_nonce_; }
  // SealChunk returns the framed sealed chunk; same rules as ChunkedRequestSender::SealChunk.
  absl::StatusOr<Bytes> SealChunk(ByteSpan chunk, bool final);

  ChunkedResponseSender(crypto::HpkeSuite suite, SecretBytes key, Bytes nonce, Bytes response_nonce)
      : suite_(suite),
        key_(std::move(key)),
        nonce_(std::move(nonce)),
        response_nonce_(std::move(response_nonce)) {}

 private:
  crypto::HpkeSuite suite_;
  SecretBytes key_;
  Bytes nonce_;
  Bytes response_nonce_;
  uint64_t counter_ = 0;
  bool finished_ = false;
};

// ChunkedRequestReceiver opens a chunked request incrementally (enclave side).
class ChunkedRequestReceiver {
 public:
  // ChunkedRequestReceiver serves requests to `gateway`, which must outlive it.
  explicit ChunkedRequestReceiver(const Gateway& gateway) : gateway_(&gateway) {}
  // Feed consumes the next bytes of the request stream and returns the plaintext of each
  // non-final chunk completed by them.
  absl::StatusOr<std::vector<Bytes>> Feed(ByteSpan data);
  // Finish ends the stream and returns the final chunk's plaintext.
  absl::StatusOr<Bytes> Finish();
  // ResponseSender returns the sender for the response, after Finish succeeded.
  absl::StatusOr<ChunkedResponseSender> ResponseSender() const;

 private:
  const Gateway* gateway_;
  Bytes buffer_;
  std::optional<crypto::HpkeRecipientContext> ctx_;
  Bytes enc_;
  bool in_final_ = false;
  bool finished_ = false;
  absl::Status error_;
};

// ChunkedResponseReceiver opens a chunked response incrementally (client side).
class ChunkedResponseReceiver {
 public:
  absl::StatusOr<std::vector<Bytes>> Feed(ByteSpan data);
  absl::StatusOr<Bytes> Finish();
  // final_chunk_started returns true once the final-chunk marker arrived. The framing is in the
  // clear, so a client may tell "the stream ended before its final chunk" (truncation) apart
  // from a final chunk that fails to open without creating an oracle.
  bool final_chunk_started() const { return in_final_; }

  ChunkedResponseReceiver(crypto::HpkeSuite suite, Bytes enc, SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}

 private:
  crypto::HpkeSuite suite_;
  Bytes enc_;
  SecretBytes secret_;
  std::optional<std::pair<SecretBytes, Bytes>> keys_;  // after the response nonce arrived
  Bytes buffer_;
  uint64_t counter_ = 0;
  bool in_final_ = false;
  bool finished_ = false;
  absl::Status error_;
};

}  // namespace confide::ohttp

#endif  // CONFIDE_OHTTP_CHUNKED_H_
