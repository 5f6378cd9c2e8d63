// confide::crypto Diffie-Hellman: X25519 (RFC 7748) and ECDH over NIST P-256 (SEC 1).
//
// Keys travel as bytes in the encodings HPKE (RFC 9180 §7.1.1) uses: X25519 keys are the raw
// 32-byte strings; P-256 public keys are uncompressed points 0x04 || x || y (65 bytes) and
// private keys are 32-byte big-endian scalars. Private keys are always SecretBytes.
#ifndef CONFIDE_CRYPTO_X25519_H_
#define CONFIDE_CRYPTO_X25519_H_

#include <cstddef>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace confide::crypto {

// DhKeyPair is a private key with its serialized public key. Move-only.
struct DhKeyPair {
  SecretBytes private_key;
  Bytes public_key;
};

// kX25519KeyLen is the length of X25519 private keys, public keys and shared secrets.
inline constexpr size_t kX25519KeyLen = 32;
// kP256ScalarLen is the length of a P-256 private scalar.
inline constexpr size_t kP256ScalarLen = 32;
// kP256PointLen is the length of an uncompressed P-256 point (0x04 || x || y).
inline constexpr size_t kP256PointLen = 65;
// kP256SharedSecretLen is the length of a P-256 ECDH result (the x-coordinate).
inline constexpr size_t kP256SharedSecretLen = 32;

// X25519GenerateKeyPair returns a fresh X25519 key pair. Internal if the CSPRNG fails.
absl::StatusOr<DhKeyPair> X25519GenerateKeyPair();

// X25519PublicKeyFromPrivate returns X25519(private_key, 9), the public key. Any 32-byte string
// is a valid private key (it is clamped internally, RFC 7748 §5). InvalidArgument on a wrong
// length.
absl::StatusOr<Bytes> X25519PublicKeyFromPrivate(const SecretBytes& private_key);

// X25519 returns the 32-byte shared secret X25519(private_key, peer_public_key).
// InvalidArgument on wrong lengths, or when the result is all zeros (the peer sent a low-order
// point; RFC 9180 §7.1.4 and RFC 7748 §6.1 say to abort). Thread-safe.
absl::StatusOr<SecretBytes> X25519(const SecretBytes& private_key, ByteSpan peer_public_key);

// P256GenerateKeyPair returns a fresh P-256 key pair. Internal if the CSPRNG fails.
absl::StatusOr<DhKeyPair> P256GenerateKeyPair();

// P256ValidatePrivateKey returns OK when `scalar` is 32 bytes encoding a value in [1, n-1]
// (n the group order); InvalidArgument otherwise. Runs in time independent of the value.
absl::Status P256ValidatePrivateKey(ByteSpan scalar);

// P256ValidatePublicKey returns OK when `point` is an uncompressed P-256 point with coordinates
// below p, on the curve and not the point at infinity (the partial public-key validation of
// NIST SP 800-56A §5.6.2.3.4); InvalidArgument otherwise.
absl::Status P256ValidatePublicKey(ByteSpan point);

// P256PublicKeyFromPrivate returns the uncompressed point d·G for the scalar `private_key`.
// InvalidArgument when the scalar fails P256ValidatePrivateKey.
absl::StatusOr<Bytes> P256PublicKeyFromPrivate(const SecretBytes& private_key);

// P256Ecdh returns the x-coordinate (32 bytes) of private_key·peer_public_key. InvalidArgument
// when the scalar is invalid or the peer point fails P256ValidatePublicKey. Thread-safe.
absl::StatusOr<SecretBytes> P256Ecdh(const SecretBytes& private_key, ByteSpan peer_public_key);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_X25519_H_
