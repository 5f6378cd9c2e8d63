#include "crypto/internal/pkey.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace confide::crypto::internal {

Bytes SpkiDerOf(EVP_PKEY* pkey) {
  int len = i2d_PUBKEY(pkey, nullptr);
  CheckOk(len > 0 ? 1 : 0, "i2d_PUBKEY");
  Bytes out(static_cast<size_t>(len));
  uint8_t* p = out.data();
  CheckOk(i2d_PUBKEY(pkey, &p) == len ? 1 : 0, "i2d_PUBKEY");
  return out;
}

SecretBytes Pkcs8DerOf(EVP_PKEY* pkey) {
  using P8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Deleter<PKCS8_PRIV_KEY_INFO_free>>;
  P8Ptr p8(EVP_PKEY2PKCS8(pkey));
  CheckOk(p8 ? 1 : 0, "EVP_PKEY2PKCS8");
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  CheckOk(len > 0 ? 1 : 0, "i2d_PKCS8_PRIV_KEY_INFO");
  SecretBytes out(static_cast<size_t>(len));
  uint8_t* p = out.MutableSecret().data();
  CheckOk(i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) == len ? 1 : 0, "i2d_PKCS8_PRIV_KEY_INFO");
  return out;
}

SecretBytes PrivateKeyPemOf(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  CheckOk(
      bio && PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1
          ? 1
          : 0,
      "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::CopyFrom(
      ByteSpan(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
}

}  // namespace confide::crypto::internal
