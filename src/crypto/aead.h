// confide::crypto AEAD: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 (RFC 8439), 16-byte tags.
//
// Two layers:
//  - AeadSeal / AeadOpen take an explicit nonce. They exist for protocols that derive nonces
//    themselves (HPKE, OHTTP responses). Reusing a (key, nonce) pair breaks confidentiality and
//    integrity; if you are not implementing such a protocol, use the Aead class.
//  - Aead is bound to one key, picks a fresh random 12-byte nonce for every message and returns
//    nonce || ciphertext || tag.
// Every open failure (wrong key, nonce, aad, tampered or truncated input) is the same
// Unauthenticated "decryption failed", so callers cannot build an oracle from error details.
#ifndef CONFIDE_CRYPTO_AEAD_H_
#define CONFIDE_CRYPTO_AEAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace confide::crypto {

// AeadAlg names a supported AEAD. All use 16-byte tags and standard 12-byte nonces.
enum class AeadAlg { kAes128Gcm, kAes256Gcm, kChaCha20Poly1305 };

// kAeadNonceLen is the standard nonce length of every AeadAlg (96 bits).
inline constexpr size_t kAeadNonceLen = 12;
// kAeadTagLen is the tag length of every AeadAlg (128 bits); shorter tags are not supported.
inline constexpr size_t kAeadTagLen = 16;
// kGcmMaxNonceLen is the longest GCM nonce accepted. NIST allows longer ones, but OpenSSL 3.0
// caps the GCM IV at 128 bytes (Wycheproof's 257-byte IV cases are rejected for this reason).
inline constexpr size_t kGcmMaxNonceLen = 128;

// AeadKeyLen returns the key length of `alg` in bytes (16, 32, 32).
size_t AeadKeyLen(AeadAlg alg);
// AeadName returns "AES-128-GCM", "AES-256-GCM" or "ChaCha20-Poly1305".
const char* AeadName(AeadAlg alg);

// AeadSeal encrypts `plaintext` and authenticates it with `aad`, returning ciphertext || tag
// (plaintext.size() + kAeadTagLen bytes). The caller guarantees that `nonce` is never reused
// with `key`. Nonces: exactly 12 bytes for ChaCha20-Poly1305; 1..kGcmMaxNonceLen bytes for
// AES-GCM (use 12: other lengths exist only for interoperability). InvalidArgument for a wrong
// key or nonce length or a plaintext above the algorithm's limit (GCM: 2^36 - 32 bytes);
// Internal if OpenSSL fails. Thread-safe.
absl::StatusOr<Bytes> AeadSeal(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                               ByteSpan plaintext);

// AeadOpen checks and decrypts ciphertext || tag from AeadSeal. Returns the plaintext, or
// Unauthenticated ("decryption failed") when the input is shorter than the tag or does not
// authenticate; no plaintext is released on failure. InvalidArgument for a wrong key or nonce
// length (caller errors, not attacker input). Thread-safe.
absl::StatusOr<Bytes> AeadOpen(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                               ByteSpan ciphertext_and_tag);

// AeadSealInto is AeadSeal writing ciphertext || tag into `out`, which must be exactly
// plaintext.size() + kAeadTagLen bytes and must not overlap `plaintext` (InvalidArgument
// otherwise), so that callers with large buffers (streaming AEAD segments) avoid a copy. On
// failure `out` is zeroised. Thread-safe.
absl::Status AeadSealInto(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                          ByteSpan plaintext, std::span<uint8_t> out);

// AeadOpenInto is AeadOpen writing the plaintext into `out`, which must be exactly
// ciphertext_and_tag.size() - kAeadTagLen bytes (InvalidArgument otherwise; Unauthenticated when
// the input is shorter than the tag). `out` may equal the ciphertext's first bytes (in place)
// but must not otherwise overlap it. Unauthenticated ("decryption failed") when the input does
// not authenticate; `out` is then zeroised, so no unauthenticated plaintext survives. Thread-safe.
absl::Status AeadOpenInto(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                          ByteSpan ciphertext_and_tag, std::span<uint8_t> out);

// Aead is an AEAD key that manages its own nonces: every Seal draws a fresh random 12-byte nonce
// and returns nonce || ciphertext || tag; Open takes exactly that format. Move-only; Seal and
// Open are thread-safe. Random 96-bit nonces stay safe for up to 2^32 messages per key (NIST SP
// 800-38D §8.3), so each Aead object refuses to seal more than kMaxMessages messages; rotate
// keys well before that.
class Aead {
 public:
  // kOverhead is how many bytes Seal adds to the plaintext (nonce and tag).
  static constexpr size_t kOverhead = kAeadNonceLen + kAeadTagLen;
  // kMaxMessages is the number of Seal calls allowed per Aead object.
  static constexpr uint64_t kMaxMessages = uint64_t{1} << 32;

  // Create binds `key` to `alg`. InvalidArgument when key.size() != AeadKeyLen(alg).
  static absl::StatusOr<Aead> Create(AeadAlg alg, SecretBytes key);
  // Generate creates an Aead with a fresh random key. Internal if the CSPRNG fails.
  static absl::StatusOr<Aead> Generate(AeadAlg alg);

  Aead(Aead&&) noexcept = default;
  Aead& operator=(Aead&&) noexcept = default;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  AeadAlg alg() const { return alg_; }

  // Seal returns nonce || ciphertext || tag for `plaintext`, bound to `aad`. ResourceExhausted
  // after kMaxMessages seals; InvalidArgument for an over-long plaintext; Internal if the CSPRNG
  // or OpenSSL fails.
  absl::StatusOr<Bytes> Seal(ByteSpan aad, ByteSpan plaintext) const;
  // Open returns the plaintext of a Seal output made with this key and the same `aad`;
  // Unauthenticated ("decryption failed") for anything else, including truncated input.
  absl::StatusOr<Bytes> Open(ByteSpan aad, ByteSpan sealed) const;

 private:
  Aead(AeadAlg alg, SecretBytes key);
  AeadAlg alg_;
  SecretBytes key_;
  std::unique_ptr<std::atomic<uint64_t>> seals_;
};

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_AEAD_H_
