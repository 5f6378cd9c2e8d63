#include "crypto/x509.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/internal/pkey.h"
#include "crypto/random.h"

namespace confide::crypto {

struct Certificate::Impl {
  internal::X509Ptr x509;
  Bytes der;
  std::string subject;
  std::string issuer;
  std::string serial_hex;
  absl::Time not_before;
  absl::Time not_after;
};

namespace {

using internal::BioPtr;
using internal::Error;
using internal::X509Ptr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kInternal = absl::StatusCode::kInternal;

using X509StorePtr = std::unique_ptr<X509_STORE, internal::Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, internal::Deleter<X509_STORE_CTX_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, internal::Deleter<X509_EXTENSION_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, internal::Deleter<ASN1_INTEGER_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, internal::Deleter<X509_NAME_free>>;

// StackOfX509 is a view stack: it does not own (or up-ref) its certificates.
struct StackOfX509Free {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using StackOfX509Ptr = std::unique_ptr<STACK_OF(X509), StackOfX509Free>;

struct OpenSslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};

absl::StatusOr<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* t) {
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return Error(kInvalid, "certificate validity time is malformed");
  }
  const absl::CivilSecond civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec);
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    internal::ClearErrors();
    return std::string();
  }
  return internal::MemBioString(bio.get());
}

std::string SerialToHex(const ASN1_INTEGER* serial) {
  internal::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) {
    internal::ClearErrors();
    return std::string();
  }
  Bytes mag(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), mag.data());
  std::string hex = mag.empty() ? "00" : base::HexEncode(mag);
  return BN_is_negative(bn.get()) ? "-" + hex : hex;
}

Bytes OctetStringBytes(const ASN1_OCTET_STRING* s) {
  if (s == nullptr) return Bytes();
  const uint8_t* data = ASN1_STRING_get0_data(s);
  return Bytes(data, data + ASN1_STRING_length(s));
}

X509* Raw(const Certificate& c) { return c.impl().x509.get(); }

// ------------------------------------------------------------------ chain verification helpers

std::string Position(size_t pos, size_t leaf_pos) {
  const char* role = pos == 0 ? "root" : (pos == leaf_pos ? "leaf" : "intermediate");
  return absl::StrCat("(chain position ", pos, ": ", role, ")");
}

// CheckName maps an X509_V_ERR_* code to the name of the failed check.
std::string CheckName(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate not yet valid";
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return "certificate validity field malformed";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return "unable to get issuer certificate / untrusted root";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return "certificate signature failure";
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return "invalid CA certificate";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return "path length exceeded";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return "certificate chain too long";
    default:
      // OpenSSL's reason strings are a fixed table: they carry no certificate content.
      return absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(err));
  }
}

// VerifyCallback waives exactly one X509_V_FLAG_X509_STRICT check: a non-CA leaf (depth 0)
// without an authorityKeyIdentifier. RFC 5280 §4.2.1.1 makes AKI a MUST for conforming CAs, but
// it serves path building only (the issuer is fixed here by position), and AWS Nitro leaf
// certificates omit it. Every other error stops verification.
int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  if (X509_STORE_CTX_get_error(ctx) == X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER &&
      X509_STORE_CTX_get_error_depth(ctx) == 0) {
    X509* cert = X509_STORE_CTX_get_current_cert(ctx);
    if (cert != nullptr && (X509_get_extension_flags(cert) & EXFLAG_CA) == 0) {
      X509_STORE_CTX_set_error(ctx, X509_V_OK);
      return 1;
    }
  }
  return 0;
}

// ------------------------------------------------------------------ builder helpers

absl::Status AddNameEntry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return absl::OkStatus();
  if (value.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate name attribute ", field, " is longer than 64 characters"));
  }
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return Error(kInvalid, "certificate name attribute could not be encoded");
  }
  return absl::OkStatus();
}

absl::StatusOr<X509NamePtr> BuildName(const DistinguishedName& dn) {
  if (!dn.country.empty() &&
      (dn.country.size() != 2 || !std::isupper(static_cast<unsigned char>(dn.country[0])) ||
       !std::isupper(static_cast<unsigned char>(dn.country[1])))) {
    return absl::InvalidArgumentError("certificate country must be two letters A-Z");
  }
  X509NamePtr name(X509_NAME_new());
  if (!name) return Error(kInternal, "X509_NAME allocation failed");
  RETURN_IF_ERROR(AddNameEntry(name.get(), "C", dn.country));
  RETURN_IF_ERROR(AddNameEntry(name.get(), "ST", dn.state));
  RETURN_IF_ERROR(AddNameEntry(name.get(), "L", dn.locality));
  RETURN_IF_ERROR(AddNameEntry(name.get(), "O", dn.organization));
  RETURN_IF_ERROR(AddNameEntry(name.get(), "OU", dn.organizational_unit));
  RETURN_IF_ERROR(AddNameEntry(name.get(), "CN", dn.common_name));
  if (X509_NAME_entry_count(name.get()) == 0) {
    return absl::InvalidArgumentError("certificate subject has no attribute");
  }
  return name;
}

absl::StatusOr<Asn1IntegerPtr> BuildSerial(const std::optional<Bytes>& serial) {
  Bytes bytes;
  if (serial.has_value()) {
    bytes = *serial;
  } else {
    ASSIGN_OR_RETURN(bytes, RandomBytes(16));
    // Positive (top bit clear) and non-zero with a 16-octet DER encoding.
    bytes[0] = static_cast<uint8_t>((bytes[0] & 0x7f) | 0x40);
  }
  internal::BignumPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn) return Error(kInternal, "BIGNUM allocation failed");
  //= https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.2
  //# The serial number MUST be a positive integer assigned by the CA to each certificate.
  //# ... Conforming CAs MUST NOT use serialNumber values longer than 20 octets.
  // A DER INTEGER needs one more octet than the magnitude when its top bit is set.
  const int der_octets = BN_num_bytes(bn.get()) + (BN_num_bits(bn.get()) % 8 == 0 ? 1 : 0);
  if (BN_is_zero(bn.get()) || der_octets > 20) {
    return absl::InvalidArgumentError("certificate serial must be non-zero and at most 20 octets");
  }
  Asn1IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return Error(kInternal, "ASN1_INTEGER conversion failed");
  return out;
}

absl::Status SetTime(ASN1_TIME* field, absl::Time t) {
  // Years 0..9999 are representable as GeneralizedTime; ASN1_TIME_set picks UTCTime for
  // 1950..2049 as RFC 5280 §4.1.2.5 requires.
  static const absl::Time kMin = absl::FromCivil(absl::CivilSecond(0, 1, 1), absl::UTCTimeZone());
  static const absl::Time kMax =
      absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone());
  if (t < kMin || t > kMax) {
    return absl::InvalidArgumentError("certificate validity time is out of range");
  }
  if (ASN1_TIME_set(field, absl::ToTimeT(t)) == nullptr) {
    return Error(kInvalid, "certificate validity time could not be encoded");
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Error(kInternal, "certificate extension could not be built");
  }
  return absl::OkStatus();
}

// ValidDnsName: 1..253 characters of letters, digits, '-' and '.', no empty label, optionally a
// leading "*." wildcard label (RFC 6125 §6.4.3 restricts wildcards to the left-most label).
bool ValidDnsName(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  char prev = '\0';
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return true;
}

bool ValidIpAddress(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

// SubjectAltName returns the X509V3 configuration text for spec's names ("" when none). Names
// are validated first, so no ',' or ':' of a name can alter the configuration syntax.
absl::StatusOr<std::string> SubjectAltName(const CertificateSpec& spec) {
  std::string out;
  for (const std::string& name : spec.dns_names) {
    if (!ValidDnsName(name)) return absl::InvalidArgumentError("certificate DNS name is invalid");
    absl::StrAppend(&out, out.empty() ? "" : ",", "DNS:", name);
  }
  for (const std::string& ip : spec.ip_addresses) {
    if (!ValidIpAddress(ip)) return absl::InvalidArgumentError("certificate IP address is invalid");
    absl::StrAppend(&out, out.empty() ? "" : ",", "IP:", ip);
  }
  return out;
}

// Build fills in and signs a certificate. `issuer` is null for a self-signed certificate.
absl::StatusOr<Certificate> Build(const CertificateSpec& spec, EVP_PKEY* subject_pkey,
                                  const Certificate* issuer, const EcdsaPrivateKey& signer) {
  if (signer.curve() != Curve::kP384) {
    return absl::InvalidArgumentError("certificate signing key must be P-384 (ecdsa-with-SHA384)");
  }
  if (spec.not_after < spec.not_before) {
    return absl::InvalidArgumentError("certificate not_after is before not_before");
  }
  if (spec.path_len.has_value() && (!spec.is_ca || *spec.path_len < 0)) {
    return absl::InvalidArgumentError("path_len needs a CA certificate and must be >= 0");
  }
  ASSIGN_OR_RETURN(X509NamePtr subject, BuildName(spec.subject));
  ASSIGN_OR_RETURN(Asn1IntegerPtr serial, BuildSerial(spec.serial));
  ASSIGN_OR_RETURN(const std::string san, SubjectAltName(spec));

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(
          cert.get(), issuer == nullptr ? subject.get() : X509_get_subject_name(Raw(*issuer))) !=
          1 ||
      X509_set_pubkey(cert.get(), subject_pkey) != 1) {
    return Error(kInternal, "certificate could not be built");
  }
  RETURN_IF_ERROR(SetTime(X509_getm_notBefore(cert.get()), spec.not_before));
  RETURN_IF_ERROR(SetTime(X509_getm_notAfter(cert.get()), spec.not_after));

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer == nullptr ? cert.get() : Raw(*issuer), cert.get(), nullptr, nullptr,
                 0);
  std::string basic = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  if (spec.path_len.has_value()) absl::StrAppend(&basic, ",pathlen:", *spec.path_len);
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints, basic));
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_key_usage,
                   spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  }
  //= https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.6
  //# If the subject field contains an empty sequence, then the issuing CA MUST include a
  //# subjectAltName extension that is marked as critical.
  // The subject always has an attribute here, so the extension is not critical.
  if (!san.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name, san));
  }
  if (spec.server_auth) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  }
  if (X509_sign(cert.get(), signer.holder()->get(), EVP_sha384()) <= 0) {
    return Error(kInternal, "certificate signing failed");
  }
  int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) return Error(kInternal, "certificate encoding failed");
  Bytes der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  if (i2d_X509(cert.get(), &p) != len) return Error(kInternal, "certificate encoding failed");
  return Certificate::FromDer(der);
}

}  // namespace

// ---------------------------------------------------------------- Certificate

absl::StatusOr<Certificate> Certificate::FromDer(ByteSpan der) {
  if (der.empty() || der.size() > kMaxDerBytes) {
    return absl::InvalidArgumentError("certificate is empty or too large");
  }
  const uint8_t* p = der.data();
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509 || p != der.data() + der.size()) {
    return Error(kInvalid, "certificate is not a valid DER X.509 certificate");
  }
  // Canonical DER only: one certificate has one encoding, so its bytes can be compared and
  // hashed as an identity.
  int len = i2d_X509(x509.get(), nullptr);
  if (len != static_cast<int>(der.size())) {
    return Error(kInvalid, "certificate is not in canonical DER");
  }
  Bytes again(static_cast<size_t>(len));
  uint8_t* q = again.data();
  if (i2d_X509(x509.get(), &q) != len || !std::equal(again.begin(), again.end(), der.begin())) {
    return Error(kInvalid, "certificate is not in canonical DER");
  }
  // Decode and cache the extensions now (later reads from other threads are then read-only),
  // and refuse certificates whose extensions OpenSSL cannot make sense of.
  X509_check_purpose(x509.get(), -1, 0);
  if ((X509_get_extension_flags(x509.get()) & EXFLAG_INVALID) != 0) {
    return Error(kInvalid, "certificate has invalid extensions");
  }
  auto impl = std::make_shared<Impl>();
  ASSIGN_OR_RETURN(impl->not_before, Asn1TimeToAbsl(X509_get0_notBefore(x509.get())));
  ASSIGN_OR_RETURN(impl->not_after, Asn1TimeToAbsl(X509_get0_notAfter(x509.get())));
  impl->subject = NameToString(X509_get_subject_name(x509.get()));
  impl->issuer = NameToString(X509_get_issuer_name(x509.get()));
  impl->serial_hex = SerialToHex(X509_get0_serialNumber(x509.get()));
  impl->der.assign(der.begin(), der.end());
  impl->x509 = std::move(x509);
  internal::ClearErrors();
  return Certificate(std::move(impl));
}

absl::StatusOr<std::vector<Certificate>> Certificate::ParsePemChain(std::string_view pem) {
  BioPtr bio = internal::ReadOnlyMemBio(pem);
  if (!bio) return absl::InvalidArgumentError("PEM certificate text is too large");
  std::vector<Certificate> out;
  while (true) {
    char* name_raw = nullptr;
    char* header_raw = nullptr;
    unsigned char* data_raw = nullptr;
    long len = 0;
    const int rc = PEM_read_bio(bio.get(), &name_raw, &header_raw, &data_raw, &len);
    std::unique_ptr<char, OpenSslFree> name(name_raw);
    std::unique_ptr<char, OpenSslFree> header(header_raw);
    std::unique_ptr<unsigned char, OpenSslFree> data(data_raw);
    if (rc != 1) {
      const unsigned long e = ERR_peek_last_error();
      const bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
      internal::ClearErrors();
      if (at_end && !out.empty()) break;
      return absl::InvalidArgumentError(at_end ? "no PEM CERTIFICATE block found"
                                               : "malformed PEM block");
    }
    if (std::strcmp(name.get(), PEM_STRING_X509) != 0) {
      return absl::InvalidArgumentError("PEM block is not a CERTIFICATE");
    }
    if (header && header.get()[0] != '\0') {
      return absl::InvalidArgumentError("PEM CERTIFICATE block has headers");
    }
    if (out.size() == kMaxPemChainCerts) {
      return absl::InvalidArgumentError("too many PEM certificates");
    }
    ASSIGN_OR_RETURN(Certificate cert,
                     FromDer(ByteSpan(data.get(), len > 0 ? static_cast<size_t>(len) : 0)));
    out.push_back(std::move(cert));
  }
  return out;
}

absl::StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  ASSIGN_OR_RETURN(std::vector<Certificate> certs, ParsePemChain(pem));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError("expected exactly one PEM certificate");
  }
  return std::move(certs[0]);
}

const Bytes& Certificate::Der() const { return impl_->der; }

std::string Certificate::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  internal::CheckOk(bio && PEM_write_bio_X509(bio.get(), impl_->x509.get()) == 1 ? 1 : 0,
                    "PEM_write_bio_X509");
  return internal::MemBioString(bio.get());
}

const std::string& Certificate::Subject() const { return impl_->subject; }
const std::string& Certificate::Issuer() const { return impl_->issuer; }
const std::string& Certificate::SerialHex() const { return impl_->serial_hex; }
absl::Time Certificate::NotBefore() const { return impl_->not_before; }
absl::Time Certificate::NotAfter() const { return impl_->not_after; }

bool Certificate::IsCa() const {
  return (X509_get_extension_flags(impl_->x509.get()) & EXFLAG_CA) != 0;
}

std::optional<int> Certificate::PathLen() const {
  const long len = X509_get_pathlen(impl_->x509.get());
  if (len < 0) return std::nullopt;
  return static_cast<int>(std::min<long>(len, 1 << 30));
}

Bytes Certificate::SubjectKeyId() const {
  return OctetStringBytes(X509_get0_subject_key_id(impl_->x509.get()));
}

Bytes Certificate::AuthorityKeyId() const {
  return OctetStringBytes(X509_get0_authority_key_id(impl_->x509.get()));
}

Bytes Certificate::SpkiDer() const {
  X509_PUBKEY* pub = X509_get_X509_PUBKEY(impl_->x509.get());
  int len = i2d_X509_PUBKEY(pub, nullptr);
  internal::CheckOk(len > 0 ? 1 : 0, "i2d_X509_PUBKEY");
  Bytes out(static_cast<size_t>(len));
  uint8_t* p = out.data();
  internal::CheckOk(i2d_X509_PUBKEY(pub, &p) == len ? 1 : 0, "i2d_X509_PUBKEY");
  return out;
}

std::vector<std::string> Certificate::SubjectAltNames() const {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(impl_->x509.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      out.push_back(absl::StrCat(
          "DNS:", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                              static_cast<size_t>(ASN1_STRING_length(dns)))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int len = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text, sizeof(text)) !=
              nullptr) {
        out.push_back(absl::StrCat("IP:", text));
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

absl::StatusOr<EcdsaPublicKey> Certificate::EcdsaKey() const {
  EVP_PKEY* pkey = X509_get0_pubkey(impl_->x509.get());
  if (pkey == nullptr) {
    return Error(kInvalid, "certificate public key cannot be decoded");
  }
  // The holder owns a reference of its own; the certificate keeps its own.
  internal::CheckOk(EVP_PKEY_up_ref(pkey), "EVP_PKEY_up_ref");
  return EcdsaPublicKey::FromHolder(std::make_shared<const internal::PkeyHolder>(pkey));
}

// ---------------------------------------------------------------- chains

bool ValidityWindow::Contains(absl::Time at) const {
  const absl::Time whole = absl::FromUnixSeconds(absl::ToUnixSeconds(at));
  // X509_cmp_time treats "notAfter <= at" as expired and "notBefore > at" as not yet valid.
  return not_before <= whole && whole < not_after;
}

ValidityWindow ChainValidityWindow(const Certificate& root,
                                   std::span<const Certificate> intermediates_root_first,
                                   const Certificate& leaf) {
  ValidityWindow w{root.NotBefore(), root.NotAfter()};
  auto widen = [&w](const Certificate& c) {
    w.not_before = std::max(w.not_before, c.NotBefore());
    w.not_after = std::min(w.not_after, c.NotAfter());
  };
  for (const Certificate& c : intermediates_root_first) widen(c);
  widen(leaf);
  return w;
}

absl::Status VerifyChain(const Certificate& root,
                         std::span<const Certificate> intermediates_root_first,
                         const Certificate& leaf, absl::Time at) {
  const size_t n = intermediates_root_first.size();
  if (n > kMaxIntermediates) {
    return absl::InvalidArgumentError("certificate chain has too many intermediates");
  }
  // Position 0 is the root, 1..n the intermediates, n+1 the leaf.
  const size_t leaf_pos = n + 1;
  std::vector<X509*> chain;
  chain.reserve(n + 2);
  chain.push_back(Raw(root));
  for (const Certificate& c : intermediates_root_first) chain.push_back(Raw(c));
  chain.push_back(Raw(leaf));

  // 0. The trust anchor must be a self-signed root (its signature is checked here too, so a
  //    corrupted pinned root is noticed rather than trusted as bytes).
  if (X509_self_signed(Raw(root), 1) != 1) {
    internal::ClearErrors();
    return absl::UnauthenticatedError(absl::StrCat(CheckName(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT),
                                                   " ", Position(0, leaf_pos),
                                                   ": the pinned root is not self-signed"));
  }

  // 1. The order is the caller's: each certificate must name (and, where key identifiers are
  //    present, identify) the one before it as its issuer.
  for (size_t pos = 1; pos < chain.size(); ++pos) {
    const int rc = X509_check_issued(chain[pos - 1], chain[pos]);
    internal::ClearErrors();
    if (rc == X509_V_OK) continue;
    if (rc == X509_V_ERR_KEYUSAGE_NO_CERTSIGN) {
      return absl::UnauthenticatedError(
          absl::StrCat(CheckName(rc), " ", Position(pos - 1, leaf_pos)));
    }
    if (pos == 1) {
      return absl::UnauthenticatedError(absl::StrCat(
          CheckName(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT), " ", Position(pos, leaf_pos)));
    }
    return absl::UnauthenticatedError(
        absl::StrCat("unable to get issuer certificate: not issued by chain position ", pos - 1,
                     "; intermediates missing or out of order ", Position(pos, leaf_pos)));
  }

  // 2. OpenSSL's verification with the pinned root as the only trust anchor.
  X509StorePtr store(X509_STORE_new());
  StackOfX509Ptr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx || X509_STORE_add_cert(store.get(), Raw(root)) != 1) {
    return Error(kInternal, "X509 store setup failed");
  }
  for (const Certificate& c : intermediates_root_first) {
    if (sk_X509_push(untrusted.get(), Raw(c)) <= 0) {
      return Error(kInternal, "X509 stack setup failed");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), Raw(leaf), untrusted.get()) != 1) {
    return Error(kInternal, "X509 store context setup failed");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_USE_CHECK_TIME);
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(at));
  X509_VERIFY_PARAM_set_depth(param, static_cast<int>(n));
  X509_STORE_CTX_set_verify_cb(ctx.get(), VerifyCallback);

  const int ok = X509_verify_cert(ctx.get());
  if (ok != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    internal::ClearErrors();
    std::string where;
    if (depth >= 0 && static_cast<size_t>(depth) <= leaf_pos) {
      where = " " + Position(leaf_pos - static_cast<size_t>(depth), leaf_pos);
    }
    return absl::UnauthenticatedError(
        absl::StrCat(CheckName(err == X509_V_OK ? X509_V_ERR_UNSPECIFIED : err), where));
  }

  // 3. The chain OpenSSL built must be exactly the given one.
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  bool same = built != nullptr && static_cast<size_t>(sk_X509_num(built)) == chain.size();
  for (size_t depth = 0; same && depth < chain.size(); ++depth) {
    same = X509_cmp(sk_X509_value(built, static_cast<int>(depth)),
                    chain[chain.size() - 1 - depth]) == 0;
  }
  internal::ClearErrors();
  if (!same) {
    return absl::UnauthenticatedError(
        "certificate chain built by verification differs from the chain given");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- builder

absl::StatusOr<Certificate> CreateSelfSignedCertificate(const CertificateSpec& spec,
                                                        const EcdsaPrivateKey& key) {
  // The certificate carries the public half only (X509_set_pubkey keeps public parts).
  const EcdsaPublicKey pub = key.PublicKey();
  return Build(spec, pub.holder()->get(), nullptr, key);
}

absl::StatusOr<Certificate> IssueCertificate(const CertificateSpec& spec,
                                             const EcdsaPublicKey& subject_key,
                                             const Certificate& issuer,
                                             const EcdsaPrivateKey& issuer_key) {
  if (X509_check_private_key(Raw(issuer), issuer_key.holder()->get()) != 1) {
    return Error(kInvalid, "issuer key does not match the issuer certificate");
  }
  if (issuer.SubjectKeyId().empty()) {
    return absl::InvalidArgumentError("issuer certificate has no subjectKeyIdentifier");
  }
  return Build(spec, subject_key.holder()->get(), &issuer, issuer_key);
}

}  // namespace confide::crypto
