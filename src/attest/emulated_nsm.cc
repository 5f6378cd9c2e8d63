#include "attest/emulated_nsm.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "attest/document.h"
#include "attest/verifier.h"
#include "base/file.h"
#include "cbor/value.h"
#include "cose/sign1.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"
#include "crypto/x509.h"

namespace confide::attest {
namespace {

constexpr size_t kMaxPemFileBytes = 64 * 1024;
// Like a Nitro enclave's signing certificate.
constexpr absl::Duration kLeafLifetime = absl::Hours(3);

crypto::DistinguishedName SimName(const std::string& cn) {
  crypto::DistinguishedName dn;
  dn.country = "US";
  dn.organization = kSimulationOrganization;
  dn.organizational_unit = "simulation";
  dn.common_name = cn;
  return dn;
}

absl::StatusOr<std::string> ReadText(const std::string& dir, const char* name) {
  auto bytes = base::ReadFileBounded(dir + "/" + name, kMaxPemFileBytes);
  if (!bytes.ok()) return bytes.status();
  return std::string(AsStringView(*bytes));
}

}  // namespace

struct SimulationCa::State {
  crypto::EcdsaPrivateKey root_key;
  crypto::Certificate root;
  crypto::EcdsaPrivateKey intermediate_key;
  crypto::Certificate intermediate;
};

struct SimulationCa::Leaf {
  crypto::EcdsaPrivateKey key;
  crypto::Certificate cert;
};

absl::StatusOr<SimulationCa> SimulationCa::Create(absl::Time now) {
  ASSIGN_OR_RETURN(auto root_key, crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384));
  crypto::CertificateSpec root_spec;
  root_spec.subject = SimName(kSimulationRootCommonName);
  root_spec.not_before = now - absl::Hours(1);
  root_spec.not_after = now + absl::Hours(24 * 3650);
  root_spec.is_ca = true;
  ASSIGN_OR_RETURN(auto root, crypto::CreateSelfSignedCertificate(root_spec, root_key));

  ASSIGN_OR_RETURN(auto inter_key, crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384));
  crypto::CertificateSpec inter_spec;
  inter_spec.subject = SimName("confide simulation intermediate");
  inter_spec.not_before = root_spec.not_before;
  inter_spec.not_after = root_spec.not_after;
  inter_spec.is_ca = true;
  inter_spec.path_len = 0;
  ASSIGN_OR_RETURN(auto inter,
                   crypto::IssueCertificate(inter_spec, inter_key.PublicKey(), root, root_key));
  return SimulationCa(std::make_shared<const State>(
      State{std::move(root_key), std::move(root), std::move(inter_key), std::move(inter)}));
}

absl::StatusOr<SimulationCa> SimulationCa::Load(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string root_pem, ReadText(dir, "root.pem"));
  ASSIGN_OR_RETURN(std::string root_key_pem, ReadText(dir, "root.key"));
  ASSIGN_OR_RETURN(std::string inter_pem, ReadText(dir, "intermediate.pem"));
  ASSIGN_OR_RETURN(std::string inter_key_pem, ReadText(dir, "intermediate.key"));
  auto named = [](const char* file, const absl::Status& s) {
    return absl::InvalidArgumentError(
        absl::StrCat("simulation CA file ", file, ": ", std::string(s.message())));
  };
  auto root = crypto::Certificate::FromPem(root_pem);
  if (!root.ok()) return named("root.pem", root.status());
  auto root_key = crypto::EcdsaPrivateKey::FromPem(root_key_pem);
  SecureZero(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(root_key_pem.data()), root_key_pem.size()));
  if (!root_key.ok()) return named("root.key", root_key.status());
  auto inter = crypto::Certificate::FromPem(inter_pem);
  if (!inter.ok()) return named("intermediate.pem", inter.status());
  auto inter_key = crypto::EcdsaPrivateKey::FromPem(inter_key_pem);
  SecureZero(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(inter_key_pem.data()), inter_key_pem.size()));
  if (!inter_key.ok()) return named("intermediate.key", inter_key.status());
  if (!IsSimulationRootSubject(root->Subject())) {
    return absl::InvalidArgumentError("root.pem is not a confide simulation root");
  }
  if (inter_key->PublicKey().SpkiDer() != inter->SpkiDer() ||
      root_key->PublicKey().SpkiDer() != root->SpkiDer()) {
    return absl::InvalidArgumentError("simulation CA keys do not match their certificates");
  }
  return SimulationCa(std::make_shared<const State>(
      State{*std::move(root_key), *std::move(root), *std::move(inter_key), *std::move(inter)}));
}

absl::Status SimulationCa::Save(const std::string& dir) const {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create directory ", dir));
  }
  RETURN_IF_ERROR(
      base::WriteFileAtomic(dir + "/root.key", state_->root_key.Pem().ExposeSecret(), 0600));
  RETURN_IF_ERROR(base::WriteFileAtomic(dir + "/intermediate.key",
                                        state_->intermediate_key.Pem().ExposeSecret(), 0600));
  RETURN_IF_ERROR(
      base::WriteFileAtomic(dir + "/intermediate.pem", AsBytes(state_->intermediate.Pem())));
  // The root last: its presence marks a complete CA directory.
  return base::WriteFileAtomic(dir + "/root.pem", AsBytes(state_->root.Pem()));
}

Bytes SimulationCa::RootDer() const { return state_->root.Der(); }
std::string SimulationCa::RootPem() const { return state_->root.Pem(); }
Bytes SimulationCa::IntermediateDer() const { return state_->intermediate.Der(); }

absl::StatusOr<std::shared_ptr<const SimulationCa::Leaf>> SimulationCa::IssueLeaf(
    const std::string& module_id, absl::Time now, absl::Duration lifetime) const {
  ASSIGN_OR_RETURN(auto key, crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384));
  crypto::CertificateSpec spec;
  spec.subject = SimName(module_id);
  spec.not_before = now - absl::Minutes(1);
  spec.not_after = now + lifetime;
  spec.is_ca = false;
  ASSIGN_OR_RETURN(auto cert, crypto::IssueCertificate(spec, key.PublicKey(), state_->intermediate,
                                                       state_->intermediate_key));
  return std::make_shared<const Leaf>(Leaf{std::move(key), std::move(cert)});
}

EmulatedNsm::EmulatedNsm(std::shared_ptr<const SimulationCa> ca, std::string module_id, PcrMap pcrs,
                         bool debug_mode)
    : ca_(std::move(ca)), module_id_(std::move(module_id)), pcrs_(std::move(pcrs)) {
  if (debug_mode) {
    // As on Nitro (DESIGN.md §1): a debug-mode enclave reports PCR0, PCR1, PCR2 and PCR8 as
    // zeros, so it can never satisfy a key policy pinned to its image; PCR3/PCR4 stay.
    for (uint32_t i : {0u, 1u, 2u, 8u}) pcrs_[i] = ZeroPcr();
  }
  bank_.assign(kMaxPcrs, ZeroPcr());
  locked_.assign(kMaxPcrs, false);
  for (const auto& [i, v] : pcrs_) {
    if (i < kMaxPcrs) bank_[i] = v;
  }
  // As on Nitro, PCR0-15 are read-only to the enclave from the start.
  for (uint16_t i = 0; i < kFirstWritablePcr; ++i) locked_[i] = true;
}

PcrMap EmulatedNsm::pcrs() const {
  PcrMap out = pcrs_;
  std::lock_guard<std::mutex> lock(mu_);
  for (uint16_t i = kFirstWritablePcr; i < kMaxPcrs; ++i) {
    if (locked_[i]) out[i] = bank_[i];
  }
  return out;
}

NsmResponse EmulatedNsm::Process(const NsmRequest& request, absl::Time now) {
  auto error = [](NsmErrorCode code) { return NsmResponse(NsmErrorResponse{code}); };
  if (const auto* r = std::get_if<NsmDescribePcrRequest>(&request)) {
    if (r->index >= kMaxPcrs) return error(NsmErrorCode::kInvalidIndex);
    std::lock_guard<std::mutex> lock(mu_);
    return NsmDescribePcrResponse{locked_[r->index], bank_[r->index]};
  }
  if (const auto* r = std::get_if<NsmExtendPcrRequest>(&request)) {
    if (r->index >= kMaxPcrs) return error(NsmErrorCode::kInvalidIndex);
    std::lock_guard<std::mutex> lock(mu_);
    if (locked_[r->index]) return error(NsmErrorCode::kReadOnlyIndex);
    auto extended = ExtendPcr(bank_[r->index], r->data);
    if (!extended.ok()) return error(NsmErrorCode::kInternalError);
    bank_[r->index] = *std::move(extended);
    return NsmExtendPcrResponse{bank_[r->index]};
  }
  if (const auto* r = std::get_if<NsmLockPcrRequest>(&request)) {
    if (r->index >= kMaxPcrs) return error(NsmErrorCode::kInvalidIndex);
    std::lock_guard<std::mutex> lock(mu_);
    locked_[r->index] = true;
    return NsmLockPcrResponse{};
  }
  if (const auto* r = std::get_if<NsmLockPcrsRequest>(&request)) {
    if (r->range > kMaxPcrs) return error(NsmErrorCode::kInvalidIndex);
    std::lock_guard<std::mutex> lock(mu_);
    for (uint16_t i = 0; i < r->range; ++i) locked_[i] = true;
    return NsmLockPcrsResponse{};
  }
  if (std::holds_alternative<NsmDescribeNsmRequest>(request)) {
    NsmDescribeNsmResponse d;
    d.module_id = module_id_;
    d.max_pcrs = kMaxPcrs;
    std::lock_guard<std::mutex> lock(mu_);
    for (uint16_t i = 0; i < kMaxPcrs; ++i) {
      if (locked_[i]) d.locked_pcrs.push_back(i);
    }
    return d;
  }
  if (const auto* r = std::get_if<NsmAttestationRequest>(&request)) {
    for (const auto* field : {&r->user_data, &r->nonce, &r->public_key}) {
      if (*field && (*field)->size() > kMaxUserDataLen) {
        return error(NsmErrorCode::kInputTooLarge);
      }
    }
    if (r->public_key && r->public_key->empty()) return error(NsmErrorCode::kInvalidArgument);
    auto doc = Attest(r->user_data, r->nonce, r->public_key, now);
    if (!doc.ok()) return error(NsmErrorCode::kInternalError);
    return NsmAttestationResponse{*std::move(doc)};
  }
  auto random = crypto::RandomBytes(kRandomLen);
  if (!random.ok()) return error(NsmErrorCode::kInternalError);
  return NsmGetRandomResponse{*std::move(random)};
}

Bytes EmulatedNsm::HandleRequest(ByteSpan request, absl::Time now) {
  if (request.size() > kNsmRequestMaxLen) {
    return EncodeNsmResponse(NsmErrorResponse{NsmErrorCode::kInputTooLarge});
  }
  auto decoded = DecodeNsmRequest(request);
  if (!decoded.ok()) return EncodeNsmResponse(NsmErrorResponse{NsmErrorCode::kInvalidArgument});
  return EncodeNsmResponse(Process(*decoded, now));
}

absl::StatusOr<Bytes> EmulatedNsm::Attest(std::optional<Bytes> user_data,
                                          std::optional<Bytes> nonce,
                                          std::optional<Bytes> public_key, absl::Time now) {
  std::shared_ptr<const SimulationCa::Leaf> leaf;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Re-issue when the leaf has less than half its lifetime left (or the clock went back).
    if (!leaf_ || now < leaf_->cert.NotBefore() ||
        now > leaf_->cert.NotAfter() - kLeafLifetime / 2) {
      ASSIGN_OR_RETURN(leaf_, ca_->IssueLeaf(module_id_, now, kLeafLifetime));
    }
    leaf = leaf_;
  }
  AttestationDocument doc;
  doc.module_id = module_id_;
  doc.timestamp_ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  doc.pcrs = pcrs();
  doc.certificate = leaf->cert.Der();
  doc.cabundle = {ca_->RootDer(), ca_->IntermediateDer()};
  doc.public_key = std::move(public_key);
  doc.user_data = std::move(user_data);
  doc.nonce = std::move(nonce);
  ASSIGN_OR_RETURN(Bytes payload, EncodePayload(doc));
  cose::Sign1Options options;
  options.tagged = false;  // the Nitro secure module emits untagged COSE_Sign1
  return cose::Sign1(cose::ProtectedHeaderFor(cose::Algorithm::kEs384), cbor::Value::EmptyMap(),
                     payload, leaf->key, options);
}

}  // namespace confide::attest
