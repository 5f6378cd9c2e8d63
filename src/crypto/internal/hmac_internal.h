// Private to confide::crypto: a keyed, reusable HMAC state (HKDF-Expand runs many blocks).
#ifndef CONFIDE_CRYPTO_INTERNAL_HMAC_INTERNAL_H_
#define CONFIDE_CRYPTO_INTERNAL_HMAC_INTERNAL_H_

#include <openssl/evp.h>

#include <memory>
#include <span>

#include "base/bytes.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/sha.h"

namespace confide::crypto::internal {

using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Deleter<EVP_MAC_CTX_free>>;

// HmacState computes HMAC-`alg` under one key, message after message. OpenSSL failures abort
// (they are broken invariants). Not thread-safe.
class HmacState {
 public:
  HmacState(HashAlg alg, ByteSpan key);
  // Update feeds `data` into the current message.
  void Update(ByteSpan data);
  // Finish writes the MAC (exactly DigestLen(alg) bytes) and starts a new message.
  void Finish(std::span<uint8_t> out);
  // FinishLast writes the MAC like Finish but leaves the state finished: only the destructor
  // may follow (saves re-keying a one-shot state).
  void FinishLast(std::span<uint8_t> out);

 private:
  HashAlg alg_;
  EvpMacCtxPtr ctx_;
};

}  // namespace confide::crypto::internal

#endif  // CONFIDE_CRYPTO_INTERNAL_HMAC_INTERNAL_H_
