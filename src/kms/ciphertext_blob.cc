#include "kms/ciphertext_blob.h"

#include <utility>

#include "base/cursor.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

constexpr char kAadLabel[] = "confide-kms-blob-v1";
constexpr size_t kNonceLen = 12;
constexpr size_t kBackingKeyLen = 32;

absl::Status InvalidCiphertext() {
  return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
}

void PutU16(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void PutU32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

// ParsedBlob views the parts of a blob.
struct ParsedBlob {
  BlobHeader header;
  ByteSpan header_bytes;  // version .. nonce
  ByteSpan nonce;
  ByteSpan sealed;  // ciphertext || tag
};

absl::StatusOr<ParsedBlob> Parse(ByteSpan blob) {
  base::ByteCursor cur(blob);
  uint8_t version = 0;
  uint8_t key_id_len = 0;
  ByteSpan key_id;
  ParsedBlob out;
  if (!cur.ReadU8(&version) || version != kBlobVersion || !cur.ReadU8(&key_id_len) ||
      key_id_len == 0 || key_id_len > kMaxBlobKeyIdLen || !cur.ReadBytes(key_id_len, &key_id) ||
      !cur.ReadU32BE(&out.header.backing_version) || !cur.ReadBytes(kNonceLen, &out.nonce)) {
    return InvalidCiphertext();
  }
  out.header_bytes = blob.subspan(0, cur.offset());
  out.sealed = cur.rest();
  if (out.sealed.size() < crypto::kAeadTagLen ||
      out.sealed.size() > kMaxBlobPlaintextLen + crypto::kAeadTagLen) {
    return InvalidCiphertext();
  }
  out.header.key_id = std::string(AsStringView(key_id));
  return out;
}

absl::StatusOr<Bytes> Aad(ByteSpan header_bytes, const EncryptionContext& context) {
  ASSIGN_OR_RETURN(Bytes canonical, CanonicalEncryptionContext(context));
  return Concat({AsBytes(kAadLabel), header_bytes, canonical});
}

}  // namespace

absl::StatusOr<Bytes> CanonicalEncryptionContext(const EncryptionContext& context) {
  Bytes out;
  if (context.size() > 0xffff) {
    return absl::InvalidArgumentError("encryption context has too many pairs");
  }
  PutU16(out, context.size());
  for (const auto& [k, v] : context) {  // std::map: sorted by key bytes
    if (k.size() > 0xffff || v.size() > 0xffff) {
      return absl::InvalidArgumentError("encryption context key or value is too long");
    }
    PutU16(out, k.size());
    Append(out, AsBytes(k));
    PutU16(out, v.size());
    Append(out, AsBytes(v));
    if (out.size() > kMaxEncryptionContextBytes) {
      return absl::InvalidArgumentError("encryption context is too large");
    }
  }
  return out;
}

absl::StatusOr<Bytes> SealCiphertextBlob(std::string_view key_id, uint32_t backing_version,
                                         const SecretBytes& backing_key,
                                         const EncryptionContext& context, ByteSpan plaintext) {
  if (key_id.empty() || key_id.size() > kMaxBlobKeyIdLen) {
    return absl::InvalidArgumentError("key id length is out of range");
  }
  if (plaintext.size() > kMaxBlobPlaintextLen) {
    return absl::InvalidArgumentError("plaintext is longer than 4096 bytes");
  }
  if (backing_key.size() != kBackingKeyLen) {
    return absl::InternalError("backing key is not 32 bytes");
  }
  Bytes blob;
  blob.push_back(kBlobVersion);
  blob.push_back(static_cast<uint8_t>(key_id.size()));
  Append(blob, AsBytes(key_id));
  PutU32(blob, backing_version);
  ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomBytes(kNonceLen));
  Append(blob, nonce);
  ASSIGN_OR_RETURN(Bytes aad, Aad(blob, context));
  ASSIGN_OR_RETURN(Bytes sealed,
                   crypto::AeadSeal(crypto::AeadAlg::kAes256Gcm, backing_key.ExposeSecret(), nonce,
                                    aad, plaintext));
  Append(blob, sealed);
  return blob;
}

absl::StatusOr<BlobHeader> ParseCiphertextBlobHeader(ByteSpan blob) {
  ASSIGN_OR_RETURN(ParsedBlob parsed, Parse(blob));
  return parsed.header;
}

absl::StatusOr<SecretBytes> OpenCiphertextBlob(ByteSpan blob, const SecretBytes& backing_key,
                                               const EncryptionContext& context) {
  absl::StatusOr<ParsedBlob> parsed = Parse(blob);
  if (!parsed.ok() || backing_key.size() != kBackingKeyLen) {
    return InvalidCiphertext();
  }
  absl::StatusOr<Bytes> aad = Aad(parsed->header_bytes, context);
  if (!aad.ok()) {
    return InvalidCiphertext();
  }
  absl::StatusOr<Bytes> plaintext = crypto::AeadOpen(
      crypto::AeadAlg::kAes256Gcm, backing_key.ExposeSecret(), parsed->nonce, *aad, parsed->sealed);
  if (!plaintext.ok()) {
    return InvalidCiphertext();
  }
  SecretBytes out = SecretBytes::CopyFrom(*plaintext);
  SecureZero(*plaintext);
  return out;
}

}  // namespace confide::kms
