// confide::crypto streaming AEAD: AES-256-GCM over fixed-size segments with the STREAM
// construction, for files too large to hold twice in memory (sealed models).
//
// STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its
// Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7) turns a nonce-based AEAD into an online one
// that is secure against reordering, truncation and extension: segment i is sealed under the
// nonce prefix || i || last-flag, so a segment moved to another position, or a stream cut at a
// segment boundary (whose new final segment does not carry the last flag), fails to open. The
// layout follows Tink's AES-GCM-HKDF streaming AEAD (a per-stream key derived with HKDF from the
// key and a random salt, 7-byte nonce prefix, 32-bit big-endian segment counter, one-byte last
// flag), with two changes: every segment has the same plaintext length (no header in the first
// segment), and every segment's associated data is the caller's `aad` (envelope files pass the
// SHA-256 of their header, so any header edit fails every segment).
//
//   segment_key = HKDF-SHA256(ikm = key, salt = salt, info = "confide stream AES-256-GCM v1")
//   nonce_i     = nonce_prefix (7) || BE32(i) || (i == last ? 0x01 : 0x00)
//   segment_i   = AES-256-GCM(segment_key, nonce_i, aad, plaintext_i) || tag (16)
//
// The geometry is fixed by StreamLayout: plaintext_len bytes cut into segments of segment_len
// (the last one shorter, possibly empty only when the whole plaintext is empty: an empty stream
// is one empty segment, so that it still authenticates).
#ifndef CONFIDE_CRYPTO_STREAMING_AEAD_H_
#define CONFIDE_CRYPTO_STREAMING_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace confide::crypto {

inline constexpr size_t kStreamKeyLen = 32;
inline constexpr size_t kStreamSaltLen = 16;
inline constexpr size_t kStreamNoncePrefixLen = 7;
inline constexpr size_t kStreamTagLen = 16;
inline constexpr uint32_t kStreamMinSegmentLen = 4 * 1024;
inline constexpr uint32_t kStreamMaxSegmentLen = 64 * 1024 * 1024;
// kStreamMaxSegments: the segment counter is 32 bits.
inline constexpr uint64_t kStreamMaxSegments = uint64_t{1} << 32;
// kStreamMaxPlaintextLen bounds a stream (256 TiB) so that every length computation fits 64 bits.
inline constexpr uint64_t kStreamMaxPlaintextLen = uint64_t{1} << 48;

// StreamLayout is the segment geometry of one stream.
struct StreamLayout {
  uint64_t plaintext_len = 0;
  uint32_t segment_len = 0;

  // num_segments returns max(1, ceil(plaintext_len / segment_len)).
  uint64_t num_segments() const;
  // SegmentPlaintextLen returns the plaintext length of segment `index` (< num_segments()).
  size_t SegmentPlaintextLen(uint64_t index) const;
  // SegmentCiphertextLen returns SegmentPlaintextLen(index) + kStreamTagLen.
  size_t SegmentCiphertextLen(uint64_t index) const {
    return SegmentPlaintextLen(index) + kStreamTagLen;
  }
  // ciphertext_len returns the length of all segments together.
  uint64_t ciphertext_len() const { return plaintext_len + num_segments() * kStreamTagLen; }
};

// ValidateStreamLayout returns InvalidArgument when segment_len is outside
// [kStreamMinSegmentLen, kStreamMaxSegmentLen], plaintext_len exceeds kStreamMaxPlaintextLen, or
// the stream needs more than kStreamMaxSegments segments.
absl::Status ValidateStreamLayout(const StreamLayout& layout);

// StreamingAead seals and opens the segments of one stream. Immutable after Create; every method
// is thread-safe (segments may be opened concurrently). Move-only.
class StreamingAead {
 public:
  // Create derives the segment key from `key` (kStreamKeyLen bytes) and `salt` (kStreamSaltLen)
  // and binds `nonce_prefix` (kStreamNoncePrefixLen), `aad` (at most 1 KiB) and `layout`.
  // InvalidArgument for a wrong length or an invalid layout. The caller must never use the same
  // (key, salt, nonce_prefix) for two different plaintexts: draw salt and prefix at random.
  static absl::StatusOr<StreamingAead> Create(ByteSpan key, ByteSpan salt, ByteSpan nonce_prefix,
                                              ByteSpan aad, StreamLayout layout);

  StreamingAead(StreamingAead&&) noexcept;
  StreamingAead& operator=(StreamingAead&&) noexcept;
  ~StreamingAead();

  const StreamLayout& layout() const;

  // SealSegment writes segment `index` for `plaintext` (exactly SegmentPlaintextLen(index)
  // bytes) into `out` (exactly SegmentCiphertextLen(index) bytes). InvalidArgument for an index
  // or size that does not fit the layout; Internal if OpenSSL fails.
  absl::Status SealSegment(uint64_t index, ByteSpan plaintext, std::span<uint8_t> out) const;

  // OpenSegment checks segment `index` and writes its plaintext into `out` (exactly
  // SegmentPlaintextLen(index) bytes). InvalidArgument for an index or size that does not fit
  // the layout (lengths are public); Unauthenticated ("decryption failed") when the segment does
  // not authenticate at this position, with `out` zeroised.
  absl::Status OpenSegment(uint64_t index, ByteSpan ciphertext, std::span<uint8_t> out) const;

  // SealAll writes every segment of `plaintext` (exactly layout().plaintext_len bytes) into `out`
  // (exactly layout().ciphertext_len() bytes). SealSegment's errors.
  absl::Status SealAll(ByteSpan plaintext, std::span<uint8_t> out) const;

  // OpenAll opens every segment of `ciphertext` into `out` (exactly layout().plaintext_len
  // bytes) using up to `threads` threads (the caller's included; values < 1 mean 1).
  // InvalidArgument ("ciphertext is truncated or extended") when ciphertext.size() differs from
  // layout().ciphertext_len() or `out` has the wrong size; Unauthenticated ("decryption failed")
  // when any segment fails. On any failure `out` is zeroised entirely.
  absl::Status OpenAll(ByteSpan ciphertext, std::span<uint8_t> out, int threads) const;

  struct Impl;

 private:
  explicit StreamingAead(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// StreamDecryptor opens a stream incrementally as its bytes arrive (e.g. from a socket) into a
// caller-owned buffer of layout().plaintext_len bytes, decrypting each segment as soon as it is
// complete — inline, or on `threads` worker threads when threads > 1 (at most 2 * threads
// segments are buffered; Update blocks while the workers catch up). Not thread-safe: one
// producer calls Update and Finish.
//
// The buffer holds authenticated segments only, but a stream is only whole once Finish returns
// OK: until then it may be a truncated prefix. Whenever the stream fails (a bad segment, too many
// bytes, Finish before the end) or the decryptor is destroyed before a successful Finish, the
// whole buffer is zeroised.
class StreamDecryptor {
 public:
  // StreamDecryptor writes into `out`, which must stay valid until Finish returns or the
  // decryptor is destroyed, and must be exactly aead->layout().plaintext_len bytes (checked by
  // the first Update / Finish). `aead` must outlive the decryptor.
  StreamDecryptor(const StreamingAead* aead, std::span<uint8_t> out, int threads);
  ~StreamDecryptor();
  StreamDecryptor(const StreamDecryptor&) = delete;
  StreamDecryptor& operator=(const StreamDecryptor&) = delete;

  // Update consumes the next bytes of the stream. InvalidArgument when the bytes run past the
  // end of the stream or `out` has the wrong size; Unauthenticated when a segment fails (perhaps
  // reported by a later call than the one that delivered it). After an error every call fails.
  absl::Status Update(ByteSpan data);
  // Finish waits for the outstanding segments and returns OK when exactly the whole stream has
  // arrived and every segment authenticated; InvalidArgument ("ciphertext is truncated or
  // extended") when bytes are missing; the first failure otherwise.
  absl::Status Finish();
  // bytes_received returns how many stream bytes Update has consumed.
  uint64_t bytes_received() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_STREAMING_AEAD_H_
