// Private to confide::crypto: HPKE's KEM steps, exposed so known-answer tests can check the
// shared secret on its own (RFC 9180 Appendix A lists it).
#ifndef CONFIDE_CRYPTO_INTERNAL_HPKE_INTERNAL_H_
#define CONFIDE_CRYPTO_INTERNAL_HPKE_INTERNAL_H_

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/hpke.h"

namespace confide::crypto::internal {

// HpkeEncapResult is the output of Encap / AuthEncap.
struct HpkeEncapResult {
  SecretBytes shared_secret;
  Bytes enc;
};

// HpkeEncap runs Encap(pkR) (or AuthEncap(pkR, skS) when `sender_private_key` is non-null) of
// RFC 9180 §4.1 with the ephemeral private key `ephemeral_private_key`.
absl::StatusOr<HpkeEncapResult> HpkeEncap(HpkeKemId kem, ByteSpan recipient_public_key,
                                          const SecretBytes& ephemeral_private_key,
                                          const SecretBytes* sender_private_key);

// HpkeDecap runs Decap(enc, skR) (or AuthDecap(enc, skR, pkS) when `sender_public_key` is
// non-empty) of RFC 9180 §4.1.
absl::StatusOr<SecretBytes> HpkeDecap(HpkeKemId kem, ByteSpan enc,
                                      const SecretBytes& recipient_private_key,
                                      ByteSpan sender_public_key);

}  // namespace confide::crypto::internal

#endif  // CONFIDE_CRYPTO_INTERNAL_HPKE_INTERNAL_H_
