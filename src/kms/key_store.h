// confide::kms key store: KMS keys, aliases and backing-key versions, durable.
//
// KeyStore is the interface the KMS server uses; OpenSqliteKeyStore returns the default SQLite
// backend (a PostgreSQL backend will implement the same interface). Guarantees every backend
// must keep:
//   - every mutating call is one transaction: it happens completely or not at all;
//   - a call that returned OK survives a crash (process kill or power loss) that follows it;
//   - key material (backing keys) is stored only encrypted under the root key.
//
// SQLite backend (docs/design/kms.md "Key store"): DIR/kms.db in WAL mode with
// synchronous=FULL (each commit fsyncs the WAL before returning). The root key is 32 random
// bytes in DIR/root.key, created 0600 on first open (atomically: temp file, fsync, rename);
// opening refuses a root key file readable by group or others. Each backing key is sealed with
// AES-256-GCM under the root key (random 96-bit nonce) with AAD
// "confide-kms-backing-key-v1" || 0x00 || key_id || 0x00 || decimal version, so a sealed key
// moved to another key id or version row fails to open (DataLoss).
#ifndef CONFIDE_KMS_KEY_STORE_H_
#define CONFIDE_KMS_KEY_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/secret_bytes.h"

namespace confide::kms {

// KeyState values as AWS names them.
inline constexpr char kKeyStateEnabled[] = "Enabled";
inline constexpr char kKeyStateDisabled[] = "Disabled";
inline constexpr char kKeyStatePendingDeletion[] = "PendingDeletion";

// KeyRecord is a KMS key's metadata (no key material).
struct KeyRecord {
  std::string key_id;  // UUID
  std::string arn;     // arn:aws:kms:REGION:ACCOUNT:key/UUID
  std::string account;
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string key_state = kKeyStateEnabled;
  absl::Time creation_date = absl::UnixEpoch();
  std::string description;
  std::string policy;  // the key policy document (JSON text)
  bool rotation_enabled = false;
  int rotation_period_days = 365;
  std::optional<absl::Time> deletion_date;  // set while PendingDeletion
  std::map<std::string, std::string> tags;
  uint32_t current_version = 1;  // the backing-key version new ciphertexts use
};

// AliasRecord maps an alias ("alias/NAME") to a key id.
struct AliasRecord {
  std::string alias_name;
  std::string target_key_id;
  absl::Time creation_date = absl::UnixEpoch();
};

// KeyStore stores keys, aliases and sealed backing keys. Implementations are thread-safe.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // CreateKey stores `key` with backing-key version 1 = `material` (key.current_version is set
  // to 1). AlreadyExists if the key id is taken; Internal on storage errors.
  virtual absl::Status CreateKey(const KeyRecord& key, const SecretBytes& material) = 0;

  // GetKey returns the key `key_id`. NotFound if there is none.
  virtual absl::StatusOr<KeyRecord> GetKey(std::string_view key_id) = 0;

  // ListKeys returns every key, ordered by key id.
  virtual absl::StatusOr<std::vector<KeyRecord>> ListKeys() = 0;

  // UpdateKey replaces the metadata of key.key_id (state, description, policy, rotation,
  // deletion date, tags; never id, ARN, spec, usage, creation date or current version).
  // NotFound if the key does not exist.
  virtual absl::Status UpdateKey(const KeyRecord& key) = 0;

  // AddBackingKey stores `material` as the next backing-key version of `key_id`, makes it
  // current, and returns its number. NotFound if the key does not exist.
  virtual absl::StatusOr<uint32_t> AddBackingKey(std::string_view key_id,
                                                 const SecretBytes& material) = 0;

  // GetBackingKey returns version `version` of the key's backing key, decrypted. NotFound if
  // there is no such version; DataLoss if the sealed key does not open under the root key.
  virtual absl::StatusOr<SecretBytes> GetBackingKey(std::string_view key_id, uint32_t version) = 0;

  // DeleteKey removes the key, its backing keys and its aliases. NotFound if absent.
  virtual absl::Status DeleteKey(std::string_view key_id) = 0;

  // CreateAlias adds `alias`. AlreadyExists if the name is taken; NotFound if the target key
  // does not exist.
  virtual absl::Status CreateAlias(const AliasRecord& alias) = 0;
  // UpdateAlias points `alias_name` at `target_key_id`. NotFound if either is absent.
  virtual absl::Status UpdateAlias(std::string_view alias_name, std::string_view target_key_id) = 0;
  // DeleteAlias removes `alias_name`. NotFound if absent.
  virtual absl::Status DeleteAlias(std::string_view alias_name) = 0;
  // GetAlias returns the alias `alias_name`. NotFound if absent.
  virtual absl::StatusOr<AliasRecord> GetAlias(std::string_view alias_name) = 0;
  // ListAliases returns every alias (of `key_id` only, when non-empty), ordered by name.
  virtual absl::StatusOr<std::vector<AliasRecord>> ListAliases(std::string_view key_id) = 0;
};

// OpenSqliteKeyStore opens (creating when absent) the store in directory `data_dir`, which must
// exist. Creates DIR/root.key on first open. FailedPrecondition if root.key is readable by group
// or others or is not 32 bytes; Internal naming the step for SQLite errors.
absl::StatusOr<std::unique_ptr<KeyStore>> OpenSqliteKeyStore(const std::string& data_dir);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_KEY_STORE_H_
