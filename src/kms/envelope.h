// confide::kms envelope files ("CFE1"): a file encrypted under a fresh AES-256 data key from KMS
// GenerateDataKey, whose CiphertextBlob travels in the file's header. Format and invariants:
// docs/design/envelope.md.
//
//   header   magic "CFE1" | version 1 | header_len | suite 1 | segment_len | plaintext_len |
//            salt (16) | nonce prefix (7) | KMS CiphertextBlob | canonical encryption context
//   segments AES-256-GCM STREAM segments (crypto/streaming_aead.h) of segment_len plaintext
//            bytes each, every one authenticated with SHA-256(header) as associated data
//
// Reading one (e.g. the enclave streaming a sealed model from the parent):
//
//   Bytes head = <first kEnvelopePrefixLen bytes>;
//   ASSIGN_OR_RETURN(size_t header_len, EnvelopeHeaderLength(head));
//   <read until header_len bytes>;
//   ASSIGN_OR_RETURN(EnvelopeHeader header, ParseEnvelopeHeader(head));
//   RETURN_IF_ERROR(CheckEnvelopeContext(header, {{"confide:purpose", "model"}}));
//   ASSIGN_OR_RETURN(SecretBytes key, UnwrapDataKey(kms, header, &recipient));
//   <allocate and mlock header.plaintext_len bytes: out>
//   ASSIGN_OR_RETURN(auto dec, EnvelopeDecryptor::Create(header, key, out, threads));
//   for each chunk after the header: RETURN_IF_ERROR(dec->Update(chunk));
//   RETURN_IF_ERROR(dec->Finish());   // only now is `out` the whole, authentic plaintext
#ifndef CONFIDE_KMS_ENVELOPE_H_
#define CONFIDE_KMS_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/streaming_aead.h"
#include "kms/ciphertext_blob.h"
#include "kms/client.h"

namespace confide::kms {

inline constexpr char kEnvelopeMagic[] = "CFE1";  // 4 bytes on the wire, no NUL
inline constexpr uint8_t kEnvelopeVersion = 1;
// kEnvelopeSuiteAes256GcmStream: AES-256-GCM segments, HKDF-SHA256 segment key, STREAM nonces.
inline constexpr uint8_t kEnvelopeSuiteAes256GcmStream = 1;
// kEnvelopePrefixLen is how many bytes EnvelopeHeaderLength needs (magic, version, header_len).
inline constexpr size_t kEnvelopePrefixLen = 9;
// kEnvelopeFixedLen is the header length before the variable fields.
inline constexpr size_t kEnvelopeFixedLen = 45;
// kEnvelopeMinHeaderLen: the fixed part, a 1-byte blob and an empty context.
inline constexpr size_t kEnvelopeMinHeaderLen = kEnvelopeFixedLen + 2 + 1 + 2 + 2;
inline constexpr size_t kMaxEnvelopeHeaderLen = 16 * 1024;
// kMaxEnvelopeBlobLen bounds the KMS CiphertextBlob (AWS's are ~180 bytes; confide's ~100).
inline constexpr size_t kMaxEnvelopeBlobLen = 2048;
inline constexpr uint32_t kDefaultEnvelopeSegmentLen = 1024 * 1024;

// EnvelopeHeader is a parsed or freshly built header.
struct EnvelopeHeader {
  uint32_t segment_len = kDefaultEnvelopeSegmentLen;
  uint64_t plaintext_len = 0;
  Bytes salt;          // crypto::kStreamSaltLen bytes, random per file
  Bytes nonce_prefix;  // crypto::kStreamNoncePrefixLen bytes, random per file
  Bytes kms_ciphertext_blob;
  EncryptionContext context;
  // encoded is the exact header bytes (ParseEnvelopeHeader / NewEnvelopeHeader fill it); their
  // SHA-256 is every segment's associated data.
  Bytes encoded;

  // layout returns the segment geometry.
  crypto::StreamLayout layout() const { return {plaintext_len, segment_len}; }
  // ciphertext_len returns how many segment bytes follow the header.
  uint64_t ciphertext_len() const { return layout().ciphertext_len(); }
  // file_len returns the length of the whole envelope.
  uint64_t file_len() const { return encoded.size() + ciphertext_len(); }
};

// EncodeEnvelopeHeader returns the header bytes for the fields of `header` (ignoring `encoded`).
// InvalidArgument for an invalid layout, a salt or prefix of the wrong length, an empty or
// over-long blob, or an invalid context (empty key, over kMaxEncryptionContextBytes).
absl::StatusOr<Bytes> EncodeEnvelopeHeader(const EnvelopeHeader& header);

// NewEnvelopeHeader returns a header for `plaintext_len` bytes with a fresh random salt and nonce
// prefix, `encoded` filled in. EncodeEnvelopeHeader's errors; Internal if the CSPRNG fails.
absl::StatusOr<EnvelopeHeader> NewEnvelopeHeader(Bytes kms_ciphertext_blob,
                                                 EncryptionContext context, uint64_t plaintext_len,
                                                 uint32_t segment_len = kDefaultEnvelopeSegmentLen);

// EnvelopeHeaderLength reads the first kEnvelopePrefixLen bytes of an envelope (more may
// follow) and returns the header's total length, so a stream reader knows how much to read
// before ParseEnvelopeHeader. InvalidArgument for too few bytes, a wrong magic or version, or a
// length outside [kEnvelopeMinHeaderLen, kMaxEnvelopeHeaderLen].
absl::StatusOr<size_t> EnvelopeHeaderLength(ByteSpan prefix);

// ParseEnvelopeHeader parses the header at the start of `data` (segments may follow; they are
// not read). Bounded: reads at most kMaxEnvelopeHeaderLen bytes, allocates only what the checked
// lengths say. InvalidArgument naming the field for anything malformed: wrong magic, version or
// suite, a truncated header, a layout ValidateStreamLayout rejects, blob or context lengths that
// disagree with header_len, an empty blob, a context that is not canonical (keys empty,
// duplicated or out of order) — so EncodeEnvelopeHeader(parsed) == parsed.encoded.
absl::StatusOr<EnvelopeHeader> ParseEnvelopeHeader(ByteSpan data);

// CheckEnvelopeContext returns OK when every pair of `required` is in the header's context
// (which may hold more). FailedPrecondition naming the first missing or different key (keys are
// not secret; values are not printed). The KMS binds the context to the data key, so this is how
// a reader refuses an envelope sealed for another purpose under the same KMS key.
absl::Status CheckEnvelopeContext(const EnvelopeHeader& header, const EncryptionContext& required);

// EnvelopeCipher returns the segment cipher of `header` under `data_key` (32 bytes).
// InvalidArgument for a wrong key length or a header without `encoded`.
absl::StatusOr<crypto::StreamingAead> EnvelopeCipher(const EnvelopeHeader& header,
                                                     const SecretBytes& data_key);

// SealEnvelope returns header.encoded || the segments of `plaintext` (exactly
// header.plaintext_len bytes). InvalidArgument for a length mismatch; EnvelopeCipher's errors.
absl::StatusOr<Bytes> SealEnvelope(const EnvelopeHeader& header, const SecretBytes& data_key,
                                   ByteSpan plaintext);

// DecryptToMemory decrypts the segments `ciphertext` (the bytes after the header) into `out`
// (exactly header.plaintext_len bytes, e.g. an mlock()ed buffer) with up to `threads` threads.
// InvalidArgument for a wrong key or buffer size or a truncated or extended ciphertext;
// Unauthenticated ("decryption failed") when any segment fails. On failure `out` is zeroised.
absl::Status DecryptToMemory(const EnvelopeHeader& header, const SecretBytes& data_key,
                             ByteSpan ciphertext, std::span<uint8_t> out, int threads);

// EnvelopeDecryptor decrypts the segments of an envelope incrementally as they arrive, into a
// caller buffer of header.plaintext_len bytes (crypto::StreamDecryptor: inline or on `threads`
// worker threads; the buffer is zeroised on any failure and when the decryptor is destroyed
// before a successful Finish). Feed it the bytes after the header. Not thread-safe.
class EnvelopeDecryptor {
 public:
  // Create checks the key and buffer sizes (InvalidArgument) and starts the decryptor. `out`
  // must stay valid until Finish returns or the decryptor is destroyed.
  static absl::StatusOr<std::unique_ptr<EnvelopeDecryptor>> Create(const EnvelopeHeader& header,
                                                                   const SecretBytes& data_key,
                                                                   std::span<uint8_t> out,
                                                                   int threads);
  ~EnvelopeDecryptor();

  // Update consumes the next segment bytes: StreamDecryptor::Update's errors.
  absl::Status Update(ByteSpan data);
  // Finish returns OK only when the whole envelope arrived and authenticated:
  // StreamDecryptor::Finish's errors.
  absl::Status Finish();
  // bytes_received returns how many segment bytes Update consumed.
  uint64_t bytes_received() const;

 private:
  explicit EnvelopeDecryptor(crypto::StreamingAead aead);
  std::unique_ptr<crypto::StreamingAead> aead_;
  std::unique_ptr<crypto::StreamDecryptor> decryptor_;
};

// UnwrapDataKey asks the KMS to decrypt the header's CiphertextBlob under the header's context
// (with `recipient`, through CiphertextForRecipient) and returns the 32-byte data key.
// KmsClient::Decrypt's errors; InvalidArgument when the key is not 32 bytes.
absl::StatusOr<SecretBytes> UnwrapDataKey(const KmsClient& kms, const EnvelopeHeader& header,
                                          const KmsRecipient* recipient = nullptr);

// EnvelopeOptions configure encryption.
struct EnvelopeOptions {
  uint32_t segment_len = kDefaultEnvelopeSegmentLen;
};

// EncryptToMemory returns the envelope of `plaintext` under a fresh data key from
// GenerateDataKey(`key_id`, `context`). KmsClient's and EncodeEnvelopeHeader's errors.
absl::StatusOr<Bytes> EncryptToMemory(const KmsClient& kms, std::string_view key_id,
                                      const EncryptionContext& context, ByteSpan plaintext,
                                      const EnvelopeOptions& options = {});

// DecryptEnvelope parses `envelope` (header and segments, exactly), checks `required` context
// pairs, unwraps the data key (with `recipient` when given) and returns the plaintext.
// InvalidArgument for a malformed, truncated or extended envelope (checked before the plaintext
// buffer is allocated); CheckEnvelopeContext's, UnwrapDataKey's and DecryptToMemory's errors.
absl::StatusOr<SecretBytes> DecryptEnvelope(const KmsClient& kms, ByteSpan envelope,
                                            const EncryptionContext& required,
                                            const KmsRecipient* recipient = nullptr,
                                            int threads = 1);

// EnvelopeFileResult describes a file that EncryptFile or DecryptFile processed.
struct EnvelopeFileResult {
  uint64_t plaintext_len = 0;
  Bytes plaintext_sha256;  // SHA-256 of the plaintext (a model's manifest pins it)
  EncryptionContext context;
};

// EncryptFile encrypts the regular file `in_path` into the envelope `out_path`, streaming one
// segment at a time (memory: about two segments), and writing atomically (a temporary file
// renamed into place, so a failure leaves no partial output). NotFound when the input cannot be
// opened; InvalidArgument when it is not a regular file or changes size while being read;
// KmsClient's errors (GenerateDataKey); the writer's errors naming the path.
absl::StatusOr<EnvelopeFileResult> EncryptFile(const KmsClient& kms, std::string_view key_id,
                                               const EncryptionContext& context,
                                               const std::string& in_path,
                                               const std::string& out_path,
                                               const EnvelopeOptions& options = {});

// DecryptFile decrypts the envelope `in_path` into `out_path` (mode 0600), streaming, atomically:
// the output appears only when every segment authenticated and the file ended exactly where the
// header says. NotFound / InvalidArgument for the input; CheckEnvelopeContext's (with
// `required`), UnwrapDataKey's (with `recipient`) and the segment errors; nothing is left at
// `out_path` on failure.
absl::StatusOr<EnvelopeFileResult> DecryptFile(const KmsClient& kms, const std::string& in_path,
                                               const std::string& out_path,
                                               const EncryptionContext& required = {},
                                               const KmsRecipient* recipient = nullptr);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_ENVELOPE_H_
