// Private to confide::crypto: the shared EVP_PKEY holder behind public key classes.
#ifndef CONFIDE_CRYPTO_INTERNAL_PKEY_H_
#define CONFIDE_CRYPTO_INTERNAL_PKEY_H_

#include <openssl/evp.h>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "crypto/internal/openssl_util.h"

namespace confide::crypto::internal {

struct PkeyHolder {
  explicit PkeyHolder(EVP_PKEY* p) : pkey(p) {}
  EvpPkeyPtr pkey;
  EVP_PKEY* get() const { return pkey.get(); }
};

// SpkiDerOf returns the DER SubjectPublicKeyInfo of `pkey` (aborts on an OpenSSL failure,
// which cannot happen for a valid key).
Bytes SpkiDerOf(EVP_PKEY* pkey);
// Pkcs8DerOf returns the unencrypted PKCS#8 encoding of the private key in `pkey`.
SecretBytes Pkcs8DerOf(EVP_PKEY* pkey);
// PrivateKeyPemOf returns `pkey` as a PEM "PRIVATE KEY" block, built in OpenSSL secure memory.
SecretBytes PrivateKeyPemOf(EVP_PKEY* pkey);

}  // namespace confide::crypto::internal

#endif  // CONFIDE_CRYPTO_INTERNAL_PKEY_H_
