#include "ohttp/chunked.h"

#include "base/cursor.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "ohttp/internal/encapsulation.h"
#include "ohttp/varint.h"

namespace confide::ohttp {
namespace {

using internal::DecryptionFailed;

//= https://datatracker.ietf.org/doc/html/draft-ietf-ohai-chunked-ohttp-08#section-6.1
//# The final chunk in a request uses an AAD of the ASCII string "final" (0x66696e616c)
constexpr char kFinalAad[] = "final";

Bytes Frame(ByteSpan sealed, bool final) {
  Bytes out;
  AppendVarint(out, final ? 0 : sealed.size());
  Append(out, sealed);
  return out;
}

//# chunk_nonce = aead_nonce XOR encode(Nn, counter)
Bytes ChunkNonce(const Bytes& base, uint64_t counter) {
  Bytes n = base;
  for (size_t i = 0; i < 8 && i < n.size(); ++i) {
    n[n.size() - 1 - i] ^= static_cast<uint8_t>(counter >> (8 * i));
  }
  return n;
}

// NextChunk extracts one framed non-final chunk from `buffer` (consuming it), or reports that
// the final-chunk marker was reached (consuming the marker), or that more bytes are needed.
enum class Framing { kChunk, kFinalMarker, kNeedMore };
absl::StatusOr<Framing> NextChunk(Bytes& buffer, Bytes* chunk) {
  base::ByteCursor c(buffer);
  uint64_t len;
  if (!ReadVarint(c, &len)) return Framing::kNeedMore;
  if (len == 0) {
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(c.offset()));
    return Framing::kFinalMarker;
  }
  if (len > kMaxChunkBytes) {
    return absl::InvalidArgumentError("chunked OHTTP: chunk is larger than the limit");
  }
  ByteSpan body;
  if (!c.ReadBytes(static_cast<size_t>(len), &body)) return Framing::kNeedMore;
  chunk->assign(body.begin(), body.end());
  buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(c.offset()));
  return Framing::kChunk;
}

}  // namespace

Labels ChunkedLabels() {
  return Labels{"message/bhttp chunked request", "message/bhttp chunked response"};
}

// --- requests ------------------------------------------------------------------------------

absl::StatusOr<ChunkedRequestSender> ChunkedRequestSender::Create(
    const KeyConfig& config, const SymmetricAlgorithm& algorithm) {
  ASSIGN_OR_RETURN(crypto::HpkeSuite suite, internal::SuiteFor(config, algorithm));
  const Bytes hdr = internal::Header(config.key_id, suite);
  const Bytes info = internal::Info(ChunkedLabels().request, hdr);
  ASSIGN_OR_RETURN(crypto::HpkeSenderContext ctx,
                   crypto::HpkeSetupBaseS(suite, config.public_key, info));
  //# enc_request_hdr = concat(hdr, enc)
  Bytes header = Concat({hdr, ctx.enc()});
  return ChunkedRequestSender(std::move(ctx), std::move(header));
}

absl::StatusOr<Bytes> ChunkedRequestSender::SealChunk(ByteSpan chunk, bool final) {
  if (finished_) return absl::FailedPreconditionError("chunked OHTTP: request already ended");
  //# A non-final chunk MUST NOT contain a zero-length plaintext.
  if (!final && chunk.empty()) {
    return absl::InvalidArgumentError("chunked OHTTP: a non-final chunk must not be empty");
  }
  ASSIGN_OR_RETURN(Bytes sealed, ctx_.Seal(final ? AsBytes(kFinalAad) : ByteSpan(), chunk));
  finished_ = final;
  return Frame(sealed, final);
}

absl::StatusOr<ChunkedResponseReceiver> ChunkedRequestSender::ResponseReceiver() const {
  if (!finished_) {
    return absl::FailedPreconditionError("chunked OHTTP: seal the final request chunk first");
  }
  const crypto::HpkeSuite& suite = ctx_.suite();
  //# secret = context.Export("message/bhttp chunked response", entropy_len)
  ASSIGN_OR_RETURN(SecretBytes secret, ctx_.Export(AsBytes(ChunkedLabels().response),
                                                   internal::ResponseSecretLen(suite)));
  return ChunkedResponseReceiver(suite, ctx_.enc(), std::move(secret));
}

absl::StatusOr<std::vector<Bytes>> ChunkedRequestReceiver::Feed(ByteSpan data) {
  RETURN_IF_ERROR(error_);
  if (finished_) return absl::FailedPreconditionError("chunked OHTTP: request already ended");
  Append(buffer_, data);
  std::vector<Bytes> out;
  if (!ctx_) {
    // Wait for hdr || enc; the KEM id in hdr tells the length of enc.
    if (buffer_.size() < internal::kHeaderLen) return out;
    const uint16_t kem = static_cast<uint16_t>((buffer_[1] << 8) | buffer_[2]);
    if ((kem == 0x0010 || kem == 0x0020) &&
        buffer_.size() <
            internal::kHeaderLen + crypto::HpkeKemEncLen(static_cast<crypto::HpkeKemId>(kem))) {
      return out;
    }
    auto h = internal::ParseRequestHeader(buffer_, gateway_->keys_);
    if (!h.ok()) {
      error_ = h.status();
      return error_;
    }
    const Bytes info = internal::Info(ChunkedLabels().request, h->hdr);
    auto ctx = crypto::HpkeSetupBaseR(h->suite, h->enc, *h->private_key, info);
    if (!ctx.ok()) {
      error_ = DecryptionFailed();
      return error_;
    }
    ctx_.emplace(*std::move(ctx));
    enc_.assign(h->enc.begin(), h->enc.end());
    buffer_.erase(buffer_.begin(),
                  buffer_.begin() + static_cast<ptrdiff_t>(internal::kHeaderLen + enc_.size()));
  }
  while (!in_final_) {
    Bytes sealed;
    auto f = NextChunk(buffer_, &sealed);
    if (!f.ok()) {
      error_ = f.status();
      return error_;
    }
    if (*f == Framing::kNeedMore) break;
    if (*f == Framing::kFinalMarker) {
      in_final_ = true;
      break;
    }
    auto pt = ctx_->Open({}, sealed);
    if (!pt.ok() || pt->empty()) {
      error_ = DecryptionFailed();
      return error_;
    }
    out.push_back(*std::move(pt));
  }
  if (buffer_.size() > kMaxChunkBytes) {
    error_ = absl::InvalidArgumentError("chunked OHTTP: chunk is larger than the limit");
    return error_;
  }
  return out;
}

absl::StatusOr<Bytes> ChunkedRequestReceiver::Finish() {
  RETURN_IF_ERROR(error_);
  if (!ctx_ || !in_final_) {
    error_ = DecryptionFailed();  // the stream ended before the final chunk: truncation
    return error_;
  }
  auto pt = ctx_->Open(AsBytes(kFinalAad), buffer_);
  buffer_.clear();
  if (!pt.ok()) {
    error_ = DecryptionFailed();
    return error_;
  }
  finished_ = true;
  return pt;
}

absl::StatusOr<ChunkedResponseSender> ChunkedRequestReceiver::ResponseSender() const {
  if (!finished_) return absl::FailedPreconditionError("chunked OHTTP: request not finished");
  const crypto::HpkeSuite& suite = ctx_->suite();
  const size_t entropy_len = internal::ResponseSecretLen(suite);
  ASSIGN_OR_RETURN(SecretBytes secret,
                   ctx_->Export(AsBytes(ChunkedLabels().response), entropy_len));
  //# response_nonce = random(entropy_len)
  ASSIGN_OR_RETURN(Bytes response_nonce, crypto::RandomBytes(entropy_len));
  ASSIGN_OR_RETURN(auto keys, internal::ResponseKeys(suite, enc_, response_nonce, secret));
  return ChunkedResponseSender(suite, std::move(keys.first), std::move(keys.second),
                               std::move(response_nonce));
}

// --- responses -----------------------------------------------------------------------------

absl::StatusOr<Bytes> ChunkedResponseSender::SealChunk(ByteSpan chunk, bool final) {
  if (finished_) return absl::FailedPreconditionError("chunked OHTTP: response already ended");
  if (!final && chunk.empty()) {
    return absl::InvalidArgumentError("chunked OHTTP: a non-final chunk must not be empty");
  }
  //# the response MUST NOT use 256^Nn or more chunks (our counter is 64 bits; Nn is 12)
  if (counter_ == UINT64_MAX) return absl::ResourceExhaustedError("chunked OHTTP: too many chunks");
  ASSIGN_OR_RETURN(crypto::AeadAlg alg, crypto::HpkeAeadAlg(suite_.aead));
  ASSIGN_OR_RETURN(Bytes sealed,
                   crypto::AeadSeal(alg, key_.ExposeSecret(), ChunkNonce(nonce_, counter_),
                                    final ? AsBytes(kFinalAad) : ByteSpan(), chunk));
  ++counter_;
  finished_ = final;
  return Frame(sealed, final);
}

absl::StatusOr<std::vector<Bytes>> ChunkedResponseReceiver::Feed(ByteSpan data) {
  RETURN_IF_ERROR(error_);
  if (finished_) return absl::FailedPreconditionError("chunked OHTTP: response already ended");
  Append(buffer_, data);
  std::vector<Bytes> out;
  if (!keys_) {
    const size_t n = internal::ResponseSecretLen(suite_);
    if (buffer_.size() < n) return out;
    auto keys = internal::ResponseKeys(suite_, enc_, ByteSpan(buffer_).first(n), secret_);
    if (!keys.ok()) {
      error_ = DecryptionFailed();
      return error_;
    }
    keys_.emplace(*std::move(keys));
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(n));
  }
  auto alg = crypto::HpkeAeadAlg(suite_.aead);
  if (!alg.ok()) return alg.status();
  while (!in_final_) {
    Bytes sealed;
    auto f = NextChunk(buffer_, &sealed);
    if (!f.ok()) {
      error_ = f.status();
      return error_;
    }
    if (*f == Framing::kNeedMore) break;
    if (*f == Framing::kFinalMarker) {
      in_final_ = true;
      break;
    }
    auto pt = crypto::AeadOpen(*alg, keys_->first.ExposeSecret(),
                               ChunkNonce(keys_->second, counter_), {}, sealed);
    if (!pt.ok() || pt->empty()) {
      error_ = DecryptionFailed();
      return error_;
    }
    ++counter_;
    out.push_back(*std::move(pt));
  }
  if (buffer_.size() > kMaxChunkBytes) {
    error_ = absl::InvalidArgumentError("chunked OHTTP: chunk is larger than the limit");
    return error_;
  }
  return out;
}

absl::StatusOr<Bytes> ChunkedResponseReceiver::Finish() {
  RETURN_IF_ERROR(error_);
  if (!keys_ || !in_final_) {
    error_ = DecryptionFailed();
    return error_;
  }
  auto alg = crypto::HpkeAeadAlg(suite_.aead);
  if (!alg.ok()) return alg.status();
  auto pt = crypto::AeadOpen(*alg, keys_->first.ExposeSecret(), ChunkNonce(keys_->second, counter_),
                             AsBytes(kFinalAad), buffer_);
  buffer_.clear();
  if (!pt.ok()) {
    error_ = DecryptionFailed();
    return error_;
  }
  finished_ = true;
  return pt;
}

}  // namespace confide::ohttp
