// confide::crypto HPKE: Hybrid Public Key Encryption (RFC 9180), composed from this module's
// HKDF, AEAD and Diffie-Hellman primitives (OpenSSL 3.0 has no HPKE).
//
// Supported:
//   KEM  0x0010 DHKEM(P-256, HKDF-SHA256), 0x0020 DHKEM(X25519, HKDF-SHA256)
//   KDF  0x0001 HKDF-SHA256, 0x0003 HKDF-SHA512
//   AEAD 0x0001 AES-128-GCM, 0x0002 AES-256-GCM, 0x0003 ChaCha20Poly1305, 0xFFFF export-only
//   modes Base, PSK, Auth, AuthPSK.
//
// Typical use (what OHTTP, RFC 9458, needs):
//   sender:    ASSIGN_OR_RETURN(auto ctx, HpkeSetupBaseS(suite, pkR, info));
//              send ctx.enc() and ctx.Seal(aad, pt); ctx.Export(context, len)
//   recipient: ASSIGN_OR_RETURN(auto ctx, HpkeSetupBaseR(suite, enc, skR, info));
//              ctx.Open(aad, ct); ctx.Export(context, len)
// Keys use the RFC's serializations (§7.1.1): X25519 raw 32 bytes; P-256 public keys as
// uncompressed points (65 bytes), private keys as 32-byte big-endian scalars.
#ifndef CONFIDE_CRYPTO_HPKE_H_
#define CONFIDE_CRYPTO_HPKE_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/sha.h"
#include "crypto/x25519.h"

namespace confide::crypto {

// HpkeMode is the setup mode (RFC 9180 §5, Table 1).
enum class HpkeMode : uint8_t { kBase = 0x00, kPsk = 0x01, kAuth = 0x02, kAuthPsk = 0x03 };

// HpkeKemId, HpkeKdfId and HpkeAeadId carry the IANA code points (RFC 9180 §7).
enum class HpkeKemId : uint16_t { kP256HkdfSha256 = 0x0010, kX25519HkdfSha256 = 0x0020 };
enum class HpkeKdfId : uint16_t { kHkdfSha256 = 0x0001, kHkdfSha512 = 0x0003 };
enum class HpkeAeadId : uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
  kChaCha20Poly1305 = 0x0003,
  kExportOnly = 0xFFFF,
};

// HpkeSuite is a (KEM, KDF, AEAD) combination; build it from wire ids with FromIds. Every setup
// re-validates it, so a hand-made or default-constructed suite (reserved id 0) is refused there.
// Cheap to copy.
struct HpkeSuite {
  HpkeKemId kem{};
  HpkeKdfId kdf{};
  HpkeAeadId aead{};

  // FromIds builds a suite from wire code points (OHTTP key configurations carry them).
  // InvalidArgument naming the field when an id is unknown or unsupported here.
  static absl::StatusOr<HpkeSuite> FromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id);

  // kem_id, kdf_id and aead_id return the wire code points.
  uint16_t kem_id() const { return static_cast<uint16_t>(kem); }
  uint16_t kdf_id() const { return static_cast<uint16_t>(kdf); }
  uint16_t aead_id() const { return static_cast<uint16_t>(aead); }
};

// HpkeKemEncLen returns Nenc, the size of `enc` (32 for X25519, 65 for P-256).
size_t HpkeKemEncLen(HpkeKemId kem);
// HpkeKemPublicKeyLen returns Npk (32 or 65).
size_t HpkeKemPublicKeyLen(HpkeKemId kem);
// HpkeKemPrivateKeyLen returns Nsk (32 for both).
size_t HpkeKemPrivateKeyLen(HpkeKemId kem);
// HpkeKdfHash returns the hash of `kdf` (SHA-256 or SHA-512); its DigestLen is Nh.
HashAlg HpkeKdfHash(HpkeKdfId kdf);
// HpkeAeadKeyLen returns Nk (16, 32, 32; 0 for export-only).
size_t HpkeAeadKeyLen(HpkeAeadId aead);
// HpkeAeadNonceLen returns Nn (12; 0 for export-only).
size_t HpkeAeadNonceLen(HpkeAeadId aead);
// HpkeAeadTagLen returns Nt (16; 0 for export-only).
size_t HpkeAeadTagLen(HpkeAeadId aead);
// HpkeAeadAlg returns the AeadAlg for `aead`; FailedPrecondition for export-only.
absl::StatusOr<AeadAlg> HpkeAeadAlg(HpkeAeadId aead);

// HpkeKeyPair is a KEM key pair: private key (Nsk bytes, secret) and public key (Npk bytes).
using HpkeKeyPair = DhKeyPair;

// HpkeGenerateKeyPair returns a fresh key pair for `kem` (§4). Internal if the CSPRNG fails.
absl::StatusOr<HpkeKeyPair> HpkeGenerateKeyPair(HpkeKemId kem);
// HpkeDeriveKeyPair derives a key pair deterministically from `ikm` (§7.1.3). InvalidArgument
// when ikm is shorter than Nsk (a SHOULD in the RFC, enforced here); Internal
// (DeriveKeyPairError) if P-256's rejection sampling exhausts its 256 candidates (probability
// about 2^-8192). The X25519 private key is returned exactly as expanded, unclamped, as RFC 9180
// Appendix A lists it; §7.1.2's clamping happens on every use (OpenSSL's X25519 clamps its
// scalar input), so the clamped and unclamped forms are interchangeable here.
absl::StatusOr<HpkeKeyPair> HpkeDeriveKeyPair(HpkeKemId kem, ByteSpan ikm);
// HpkePublicKeyFromPrivate returns pk(sk) serialized. InvalidArgument for a malformed key.
absl::StatusOr<Bytes> HpkePublicKeyFromPrivate(HpkeKemId kem, const SecretBytes& private_key);
// HpkeValidatePublicKey returns OK when DeserializePublicKey would accept `public_key` (right
// length; for P-256 a valid curve point); InvalidArgument otherwise.
absl::Status HpkeValidatePublicKey(HpkeKemId kem, ByteSpan public_key);

// HpkeSetupParams are the mode-dependent setup inputs. Views are borrowed for the call only.
struct HpkeSetupParams {
  HpkeMode mode = HpkeMode::kBase;
  // info binds the context to the application (OHTTP, RFC 9458 §4.3: "message/bhttp request",
  // a zero byte, then the key config header).
  ByteSpan info;
  // psk and psk_id: required (both non-empty, psk at least 32 bytes) in PSK and AuthPSK modes,
  // and must both be empty otherwise (§5.1 VerifyPSKInputs). psk is secret.
  ByteSpan psk;
  ByteSpan psk_id;
  // Sender side of Auth/AuthPSK: the sender's private key skS (null otherwise).
  const SecretBytes* sender_private_key = nullptr;
  // Recipient side of Auth/AuthPSK: the sender's public key pkS (empty otherwise).
  ByteSpan sender_public_key;
};

class HpkeSenderContext;
class HpkeRecipientContext;

// HpkeSetupSender runs Setup<MODE>S (§5.1): encapsulates to `recipient_public_key` with a fresh
// ephemeral key and derives the context. InvalidArgument for an invalid public key, inputs
// inconsistent with the mode, or a PSK shorter than 32 bytes; Internal if the CSPRNG fails.
absl::StatusOr<HpkeSenderContext> HpkeSetupSender(const HpkeSuite& suite,
                                                  ByteSpan recipient_public_key,
                                                  const HpkeSetupParams& params);

// HpkeSetupSenderWithEphemeralKeyForTesting is HpkeSetupSender with the ephemeral private key
// skE given rather than drawn at random, so known-answer tests can reproduce `enc`. Reusing an
// ephemeral key breaks HPKE's security: tests only.
absl::StatusOr<HpkeSenderContext> HpkeSetupSenderWithEphemeralKeyForTesting(
    const HpkeSuite& suite, ByteSpan recipient_public_key, const HpkeSetupParams& params,
    const SecretBytes& ephemeral_private_key);

// HpkeSetupRecipient runs Setup<MODE>R (§5.1): decapsulates `enc` with `recipient_private_key`.
// InvalidArgument for a malformed `enc` or key (wrong length, invalid point, low-order X25519
// point) or inputs inconsistent with the mode. A wrong key or PSK is only detected by Open.
absl::StatusOr<HpkeRecipientContext> HpkeSetupRecipient(const HpkeSuite& suite, ByteSpan enc,
                                                        const SecretBytes& recipient_private_key,
                                                        const HpkeSetupParams& params);

// The eight named setup functions of RFC 9180 §5.1.1-§5.1.4, as thin wrappers over the two
// above (same errors).
absl::StatusOr<HpkeSenderContext> HpkeSetupBaseS(const HpkeSuite& suite, ByteSpan pkR,
                                                 ByteSpan info);
absl::StatusOr<HpkeRecipientContext> HpkeSetupBaseR(const HpkeSuite& suite, ByteSpan enc,
                                                    const SecretBytes& skR, ByteSpan info);
absl::StatusOr<HpkeSenderContext> HpkeSetupPskS(const HpkeSuite& suite, ByteSpan pkR, ByteSpan info,
                                                const SecretBytes& psk, ByteSpan psk_id);
absl::StatusOr<HpkeRecipientContext> HpkeSetupPskR(const HpkeSuite& suite, ByteSpan enc,
                                                   const SecretBytes& skR, ByteSpan info,
                                                   const SecretBytes& psk, ByteSpan psk_id);
absl::StatusOr<HpkeSenderContext> HpkeSetupAuthS(const HpkeSuite& suite, ByteSpan pkR,
                                                 ByteSpan info, const SecretBytes& skS);
absl::StatusOr<HpkeRecipientContext> HpkeSetupAuthR(const HpkeSuite& suite, ByteSpan enc,
                                                    const SecretBytes& skR, ByteSpan info,
                                                    ByteSpan pkS);
absl::StatusOr<HpkeSenderContext> HpkeSetupAuthPskS(const HpkeSuite& suite, ByteSpan pkR,
                                                    ByteSpan info, const SecretBytes& psk,
                                                    ByteSpan psk_id, const SecretBytes& skS);
absl::StatusOr<HpkeRecipientContext> HpkeSetupAuthPskR(const HpkeSuite& suite, ByteSpan enc,
                                                       const SecretBytes& skR, ByteSpan info,
                                                       const SecretBytes& psk, ByteSpan psk_id,
                                                       ByteSpan pkS);

namespace internal {
class HpkeFactory;   // builds contexts (hpke.cc)
class HpkeTestPeer;  // lets tests reach the sequence number limit
}  // namespace internal

// HpkeContext holds what both roles share: the suite, the AEAD key, base nonce, sequence
// number and exporter secret (§5.1, §5.2). Move-only; not thread-safe (Seal/Open advance the
// sequence number).
class HpkeContext {
 public:
  HpkeContext(HpkeContext&&) noexcept = default;
  HpkeContext& operator=(HpkeContext&&) noexcept = default;

  // suite returns the suite the context was set up with.
  const HpkeSuite& suite() const { return suite_; }
  // sequence_number returns how many messages this context has sealed or opened.
  uint64_t sequence_number() const { return seq_; }

  // Export returns a secret of `length` bytes bound to `exporter_context` (§5.3).
  // InvalidArgument when length > 255 * Nh.
  absl::StatusOr<SecretBytes> Export(ByteSpan exporter_context, size_t length) const;

 protected:
  HpkeContext(HpkeSuite suite, SecretBytes key, Bytes base_nonce, SecretBytes exporter_secret);
  // NextNonce returns the nonce for the current sequence number (§5.2 ComputeNonce), or
  // FailedPrecondition for export-only suites and ResourceExhausted when the sequence number
  // is exhausted (MessageLimitReachedError).
  absl::StatusOr<Bytes> NextNonce() const;

  HpkeSuite suite_;
  SecretBytes key_;
  Bytes base_nonce_;
  SecretBytes exporter_secret_;
  uint64_t seq_ = 0;

 private:
  friend class internal::HpkeFactory;
  friend class internal::HpkeTestPeer;
};

// HpkeSenderContext is the sender's context; enc() is the encapsulated key to send.
class HpkeSenderContext : public HpkeContext {
 public:
  // enc returns the encapsulated key (Nenc bytes) the recipient needs.
  const Bytes& enc() const { return enc_; }
  // Seal encrypts `plaintext` bound to `aad` with the next nonce and returns ciphertext || tag
  // (§5.2 ContextS.Seal). FailedPrecondition for an export-only suite; ResourceExhausted when
  // the sequence number is exhausted; InvalidArgument for an over-long plaintext.
  absl::StatusOr<Bytes> Seal(ByteSpan aad, ByteSpan plaintext);

 private:
  friend class internal::HpkeFactory;
  HpkeSenderContext(HpkeContext base, Bytes enc)
      : HpkeContext(std::move(base)), enc_(std::move(enc)) {}
  Bytes enc_;
};

// HpkeRecipientContext is the recipient's context.
class HpkeRecipientContext : public HpkeContext {
 public:
  // Open decrypts ciphertext || tag bound to `aad` with the next nonce (§5.2 ContextR.Open).
  // Unauthenticated ("decryption failed") when it does not authenticate (wrong key, PSK, aad,
  // order, tampering); the sequence number then stays put. FailedPrecondition for an
  // export-only suite; ResourceExhausted when the sequence number is exhausted.
  absl::StatusOr<Bytes> Open(ByteSpan aad, ByteSpan ciphertext);

 private:
  friend class internal::HpkeFactory;
  explicit HpkeRecipientContext(HpkeContext base) : HpkeContext(std::move(base)) {}
};

// HpkeSealed is the result of single-shot encryption: the encapsulated key and ciphertext.
struct HpkeSealed {
  Bytes enc;
  Bytes ciphertext;
};

// HpkeSeal is single-shot encryption (§6.1): set up a sender and seal one message. Errors of
// HpkeSetupSender and HpkeSenderContext::Seal.
absl::StatusOr<HpkeSealed> HpkeSeal(const HpkeSuite& suite, ByteSpan recipient_public_key,
                                    const HpkeSetupParams& params, ByteSpan aad,
                                    ByteSpan plaintext);
// HpkeOpen is single-shot decryption (§6.1). Errors of HpkeSetupRecipient and
// HpkeRecipientContext::Open.
absl::StatusOr<Bytes> HpkeOpen(const HpkeSuite& suite, ByteSpan enc,
                               const SecretBytes& recipient_private_key,
                               const HpkeSetupParams& params, ByteSpan aad, ByteSpan ciphertext);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_HPKE_H_
