// confide::crypto X.509: certificate parsing, chain verification against one pinned root at an
// injected time, and a small certificate builder for the simulation CA of the emulated Nitro
// secure module.
//
// Verification never reads the system clock and never consults the system trust store: the
// caller names the root it trusts and the time at which the chain must be valid (for a Nitro
// attestation document, its own timestamp or the verifier's injected clock).
#ifndef CONFIDE_CRYPTO_X509_H_
#define CONFIDE_CRYPTO_X509_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/ecdsa.h"

namespace confide::crypto {

// Certificate is a parsed X.509 certificate. Cheap to copy (shared, immutable); all methods are
// thread-safe.
class Certificate {
 public:
  // kMaxDerBytes bounds one certificate (Nitro certificates are under 1 KiB).
  static constexpr size_t kMaxDerBytes = 64 * 1024;
  // kMaxPemChainCerts bounds how many certificates ParsePemChain accepts.
  static constexpr size_t kMaxPemChainCerts = 32;

  // FromDer parses one DER certificate that spans exactly `der`. InvalidArgument when it is
  // empty, larger than kMaxDerBytes, malformed, followed by trailing bytes, not in canonical
  // DER (re-encoding differs), has validity times that cannot be read, or has extensions that
  // OpenSSL marks invalid (duplicate or undecodable basicConstraints, keyUsage, ...).
  static absl::StatusOr<Certificate> FromDer(ByteSpan der);
  // FromPem parses text holding exactly one PEM "CERTIFICATE" block (text around it is
  // ignored). InvalidArgument when there is no block, more than one, another block type, or the
  // certificate fails FromDer.
  static absl::StatusOr<Certificate> FromPem(std::string_view pem);
  // ParsePemChain parses one or more PEM "CERTIFICATE" blocks, in file order. InvalidArgument
  // when there are none, more than kMaxPemChainCerts, any block is not a CERTIFICATE (or has
  // PEM headers), or any certificate fails FromDer.
  static absl::StatusOr<std::vector<Certificate>> ParsePemChain(std::string_view pem);

  // Der returns the certificate's DER encoding (the exact input bytes).
  const Bytes& Der() const;
  // Pem returns the certificate as a PEM "CERTIFICATE" block.
  std::string Pem() const;
  // Subject returns the subject name in RFC 2253 form, most specific first, e.g.
  // "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US". Characters outside printable ASCII are
  // escaped. Attacker-controlled text: match it, never log or put it in errors unescaped.
  const std::string& Subject() const;
  // Issuer returns the issuer name in the same form as Subject.
  const std::string& Issuer() const;
  // SerialHex returns the serial number as lower-case hex of its magnitude, without leading
  // zero bytes ("-" first if negative, "00" if zero), e.g. "f93175681b90afe11d46ccb4e4e7f856".
  const std::string& SerialHex() const;
  // NotBefore / NotAfter return the validity bounds (whole seconds, UTC).
  absl::Time NotBefore() const;
  absl::Time NotAfter() const;
  // IsCa returns true when basicConstraints says CA:TRUE.
  bool IsCa() const;
  // PathLen returns basicConstraints' pathLenConstraint, or nullopt when absent.
  std::optional<int> PathLen() const;
  // SubjectKeyId / AuthorityKeyId return the key identifiers, or empty when absent.
  Bytes SubjectKeyId() const;
  Bytes AuthorityKeyId() const;
  // SpkiDer returns the DER SubjectPublicKeyInfo.
  Bytes SpkiDer() const;
  // SubjectAltNames returns the dNSName and iPAddress entries of subjectAltName as "DNS:name"
  // and "IP:address" (other kinds are skipped); empty when there is no such extension.
  // Attacker-controlled text for a certificate from elsewhere: match it, never log it.
  std::vector<std::string> SubjectAltNames() const;
  // EcdsaKey returns the subject public key as a P-256 or P-384 ECDSA key. InvalidArgument when
  // the key is of another type or curve (or uses explicit curve parameters).
  absl::StatusOr<EcdsaPublicKey> EcdsaKey() const;

  // operator== compares the DER encodings.
  friend bool operator==(const Certificate& a, const Certificate& b) { return a.Der() == b.Der(); }

  // Internal to confide::crypto.
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Certificate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// ValidityWindow is the time span in which every certificate of a chain is valid.
struct ValidityWindow {
  absl::Time not_before;  // the latest notBefore of the chain
  absl::Time not_after;   // the earliest notAfter of the chain

  // Contains returns true when not_before <= at < not_after, comparing whole seconds (floor
  // of `at`), exactly as VerifyChain (OpenSSL's X509_cmp_time) decides. Note that OpenSSL
  // counts the notAfter second itself as expired, one second stricter than RFC 5280
  // §4.1.2.5's "notBefore through notAfter, inclusive"; the window follows OpenSSL so that a
  // cached check and a full VerifyChain always agree. Empty windows contain nothing.
  bool Contains(absl::Time at) const;
};

// kMaxIntermediates bounds the chain length VerifyChain accepts.
inline constexpr size_t kMaxIntermediates = 8;

// VerifyChain verifies root -> intermediates_root_first[0] -> ... -> leaf at time `at`, with
// `root` as the only trust anchor (it must be self-signed, with a valid self-signature; its own
// validity period is checked too). A certificate is valid at `at` when notBefore <= at <
// notAfter, in whole seconds (see ValidityWindow::Contains).
// The certificates are used exactly in the order given: each must be issued by the one before
// it, and the chain OpenSSL builds must be exactly this one, so a missing, extra or reordered
// intermediate fails. Checks are OpenSSL's X509_verify_cert with X509_V_FLAG_X509_STRICT and
// X509_V_FLAG_USE_CHECK_TIME, no default trust paths, no purpose. One strictness is waived: a
// non-CA leaf without an authorityKeyIdentifier is accepted, because real AWS Nitro leaf
// certificates have none.
//
// Returns OK, InvalidArgument when there are more than kMaxIntermediates intermediates, or
// Unauthenticated with a message naming the failed check and the certificate, by chain position
// (0 = root, 1..n = intermediates, n+1 = leaf) and role, e.g.
//   "certificate expired (chain position 4: leaf)"
//   "certificate not yet valid (chain position 0: root)"
//   "unable to get issuer certificate / untrusted root (chain position 1: intermediate)"
//   "unable to get issuer certificate / untrusted root (chain position 0: root): the pinned
//    root is not self-signed"
//   "unable to get issuer certificate: not issued by chain position 1; intermediates missing
//    or out of order (chain position 2: intermediate)"
//   "certificate signature failure (chain position 2: intermediate)"
//   "invalid CA certificate (chain position 2: intermediate)"
//   "path length exceeded (chain position 3: intermediate)"
// Other OpenSSL failures read "certificate verification failed: <OpenSSL's fixed reason>
// (chain position N: role)". Messages never contain certificate contents. Thread-safe.
absl::Status VerifyChain(const Certificate& root,
                         std::span<const Certificate> intermediates_root_first,
                         const Certificate& leaf, absl::Time at);

// ChainValidityWindow returns {max notBefore, min notAfter} over root, intermediates and leaf.
// A caller that verified a chain with VerifyChain may cache it and later re-check only
// window.Contains(now): everything else VerifyChain checks does not depend on time.
ValidityWindow ChainValidityWindow(const Certificate& root,
                                   std::span<const Certificate> intermediates_root_first,
                                   const Certificate& leaf);

// ---------------------------------------------------------------- builder (simulation CA)

// DistinguishedName lists the attributes the builder writes, in the order written (C, ST, L,
// O, OU, CN, as in AWS Nitro certificates). Empty fields are left out.
struct DistinguishedName {
  std::string country;              // C: exactly two letters A-Z when present
  std::string state;                // ST
  std::string locality;             // L
  std::string organization;         // O
  std::string organizational_unit;  // OU
  std::string common_name;          // CN
};

// CertificateSpec describes a certificate to build.
struct CertificateSpec {
  DistinguishedName subject;
  // serial: big-endian unsigned, non-zero, at most 20 octets once DER-encoded. When absent,
  // 16 random bytes (positive, non-zero) are used.
  std::optional<Bytes> serial;
  absl::Time not_before;
  absl::Time not_after;
  // is_ca: basicConstraints critical CA:TRUE and keyUsage critical keyCertSign, cRLSign;
  // otherwise basicConstraints critical CA:FALSE and keyUsage critical digitalSignature.
  bool is_ca = false;
  // path_len: pathLenConstraint (CA only, >= 0).
  std::optional<int> path_len;
  // dns_names / ip_addresses: a subjectAltName extension (RFC 5280 §4.2.1.6) with these
  // dNSName and iPAddress entries, in this order; none when both are empty. A DNS name is
  // 1..253 characters of [A-Za-z0-9.-], optionally starting with "*."; an address is dotted
  // IPv4 or textual IPv6.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  // server_auth: an extendedKeyUsage extension with id-kp-serverAuth (a TLS server
  // certificate).
  bool server_auth = false;
};

// CreateSelfSignedCertificate builds an X.509 v3 certificate for `key`'s public key, issued by
// itself and signed by `key` with ecdsa-with-SHA384. It carries a subjectKeyIdentifier (SHA-1
// of the public key, RFC 5280 §4.2.1.2 method 1). InvalidArgument when `key` is not P-384 or
// the spec is invalid (no subject attribute, bad country, bad serial, not_after < not_before,
// times outside years 0..9999, path_len on a non-CA or negative, a bad DNS name or IP
// address); Internal if OpenSSL fails.
absl::StatusOr<Certificate> CreateSelfSignedCertificate(const CertificateSpec& spec,
                                                        const EcdsaPrivateKey& key);

// IssueCertificate builds a certificate for `subject_key` (P-256 or P-384) named as in `spec`,
// issued by `issuer` (its subject becomes the issuer name; its subjectKeyIdentifier, which must
// exist, becomes the authorityKeyIdentifier) and signed by `issuer_key` (P-384, matching
// `issuer`'s public key) with ecdsa-with-SHA384. The builder does not refuse a non-CA issuer:
// the simulation needs such chains to test that VerifyChain rejects them. Errors as for
// CreateSelfSignedCertificate, plus InvalidArgument when `issuer_key` does not match `issuer` or
// `issuer` has no subjectKeyIdentifier.
absl::StatusOr<Certificate> IssueCertificate(const CertificateSpec& spec,
                                             const EcdsaPublicKey& subject_key,
                                             const Certificate& issuer,
                                             const EcdsaPrivateKey& issuer_key);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_X509_H_
