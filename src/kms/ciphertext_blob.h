// confide::kms ciphertext blobs: what Encrypt and GenerateDataKey return as CiphertextBlob for a
// symmetric (SYMMETRIC_DEFAULT) key, and what Decrypt accepts.
//
// Layout (integers big-endian):
//   u8  version (= 1)
//   u8  key_id_len (1..kMaxBlobKeyIdLen)   key_id bytes (the key's id, e.g. a UUID)
//   u32 backing_version                      which backing key of the KMS key (rotation)
//   12  nonce                                random per blob
//   ..  AES-256-GCM ciphertext || 16-byte tag
// AAD = "confide-kms-blob-v1" || every header byte above (version .. nonce) ||
//       canonical encryption context (u16 pair count, then per pair sorted by key bytes:
//       u16 key_len, key, u16 value_len, value).
// So the key id, backing version and encryption context are all authenticated; decrypting with
// the wrong context, the wrong backing key or any changed bit fails. Every failure, whatever its
// cause, is the same InvalidCiphertextException with an empty message (AWS's), so the error is
// no oracle.
#ifndef CONFIDE_KMS_CIPHERTEXT_BLOB_H_
#define CONFIDE_KMS_CIPHERTEXT_BLOB_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "base/secret_bytes.h"

namespace confide::kms {

inline constexpr uint8_t kBlobVersion = 1;
inline constexpr size_t kMaxBlobKeyIdLen = 64;
// kMaxBlobPlaintextLen is AWS's Encrypt limit for SYMMETRIC_DEFAULT keys.
inline constexpr size_t kMaxBlobPlaintextLen = 4096;
// kMaxEncryptionContextBytes bounds the canonical encryption context (AWS allows 8 KiB).
inline constexpr size_t kMaxEncryptionContextBytes = 8192;

// EncryptionContext maps keys to values; both are case-sensitive.
using EncryptionContext = std::map<std::string, std::string>;

// BlobHeader is what a blob says about itself before it is authenticated: use it only to find
// the backing key, then OpenCiphertextBlob authenticates it.
struct BlobHeader {
  std::string key_id;
  uint32_t backing_version = 0;
};

// SealCiphertextBlob encrypts `plaintext` under `backing_key` (32 bytes, AES-256-GCM) with a
// fresh random nonce and returns the blob. InvalidArgument (ValidationException) for a key id
// that is empty or longer than kMaxBlobKeyIdLen, a plaintext longer than kMaxBlobPlaintextLen,
// or an encryption context over kMaxEncryptionContextBytes or with a key or value over 65535
// bytes; Internal when the backing key is not 32 bytes or the RNG fails. Thread-safe.
absl::StatusOr<Bytes> SealCiphertextBlob(std::string_view key_id, uint32_t backing_version,
                                         const SecretBytes& backing_key,
                                         const EncryptionContext& context, ByteSpan plaintext);

// ParseCiphertextBlobHeader reads the unauthenticated header of `blob`.
// InvalidCiphertextException (InvalidArgument, empty message) when the blob is malformed.
absl::StatusOr<BlobHeader> ParseCiphertextBlobHeader(ByteSpan blob);

// OpenCiphertextBlob authenticates and decrypts `blob` with `backing_key` and `context`.
// Returns the plaintext, or InvalidCiphertextException (InvalidArgument, empty message) for
// every failure: malformed blob, wrong key, wrong context, any modified bit. Thread-safe.
absl::StatusOr<SecretBytes> OpenCiphertextBlob(ByteSpan blob, const SecretBytes& backing_key,
                                               const EncryptionContext& context);

// CanonicalEncryptionContext returns the AAD encoding of `context` described above.
// InvalidArgument when it exceeds kMaxEncryptionContextBytes or a key or value exceeds 65535
// bytes.
absl::StatusOr<Bytes> CanonicalEncryptionContext(const EncryptionContext& context);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_CIPHERTEXT_BLOB_H_
