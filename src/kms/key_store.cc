#include "kms/key_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/file.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "nlohmann/json.hpp"

namespace confide::kms {
namespace {

constexpr size_t kRootKeyLen = 32;
constexpr char kBackingKeyAadLabel[] = "confide-kms-backing-key-v1";

absl::Status SqlError(sqlite3* db, const char* step) {
  return absl::InternalError(absl::StrCat("key store: ", step, ": ", sqlite3_errmsg(db)));
}

// StmtCache keeps the prepared statements of the hot read paths by SQL text (the connection's
// mutex guards it, as it guards the connection).
using StmtCache = std::map<std::string, sqlite3_stmt*, std::less<>>;

// Stmt is a prepared statement, finalized on destruction; or, when made with a cache, borrowed
// from it (prepared once) and reset on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  Stmt(sqlite3* db, const std::string& sql, StmtCache* cache) : db_(db), cache_(cache) {
    auto it = cache->find(sql);
    if (it != cache->end()) {
      stmt_ = it->second;
      rc_ = SQLITE_OK;
      return;
    }
    rc_ = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc_ == SQLITE_OK) {
      cache->emplace(sql, stmt_);
    } else {
      cache_ = nullptr;  // finalize the failed statement (null) normally
    }
  }
  ~Stmt() {
    if (cache_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  absl::Status ok() const { return rc_ == SQLITE_OK ? absl::OkStatus() : SqlError(db_, "prepare"); }
  void Bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, ByteSpan b) {
    sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // Step returns SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
  }
  Bytes Blob(int col) {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? Bytes() : Bytes(p, p + n);
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  StmtCache* cache_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("key store: ", msg));
  }
  return absl::OkStatus();
}

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t v) { return absl::FromUnixMicros(v); }

Bytes BackingKeyAad(std::string_view key_id, uint32_t version) {
  Bytes aad = ToBytes(kBackingKeyAadLabel);
  aad.push_back(0);
  Append(aad, ToBytes(key_id));
  aad.push_back(0);
  Append(aad, ToBytes(std::to_string(version)));
  return aad;
}

absl::StatusOr<SecretBytes> LoadOrCreateRootKey(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kRootKeyLen));
    RETURN_IF_ERROR(base::WriteFileAtomic(path, key.ExposeSecret(), 0600));
    return key;
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key store: root key file ", path, " is readable by group or others"));
  }
  ASSIGN_OR_RETURN(Bytes bytes, base::ReadFileBounded(path, kRootKeyLen + 1));
  if (bytes.size() != kRootKeyLen) {
    SecureZero(bytes);
    return absl::FailedPreconditionError(
        absl::StrCat("key store: root key file ", path, " is not 32 bytes"));
  }
  SecretBytes key = SecretBytes::CopyFrom(bytes);
  SecureZero(bytes);
  return key;
}

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY,
  arn TEXT NOT NULL,
  account TEXT NOT NULL,
  key_spec TEXT NOT NULL,
  key_usage TEXT NOT NULL,
  key_state TEXT NOT NULL,
  creation_us INTEGER NOT NULL,
  description TEXT NOT NULL,
  policy TEXT NOT NULL,
  rotation_enabled INTEGER NOT NULL,
  rotation_period_days INTEGER NOT NULL,
  deletion_us INTEGER,
  tags TEXT NOT NULL,
  current_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS backing_keys (
  key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  creation_us INTEGER NOT NULL,
  PRIMARY KEY (key_id, version)
);
CREATE TABLE IF NOT EXISTS aliases (
  alias_name TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
  creation_us INTEGER NOT NULL
);
)sql";

constexpr char kKeyColumns[] =
    "key_id, arn, account, key_spec, key_usage, key_state, creation_us, description, policy, "
    "rotation_enabled, rotation_period_days, deletion_us, tags, current_version";

class SqliteKeyStore final : public KeyStore {
 public:
  SqliteKeyStore(sqlite3* db, crypto::Aead root) : db_(db), root_(std::move(root)) {}
  ~SqliteKeyStore() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  absl::Status CreateKey(const KeyRecord& key, const SecretBytes& material) override {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> absl::Status {
      Stmt s(db_, absl::StrCat("INSERT INTO keys (", kKeyColumns,
                               ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1)")
                      .c_str());
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, key.key_id);
      s.Bind(2, key.arn);
      s.Bind(3, key.account);
      s.Bind(4, key.key_spec);
      s.Bind(5, key.key_usage);
      s.Bind(6, key.key_state);
      s.Bind(7, ToMicros(key.creation_date));
      BindMutable(s, key, 8);
      int rc = s.Step();
      if (rc == SQLITE_CONSTRAINT) {
        return absl::AlreadyExistsError("key store: key id already exists");
      }
      if (rc != SQLITE_DONE) return SqlError(db_, "insert key");
      return InsertBackingKey(key.key_id, 1, material);
    });
  }

  absl::StatusOr<KeyRecord> GetKey(std::string_view key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = key_cache_.find(key_id);
    if (it != key_cache_.end()) return it->second;
    ASSIGN_OR_RETURN(KeyRecord key, GetKeyLocked(key_id));
    if (key_cache_.size() >= kMaxCachedKeys) key_cache_.clear();
    key_cache_.emplace(key.key_id, key);
    return key;
  }

  absl::StatusOr<std::vector<KeyRecord>> ListKeys() override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, absl::StrCat("SELECT ", kKeyColumns, " FROM keys ORDER BY key_id").c_str());
    RETURN_IF_ERROR(s.ok());
    std::vector<KeyRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadKey(s));
    if (rc != SQLITE_DONE) return SqlError(db_, "list keys");
    return out;
  }

  absl::Status UpdateKey(const KeyRecord& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    key_cache_.erase(key.key_id);  // whether or not the update commits
    return InTransaction([&]() -> absl::Status {
      Stmt s(db_,
             "UPDATE keys SET key_state=?, description=?, policy=?, rotation_enabled=?, "
             "rotation_period_days=?, deletion_us=?, tags=? WHERE key_id=?");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, key.key_state);
      BindMutable(s, key, 2);
      s.Bind(8, key.key_id);
      if (s.Step() != SQLITE_DONE) return SqlError(db_, "update key");
      if (sqlite3_changes(db_) != 1) return absl::NotFoundError("key store: no such key");
      return absl::OkStatus();
    });
  }

  absl::StatusOr<uint32_t> AddBackingKey(std::string_view key_id,
                                         const SecretBytes& material) override {
    std::lock_guard<std::mutex> lock(mu_);
    key_cache_.erase(std::string(key_id));  // current_version changes
    uint32_t version = 0;
    absl::Status st = InTransaction([&]() -> absl::Status {
      ASSIGN_OR_RETURN(KeyRecord key, GetKeyLocked(key_id));
      version = key.current_version + 1;
      RETURN_IF_ERROR(InsertBackingKey(key.key_id, version, material));
      Stmt s(db_, "UPDATE keys SET current_version=? WHERE key_id=?");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, static_cast<int64_t>(version));
      s.Bind(2, key_id);
      if (s.Step() != SQLITE_DONE) return SqlError(db_, "update current version");
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    return version;
  }

  absl::StatusOr<SecretBytes> GetBackingKey(std::string_view key_id, uint32_t version) override {
    Bytes sealed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = backing_cache_.find(std::make_pair(std::string(key_id), version));
      if (it != backing_cache_.end()) return SecretBytes::CopyFrom(it->second.ExposeSecret());
      Stmt s(db_, "SELECT sealed FROM backing_keys WHERE key_id=? AND version=?", &cache_);
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, key_id);
      s.Bind(2, static_cast<int64_t>(version));
      int rc = s.Step();
      if (rc == SQLITE_DONE) return absl::NotFoundError("key store: no such backing key");
      if (rc != SQLITE_ROW) return SqlError(db_, "read backing key");
      sealed = s.Blob(0);
    }
    auto opened = root_.Open(BackingKeyAad(key_id, version), sealed);
    if (!opened.ok()) {
      return absl::DataLossError("key store: sealed backing key does not open under the root key");
    }
    SecretBytes out = SecretBytes::CopyFrom(*opened);
    SecureZero(*opened);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (backing_cache_.size() >= kMaxCachedBackingKeys) backing_cache_.clear();
      backing_cache_.emplace(std::make_pair(std::string(key_id), version),
                             SecretBytes::CopyFrom(out.ExposeSecret()));
    }
    return out;
  }

  absl::Status DeleteKey(std::string_view key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    key_cache_.erase(std::string(key_id));
    for (auto it = backing_cache_.begin(); it != backing_cache_.end();) {
      it = it->first.first == key_id ? backing_cache_.erase(it) : std::next(it);
    }
    return InTransaction([&]() -> absl::Status {
      Stmt s(db_, "DELETE FROM keys WHERE key_id=?");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, key_id);
      if (s.Step() != SQLITE_DONE) return SqlError(db_, "delete key");
      if (sqlite3_changes(db_) != 1) return absl::NotFoundError("key store: no such key");
      return absl::OkStatus();
    });
  }

  absl::Status CreateAlias(const AliasRecord& alias) override {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> absl::Status {
      RETURN_IF_ERROR(GetKeyLocked(alias.target_key_id).status());
      Stmt s(db_, "INSERT INTO aliases (alias_name, key_id, creation_us) VALUES (?,?,?)");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, alias.alias_name);
      s.Bind(2, alias.target_key_id);
      s.Bind(3, ToMicros(alias.creation_date));
      int rc = s.Step();
      if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError("key store: alias exists");
      if (rc != SQLITE_DONE) return SqlError(db_, "insert alias");
      return absl::OkStatus();
    });
  }

  absl::Status UpdateAlias(std::string_view alias_name, std::string_view target_key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> absl::Status {
      RETURN_IF_ERROR(GetKeyLocked(target_key_id).status());
      Stmt s(db_, "UPDATE aliases SET key_id=? WHERE alias_name=?");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, target_key_id);
      s.Bind(2, alias_name);
      if (s.Step() != SQLITE_DONE) return SqlError(db_, "update alias");
      if (sqlite3_changes(db_) != 1) return absl::NotFoundError("key store: no such alias");
      return absl::OkStatus();
    });
  }

  absl::Status DeleteAlias(std::string_view alias_name) override {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> absl::Status {
      Stmt s(db_, "DELETE FROM aliases WHERE alias_name=?");
      RETURN_IF_ERROR(s.ok());
      s.Bind(1, alias_name);
      if (s.Step() != SQLITE_DONE) return SqlError(db_, "delete alias");
      if (sqlite3_changes(db_) != 1) return absl::NotFoundError("key store: no such alias");
      return absl::OkStatus();
    });
  }

  absl::StatusOr<AliasRecord> GetAlias(std::string_view alias_name) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT alias_name, key_id, creation_us FROM aliases WHERE alias_name=?", &cache_);
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, alias_name);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return absl::NotFoundError("key store: no such alias");
    if (rc != SQLITE_ROW) return SqlError(db_, "read alias");
    return AliasRecord{s.Text(0), s.Text(1), FromMicros(s.Int(2))};
  }

  absl::StatusOr<std::vector<AliasRecord>> ListAliases(std::string_view key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_,
           "SELECT alias_name, key_id, creation_us FROM aliases WHERE (?1 = '' OR key_id = ?1) "
           "ORDER BY alias_name");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, key_id);
    std::vector<AliasRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      out.push_back(AliasRecord{s.Text(0), s.Text(1), FromMicros(s.Int(2))});
    }
    if (rc != SQLITE_DONE) return SqlError(db_, "list aliases");
    return out;
  }

 private:
  template <typename F>
  absl::Status InTransaction(F body) {
    RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    absl::Status st = body();
    if (!st.ok()) {
      (void)Exec(db_, "ROLLBACK");
      return st;
    }
    absl::Status commit = Exec(db_, "COMMIT");
    if (!commit.ok()) (void)Exec(db_, "ROLLBACK");
    return commit;
  }

  // BindMutable binds description, policy, rotation_enabled, rotation_period_days,
  // deletion_us, tags at `first`..first+5.
  static void BindMutable(Stmt& s, const KeyRecord& key, int first) {
    s.Bind(first, key.description);
    s.Bind(first + 1, key.policy);
    s.Bind(first + 2, int64_t{key.rotation_enabled ? 1 : 0});
    s.Bind(first + 3, int64_t{key.rotation_period_days});
    if (key.deletion_date.has_value()) {
      s.Bind(first + 4, ToMicros(*key.deletion_date));
    } else {
      s.BindNull(first + 4);
    }
    s.Bind(first + 5, nlohmann::json(key.tags).dump());
  }

  static KeyRecord ReadKey(Stmt& s) {
    KeyRecord k;
    k.key_id = s.Text(0);
    k.arn = s.Text(1);
    k.account = s.Text(2);
    k.key_spec = s.Text(3);
    k.key_usage = s.Text(4);
    k.key_state = s.Text(5);
    k.creation_date = FromMicros(s.Int(6));
    k.description = s.Text(7);
    k.policy = s.Text(8);
    k.rotation_enabled = s.Int(9) != 0;
    k.rotation_period_days = static_cast<int>(s.Int(10));
    if (!s.IsNull(11)) k.deletion_date = FromMicros(s.Int(11));
    auto tags = nlohmann::json::parse(s.Text(12), nullptr, /*allow_exceptions=*/false);
    if (tags.is_object()) {
      for (auto& [name, value] : tags.items()) {
        if (value.is_string()) k.tags[name] = value.get<std::string>();
      }
    }
    k.current_version = static_cast<uint32_t>(s.Int(13));
    return k;
  }

  absl::StatusOr<KeyRecord> GetKeyLocked(std::string_view key_id) {
    Stmt s(db_, absl::StrCat("SELECT ", kKeyColumns, " FROM keys WHERE key_id=?"), &cache_);
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, key_id);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return absl::NotFoundError("key store: no such key");
    if (rc != SQLITE_ROW) return SqlError(db_, "read key");
    return ReadKey(s);
  }

  absl::Status InsertBackingKey(std::string_view key_id, uint32_t version,
                                const SecretBytes& material) {
    ASSIGN_OR_RETURN(Bytes sealed,
                     root_.Seal(BackingKeyAad(key_id, version), material.ExposeSecret()));
    Stmt s(db_, "INSERT INTO backing_keys (key_id, version, sealed, creation_us) VALUES (?,?,?,?)");
    RETURN_IF_ERROR(s.ok());
    s.Bind(1, key_id);
    s.Bind(2, static_cast<int64_t>(version));
    s.BindBlob(3, sealed);
    s.Bind(4, ToMicros(absl::Now()));
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert backing key");
    return absl::OkStatus();
  }

  // Read caches. This process is the store's only writer (the server opens it once), and every
  // write below drops the entries it may change before touching the database, so a cached
  // record is never staler than the row. Backing keys never change once written; they are kept
  // unsealed here (SecretBytes, zeroised when dropped) so Decrypt does not open the root seal
  // and query SQLite on every call. Both caches are bounded (cleared when full).
  static constexpr size_t kMaxCachedKeys = 16384;
  static constexpr size_t kMaxCachedBackingKeys = 16384;

  std::mutex mu_;
  sqlite3* db_;
  StmtCache cache_;                                                        // guarded by mu_
  std::map<std::string, KeyRecord, std::less<>> key_cache_;                // guarded by mu_
  std::map<std::pair<std::string, uint32_t>, SecretBytes> backing_cache_;  // guarded by mu_
  crypto::Aead root_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KeyStore>> OpenSqliteKeyStore(const std::string& data_dir) {
  ASSIGN_OR_RETURN(SecretBytes root_key, LoadOrCreateRootKey(data_dir + "/root.key"));
  ASSIGN_OR_RETURN(crypto::Aead root,
                   crypto::Aead::Create(crypto::AeadAlg::kAes256Gcm, std::move(root_key)));
  std::string path = data_dir + "/kms.db";
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status st = SqlError(db, "open");
    sqlite3_close_v2(db);
    return st;
  }
  auto store = std::make_unique<SqliteKeyStore>(db, std::move(root));
  sqlite3_busy_timeout(db, 5000);
  RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(Exec(db, kSchema));
  return store;
}

}  // namespace confide::kms
