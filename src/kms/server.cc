#include "kms/server.h"

#include <sys/stat.h>

#include <cmath>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/status.h"
#include "crypto/ecdsa.h"
#include "crypto/random.h"
#include "kms/ciphertext_blob.h"
#include "kms/errors.h"
#include "kms/http_request.h"
#include "kms/key_material.h"
#include "kms/policy.h"
#include "kms/recipient.h"
#include "kms/sigv4.h"
#include "nlohmann/json.hpp"

namespace confide::kms {
namespace {

using Json = nlohmann::json;
using base::Base64Decode;
using base::Base64Encode;
using base::HexEncode;

constexpr char kTargetPrefix[] = "TrentService.";
constexpr char kContentType[] = "application/x-amz-json-1.1";
constexpr size_t kMaxPolicyNameLen = 128;

absl::Status Validation(std::string_view message) {
  return AwsError(absl::StatusCode::kInvalidArgument, "ValidationException", message);
}
absl::Status Serialization(std::string_view message) {
  return AwsError(absl::StatusCode::kInvalidArgument, "SerializationException", message);
}

int HttpStatusFor(const absl::Status& status) {
  std::string type = AwsErrorType(status);
  if (type == "KMSInternalException") return 500;
  if (type == "DependencyTimeoutException") return 503;
  return 400;
}

// NewUuid returns a random (version 4) UUID. Random bytes come from a per-thread pool refilled
// from the CSPRNG 1 KiB at a time: one RAND call per request was ~2% of a Decrypt's CPU.
std::string NewUuid() {
  struct Pool {
    uint8_t bytes[1024];
    size_t used = sizeof(bytes);
    ~Pool() { SecureZero(std::span<uint8_t>(bytes, sizeof(bytes))); }
  };
  thread_local Pool pool;
  if (pool.used + 16 > sizeof(pool.bytes)) {
    if (!crypto::FillRandom(std::span<uint8_t>(pool.bytes, sizeof(pool.bytes))).ok()) {
      std::fill(std::begin(pool.bytes), std::end(pool.bytes), 0);
    }
    pool.used = 0;
  }
  Bytes b(pool.bytes + pool.used, pool.bytes + pool.used + 16);
  SecureZero(std::span<uint8_t>(pool.bytes + pool.used, 16));
  pool.used += 16;
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  std::string h = HexEncode(b);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20, 12));
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool IsIdentifierText(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '/' || c == '@' || c == '+' ||
                    c == '=' || c == ',' || c == '-';
    if (!ok) return false;
  }
  return true;
}

double EpochSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

// Request fields.
absl::StatusOr<std::optional<std::string>> OptString(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Serialization(absl::StrCat("'", name, "' must be a string"));
  return std::optional<std::string>(it->get<std::string>());
}
absl::StatusOr<std::string> ReqString(const Json& body, const char* name) {
  ASSIGN_OR_RETURN(auto v, OptString(body, name));
  if (!v.has_value() || v->empty()) return Validation(absl::StrCat(name, " is required."));
  return *v;
}
absl::StatusOr<std::optional<int64_t>> OptInt(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Serialization(absl::StrCat("'", name, "' must be an int"));
  return std::optional<int64_t>(it->get<int64_t>());
}
absl::StatusOr<std::optional<Bytes>> OptBlob(const Json& body, const char* name) {
  ASSIGN_OR_RETURN(auto v, OptString(body, name));
  if (!v.has_value()) return std::optional<Bytes>();
  auto decoded = Base64Decode(*v);
  if (!decoded.ok()) return Serialization(absl::StrCat("'", name, "' is not valid base64"));
  return std::optional<Bytes>(std::move(*decoded));
}
absl::StatusOr<EncryptionContext> ReadContext(const Json& body,
                                              const char* name = "EncryptionContext") {
  EncryptionContext ctx;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return ctx;
  if (!it->is_object()) return Serialization(absl::StrCat("'", name, "' must be a map"));
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return Serialization("EncryptionContext values must be strings");
    ctx[k] = v.get<std::string>();
  }
  RETURN_IF_ERROR(CanonicalEncryptionContext(ctx).status());
  return ctx;
}

struct Caller {
  const Identity* identity = nullptr;
  std::string source_ip;
};

// Audit fields an operation fills in.
struct OpRecord {
  std::string key_arn;
  std::vector<std::string> context_keys;
  std::map<std::string, std::string> recipient;
  // further keys the request used (ReEncrypt's destination): each gets its own audit record
  // with the same request id, event name and outcome.
  std::vector<std::string> more_key_arns;
};

absl::StatusOr<bool> OptBool(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) return Serialization(absl::StrCat("'", name, "' must be a boolean"));
  return it->get<bool>();
}

// DryRunResult is AWS's answer to a request with DryRun: true that would have succeeded.
absl::StatusOr<Json> DryRunResult() {
  return AwsError(absl::StatusCode::kFailedPrecondition, "DryRunOperationException",
                  "The request would have succeeded, but the DryRun option is set.");
}

// WrongKeyUsage is AWS's InvalidKeyUsageException for a key used by an operation it cannot do.
absl::Status WrongKeyUsage(const KeyRecord& key, const char* operation) {
  return AwsError(absl::StatusCode::kInvalidArgument, "InvalidKeyUsageException",
                  absl::StrCat(key.arn, " key usage is ", key.key_usage, " which is not valid for ",
                               operation, "."));
}

// RequireSymmetricEncryption fails unless `key` is a SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT key.
absl::Status RequireSymmetricEncryption(const KeyRecord& key, const char* operation) {
  if (IsSymmetricEncryptionKey(key.key_spec, key.key_usage)) return absl::OkStatus();
  if (key.key_usage != kUsageEncryptDecrypt) return WrongKeyUsage(key, operation);
  return AwsError(absl::StatusCode::kInvalidArgument, "InvalidKeyUsageException",
                  absl::StrCat(key.arn, " key spec is ", key.key_spec, " which is not valid for ",
                               operation, "."));
}

// RequireSigning fails unless `key` is an asymmetric SIGN_VERIFY key.
absl::Status RequireSigning(const KeyRecord& key, const char* operation) {
  if (key.key_usage == kUsageSignVerify && IsAsymmetricKeySpec(key.key_spec)) {
    return absl::OkStatus();
  }
  return WrongKeyUsage(key, operation);
}

}  // namespace

struct KmsService::Impl {
  KeyStore* store;
  const IdentityStore* identities;
  AuditLog* audit;
  KmsServiceOptions options;

  // Parsed key policies by text: a policy is parsed once, not on every request. Entries are
  // immutable (Evaluate is const); the map is cleared when it reaches kMaxCachedPolicies.
  static constexpr size_t kMaxCachedPolicies = 1024;
  std::mutex policy_mu;
  std::unordered_map<std::string, std::shared_ptr<const KeyPolicy>> policy_cache;

  absl::Time Now() const { return options.clock ? options.clock() : absl::Now(); }

  // ParsedPolicy returns `text` parsed, from the cache when it was seen before.
  absl::StatusOr<std::shared_ptr<const KeyPolicy>> ParsedPolicy(const std::string& text) {
    {
      std::lock_guard<std::mutex> lock(policy_mu);
      auto it = policy_cache.find(text);
      if (it != policy_cache.end()) return it->second;
    }
    ASSIGN_OR_RETURN(KeyPolicy parsed, KeyPolicy::Parse(text));
    auto shared = std::make_shared<const KeyPolicy>(std::move(parsed));
    std::lock_guard<std::mutex> lock(policy_mu);
    if (policy_cache.size() >= kMaxCachedPolicies) policy_cache.clear();
    policy_cache.emplace(text, shared);
    return shared;
  }

  std::string KeyArn(const std::string& account, const std::string& key_id) const {
    return absl::StrCat("arn:aws:kms:", options.region, ":", account, ":key/", key_id);
  }
  std::string AliasArn(const std::string& account, const std::string& alias) const {
    return absl::StrCat("arn:aws:kms:", options.region, ":", account, ":", alias);
  }

  // ResolveKey finds the key named by a key id, key ARN, alias name or alias ARN.
  absl::StatusOr<KeyRecord> ResolveKey(const std::string& ref, const Caller& caller) {
    std::string id;
    const std::string key_arn_prefix =
        absl::StrCat("arn:aws:kms:", options.region, ":", caller.identity->account, ":");
    std::string rest = ref;
    if (absl::StartsWith(ref, "arn:")) {
      if (!absl::StartsWith(ref, key_arn_prefix)) {
        return AwsError(absl::StatusCode::kNotFound, "NotFoundException", "Invalid arn");
      }
      rest = ref.substr(key_arn_prefix.size());
      if (absl::StartsWith(rest, "key/")) {
        id = rest.substr(4);
        rest.clear();
      }
    }
    if (absl::StartsWith(rest, "alias/")) {
      auto alias = store->GetAlias(rest);
      if (!alias.ok()) {
        if (alias.status().code() != absl::StatusCode::kNotFound) return alias.status();
        std::string shown = IsIdentifierText(rest) ? absl::StrCat(" '", rest, "'") : "";
        return AwsError(absl::StatusCode::kNotFound, "NotFoundException",
                        absl::StrCat("Alias", shown, " is not found."));
      }
      id = alias->target_key_id;
    } else if (id.empty()) {
      id = rest;
    }
    if (!IsUuid(id)) {
      return AwsError(absl::StatusCode::kNotFound, "NotFoundException", "Invalid keyId");
    }
    auto key = store->GetKey(id);
    if (key.ok() && key->key_state == kKeyStatePendingDeletion && key->deletion_date &&
        Now() >= *key->deletion_date) {
      // The waiting period is over: the key is deleted for good.
      RETURN_IF_ERROR(store->DeleteKey(id));
      key = absl::NotFoundError("deleted");
    }
    if (!key.ok()) {
      if (key.status().code() != absl::StatusCode::kNotFound) return key.status();
      return AwsError(
          absl::StatusCode::kNotFound, "NotFoundException",
          absl::StrCat("Key '", KeyArn(caller.identity->account, id), "' does not exist"));
    }
    if (key->account != caller.identity->account) {
      return AwsError(
          absl::StatusCode::kNotFound, "NotFoundException",
          absl::StrCat("Key '", KeyArn(caller.identity->account, id), "' does not exist"));
    }
    return *key;
  }

  absl::Status Authorize(const Caller& caller, const KeyRecord& key, const std::string& action,
                         const EncryptionContext* context, const attest::PcrMap* pcrs) {
    auto policy = ParsedPolicy(key.policy);
    if (!policy.ok()) return absl::InternalError("stored key policy does not parse");
    KmsRequestFacts facts;
    facts.principal_arn = caller.identity->principal_arn;
    facts.caller_account = caller.identity->account;
    facts.key_spec = key.key_spec;
    facts.source_ip = caller.source_ip;
    if (context != nullptr) facts.encryption_context = *context;
    facts.attested_pcrs = pcrs;  // only ever a verified Recipient's PCRs
    AuthzRequest req;
    req.principal_arn = caller.identity->principal_arn;
    req.action = action;
    req.resource = key.arn;
    req.context = BuildKmsRequestContext(facts);
    if ((*policy)->Evaluate(req) != Decision::kAllow) {
      return AwsError(
          absl::StatusCode::kPermissionDenied, "AccessDeniedException",
          absl::StrCat("User: ", caller.identity->principal_arn,
                       " is not authorized to perform: ", action, " on resource: ", key.arn,
                       " because no resource-based policy allows the ", action, " action"));
    }
    return absl::OkStatus();
  }

  // RequireUsable fails unless the key can be used for cryptographic operations.
  static absl::Status RequireUsable(const KeyRecord& key) {
    if (key.key_state == kKeyStateDisabled) {
      return AwsError(absl::StatusCode::kFailedPrecondition, "DisabledException",
                      absl::StrCat(key.arn, " is disabled."));
    }
    if (key.key_state != kKeyStateEnabled) {
      return AwsError(absl::StatusCode::kFailedPrecondition, "KMSInvalidStateException",
                      absl::StrCat(key.arn, " is pending deletion."));
    }
    return absl::OkStatus();
  }
  static absl::Status RequireNotPendingDeletion(const KeyRecord& key) {
    if (key.key_state == kKeyStatePendingDeletion) {
      return AwsError(absl::StatusCode::kFailedPrecondition, "KMSInvalidStateException",
                      absl::StrCat(key.arn, " is pending deletion."));
    }
    return absl::OkStatus();
  }

  Json Metadata(const KeyRecord& k) const {
    Json m = {{"AWSAccountId", k.account},
              {"KeyId", k.key_id},
              {"Arn", k.arn},
              {"CreationDate", EpochSeconds(k.creation_date)},
              {"Enabled", k.key_state == kKeyStateEnabled},
              {"Description", k.description},
              {"KeyUsage", k.key_usage},
              {"KeyState", k.key_state},
              {"Origin", "AWS_KMS"},
              {"KeyManager", "CUSTOMER"},
              {"CustomerMasterKeySpec", k.key_spec},
              {"KeySpec", k.key_spec},
              {"MultiRegion", false}};
    // As AWS: only the algorithm lists that apply to the key's spec and usage are present.
    auto encryption = EncryptionAlgorithmsFor(k.key_spec, k.key_usage);
    if (!encryption.empty()) m["EncryptionAlgorithms"] = encryption;
    auto signing = SigningAlgorithmsFor(k.key_spec, k.key_usage);
    if (!signing.empty()) m["SigningAlgorithms"] = signing;
    auto mac = MacAlgorithmsFor(k.key_spec, k.key_usage);
    if (!mac.empty()) m["MacAlgorithms"] = mac;
    if (k.deletion_date) m["DeletionDate"] = EpochSeconds(*k.deletion_date);
    return m;
  }

  // ReadRecipient verifies the request's Recipient, if any.
  absl::StatusOr<std::optional<VerifiedRecipient>> ReadRecipient(const Json& body, OpRecord& rec) {
    auto it = body.find("Recipient");
    if (it == body.end() || it->is_null()) return std::optional<VerifiedRecipient>();
    if (!it->is_object()) return Serialization("'Recipient' must be a structure");
    ASSIGN_OR_RETURN(auto doc, OptBlob(*it, "AttestationDocument"));
    ASSIGN_OR_RETURN(auto alg, OptString(*it, "KeyEncryptionAlgorithm"));
    if (!doc.has_value()) return Validation("Recipient.AttestationDocument is required.");
    ASSIGN_OR_RETURN(
        VerifiedRecipient r,
        VerifyRecipient(options.verifiers, *doc, alg.value_or(kRecipientAlgorithm), Now()));
    auto pcr0 = r.pcrs.find(0);
    if (pcr0 != r.pcrs.end()) {
      rec.recipient["PCR0"] = HexEncode(pcr0->second);
      rec.recipient["ImageSha384"] = HexEncode(pcr0->second);
    }
    return std::optional<VerifiedRecipient>(std::move(r));
  }

  static void RecordContext(const EncryptionContext& ctx, OpRecord& rec) {
    for (const auto& [k, v] : ctx) {
      rec.context_keys.push_back(IsIdentifierText(k) ? k : "non-identifier-key");
    }
  }

  absl::StatusOr<KeyRecord> KeyFor(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(std::string ref, ReqString(body, "KeyId"));
    ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(ref, caller));
    rec.key_arn = key.arn;
    return key;
  }

  // Operations.
  absl::StatusOr<Json> CreateKey(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(auto spec, OptString(body, "KeySpec"));
    if (!spec) {
      ASSIGN_OR_RETURN(spec, OptString(body, "CustomerMasterKeySpec"));
    }
    ASSIGN_OR_RETURN(auto usage, OptString(body, "KeyUsage"));
    ASSIGN_OR_RETURN(KeySpecAndUsage spec_usage, ResolveKeySpecAndUsage(spec, usage));
    ASSIGN_OR_RETURN(auto description, OptString(body, "Description"));
    ASSIGN_OR_RETURN(auto policy_text, OptString(body, "Policy"));
    KeyRecord key;
    key.key_id = NewUuid();
    key.key_spec = spec_usage.key_spec;
    key.key_usage = spec_usage.key_usage;
    key.account = caller.identity->account;
    key.arn = KeyArn(key.account, key.key_id);
    key.creation_date = absl::FromUnixSeconds(absl::ToUnixSeconds(Now()));
    key.description = description.value_or("");
    if (key.description.size() > 8192) return Validation("Description is too long.");
    if (policy_text) {
      ASSIGN_OR_RETURN(KeyPolicy p, KeyPolicy::Parse(*policy_text));
      key.policy = p.text();
    } else {
      key.policy = DefaultKeyPolicy(key.account);
    }
    auto tags = body.find("Tags");
    if (tags != body.end() && !tags->is_null()) {
      if (!tags->is_array()) return Serialization("'Tags' must be a list");
      for (const auto& t : *tags) {
        if (!t.is_object()) return Serialization("a Tag must be a structure");
        ASSIGN_OR_RETURN(std::string tk, ReqString(t, "TagKey"));
        ASSIGN_OR_RETURN(auto tv, OptString(t, "TagValue"));
        key.tags[tk] = tv.value_or("");
      }
    }
    ASSIGN_OR_RETURN(SecretBytes material, GenerateKeyMaterial(key.key_spec));
    RETURN_IF_ERROR(store->CreateKey(key, material));
    rec.key_arn = key.arn;
    return Json{{"KeyMetadata", Metadata(key)}};
  }

  absl::StatusOr<Json> DescribeKey(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:DescribeKey", nullptr, nullptr));
    return Json{{"KeyMetadata", Metadata(key)}};
  }

  // Paginate returns items[start..start+limit) and sets NextMarker/Truncated on `out`.
  static absl::StatusOr<std::pair<size_t, size_t>> Page(const Json& body, size_t total, Json& out) {
    ASSIGN_OR_RETURN(auto limit, OptInt(body, "Limit"));
    ASSIGN_OR_RETURN(auto marker, OptString(body, "Marker"));
    int64_t lim = limit.value_or(100);
    if (lim < 1 || lim > 1000) return Validation("Limit must be between 1 and 1000.");
    size_t start = 0;
    if (marker) {
      char* end = nullptr;
      unsigned long v = std::strtoul(marker->c_str(), &end, 10);
      if (marker->empty() || end == nullptr || *end != '\0' || v > total) {
        return AwsError(absl::StatusCode::kInvalidArgument, "InvalidMarkerException",
                        "Invalid marker.");
      }
      start = v;
    }
    size_t stop = std::min(total, start + static_cast<size_t>(lim));
    out["Truncated"] = stop < total;
    if (stop < total) out["NextMarker"] = std::to_string(stop);
    return std::make_pair(start, stop);
  }

  absl::StatusOr<Json> ListKeys(const Json& body, const Caller& caller, OpRecord&) {
    ASSIGN_OR_RETURN(auto keys, store->ListKeys());
    std::vector<KeyRecord> mine;
    for (auto& k : keys) {
      if (k.account == caller.identity->account) mine.push_back(std::move(k));
    }
    Json out;
    ASSIGN_OR_RETURN(auto range, Page(body, mine.size(), out));
    Json arr = Json::array();
    for (size_t i = range.first; i < range.second; ++i) {
      arr.push_back({{"KeyId", mine[i].key_id}, {"KeyArn", mine[i].arn}});
    }
    out["Keys"] = arr;
    return out;
  }

  absl::StatusOr<Json> CreateAlias(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(std::string name, ReqString(body, "AliasName"));
    if (!absl::StartsWith(name, "alias/")) {
      return Validation(
          "Alias must start with the prefix \"alias/\". Please see "
          "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
    }
    if (absl::StartsWith(name, "alias/aws/")) {
      return Validation("Alias names that begin with alias/aws/ are reserved.");
    }
    if (name.size() > 256 || name.size() <= 6 || !IsIdentifierText(name)) {
      return Validation("AliasName must be 1-256 characters of [a-zA-Z0-9/_-].");
    }
    ASSIGN_OR_RETURN(std::string target, ReqString(body, "TargetKeyId"));
    if (absl::StartsWith(target, "alias/")) return Validation("TargetKeyId must be a key.");
    ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(target, caller));
    rec.key_arn = key.arn;
    RETURN_IF_ERROR(Authorize(caller, key, "kms:CreateAlias", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    absl::Status st = store->CreateAlias({name, key.key_id, Now()});
    if (st.code() == absl::StatusCode::kAlreadyExists) {
      return AwsError(
          absl::StatusCode::kAlreadyExists, "AlreadyExistsException",
          absl::StrCat("An alias with the name ", AliasArn(key.account, name), " already exists"));
    }
    RETURN_IF_ERROR(st);
    return Json::object();
  }

  absl::StatusOr<Json> ListAliases(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(auto key_ref, OptString(body, "KeyId"));
    std::string key_id;
    if (key_ref) {
      ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(*key_ref, caller));
      rec.key_arn = key.arn;
      key_id = key.key_id;
    }
    ASSIGN_OR_RETURN(auto aliases, store->ListAliases(key_id));
    std::vector<AliasRecord> mine;
    for (auto& a : aliases) {
      auto k = store->GetKey(a.target_key_id);
      if (k.ok() && k->account == caller.identity->account) mine.push_back(std::move(a));
    }
    Json out;
    ASSIGN_OR_RETURN(auto range, Page(body, mine.size(), out));
    Json arr = Json::array();
    for (size_t i = range.first; i < range.second; ++i) {
      arr.push_back({{"AliasName", mine[i].alias_name},
                     {"AliasArn", AliasArn(caller.identity->account, mine[i].alias_name)},
                     {"TargetKeyId", mine[i].target_key_id},
                     {"CreationDate", EpochSeconds(mine[i].creation_date)},
                     {"LastUpdatedDate", EpochSeconds(mine[i].creation_date)}});
    }
    out["Aliases"] = arr;
    return out;
  }

  absl::StatusOr<Bytes> Seal(const KeyRecord& key, const EncryptionContext& ctx, ByteSpan pt) {
    ASSIGN_OR_RETURN(SecretBytes backing, store->GetBackingKey(key.key_id, key.current_version));
    return SealCiphertextBlob(key.key_id, key.current_version, backing, ctx, pt);
  }

  absl::StatusOr<Json> Encrypt(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(auto pt, OptBlob(body, "Plaintext"));
    if (!pt || pt->empty()) return Validation("Plaintext is required.");
    if (pt->size() > kMaxBlobPlaintextLen) {
      return Validation(
          "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
          "Member must have length less than or equal to 4096");
    }
    ASSIGN_OR_RETURN(EncryptionContext ctx, ReadContext(body));
    RecordContext(ctx, rec);
    RETURN_IF_ERROR(Authorize(caller, key, "kms:Encrypt", &ctx, nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    RETURN_IF_ERROR(RequireSymmetricEncryption(key, "Encrypt"));
    ASSIGN_OR_RETURN(Bytes blob, Seal(key, ctx, *pt));
    SecureZero(*pt);
    return Json{{"CiphertextBlob", Base64Encode(blob)},
                {"KeyId", key.arn},
                {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  }

  // PlaintextOrRecipient puts `secret` into `out` as Plaintext, or as CiphertextForRecipient.
  static absl::Status PutSecret(const std::optional<VerifiedRecipient>& recipient,
                                const SecretBytes& secret, Json& out,
                                const char* plaintext_field = "Plaintext") {
    if (recipient) {
      ASSIGN_OR_RETURN(Bytes cms, CiphertextForRecipient(*recipient, secret));
      out["CiphertextForRecipient"] = Base64Encode(cms);
    } else {
      out[plaintext_field] = Base64Encode(secret.ExposeSecret());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Json> Decrypt(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(auto blob, OptBlob(body, "CiphertextBlob"));
    if (!blob || blob->empty()) return Validation("CiphertextBlob is required.");
    ASSIGN_OR_RETURN(auto alg, OptString(body, "EncryptionAlgorithm"));
    if (alg && *alg != "SYMMETRIC_DEFAULT") {
      return AwsError(absl::StatusCode::kInvalidArgument, "IncorrectKeyException",
                      "The key ID in the request does not identify a CMK that can perform this "
                      "operation.");
    }
    ASSIGN_OR_RETURN(EncryptionContext ctx, ReadContext(body));
    RecordContext(ctx, rec);
    ASSIGN_OR_RETURN(BlobHeader header, ParseCiphertextBlobHeader(*blob));
    if (!IsUuid(header.key_id)) {
      // Only key ids are ever sealed into blobs; never resolve an alias or ARN from one.
      return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
    }
    auto key_or = ResolveKey(header.key_id, caller);
    if (!key_or.ok()) {
      if (AwsErrorType(key_or.status()) == "NotFoundException") {
        return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
      }
      return key_or.status();
    }
    KeyRecord key = *std::move(key_or);
    rec.key_arn = key.arn;
    if (!IsSymmetricEncryptionKey(key.key_spec, key.key_usage)) {
      // Blobs are only ever sealed under symmetric keys: this header was forged.
      return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
    }
    ASSIGN_OR_RETURN(auto key_ref, OptString(body, "KeyId"));
    if (key_ref) {
      ASSIGN_OR_RETURN(KeyRecord named, ResolveKey(*key_ref, caller));
      if (named.key_id != key.key_id) {
        return AwsError(absl::StatusCode::kInvalidArgument, "IncorrectKeyException",
                        "The key ID in the request does not identify a CMK that can perform "
                        "this operation.");
      }
    }
    ASSIGN_OR_RETURN(auto recipient, ReadRecipient(body, rec));
    RETURN_IF_ERROR(
        Authorize(caller, key, "kms:Decrypt", &ctx, recipient ? &recipient->pcrs : nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    auto backing = store->GetBackingKey(key.key_id, header.backing_version);
    if (!backing.ok()) {
      if (backing.status().code() == absl::StatusCode::kNotFound) {
        return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
      }
      return backing.status();
    }
    ASSIGN_OR_RETURN(SecretBytes pt, OpenCiphertextBlob(*blob, *backing, ctx));
    Json out = {{"KeyId", key.arn}, {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
    RETURN_IF_ERROR(PutSecret(recipient, pt, out));
    return out;
  }

  absl::StatusOr<size_t> DataKeyLength(const Json& body) {
    ASSIGN_OR_RETURN(auto spec, OptString(body, "KeySpec"));
    ASSIGN_OR_RETURN(auto n, OptInt(body, "NumberOfBytes"));
    if (spec && n) return Validation("Specify either KeySpec or NumberOfBytes, not both.");
    if (spec) {
      if (*spec == "AES_256") return 32;
      if (*spec == "AES_128") return 16;
      return Validation(
          "1 validation error detected: Value at 'keySpec' failed to satisfy constraint: "
          "Member must satisfy enum value set: [AES_256, AES_128]");
    }
    if (n) {
      if (*n < 1 || *n > 1024) {
        return Validation("NumberOfBytes must be between 1 and 1024.");
      }
      return static_cast<size_t>(*n);
    }
    return Validation("Please specify either number of bytes or key spec.");
  }

  absl::StatusOr<Json> GenerateDataKey(const Json& body, const Caller& caller, OpRecord& rec,
                                       bool with_plaintext) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(size_t len, DataKeyLength(body));
    ASSIGN_OR_RETURN(EncryptionContext ctx, ReadContext(body));
    RecordContext(ctx, rec);
    std::optional<VerifiedRecipient> recipient;
    if (with_plaintext) {
      ASSIGN_OR_RETURN(recipient, ReadRecipient(body, rec));
    }
    RETURN_IF_ERROR(Authorize(
        caller, key, with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext",
        &ctx, recipient ? &recipient->pcrs : nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    RETURN_IF_ERROR(RequireSymmetricEncryption(
        key, with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext"));
    ASSIGN_OR_RETURN(SecretBytes data_key, crypto::RandomSecret(len));
    ASSIGN_OR_RETURN(Bytes blob, Seal(key, ctx, data_key.ExposeSecret()));
    Json out = {{"CiphertextBlob", Base64Encode(blob)}, {"KeyId", key.arn}};
    if (with_plaintext) RETURN_IF_ERROR(PutSecret(recipient, data_key, out));
    return out;
  }

  absl::StatusOr<Json> GenerateRandom(const Json& body, const Caller&, OpRecord& rec) {
    ASSIGN_OR_RETURN(auto n, OptInt(body, "NumberOfBytes"));
    if (!n) return Validation("NumberOfBytes is required.");
    if (*n < 1) {
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", *n,
          "' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater "
          "than or equal to 1"));
    }
    if (*n > 1024) {
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", *n,
          "' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than "
          "or equal to 1024"));
    }
    ASSIGN_OR_RETURN(auto recipient, ReadRecipient(body, rec));
    ASSIGN_OR_RETURN(SecretBytes random, crypto::RandomSecret(static_cast<size_t>(*n)));
    Json out = Json::object();
    RETURN_IF_ERROR(PutSecret(recipient, random, out));
    return out;
  }

  absl::StatusOr<std::string> PolicyName(const Json& body) {
    ASSIGN_OR_RETURN(auto name, OptString(body, "PolicyName"));
    if (name && *name != "default") {
      if (name->size() > kMaxPolicyNameLen) return Validation("PolicyName is too long.");
      return AwsError(absl::StatusCode::kNotFound, "NotFoundException",
                      "No such policy exists; the only key policy name is default.");
    }
    return std::string("default");
  }

  absl::StatusOr<Json> GetKeyPolicy(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(std::string name, PolicyName(body));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:GetKeyPolicy", nullptr, nullptr));
    return Json{{"Policy", key.policy}, {"PolicyName", name}};
  }

  absl::StatusOr<Json> PutKeyPolicy(const Json& body, const Caller& caller, OpRecord& rec,
                                    std::vector<std::string>& warnings) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(std::string name, PolicyName(body));
    ASSIGN_OR_RETURN(std::string text, ReqString(body, "Policy"));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:PutKeyPolicy", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    ASSIGN_OR_RETURN(KeyPolicy policy, KeyPolicy::Parse(text));
    warnings = policy.Lint();
    key.policy = policy.text();
    RETURN_IF_ERROR(store->UpdateKey(key));
    Json out = Json::object();
    // Not in AWS's response shape (SDKs ignore unknown members): the lint warnings.
    if (!warnings.empty()) out["Warnings"] = warnings;
    return out;
  }

  absl::StatusOr<Json> SetEnabled(const Json& body, const Caller& caller, OpRecord& rec,
                                  bool enable) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(
        Authorize(caller, key, enable ? "kms:EnableKey" : "kms:DisableKey", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    key.key_state = enable ? kKeyStateEnabled : kKeyStateDisabled;
    RETURN_IF_ERROR(store->UpdateKey(key));
    return Json::object();
  }

  absl::StatusOr<Json> ScheduleKeyDeletion(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(auto days, OptInt(body, "PendingWindowInDays"));
    int64_t window = days.value_or(30);
    if (window < 7 || window > 30) {
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", window,
          "' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value "
          "between 7 and 30"));
    }
    RETURN_IF_ERROR(Authorize(caller, key, "kms:ScheduleKeyDeletion", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    key.key_state = kKeyStatePendingDeletion;
    key.deletion_date =
        absl::FromUnixSeconds(absl::ToUnixSeconds(Now())) + absl::Hours(24 * window);
    RETURN_IF_ERROR(store->UpdateKey(key));
    return Json{{"KeyId", key.arn},
                {"DeletionDate", EpochSeconds(*key.deletion_date)},
                {"KeyState", key.key_state},
                {"PendingWindowInDays", window}};
  }

  absl::StatusOr<Json> CancelKeyDeletion(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:CancelKeyDeletion", nullptr, nullptr));
    if (key.key_state != kKeyStatePendingDeletion) {
      return AwsError(absl::StatusCode::kFailedPrecondition, "KMSInvalidStateException",
                      absl::StrCat(key.arn, " is not pending deletion."));
    }
    key.key_state = kKeyStateDisabled;  // AWS: a key whose deletion is canceled is disabled
    key.deletion_date.reset();
    RETURN_IF_ERROR(store->UpdateKey(key));
    return Json{{"KeyId", key.arn}};
  }

  absl::StatusOr<Json> UpdateAlias(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(std::string name, ReqString(body, "AliasName"));
    ASSIGN_OR_RETURN(std::string target, ReqString(body, "TargetKeyId"));
    if (absl::StartsWith(target, "alias/")) return Validation("TargetKeyId must be a key.");
    ASSIGN_OR_RETURN(KeyRecord old_key, ResolveKey(name, caller));
    ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(target, caller));
    rec.key_arn = key.arn;
    RETURN_IF_ERROR(Authorize(caller, old_key, "kms:UpdateAlias", nullptr, nullptr));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:UpdateAlias", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    RETURN_IF_ERROR(store->UpdateAlias(name, key.key_id));
    return Json::object();
  }

  absl::StatusOr<Json> DeleteAlias(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(std::string name, ReqString(body, "AliasName"));
    if (!absl::StartsWith(name, "alias/")) return Validation("AliasName must start with alias/.");
    ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(name, caller));
    rec.key_arn = key.arn;
    RETURN_IF_ERROR(Authorize(caller, key, "kms:DeleteAlias", nullptr, nullptr));
    RETURN_IF_ERROR(store->DeleteAlias(name));
    return Json::object();
  }

  absl::StatusOr<Json> SetRotation(const Json& body, const Caller& caller, OpRecord& rec,
                                   bool enable) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(auto period, OptInt(body, "RotationPeriodInDays"));
    if (period && (*period < 90 || *period > 2560)) {
      return Validation("RotationPeriodInDays must be between 90 and 2560.");
    }
    RETURN_IF_ERROR(Authorize(caller, key,
                              enable ? "kms:EnableKeyRotation" : "kms:DisableKeyRotation", nullptr,
                              nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    if (!IsSymmetricEncryptionKey(key.key_spec, key.key_usage)) {
      // AWS rotates only symmetric encryption keys (recorded: empty message).
      return AwsError(absl::StatusCode::kUnimplemented, "UnsupportedOperationException", "");
    }
    key.rotation_enabled = enable;
    if (enable && period) key.rotation_period_days = static_cast<int>(*period);
    RETURN_IF_ERROR(store->UpdateKey(key));
    return Json::object();
  }

  absl::StatusOr<Json> GetKeyRotationStatus(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:GetKeyRotationStatus", nullptr, nullptr));
    Json out = {{"KeyRotationEnabled", key.rotation_enabled}, {"KeyId", key.arn}};
    if (key.rotation_enabled) out["RotationPeriodInDays"] = key.rotation_period_days;
    return out;
  }

  absl::StatusOr<Json> RotateKeyOnDemand(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:RotateKeyOnDemand", nullptr, nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    if (!IsSymmetricEncryptionKey(key.key_spec, key.key_usage)) {
      return AwsError(absl::StatusCode::kUnimplemented, "UnsupportedOperationException", "");
    }
    ASSIGN_OR_RETURN(SecretBytes material, crypto::RandomSecret(32));
    RETURN_IF_ERROR(store->AddBackingKey(key.key_id, material).status());
    return Json{{"KeyId", key.arn}};
  }

  absl::StatusOr<Json> ListKeyPolicies(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:ListKeyPolicies", nullptr, nullptr));
    return Json{{"PolicyNames", Json::array({"default"})}, {"Truncated", false}};
  }

  absl::StatusOr<Json> TagResource(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    auto tags = body.find("Tags");
    if (tags == body.end() || !tags->is_array()) return Validation("Tags is required.");
    RETURN_IF_ERROR(Authorize(caller, key, "kms:TagResource", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    for (const auto& t : *tags) {
      if (!t.is_object()) return Serialization("a Tag must be a structure");
      ASSIGN_OR_RETURN(std::string tk, ReqString(t, "TagKey"));
      ASSIGN_OR_RETURN(auto tv, OptString(t, "TagValue"));
      key.tags[tk] = tv.value_or("");
    }
    if (key.tags.size() > 50) {
      return AwsError(absl::StatusCode::kResourceExhausted, "TagException",
                      "A key can have at most 50 tags.");
    }
    RETURN_IF_ERROR(store->UpdateKey(key));
    return Json::object();
  }

  absl::StatusOr<Json> UntagResource(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    auto keys = body.find("TagKeys");
    if (keys == body.end() || !keys->is_array()) return Validation("TagKeys is required.");
    RETURN_IF_ERROR(Authorize(caller, key, "kms:UntagResource", nullptr, nullptr));
    RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    for (const auto& k : *keys) {
      if (!k.is_string()) return Serialization("TagKeys must be strings");
      key.tags.erase(k.get<std::string>());
    }
    RETURN_IF_ERROR(store->UpdateKey(key));
    return Json::object();
  }

  absl::StatusOr<Json> ListResourceTags(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:ListResourceTags", nullptr, nullptr));
    Json out;
    ASSIGN_OR_RETURN(auto range, Page(body, key.tags.size(), out));
    Json arr = Json::array();
    size_t i = 0;
    for (const auto& [k, v] : key.tags) {
      if (i >= range.first && i < range.second) arr.push_back({{"TagKey", k}, {"TagValue", v}});
      ++i;
    }
    out["Tags"] = arr;
    return out;
  }

  // ---- Asymmetric keys (key_material.h), data key pairs and ReEncrypt.

  // SignMessage reads Sign/Verify's Message: 1..kMaxSignMessageLen bytes.
  static absl::StatusOr<Bytes> SignMessage(const Json& body) {
    ASSIGN_OR_RETURN(auto message, OptBlob(body, "Message"));
    if (!message || message->empty()) return Validation("Message is required.");
    if (message->size() > kMaxSignMessageLen) {
      return Validation(
          "1 validation error detected: Value at 'message' failed to satisfy constraint: "
          "Member must have length less than or equal to 4096");
    }
    return *std::move(message);
  }

  // SigningKey authorizes `action` on the request's key and checks it can sign; returns the key
  // and its material.
  absl::StatusOr<std::pair<KeyRecord, SecretBytes>> SigningKey(const Json& body,
                                                               const Caller& caller, OpRecord& rec,
                                                               const char* action,
                                                               const char* operation) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, action, nullptr, nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    RETURN_IF_ERROR(RequireSigning(key, operation));
    ASSIGN_OR_RETURN(SecretBytes material, store->GetBackingKey(key.key_id, key.current_version));
    return std::make_pair(std::move(key), std::move(material));
  }

  absl::StatusOr<Json> Sign(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(Bytes message, SignMessage(body));
    ASSIGN_OR_RETURN(auto algorithm, OptString(body, "SigningAlgorithm"));
    ASSIGN_OR_RETURN(auto message_type, OptString(body, "MessageType"));
    ASSIGN_OR_RETURN(bool dry_run, OptBool(body, "DryRun"));
    ASSIGN_OR_RETURN(auto key_and_material, SigningKey(body, caller, rec, "kms:Sign", "Sign"));
    const auto& [key, material] = key_and_material;
    ASSIGN_OR_RETURN(SignatureRequest request,
                     CheckSigningAlgorithm(key.key_spec, algorithm, message_type));
    if (dry_run) return DryRunResult();
    ASSIGN_OR_RETURN(Bytes signature, SignWith(key.key_spec, material, request, message));
    return Json{{"KeyId", key.arn},
                {"Signature", Base64Encode(signature)},
                {"SigningAlgorithm", request.algorithm}};
  }

  absl::StatusOr<Json> Verify(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(Bytes message, SignMessage(body));
    ASSIGN_OR_RETURN(auto signature, OptBlob(body, "Signature"));
    if (!signature || signature->empty()) return Validation("Signature is required.");
    if (signature->size() > kMaxSignatureLen) {
      return Validation(
          "1 validation error detected: Value at 'signature' failed to satisfy constraint: "
          "Member must have length less than or equal to 6144");
    }
    ASSIGN_OR_RETURN(auto algorithm, OptString(body, "SigningAlgorithm"));
    ASSIGN_OR_RETURN(auto message_type, OptString(body, "MessageType"));
    ASSIGN_OR_RETURN(bool dry_run, OptBool(body, "DryRun"));
    ASSIGN_OR_RETURN(auto key_and_material, SigningKey(body, caller, rec, "kms:Verify", "Verify"));
    const auto& [key, material] = key_and_material;
    ASSIGN_OR_RETURN(SignatureRequest request,
                     CheckSigningAlgorithm(key.key_spec, algorithm, message_type));
    if (dry_run) return DryRunResult();
    RETURN_IF_ERROR(VerifyWith(key.key_spec, material, request, message, *signature));
    return Json{
        {"KeyId", key.arn}, {"SignatureValid", true}, {"SigningAlgorithm", request.algorithm}};
  }

  absl::StatusOr<Json> GetPublicKey(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, key, "kms:GetPublicKey", nullptr, nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    if (!IsAsymmetricKeySpec(key.key_spec)) {
      return AwsError(absl::StatusCode::kUnimplemented, "UnsupportedOperationException",
                      absl::StrCat(key.arn, " key spec is ", key.key_spec,
                                   " which is not valid for GetPublicKey."));
    }
    ASSIGN_OR_RETURN(SecretBytes material, store->GetBackingKey(key.key_id, key.current_version));
    ASSIGN_OR_RETURN(Bytes spki, PublicKeyOf(key.key_spec, material));
    Json out = {{"KeyId", key.arn},
                {"PublicKey", Base64Encode(spki)},
                {"CustomerMasterKeySpec", key.key_spec},
                {"KeySpec", key.key_spec},
                {"KeyUsage", key.key_usage}};
    auto encryption = EncryptionAlgorithmsFor(key.key_spec, key.key_usage);
    if (!encryption.empty()) out["EncryptionAlgorithms"] = encryption;
    auto signing = SigningAlgorithmsFor(key.key_spec, key.key_usage);
    if (!signing.empty()) out["SigningAlgorithms"] = signing;
    return out;
  }

  absl::StatusOr<Json> GenerateDataKeyPair(const Json& body, const Caller& caller, OpRecord& rec,
                                           bool with_plaintext) {
    const char* operation =
        with_plaintext ? "GenerateDataKeyPair" : "GenerateDataKeyPairWithoutPlaintext";
    ASSIGN_OR_RETURN(KeyRecord key, KeyFor(body, caller, rec));
    ASSIGN_OR_RETURN(auto pair_spec, OptString(body, "KeyPairSpec"));
    if (!pair_spec || pair_spec->empty()) return Validation("KeyPairSpec is required.");
    ASSIGN_OR_RETURN(EncryptionContext ctx, ReadContext(body));
    RecordContext(ctx, rec);
    ASSIGN_OR_RETURN(bool dry_run, OptBool(body, "DryRun"));
    std::optional<VerifiedRecipient> recipient;
    if (with_plaintext) {
      ASSIGN_OR_RETURN(recipient, ReadRecipient(body, rec));
    }
    RETURN_IF_ERROR(Authorize(caller, key, absl::StrCat("kms:", operation), &ctx,
                              recipient ? &recipient->pcrs : nullptr));
    RETURN_IF_ERROR(RequireUsable(key));
    RETURN_IF_ERROR(RequireSymmetricEncryption(key, operation));
    if (dry_run) return DryRunResult();
    ASSIGN_OR_RETURN(DataKeyPair pair, GenerateDataKeyPairMaterial(pair_spec));
    ASSIGN_OR_RETURN(Bytes blob, Seal(key, ctx, pair.private_key_pkcs8.ExposeSecret()));
    Json out = {{"PrivateKeyCiphertextBlob", Base64Encode(blob)},
                {"PublicKey", Base64Encode(pair.public_key_spki)},
                {"KeyId", key.arn},
                {"KeyPairSpec", *pair_spec}};
    if (with_plaintext) {
      RETURN_IF_ERROR(PutSecret(recipient, pair.private_key_pkcs8, out, "PrivateKeyPlaintext"));
    }
    return out;
  }

  // MacRequest is a GenerateMac / VerifyMac request whose key is authorized and checked.
  struct MacRequest {
    KeyRecord key;
    SecretBytes material;
    std::string algorithm;
    Bytes message;
    bool dry_run = false;
  };
  absl::StatusOr<MacRequest> ReadMacRequest(const Json& body, const Caller& caller, OpRecord& rec,
                                            const char* action, const char* operation) {
    MacRequest out;
    ASSIGN_OR_RETURN(out.message, SignMessage(body));
    ASSIGN_OR_RETURN(auto algorithm, OptString(body, "MacAlgorithm"));
    ASSIGN_OR_RETURN(out.dry_run, OptBool(body, "DryRun"));
    ASSIGN_OR_RETURN(out.key, KeyFor(body, caller, rec));
    RETURN_IF_ERROR(Authorize(caller, out.key, action, nullptr, nullptr));
    RETURN_IF_ERROR(RequireUsable(out.key));
    if (out.key.key_usage != kUsageGenerateVerifyMac || !IsHmacKeySpec(out.key.key_spec)) {
      return WrongKeyUsage(out.key, operation);
    }
    ASSIGN_OR_RETURN(out.algorithm, CheckMacAlgorithm(out.key.key_spec, algorithm));
    ASSIGN_OR_RETURN(out.material, store->GetBackingKey(out.key.key_id, out.key.current_version));
    return out;
  }

  absl::StatusOr<Json> GenerateMac(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(MacRequest req,
                     ReadMacRequest(body, caller, rec, "kms:GenerateMac", "GenerateMac"));
    if (req.dry_run) return DryRunResult();
    ASSIGN_OR_RETURN(Bytes mac, GenerateMacWith(req.key.key_spec, req.material, req.message));
    return Json{
        {"Mac", Base64Encode(mac)}, {"MacAlgorithm", req.algorithm}, {"KeyId", req.key.arn}};
  }

  absl::StatusOr<Json> VerifyMac(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(auto mac, OptBlob(body, "Mac"));
    if (!mac || mac->empty()) return Validation("Mac is required.");
    if (mac->size() > kMaxSignatureLen) {
      return Validation(
          "1 validation error detected: Value at 'mac' failed to satisfy constraint: Member "
          "must have length less than or equal to 6144");
    }
    ASSIGN_OR_RETURN(MacRequest req,
                     ReadMacRequest(body, caller, rec, "kms:VerifyMac", "VerifyMac"));
    if (req.dry_run) return DryRunResult();
    RETURN_IF_ERROR(VerifyMacWith(req.key.key_spec, req.material, req.message, *mac));
    return Json{{"KeyId", req.key.arn}, {"MacValid", true}, {"MacAlgorithm", req.algorithm}};
  }

  // SymmetricAlgorithm checks an optional EncryptionAlgorithm-type member for a symmetric key.
  static absl::Status SymmetricAlgorithm(const Json& body, const char* name, const char* member,
                                         const KeyRecord* key, bool source) {
    ASSIGN_OR_RETURN(auto alg, OptString(body, name));
    if (!alg || *alg == "SYMMETRIC_DEFAULT") return absl::OkStatus();
    if (*alg != "RSAES_OAEP_SHA_1" && *alg != "RSAES_OAEP_SHA_256" && *alg != "SM2PKE") {
      const bool printable = alg->size() <= 64 && IsIdentifierText(*alg);
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", printable ? *alg : "<redacted>", "' at '", member,
          "' failed to satisfy constraint: Member must satisfy enum value set: "
          "[SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]"));
    }
    if (source || key == nullptr) {
      // As Decrypt: the ciphertext is a symmetric blob, so an RSA algorithm names the wrong key.
      return AwsError(absl::StatusCode::kInvalidArgument, "IncorrectKeyException",
                      "The key ID in the request does not identify a CMK that can perform this "
                      "operation.");
    }
    return AwsError(
        absl::StatusCode::kInvalidArgument, "InvalidKeyUsageException",
        absl::StrCat("Algorithm ", *alg, " is incompatible with key spec ", key->key_spec, "."));
  }

  absl::StatusOr<Json> ReEncrypt(const Json& body, const Caller& caller, OpRecord& rec) {
    ASSIGN_OR_RETURN(auto blob, OptBlob(body, "CiphertextBlob"));
    if (!blob || blob->empty()) return Validation("CiphertextBlob is required.");
    ASSIGN_OR_RETURN(std::string dest_ref, ReqString(body, "DestinationKeyId"));
    ASSIGN_OR_RETURN(EncryptionContext source_ctx, ReadContext(body, "SourceEncryptionContext"));
    ASSIGN_OR_RETURN(EncryptionContext dest_ctx, ReadContext(body, "DestinationEncryptionContext"));
    RecordContext(source_ctx, rec);
    RecordContext(dest_ctx, rec);
    ASSIGN_OR_RETURN(bool dry_run, OptBool(body, "DryRun"));
    RETURN_IF_ERROR(SymmetricAlgorithm(body, "SourceEncryptionAlgorithm",
                                       "sourceEncryptionAlgorithm", nullptr, true));

    // The source key: named by the blob (only key ids are sealed into blobs), and, when
    // SourceKeyId is given, it must be that key (as Decrypt's KeyId).
    ASSIGN_OR_RETURN(BlobHeader header, ParseCiphertextBlobHeader(*blob));
    if (!IsUuid(header.key_id)) {
      return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
    }
    auto source_or = ResolveKey(header.key_id, caller);
    if (!source_or.ok()) {
      if (AwsErrorType(source_or.status()) == "NotFoundException") {
        return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
      }
      return source_or.status();
    }
    KeyRecord source = *std::move(source_or);
    rec.key_arn = source.arn;
    if (!IsSymmetricEncryptionKey(source.key_spec, source.key_usage)) {
      return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
    }
    ASSIGN_OR_RETURN(auto source_ref, OptString(body, "SourceKeyId"));
    if (source_ref) {
      ASSIGN_OR_RETURN(KeyRecord named, ResolveKey(*source_ref, caller));
      if (named.key_id != source.key_id) {
        return AwsError(absl::StatusCode::kInvalidArgument, "IncorrectKeyException",
                        "The key ID in the request does not identify a CMK that can perform "
                        "this operation.");
      }
    }
    //= https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html
    //# kms:ReEncryptFrom permission on the source KMS key (key policy)
    //# kms:ReEncryptTo permission on the destination KMS key (key policy)
    RETURN_IF_ERROR(Authorize(caller, source, "kms:ReEncryptFrom", &source_ctx, nullptr));
    RETURN_IF_ERROR(RequireUsable(source));

    ASSIGN_OR_RETURN(KeyRecord dest, ResolveKey(dest_ref, caller));
    rec.more_key_arns.push_back(dest.arn);
    RETURN_IF_ERROR(Authorize(caller, dest, "kms:ReEncryptTo", &dest_ctx, nullptr));
    RETURN_IF_ERROR(RequireUsable(dest));
    RETURN_IF_ERROR(RequireSymmetricEncryption(dest, "ReEncrypt"));
    RETURN_IF_ERROR(SymmetricAlgorithm(body, "DestinationEncryptionAlgorithm",
                                       "destinationEncryptionAlgorithm", &dest, false));

    auto backing = store->GetBackingKey(source.key_id, header.backing_version);
    if (!backing.ok()) {
      if (backing.status().code() == absl::StatusCode::kNotFound) {
        return AwsError(absl::StatusCode::kInvalidArgument, "InvalidCiphertextException", "");
      }
      return backing.status();
    }
    ASSIGN_OR_RETURN(SecretBytes pt, OpenCiphertextBlob(*blob, *backing, source_ctx));
    if (dry_run) return DryRunResult();
    ASSIGN_OR_RETURN(Bytes out_blob, Seal(dest, dest_ctx, pt.ExposeSecret()));
    return Json{{"CiphertextBlob", Base64Encode(out_blob)},
                {"SourceKeyId", source.arn},
                {"KeyId", dest.arn},
                {"SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT"},
                {"DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  }

  absl::StatusOr<Json> Dispatch(const std::string& op, const Json& body, const Caller& caller,
                                OpRecord& rec, std::vector<std::string>& warnings) {
    if (op == "CreateKey") return CreateKey(body, caller, rec);
    if (op == "DescribeKey") return DescribeKey(body, caller, rec);
    if (op == "ListKeys") return ListKeys(body, caller, rec);
    if (op == "CreateAlias") return CreateAlias(body, caller, rec);
    if (op == "ListAliases") return ListAliases(body, caller, rec);
    if (op == "Encrypt") return Encrypt(body, caller, rec);
    if (op == "Decrypt") return Decrypt(body, caller, rec);
    if (op == "GenerateDataKey") return GenerateDataKey(body, caller, rec, true);
    if (op == "GenerateDataKeyWithoutPlaintext") return GenerateDataKey(body, caller, rec, false);
    if (op == "GenerateRandom") return GenerateRandom(body, caller, rec);
    if (op == "GetKeyPolicy") return GetKeyPolicy(body, caller, rec);
    if (op == "PutKeyPolicy") return PutKeyPolicy(body, caller, rec, warnings);
    if (op == "EnableKey") return SetEnabled(body, caller, rec, true);
    if (op == "DisableKey") return SetEnabled(body, caller, rec, false);
    if (op == "ScheduleKeyDeletion") return ScheduleKeyDeletion(body, caller, rec);
    if (op == "CancelKeyDeletion") return CancelKeyDeletion(body, caller, rec);
    if (op == "UpdateAlias") return UpdateAlias(body, caller, rec);
    if (op == "DeleteAlias") return DeleteAlias(body, caller, rec);
    if (op == "EnableKeyRotation") return SetRotation(body, caller, rec, true);
    if (op == "DisableKeyRotation") return SetRotation(body, caller, rec, false);
    if (op == "GetKeyRotationStatus") return GetKeyRotationStatus(body, caller, rec);
    if (op == "RotateKeyOnDemand") return RotateKeyOnDemand(body, caller, rec);
    if (op == "ListKeyPolicies") return ListKeyPolicies(body, caller, rec);
    if (op == "TagResource") return TagResource(body, caller, rec);
    if (op == "UntagResource") return UntagResource(body, caller, rec);
    if (op == "ListResourceTags") return ListResourceTags(body, caller, rec);
    if (op == "Sign") return Sign(body, caller, rec);
    if (op == "Verify") return Verify(body, caller, rec);
    if (op == "GetPublicKey") return GetPublicKey(body, caller, rec);
    if (op == "GenerateDataKeyPair") return GenerateDataKeyPair(body, caller, rec, true);
    if (op == "GenerateDataKeyPairWithoutPlaintext") {
      return GenerateDataKeyPair(body, caller, rec, false);
    }
    if (op == "ReEncrypt") return ReEncrypt(body, caller, rec);
    if (op == "GenerateMac") return GenerateMac(body, caller, rec);
    if (op == "VerifyMac") return VerifyMac(body, caller, rec);
    return AwsError(absl::StatusCode::kInvalidArgument, "UnknownOperationException", "");
  }

  static bool KnownOperation(const std::string& op) {
    static const char* const kOps[] = {"CreateKey",
                                       "DescribeKey",
                                       "ListKeys",
                                       "CreateAlias",
                                       "ListAliases",
                                       "Encrypt",
                                       "Decrypt",
                                       "GenerateDataKey",
                                       "GenerateDataKeyWithoutPlaintext",
                                       "GenerateRandom",
                                       "GetKeyPolicy",
                                       "PutKeyPolicy",
                                       "EnableKey",
                                       "DisableKey",
                                       "ScheduleKeyDeletion",
                                       "CancelKeyDeletion",
                                       "UpdateAlias",
                                       "DeleteAlias",
                                       "EnableKeyRotation",
                                       "DisableKeyRotation",
                                       "GetKeyRotationStatus",
                                       "RotateKeyOnDemand",
                                       "ListKeyPolicies",
                                       "TagResource",
                                       "UntagResource",
                                       "ListResourceTags",
                                       "Sign",
                                       "Verify",
                                       "GetPublicKey",
                                       "GenerateDataKeyPair",
                                       "GenerateDataKeyPairWithoutPlaintext",
                                       "ReEncrypt",
                                       "GenerateMac",
                                       "VerifyMac"};
    for (const char* o : kOps) {
      if (op == o) return true;
    }
    return false;
  }

  // Pending is one request's audit record and response metadata, filled in as it is served.
  struct Pending {
    std::string request_id;
    AuditEvent event;
    OpRecord rec;
    std::vector<std::string> warnings;
  };

  Pending Begin(const std::string& remote_address) {
    Pending p;
    p.request_id = NewUuid();
    p.event.event_time = Now();
    p.event.request_id = p.request_id;
    p.event.source_ip = IsIdentifierText(remote_address) ? remote_address : "";
    p.event.event_name = "Unknown";
    p.event.principal = "anonymous";
    return p;
  }

  // Serve runs operation `op` with JSON `body_text` for the authenticated `identity`.
  absl::StatusOr<Json> Serve(const std::string& op, std::string_view body_text,
                             const Identity& identity, const std::string& remote_address,
                             Pending& p) {
    p.event.principal = identity.principal_arn;
    if (!KnownOperation(op)) {
      return AwsError(absl::StatusCode::kInvalidArgument, "UnknownOperationException", "");
    }
    Json body = Json::parse(body_text.empty() ? std::string_view("{}") : body_text, nullptr,
                            /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return Serialization("The request body is not a JSON object.");
    }
    Caller caller{&identity, remote_address};
    return Dispatch(op, body, caller, p.rec, p.warnings);
  }

  // Respond builds the AWS-shaped response to `result`.
  static http::Response Respond(const std::string& request_id, const absl::StatusOr<Json>& result) {
    http::Response resp;
    resp.headers.Set("Content-Type", kContentType);
    resp.headers.Set("x-amzn-RequestId", request_id);
    if (result.ok()) {
      resp.status = 200;
      resp.body = result->dump();
    } else {
      const absl::Status& st = result.status();
      std::string type = AwsErrorType(st);
      std::string message(st.message());
      if (st.code() == absl::StatusCode::kInternal && type == "KMSInternalException") {
        message = "An internal error occurred.";  // no internal details to clients
      }
      resp.status = HttpStatusFor(st);
      resp.body = Json{{"__type", type}, {"message", message}}.dump();
    }
    return resp;
  }

  // Finish records the request in the audit log and hands the response to `respond` only once
  // the record is durable, so nothing is acknowledged unaudited; when the record cannot be
  // written the client gets KMSInternalException instead. The calling thread does not wait:
  // `respond` runs on the thread that synced the record.
  void Finish(Pending& p, absl::StatusOr<Json> result, http::Responder respond) {
    AuditEvent& event = p.event;
    event.key_id = p.rec.key_arn;
    event.encryption_context_keys = p.rec.context_keys;
    event.recipient = p.rec.recipient;
    if (!result.ok()) event.error_code = AwsErrorType(result.status());
    std::vector<AuditEvent> events = {event};
    // A request that used several keys (ReEncrypt) has one record per further key.
    for (const std::string& arn : p.rec.more_key_arns) {
      events.push_back(event);
      events.back().key_id = arn;
    }
    // PutKeyPolicy's lint warnings go to the audit log as their own record.
    if (result.ok() && !p.warnings.empty()) {
      AuditEvent w = event;
      w.event_name = "PutKeyPolicyLintWarning";
      w.error_code = absl::StrCat("PolicyLintWarnings-", p.warnings.size());
      events.push_back(std::move(w));
    }
    audit->AppendAsync(events, [resp = Respond(p.request_id, result), request_id = p.request_id,
                                respond = std::move(respond)](absl::Status audited) mutable {
      if (!audited.ok()) {
        resp = Respond(request_id, AwsError(absl::StatusCode::kInternal, "KMSInternalException",
                                            "The request could not be recorded in the audit log."));
      }
      respond(std::move(resp));
    });
  }

  // Wait runs `start` with a Responder and blocks until it has been called.
  static http::Response Wait(const std::function<void(http::Responder)>& start) {
    std::promise<http::Response> promise;
    std::future<http::Response> future = promise.get_future();
    start([&promise](http::Response r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  void HandleAsync(const http::Request& hreq, http::Responder respond) {
    Pending p = Begin(hreq.remote_address);
    absl::StatusOr<Json> result = [&]() -> absl::StatusOr<Json> {
      HttpRequest req;
      req.method = hreq.method;
      req.target = hreq.target;
      req.version = "HTTP/1.1";
      for (const auto& [name, value] : hreq.headers.fields()) req.headers.push_back({name, value});
      req.body.assign(hreq.body.begin(), hreq.body.end());
      std::string target;
      if (const std::string* t = req.FindHeader("x-amz-target"); t != nullptr) target = *t;
      std::string op;
      if (absl::StartsWith(target, kTargetPrefix)) op = target.substr(sizeof(kTargetPrefix) - 1);
      if (KnownOperation(op)) p.event.event_name = op;

      SigV4VerifyOptions vopts;
      vopts.now = Now();
      vopts.region = options.region;
      vopts.required_signed_headers = {"x-amz-date", "x-amz-target"};
      ASSIGN_OR_RETURN(const Identity* identity, VerifySigV4(req, *identities, vopts));
      p.event.principal = identity->principal_arn;
      if (req.method != "POST" || req.Path() != "/") {
        return AwsError(absl::StatusCode::kInvalidArgument, "UnknownOperationException", "");
      }
      return Serve(op, hreq.body, *identity, hreq.remote_address, p);
    }();
    Finish(p, std::move(result), std::move(respond));
  }

  http::Response HandleAuthenticated(const std::string& op, std::string_view body,
                                     const Identity& identity, const std::string& remote_address) {
    return Wait([&](http::Responder respond) {
      Pending p = Begin(remote_address);
      if (KnownOperation(op)) p.event.event_name = op;
      absl::StatusOr<Json> result = Serve(op, body, identity, remote_address, p);
      Finish(p, std::move(result), std::move(respond));
    });
  }
};

KmsService::KmsService(KeyStore* store, const IdentityStore* identities, AuditLog* audit,
                       KmsServiceOptions options)
    : impl_(new Impl{store, identities, audit, std::move(options), {}, {}}) {}
KmsService::~KmsService() = default;

http::Response KmsService::Handle(const http::Request& request) {
  return Impl::Wait(
      [&](http::Responder respond) { impl_->HandleAsync(request, std::move(respond)); });
}

void KmsService::HandleAsync(const http::Request& request, http::Responder respond) {
  impl_->HandleAsync(request, std::move(respond));
}

http::Response KmsService::HandleAuthenticated(const std::string& operation, std::string_view body,
                                               const Identity& caller,
                                               const std::string& source_ip) {
  return impl_->HandleAuthenticated(operation, body, caller, source_ip);
}

struct RunningKmsServer::Parts {
  std::unique_ptr<KeyStore> store;
  IdentityStore identities;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<KmsService> service;
  std::unique_ptr<http::Server> server;
  bool stopped = false;
};

namespace {

absl::StatusOr<crypto::EcdsaPrivateKey> LoadOrCreateAuditKey(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    ASSIGN_OR_RETURN(auto key, crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384));
    SecretBytes pem = key.Pem();
    RETURN_IF_ERROR(base::WriteFileAtomic(path, pem.ExposeSecret(), 0600));
    return key;
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit signing key ", path, " is readable by group or others"));
  }
  ASSIGN_OR_RETURN(Bytes pem, base::ReadFileBounded(path, 64 * 1024));
  auto key = crypto::EcdsaPrivateKey::FromPem(
      std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
  SecureZero(pem);
  return key;
}

}  // namespace

RunningKmsServer::RunningKmsServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
RunningKmsServer::~RunningKmsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<RunningKmsServer>> RunningKmsServer::Start(
    const KmsServerConfig& config) {
  auto parts = std::make_unique<Parts>();
  ASSIGN_OR_RETURN(parts->store, OpenSqliteKeyStore(config.data_dir));
  ASSIGN_OR_RETURN(parts->identities, IdentityStore::Load(config.identities_path));
  ASSIGN_OR_RETURN(crypto::EcdsaPrivateKey audit_key,
                   LoadOrCreateAuditKey(config.data_dir + "/audit-signing-key.pem"));
  {
    // The public half, for `confide audit verify --public-key`.
    std::string b64 = Base64Encode(audit_key.PublicKey().SpkiDer());
    std::string pem = "-----BEGIN PUBLIC KEY-----\n";
    for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&pem, b64.substr(i, 64), "\n");
    pem += "-----END PUBLIC KEY-----\n";
    RETURN_IF_ERROR(
        base::WriteFileAtomic(config.data_dir + "/audit-signing-key.pub.pem", ToBytes(pem)));
  }
  ASSIGN_OR_RETURN(parts->audit,
                   AuditLog::Open(config.data_dir + "/audit.log", std::move(audit_key)));
  KmsServiceOptions options;
  options.region = config.region;
  attest::VerifierOptions vopts;
  vopts.allow_simulation_root = config.allow_simulation_root;
  for (const std::string& path : config.trust_root_paths) {
    ASSIGN_OR_RETURN(Bytes root, base::ReadFileBounded(path, 1024 * 1024));
    auto verifier = attest::Verifier::Create(root, vopts);
    if (!verifier.ok()) {
      return absl::Status(verifier.status().code(),
                          absl::StrCat("trust root ", path, ": ", verifier.status().message()));
    }
    options.verifiers.push_back(*std::move(verifier));
  }
  parts->service = std::make_unique<KmsService>(parts->store.get(), &parts->identities,
                                                parts->audit.get(), std::move(options));
  http::ServerOptions sopts;
  sopts.host = config.listen_host;
  sopts.port = config.listen_port;
  sopts.threads = config.threads;
  sopts.handler_threads = config.handler_threads;
  sopts.tls = config.tls;
  KmsService* service = parts->service.get();
  // Asynchronous: a handler thread serves a request and moves on; the response leaves once the
  // audit log's group commit has made its record durable (Stop closes the log after the server,
  // so every Responder is called before the server is destroyed).
  ASSIGN_OR_RETURN(
      parts->server,
      http::Server::StartAsync(sopts, [service](const http::Request& r, http::Responder respond) {
        service->HandleAsync(r, std::move(respond));
      }));
  return std::unique_ptr<RunningKmsServer>(new RunningKmsServer(std::move(parts)));
}

uint16_t RunningKmsServer::port() const { return parts_->server->port(); }

AuditLogStats RunningKmsServer::audit_stats() const { return parts_->audit->stats(); }

void RunningKmsServer::Stop() {
  if (parts_ == nullptr || parts_->stopped) return;
  parts_->stopped = true;
  parts_->server->Stop();
  (void)parts_->audit->Close();
}

}  // namespace confide::kms
