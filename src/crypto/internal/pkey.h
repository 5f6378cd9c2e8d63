// Private to confide::crypto: the shared EVP_PKEY holder behind public key classes.
#ifndef CONFIDE_CRYPTO_INTERNAL_PKEY_H_
#define CONFIDE_CRYPTO_INTERNAL_PKEY_H_

#include <openssl/evp.h>

#include "crypto/internal/openssl_util.h"

namespace confide::crypto::internal {

struct PkeyHolder {
  explicit PkeyHolder(EVP_PKEY* p) : pkey(p) {}
  EvpPkeyPtr pkey;
  EVP_PKEY* get() const { return pkey.get(); }
};

}  // namespace confide::crypto::internal

#endif  // CONFIDE_CRYPTO_INTERNAL_PKEY_H_
