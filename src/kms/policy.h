// confide::kms key policies: IAM JSON policy documents, their validation and evaluation.
//
// Evaluation (AWS's policy evaluation logic for a key policy alone): default deny; an Allow
// statement that applies grants; any applying Deny statement wins over every Allow. A statement
// applies when its Principal, Action/NotAction, Resource/NotResource and every condition match.
// Missing condition keys follow AWS's documented rules (docs/design/kms.md):
//
//=
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
//# If the key that you specify in a policy condition is not present in the request context, the
//# values do not match and the condition is false. If the policy condition requires that the
//# key is not matched, such as StringNotLike or ArnNotLike, and the right key is not present,
//# the condition is true. This logic applies to all condition operators except ...IfExists and
//# Null check.
//
// ForAllValues: is vacuously true when the key is missing; ForAnyValue: is false then.
#ifndef CONFIDE_KMS_POLICY_H_
#define CONFIDE_KMS_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace confide::kms {

// kMaxKeyPolicyBytes is AWS's key policy size limit (32 KB).
inline constexpr size_t kMaxKeyPolicyBytes = 32768;

// Condition keys that confide's KMS puts in the request context.
inline constexpr char kKeyCallerAccount[] = "kms:CallerAccount";
inline constexpr char kKeyViaService[] = "kms:ViaService";
inline constexpr char kKeyKeySpec[] = "kms:KeySpec";
inline constexpr char kKeyEncryptionContextPrefix[] = "kms:EncryptionContext:";
inline constexpr char kKeyEncryptionContextKeys[] = "kms:EncryptionContextKeys";
inline constexpr char kKeyRecipientPcrPrefix[] = "kms:RecipientAttestation:PCR";
inline constexpr char kKeyRecipientImageSha384[] = "kms:RecipientAttestation:ImageSha384";
inline constexpr char kKeyPrincipalArn[] = "aws:PrincipalArn";
inline constexpr char kKeySourceIp[] = "aws:SourceIp";

// RequestContext holds condition keys and their values (a key may have several). Key names are
// case-insensitive (stored lowercased); values are case-sensitive. Not thread-safe to mutate.
class RequestContext {
 public:
  // Set makes `key` single-valued with `value`.
  void Set(std::string_view key, std::string value);
  // SetMulti makes `key` multi-valued with `values` (an empty list counts as absent).
  void SetMulti(std::string_view key, std::vector<std::string> values);
  // Find returns the values of `key`, or nullptr when absent.
  const std::vector<std::string>* Find(std::string_view key) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// KmsRequestFacts are the facts of one KMS request from which its context is built.
struct KmsRequestFacts {
  std::string principal_arn;
  std::string caller_account;
  std::string key_spec;     // e.g. "SYMMETRIC_DEFAULT"; empty: absent
  std::string via_service;  // empty: absent (confide has no calling services yet)
  std::string source_ip;    // empty: absent
  std::map<std::string, std::string> encryption_context;
  // attested_pcrs are the PCRs of a Recipient attestation document that has been VERIFIED; null
  // when the request carried none. Never set this from an unverified document.
  const std::map<uint32_t, Bytes>* attested_pcrs = nullptr;
};

// BuildKmsRequestContext returns the request context for `facts`: kms:CallerAccount,
// aws:PrincipalArn, kms:KeySpec, kms:ViaService, aws:SourceIp (when non-empty),
// kms:EncryptionContext:<k> per pair and kms:EncryptionContextKeys (multi-valued, when the
// context is non-empty), and with attested PCRs kms:RecipientAttestation:PCR<n> (lowercase hex)
// for n in 0..31 and kms:RecipientAttestation:ImageSha384 (= PCR0).
RequestContext BuildKmsRequestContext(const KmsRequestFacts& facts);

// AuthzRequest is what a policy is evaluated against.
struct AuthzRequest {
  std::string principal_arn;  // the authenticated caller
  std::string action;         // e.g. "kms:Decrypt"
  std::string resource;       // the key ARN
  RequestContext context;
};

// Decision is the result of evaluating a policy.
enum class Decision { kAllow, kImplicitDeny, kExplicitDeny };

namespace internal {
struct PolicyDoc;
}  // namespace internal

// KeyPolicy is a parsed, validated key policy. Immutable; const methods are thread-safe.
class KeyPolicy {
 public:
  KeyPolicy(KeyPolicy&&) noexcept;
  KeyPolicy& operator=(KeyPolicy&&) noexcept;
  ~KeyPolicy();

  // Parse validates `json` as a key policy and returns it. InvalidArgument with AWS type
  // MalformedPolicyDocumentException naming the first problem (statement index or Sid and
  // field) for: more than kMaxKeyPolicyBytes, invalid JSON or duplicate object keys, nesting
  // deeper than 16, unknown or missing elements, a Version other than 2012-10-17/2008-10-17,
  // Effect other than Allow/Deny, a statement without Principal or with NotPrincipal, both or
  // neither of Action/NotAction or Resource/NotResource, actions not of the form "kms:..." or
  // "*", duplicate Sids, unknown condition operators, Null or Bool with set prefixes, or policy
  // values that do not parse for their operator (numbers, dates, CIDRs, booleans).
  static absl::StatusOr<KeyPolicy> Parse(std::string_view json);

  // Evaluate returns the decision for `request`.
  Decision Evaluate(const AuthzRequest& request) const;

  // Lint returns human-readable warnings about patterns that silently weaken the policy: an
  // Allow of kms:Decrypt to a principal, without a kms:RecipientAttestation condition, that
  // overlaps a principal another statement allows kms:Decrypt only with such a condition (Allow
  // statements are ORed, so the unconditional one bypasses the attestation requirement); and
  // attestation conditions written with ...IfExists or ForAllValues:, which hold when the
  // request carries no Recipient at all; and case-sensitive comparisons of attestation keys
  // with uppercase hex (PCR values are lowercase hex, so they never match). Empty when none
  // apply.
  std::vector<std::string> Lint() const;

  // text returns the policy document as given to Parse.
  const std::string& text() const;

 private:
  explicit KeyPolicy(std::unique_ptr<internal::PolicyDoc> doc);
  std::unique_ptr<internal::PolicyDoc> doc_;
};

// DefaultKeyPolicy returns the policy AWS attaches when CreateKey gets none (Id key-default-1,
// Sid "Enable IAM User Permissions", principal arn:aws:iam::<account>:root, kms:*), formatted as
// AWS returns it.
std::string DefaultKeyPolicy(std::string_view account);

// GlobMatch returns whether `text` matches `pattern`, where '*' matches any run of characters
// and '?' any one character; ASCII case is ignored when `ignore_case`.
bool GlobMatch(std::string_view pattern, std::string_view text, bool ignore_case);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_POLICY_H_
