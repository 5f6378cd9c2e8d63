#include "crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/ct.h"
#include "base/secret_bytes.h"
#include "crypto/internal/hmac_internal.h"
#include "crypto/internal/openssl_util.h"

namespace confide::crypto {
namespace internal {
namespace {

// HmacMac returns the HMAC algorithm, fetched once (never freed; thread-safe static init).
EVP_MAC* HmacMac() {
  static EVP_MAC* const mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    CheckOk(m != nullptr ? 1 : 0, "EVP_MAC_fetch(HMAC)");
    return m;
  }();
  return mac;
}

}  // namespace

HmacState::HmacState(HashAlg alg, ByteSpan key) : alg_(alg), ctx_(EVP_MAC_CTX_new(HmacMac())) {
  CheckOk(ctx_ != nullptr ? 1 : 0, "EVP_MAC_CTX_new");
  // EVP_MAC_init treats a null key as "keep the previous key"; an empty key must still be a
  // valid pointer so that HMAC with a zero-length key (HKDF's default salt) works.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                       const_cast<char*>(EVP_MD_get0_name(Md(alg))), 0),
      OSSL_PARAM_construct_end()};
  CheckOk(EVP_MAC_init(ctx_.get(), key_ptr, key.size(), params), "EVP_MAC_init");
}

void HmacState::Update(ByteSpan data) {
  CheckOk(EVP_MAC_update(ctx_.get(), data.data(), data.size()), "EVP_MAC_update");
}

void HmacState::Finish(std::span<uint8_t> out) {
  size_t len = 0;
  CheckOk(out.size() == DigestLen(alg_) ? 1 : 0, "HMAC output size");
  CheckOk(EVP_MAC_final(ctx_.get(), out.data(), &len, out.size()), "EVP_MAC_final");
  CheckOk(len == out.size() ? 1 : 0, "HMAC output size");
  // Re-initialise with the same key (a null key keeps it) for the next message.
  CheckOk(EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr), "EVP_MAC_init");
}

}  // namespace internal

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data) {
  internal::HmacState state(alg, key);
  state.Update(data);
  Bytes out(DigestLen(alg));
  state.Finish(out);
  return out;
}

absl::Status HmacVerify(HashAlg alg, ByteSpan key, ByteSpan data, ByteSpan tag) {
  Bytes expected = Hmac(alg, key, data);
  // The tag length is public (it is fixed by the algorithm), so checking it first leaks nothing.
  const bool ok = tag.size() == expected.size() && ConstantTimeEquals(expected, tag);
  SecureZero(expected);
  if (!ok) {
    return absl::UnauthenticatedError("HMAC verification failed");
  }
  return absl::OkStatus();
}

}  // namespace confide::crypto
