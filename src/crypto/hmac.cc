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

// HmacTemplate returns a context with the digest for `alg` already set and no key, made once
// per algorithm and never freed. Contexts are duplicated from it: setting the digest by name on
// every new context makes OpenSSL fetch the digest each time, under a global lock.
const EVP_MAC_CTX* HmacTemplate(HashAlg alg) {
  auto make = [](HashAlg a) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacMac());
    CheckOk(ctx != nullptr ? 1 : 0, "EVP_MAC_CTX_new");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(EVP_MD_get0_name(Md(a))), 0),
        OSSL_PARAM_construct_end()};
    CheckOk(EVP_MAC_CTX_set_params(ctx, params), "EVP_MAC_CTX_set_params");
    return ctx;
  };
  static const EVP_MAC_CTX* const k256 = make(HashAlg::kSha256);
  static const EVP_MAC_CTX* const k384 = make(HashAlg::kSha384);
  static const EVP_MAC_CTX* const k512 = make(HashAlg::kSha512);
  return ForAlg(alg, k256, k384, k512);
}

}  // namespace

HmacState::HmacState(HashAlg alg, ByteSpan key)
    : alg_(alg), ctx_(EVP_MAC_CTX_dup(HmacTemplate(alg))) {
  CheckOk(ctx_ != nullptr ? 1 : 0, "EVP_MAC_CTX_dup");
  // EVP_MAC_init treats a null key as "keep the previous key"; an empty key must still be a
  // valid pointer so that HMAC with a zero-length key (HKDF's default salt) works.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  CheckOk(EVP_MAC_init(ctx_.get(), key_ptr, key.size(), nullptr), "EVP_MAC_init");
}

void HmacState::Update(ByteSpan data) {
  CheckOk(EVP_MAC_update(ctx_.get(), data.data(), data.size()), "EVP_MAC_update");
}

void HmacState::Finish(std::span<uint8_t> out) {
  FinishLast(out);
  // Re-initialise with the same key (a null key keeps it) for the next message.
  CheckOk(EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr), "EVP_MAC_init");
}

void HmacState::FinishLast(std::span<uint8_t> out) {
  size_t len = 0;
  CheckOk(out.size() == DigestLen(alg_) ? 1 : 0, "HMAC output size");
  CheckOk(EVP_MAC_final(ctx_.get(), out.data(), &len, out.size()), "EVP_MAC_final");
  CheckOk(len == out.size() ? 1 : 0, "HMAC output size");
}

}  // namespace internal

Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data) {
  internal::HmacState state(alg, key);
  state.Update(data);
  Bytes out(DigestLen(alg));
  state.FinishLast(out);
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
