#include "crypto/x25519.h"

#include <openssl/evp.h>

#include "crypto/ecdsa.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/internal/pkey.h"
#include "crypto/random.h"

namespace confide::crypto {
namespace {

using internal::Error;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;

constexpr absl::StatusCode kInternal = absl::StatusCode::kInternal;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// The order n of the P-256 group, big-endian (SEC 2 §2.4.2).
constexpr uint8_t kP256Order[kP256ScalarLen] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

// IsAllZero returns whether `data` is all zeros, in time that depends only on its length.
bool IsAllZero(ByteSpan data) {
  uint32_t acc = 0;
  for (uint8_t b : data) acc |= b;
  return acc == 0;
}

// Derive runs EVP_PKEY_derive between `priv` and `peer` into exactly `out_len` bytes.
absl::StatusOr<SecretBytes> Derive(EVP_PKEY* priv, EVP_PKEY* peer, size_t out_len,
                                   const char* what) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, priv, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1) {
    return Error(kInvalid, what);
  }
  SecretBytes out(out_len);
  size_t len = out_len;
  if (EVP_PKEY_derive(ctx.get(), out.MutableSecret().data(), &len) != 1 || len != out_len) {
    return Error(kInvalid, what);
  }
  return out;
}

}  // namespace

absl::StatusOr<DhKeyPair> X25519GenerateKeyPair() {
  //= https://www.rfc-editor.org/rfc/rfc7748#section-6.1
  //# Alice generates 32 random bytes in a[0] to a[31] and transmits K_A =
  //# X25519(a, 9) to Bob
  ASSIGN_OR_RETURN(SecretBytes priv, RandomSecret(kX25519KeyLen));
  ASSIGN_OR_RETURN(Bytes pub, X25519PublicKeyFromPrivate(priv));
  return DhKeyPair{std::move(priv), std::move(pub)};
}

absl::StatusOr<Bytes> X25519PublicKeyFromPrivate(const SecretBytes& private_key) {
  if (private_key.size() != kX25519KeyLen) {
    return absl::InvalidArgumentError("X25519 private key must be 32 bytes");
  }
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                              private_key.ExposeSecret().data(), kX25519KeyLen));
  Bytes pub(kX25519KeyLen);
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 ||
      len != kX25519KeyLen) {
    return Error(kInternal, "X25519 public key computation failed");
  }
  return pub;
}

absl::StatusOr<SecretBytes> X25519(const SecretBytes& private_key, ByteSpan peer_public_key) {
  if (private_key.size() != kX25519KeyLen) {
    return absl::InvalidArgumentError("X25519 private key must be 32 bytes");
  }
  if (peer_public_key.size() != kX25519KeyLen) {
    return absl::InvalidArgumentError("X25519 public key must be 32 bytes");
  }
  EvpPkeyPtr priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                               private_key.ExposeSecret().data(), kX25519KeyLen));
  EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(),
                                              peer_public_key.size()));
  if (!priv || !peer) {
    return Error(kInternal, "X25519 key import failed");
  }
  // OpenSSL 3.0 already refuses an all-zero result in EVP_PKEY_derive; the explicit check below
  // keeps the guarantee independent of the library version.
  ASSIGN_OR_RETURN(SecretBytes shared,
                   Derive(priv.get(), peer.get(), kX25519KeyLen,
                          "X25519 key agreement failed (low-order public key)"));
  //= https://www.rfc-editor.org/rfc/rfc9180#section-7.1.4
  //# For X25519 and X448, public keys and Diffie-Hellman outputs MUST be
  //# validated as described in [RFC7748].  In particular, recipients MUST
  //# check whether the Diffie-Hellman shared secret is the all-zero value
  //# and abort if so.
  if (IsAllZero(shared.ExposeSecret())) {
    return absl::InvalidArgumentError("X25519 key agreement failed (low-order public key)");
  }
  return shared;
}

absl::Status P256ValidatePrivateKey(ByteSpan scalar) {
  if (scalar.size() != kP256ScalarLen) {
    return absl::InvalidArgumentError("P-256 private key must be 32 bytes");
  }
  // Compute the borrow of scalar - n from the least significant byte up, without branches on
  // the value: borrow == 1 exactly when scalar < n.
  uint32_t borrow = 0;
  uint32_t acc = 0;
  for (size_t i = kP256ScalarLen; i-- > 0;) {
    const uint32_t diff = uint32_t{scalar[i]} - uint32_t{kP256Order[i]} - borrow;
    borrow = (diff >> 8) & 1;
    acc |= scalar[i];
  }
  const uint32_t nonzero = (acc + 0xff) >> 8;
  if ((borrow & nonzero) != 1) {
    return absl::InvalidArgumentError("P-256 private key is out of range");
  }
  return absl::OkStatus();
}

absl::Status P256ValidatePublicKey(ByteSpan point) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-7.1.4
  //# For P-256, P-384, and P-521, senders and recipients MUST perform
  //# partial public key validation on all public key inputs, as defined
  //# in Section 5.6.2.3.4 of [keyagreement].  This includes checking that
  //# the coordinates are in the correct range, that the point is on the
  //# curve, and that the point is not the point at infinity.
  // FromUncompressedPoint accepts only 0x04||x||y (so never infinity), decodes with
  // EC_POINT_oct2point (which rejects coordinates >= p) and runs EVP_PKEY_public_check.
  auto key = EcdsaPublicKey::FromUncompressedPoint(Curve::kP256, point);
  if (!key.ok()) {
    return absl::InvalidArgumentError("P-256 public key is invalid");
  }
  return absl::OkStatus();
}

absl::StatusOr<DhKeyPair> P256GenerateKeyPair() {
  // Rejection sampling: a random 32-byte string is >= n with probability below 2^-32.
  for (int attempt = 0; attempt < 64; ++attempt) {
    ASSIGN_OR_RETURN(SecretBytes priv, RandomSecret(kP256ScalarLen));
    if (!P256ValidatePrivateKey(priv.ExposeSecret()).ok()) continue;
    ASSIGN_OR_RETURN(Bytes pub, P256PublicKeyFromPrivate(priv));
    return DhKeyPair{std::move(priv), std::move(pub)};
  }
  return absl::InternalError("P-256 key generation failed");
}

absl::StatusOr<Bytes> P256PublicKeyFromPrivate(const SecretBytes& private_key) {
  RETURN_IF_ERROR(P256ValidatePrivateKey(private_key.ExposeSecret()));
  ASSIGN_OR_RETURN(EcdsaPrivateKey key,
                   EcdsaPrivateKey::FromScalar(Curve::kP256, private_key.ExposeSecret()));
  return key.PublicKey().UncompressedPoint();
}

absl::StatusOr<SecretBytes> P256Ecdh(const SecretBytes& private_key, ByteSpan peer_public_key) {
  RETURN_IF_ERROR(P256ValidatePrivateKey(private_key.ExposeSecret()));
  auto peer = EcdsaPublicKey::FromUncompressedPoint(Curve::kP256, peer_public_key);
  if (!peer.ok()) {
    return absl::InvalidArgumentError("P-256 public key is invalid");
  }
  ASSIGN_OR_RETURN(EcdsaPrivateKey priv,
                   EcdsaPrivateKey::FromScalar(Curve::kP256, private_key.ExposeSecret()));
  // With a validated peer point (prime order group, cofactor 1) and a scalar in [1, n-1] the
  // product is never the point at infinity (RFC 9180 §7.1.4's last check); OpenSSL's ECDH
  // fails rather than return it anyway.
  return Derive(priv.holder()->get(), peer->holder()->get(), kP256SharedSecretLen,
                "P-256 key agreement failed");
}

}  // namespace confide::crypto
