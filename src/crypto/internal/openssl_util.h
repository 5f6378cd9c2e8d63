// Private to confide::crypto: OpenSSL RAII handles and error helpers.
#ifndef CONFIDE_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
#define CONFIDE_CRYPTO_INTERNAL_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "crypto/sha.h"

namespace confide::crypto::internal {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, Deleter<BN_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

// kMaxPemBytes caps PEM text handed to OpenSSL (keys and certificate chains are far smaller).
inline constexpr size_t kMaxPemBytes = 1 << 20;

// ReadOnlyMemBio returns a memory BIO over `text`, or null when it is larger than kMaxPemBytes
// (BIO_new_mem_buf takes an int, and a negative length would make it call strlen).
inline BioPtr ReadOnlyMemBio(std::string_view text) {
  if (text.size() > kMaxPemBytes) return nullptr;
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// MemBioString returns the bytes written so far to a memory BIO, as a string.
inline std::string MemBioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return std::string();
  return std::string(data, static_cast<size_t>(len));
}

// ClearErrors drops OpenSSL's thread-local error queue so stale errors never leak into later
// calls (and never into our messages).
inline void ClearErrors() { ERR_clear_error(); }

// Error returns `code` with our own message and clears OpenSSL's queue. OpenSSL's strings are
// not copied into messages: they can name internal state and are not part of our API.
inline absl::Status Error(absl::StatusCode code, const char* message) {
  ClearErrors();
  return absl::Status(code, message);
}

// CheckOk aborts when an OpenSSL call that cannot fail on valid arguments fails.
inline void CheckOk(int rc, const char* what) {
  if (rc != 1) {
    ERR_print_errors_fp(stderr);
    std::abort();
    (void)what;
  }
}

// FetchedMd returns the provider implementation of digest `name`, fetched once per name by
// the caller's static (never freed); aborts when the default provider lacks it.
inline const EVP_MD* FetchedMd(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  CheckOk(md != nullptr ? 1 : 0, "EVP_MD_fetch");
  return md;
}

// ForAlg returns the one of `sha256`, `sha384`, `sha512` that belongs to `alg`.
template <typename T>
T ForAlg(HashAlg alg, T sha256, T sha384, T sha512) {
  switch (alg) {
    case HashAlg::kSha256:
      return sha256;
    case HashAlg::kSha384:
      return sha384;
    case HashAlg::kSha512:
      return sha512;
  }
  std::abort();
}

// Md returns the EVP_MD for `alg` (static, never freed). These are explicitly fetched: passing
// OpenSSL 3's legacy EVP_sha256() to EVP_Digest* makes every call fetch the implementation
// again under a global lock (it was ~3% of a KMS Decrypt's CPU).
inline const EVP_MD* Md(HashAlg alg) {
  static const EVP_MD* const kSha256 = FetchedMd("SHA2-256");
  static const EVP_MD* const kSha384 = FetchedMd("SHA2-384");
  static const EVP_MD* const kSha512 = FetchedMd("SHA2-512");
  return ForAlg(alg, kSha256, kSha384, kSha512);
}

}  // namespace confide::crypto::internal

#endif  // CONFIDE_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
