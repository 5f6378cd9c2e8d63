#include "client/trust_policy.h"

#include <charconv>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/ct.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/sha.h"
#include "nlohmann/json.hpp"

namespace confide::client {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("trust policy: ", what));
}

std::string Resolve(const std::string& base_dir, const std::string& name) {
  std::filesystem::path p(name);
  if (p.is_absolute() || base_dir.empty()) return name;
  return (std::filesystem::path(base_dir) / p).string();
}

absl::StatusOr<std::string> ReadReferenced(const std::string& base_dir, const std::string& name,
                                           const char* field) {
  auto bytes = base::ReadFileBounded(Resolve(base_dir, name), kMaxPolicyBytes);
  if (!bytes.ok()) {
    return Bad(absl::StrCat("cannot read the file named in '", field,
                            "': ", std::string(bytes.status().message())));
  }
  return std::string(AsStringView(*bytes));
}

absl::Status AddPcr(attest::PcrMap& pcrs, const std::string& index, const json& value,
                    const char* field) {
  uint32_t i = 0;
  auto [ptr, ec] = std::from_chars(index.data(), index.data() + index.size(), i);
  if (ec != std::errc() || ptr != index.data() + index.size() || i > attest::kMaxPcrIndex) {
    return Bad(absl::StrCat("'", field, "' has an index that is not 0..31"));
  }
  if (!value.is_string()) return Bad(absl::StrCat("'", field, "' values must be hex strings"));
  auto bytes = base::HexDecode(value.get<std::string>());
  if (!bytes.ok() || (bytes->size() != 32 && bytes->size() != 48 && bytes->size() != 64)) {
    return Bad(absl::StrCat("'", field, "': PCR", i, " must be 32, 48 or 64 bytes of hex"));
  }
  auto [it, inserted] = pcrs.emplace(i, *bytes);
  if (!inserted && it->second != *bytes) {
    return Bad(absl::StrCat("PCR", i, " is given twice with different values"));
  }
  return absl::OkStatus();
}

// ImagePcrs reads Measurements {PCR0, PCR1, PCR2, PCR8} from describe-image / describe-eif JSON.
absl::Status AddImagePcrs(attest::PcrMap& pcrs, const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("Measurements") ||
      !j["Measurements"].is_object()) {
    return Bad("'image' is not describe-image JSON with a Measurements object");
  }
  const json& m = j["Measurements"];
  if (m.contains("HashAlgorithm") && m["HashAlgorithm"].is_string()) {
    std::string alg = m["HashAlgorithm"].get<std::string>();
    if (alg.find("384") == std::string::npos) {
      return Bad("'image' measurements must use SHA-384");
    }
  }
  int found = 0;
  for (const char* name : {"PCR0", "PCR1", "PCR2", "PCR8"}) {
    if (!m.contains(name)) continue;
    RETURN_IF_ERROR(AddPcr(pcrs, std::string(name + 3), m[name], "image"));
    ++found;
  }
  if (found == 0) return Bad("'image' has no PCR0/PCR1/PCR2/PCR8 measurement");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrustPolicy> ParseTrustPolicy(std::string_view text, const std::string& base_dir) {
  if (text.size() > kMaxPolicyBytes) return Bad("file is too large");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad("not a JSON object");
  TrustPolicy policy;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "roots") {
      if (!v.is_array() || v.empty()) return Bad("'roots' must be a non-empty array");
      for (const json& r : v) {
        if (!r.is_string()) return Bad("'roots' entries must be strings");
        std::string s = r.get<std::string>();
        if (s.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
          policy.roots.push_back(ToBytes(s));
        } else {
          ASSIGN_OR_RETURN(std::string pem, ReadReferenced(base_dir, s, "roots"));
          policy.roots.push_back(ToBytes(pem));
        }
      }
    } else if (key == "allow_simulation_root") {
      if (!v.is_boolean()) return Bad("'allow_simulation_root' must be true or false");
      policy.allow_simulation_root = v.get<bool>();
    } else if (key == "pcrs") {
      if (!v.is_object()) return Bad("'pcrs' must be an object of index: hex");
      for (auto p = v.begin(); p != v.end(); ++p) {
        RETURN_IF_ERROR(AddPcr(policy.pcrs, p.key(), p.value(), "pcrs"));
      }
    } else if (key == "image") {
      if (!v.is_string()) return Bad("'image' must name a describe-image JSON file");
      ASSIGN_OR_RETURN(std::string desc, ReadReferenced(base_dir, v.get<std::string>(), "image"));
      RETURN_IF_ERROR(AddImagePcrs(policy.pcrs, desc));
    } else if (key == "max_document_age_seconds") {
      if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 86400 * 365) {
        return Bad("'max_document_age_seconds' must be a positive number of seconds");
      }
      policy.max_document_age = absl::Seconds(v.get<double>());
    } else {
      return Bad(absl::StrCat("unknown field '", key.substr(0, 64), "'"));
    }
  }
  if (policy.roots.empty()) return Bad("'roots' is required");
  return policy;
}

absl::StatusOr<TrustPolicy> LoadTrustPolicy(const std::string& path) {
  ASSIGN_OR_RETURN(Bytes bytes, base::ReadFileBounded(path, kMaxPolicyBytes));
  return ParseTrustPolicy(AsStringView(bytes), std::filesystem::path(path).parent_path().string());
}

std::vector<std::string> PolicyWarnings(const TrustPolicy& policy) {
  std::vector<std::string> out;
  bool image = false;
  for (uint32_t i : {0u, 1u, 2u, 8u}) image = image || policy.pcrs.count(i) > 0;
  if (!image) {
    out.push_back(
        "the policy pins no image measurement (PCR0, PCR1, PCR2 or PCR8): any enclave whose "
        "document chains to a trusted root will be accepted");
  }
  if (policy.allow_simulation_root) {
    out.push_back("the policy trusts the simulation root: emulated enclaves (development only)");
  }
  return out;
}

absl::StatusOr<AttestedEnclave> VerifyEnclave(const TrustPolicy& policy, ByteSpan document,
                                              ByteSpan key_config_list, ByteSpan nonce,
                                              absl::Time now) {
  attest::Expectations expect;
  expect.pcrs = policy.pcrs;
  expect.nonce = Bytes(nonce.begin(), nonce.end());
  expect.max_age = policy.max_document_age;
  attest::VerifierOptions options;
  options.allow_simulation_root = policy.allow_simulation_root;

  // The document's cabundle[0] names its root; the error to report is the one from that root
  // (or from the verifier's set-up), not "not the pinned root" from the others.
  std::optional<absl::Status> specific;
  std::optional<attest::VerifiedDocument> verified;
  for (const Bytes& root : policy.roots) {
    auto verifier = attest::Verifier::Create(root, options);
    if (!verifier.ok()) {
      if (!specific) specific = verifier.status();
      continue;
    }
    auto r = verifier->Verify(document, expect, now);
    if (r.ok()) {
      verified = *std::move(r);
      break;
    }
    if (!absl::StrContains(std::string(r.status().message()), "is not the pinned root")) {
      specific = r.status();
    }
  }
  if (!verified) {
    return specific ? *specific
                    : absl::UnauthenticatedError(
                          "certificate chain: the document does not chain to any root in the "
                          "trust policy");
  }

  //= DESIGN.md §4: user_data carries SHA-256 of the enclave's OHTTP key configuration.
  const Bytes digest = crypto::Sha256(key_config_list);
  if (!verified->document.user_data || !ConstantTimeEquals(*verified->document.user_data, digest)) {
    return absl::FailedPreconditionError(
        "key configuration: not bound to the attestation document (user_data is not its "
        "SHA-256)");
  }
  auto configs = ohttp::DecodeKeyConfigList(key_config_list);
  if (!configs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("key configuration: ", std::string(configs.status().message())));
  }
  return AttestedEnclave{*std::move(verified), *std::move(configs)};
}

}  // namespace confide::client
