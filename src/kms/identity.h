// confide::kms identities: AWS access key id -> secret, principal ARN, account.
//
// The KMS authenticates callers with SigV4; each access key belongs to one principal. The
// identities file is either JSON or a TOML subset (docs/design/kms.md):
//
//   # TOML subset: [[identity]] tables of `key = "string"` lines, '#' comments.
//   [[identity]]
//   access_key_id = "AKIAPARENT0000000001"
//   secret_access_key = "..."
//   principal_arn = "arn:aws:iam::111122223333:role/parent"
//   account = "111122223333"          # optional: taken from the ARN
//   session_token = "..."              # optional: the key then requires this token
//
//   {"identities": [{"access_key_id": "...", "secret_access_key": "...", ...}]}
//
// Secrets live in SecretBytes and appear in no message or log line.
#ifndef CONFIDE_KMS_IDENTITY_H_
#define CONFIDE_KMS_IDENTITY_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/secret_bytes.h"

namespace confide::kms {

// kMaxIdentitiesFileBytes caps the identities file.
inline constexpr size_t kMaxIdentitiesFileBytes = 1024 * 1024;

// Identity is one access key and the principal it authenticates.
struct Identity {
  std::string
      access_key_id;  // [A-Z0-9]{4,128} (AWS issues 16-128; the SigV4 suites use AKIDEXAMPLE)
  SecretBytes secret_access_key;  // the SigV4 secret (UTF-8 bytes), 1..128 bytes
  std::string principal_arn;      // arn:aws:iam::ACCOUNT:user/..|role/..|root|assumed-role/..
  std::string account;            // 12 digits, equal to the ARN's account
  std::string session_token;      // empty: no token; otherwise required on every request
};

// IdentityStore maps access key ids to identities. Immutable after loading; const methods are
// thread-safe.
class IdentityStore {
 public:
  IdentityStore() = default;
  IdentityStore(IdentityStore&&) = default;
  IdentityStore& operator=(IdentityStore&&) = default;

  // Parse reads an identities document (JSON when its first non-blank character is '{', the
  // TOML subset otherwise). InvalidArgument naming the entry number and field for any malformed
  // or duplicate entry, unknown key, or a document over kMaxIdentitiesFileBytes.
  static absl::StatusOr<IdentityStore> Parse(std::string_view text);

  // Load reads and parses the file at `path` (at most kMaxIdentitiesFileBytes). The errors of
  // ReadFileBounded and Parse.
  static absl::StatusOr<IdentityStore> Load(const std::string& path);

  // Add validates and inserts `identity`. InvalidArgument for a malformed field (the message
  // names the field, never its value) or an access key id already present.
  absl::Status Add(Identity identity);

  // Find returns the identity for `access_key_id`, or nullptr. The pointer lives as long as the
  // store.
  const Identity* Find(std::string_view access_key_id) const;

  // size returns the number of identities.
  size_t size() const { return by_key_.size(); }

 private:
  std::map<std::string, Identity, std::less<>> by_key_;
};

// AccountFromArn returns the account field (5th ':'-separated part) of `arn`, or an empty
// string when `arn` is not an ARN.
std::string AccountFromArn(std::string_view arn);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_IDENTITY_H_
