// libFuzzer target: X.509 certificate parsing (crypto/x509.h).
//
// Properties: Certificate::FromDer never crashes; an accepted certificate's Der() is exactly
// the input, it re-parses (from DER and from its PEM form) to the same fields, and the other
// accessors and a self-verification run without crashing. The same bytes are also tried as PEM
// text. Seeds: the five certificates of a real AWS Nitro attestation document and a small
// OpenSSL-made P-384 simulation chain.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/x509.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide::crypto;
  const confide::ByteSpan in(data, size);
  (void)Certificate::ParsePemChain(std::string_view(reinterpret_cast<const char*>(data), size));

  auto cert = Certificate::FromDer(in);
  if (!cert.ok()) return 0;
  if (cert->Der() != confide::Bytes(in.begin(), in.end())) std::abort();
  auto again = Certificate::FromDer(cert->Der());
  if (!again.ok()) std::abort();
  auto from_pem = Certificate::FromPem(cert->Pem());
  if (!from_pem.ok() || !(*from_pem == *cert)) std::abort();
  for (const Certificate* c : {&*again, &*from_pem}) {
    if (c->Subject() != cert->Subject() || c->Issuer() != cert->Issuer() ||
        c->SerialHex() != cert->SerialHex() || c->NotBefore() != cert->NotBefore() ||
        c->NotAfter() != cert->NotAfter() || c->IsCa() != cert->IsCa() ||
        c->PathLen() != cert->PathLen() || c->SubjectKeyId() != cert->SubjectKeyId() ||
        c->AuthorityKeyId() != cert->AuthorityKeyId() || c->SpkiDer() != cert->SpkiDer()) {
      std::abort();
    }
  }
  auto key = cert->EcdsaKey();
  if (key.ok() && key->SpkiDer().empty()) std::abort();
  const ValidityWindow w = ChainValidityWindow(*cert, {}, *cert);
  const absl::Status s = VerifyChain(*cert, {}, *cert, cert->NotBefore());
  // A certificate cannot be both root and leaf of a two-certificate chain: the built chain has
  // one certificate, so this must fail however the certificate looks.
  if (s.ok()) std::abort();
  (void)w.Contains(cert->NotAfter());
  return 0;
}
