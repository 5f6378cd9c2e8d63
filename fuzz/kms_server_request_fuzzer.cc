// Fuzzes the KMS server's request handling after authentication: operation name + JSON body ->
// KmsService::HandleAuthenticated (key policy authorization, every operation, the audit record,
// the AWS-shaped response) over a real SQLite key store and audit log.
//
// Input: the first line is the operation name ("Decrypt"); a leading '~' makes the caller a
// principal of another account. The rest is the JSON body. Before dispatch, "$KEY2", "$KEY",
// "$ARN" and "$BLOB" are replaced by a second key's id, the first key's id and ARN, and a valid
// CiphertextBlob (base64) of the first key under {"purpose":"fuzz"}, so seeds reach deep paths.
//
// Properties (abort on violation):
//  1. the status is 200 or 400: a malformed request never gets a 5xx (the store and the audit
//     log are healthy here, so KMSInternalException would be a bug);
//  2. the body is a JSON object; an error has a non-empty string __type and a string message;
//     every response carries Content-Type and x-amzn-RequestId;
//  3. every request is recorded: the audit log grows by at least one line per request;
//  4. a caller of another account never gets a 200 response naming the first key's ARN.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "crypto/ecdsa.h"
#include "kms/audit_log.h"
#include "kms/identity.h"
#include "kms/key_store.h"
#include "kms/server.h"
#include "nlohmann/json.hpp"

namespace {

using namespace confide;  // NOLINT: fuzz target
using Json = nlohmann::json;

constexpr int kInputsPerState = 4000;  // rebuild the store now and then so it stays small

void Check(bool ok, const char* what, const std::string& op) {
  if (!ok) {
    std::fprintf(stderr, "kms_server_request_fuzzer: property violated: %s (operation %s)\n", what,
                 op.c_str());
    std::abort();
  }
}

kms::Identity MakeIdentity(const char* key_id, const char* arn) {
  kms::Identity id;
  id.access_key_id = key_id;
  id.secret_access_key = SecretBytes::CopyFrom(AsBytes("fuzz-secret"));
  id.principal_arn = arn;
  id.account = kms::AccountFromArn(arn);
  return id;
}

struct State {
  std::string dir;
  std::unique_ptr<kms::KeyStore> store;
  std::unique_ptr<kms::AuditLog> audit;
  kms::IdentityStore identities;
  std::unique_ptr<kms::KmsService> service;
  const kms::Identity* admin = nullptr;
  const kms::Identity* other = nullptr;
  std::string key_id, key_arn, key2_id, blob;
  int inputs = 0;

  ~State() {
    service.reset();
    if (audit) (void)audit->Close();
    audit.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Json Call(State& s, const std::string& op, const Json& body) {
  http::Response r = s.service->HandleAuthenticated(op, body.dump(), *s.admin, "127.0.0.1");
  Json j = Json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object()) {
    std::fprintf(stderr, "fuzzer setup: %s failed: %s\n", op.c_str(), r.body.c_str());
    std::abort();
  }
  return j;
}

std::unique_ptr<State> NewState() {
  auto s = std::make_unique<State>();
  // tmpfs when available: fdatasync is then free and the fuzzer fast.
  std::filesystem::path base = std::filesystem::exists("/dev/shm")
                                   ? std::filesystem::path("/dev/shm")
                                   : std::filesystem::temp_directory_path();
  std::string tmpl = (base / "confide_kms_fuzz_XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  s->dir = tmpl;
  auto store = kms::OpenSqliteKeyStore(s->dir);
  if (!store.ok()) std::abort();
  s->store = *std::move(store);
  static const std::string* key_pem = [] {
    auto k = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
    if (!k.ok()) std::abort();
    return new std::string(AsStringView(k->Pem().ExposeSecret()));
  }();
  auto key = crypto::EcdsaPrivateKey::FromPem(*key_pem);
  if (!key.ok()) std::abort();
  auto audit = kms::AuditLog::Open(s->dir + "/audit.log", *std::move(key));
  if (!audit.ok()) std::abort();
  s->audit = *std::move(audit);
  if (!s->identities
           .Add(MakeIdentity("AKIAFUZZADMIN0000001", "arn:aws:iam::111122223333:role/admin"))
           .ok() ||
      !s->identities
           .Add(MakeIdentity("AKIAFUZZOTHER0000001", "arn:aws:iam::444455556666:role/other"))
           .ok()) {
    std::abort();
  }
  s->admin = s->identities.Find("AKIAFUZZADMIN0000001");
  s->other = s->identities.Find("AKIAFUZZOTHER0000001");
  kms::KmsServiceOptions options;
  options.clock = [] { return absl::FromUnixSeconds(1767225600); };  // 2026-01-01
  s->service = std::make_unique<kms::KmsService>(s->store.get(), &s->identities, s->audit.get(),
                                                 std::move(options));
  Json k1 = Call(*s, "CreateKey", {{"Description", "fuzz"}});
  s->key_id = k1["KeyMetadata"]["KeyId"].get<std::string>();
  s->key_arn = k1["KeyMetadata"]["Arn"].get<std::string>();
  Json k2 = Call(*s, "CreateKey", {{"Description", "fuzz2"}});
  s->key2_id = k2["KeyMetadata"]["KeyId"].get<std::string>();
  Call(*s, "CreateAlias", {{"AliasName", "alias/fuzz"}, {"TargetKeyId", s->key_id}});
  Json e = Call(*s, "Encrypt",
                {{"KeyId", s->key_id},
                 {"Plaintext", "aGVsbG8="},
                 {"EncryptionContext", {{"purpose", "fuzz"}}}});
  s->blob = e["CiphertextBlob"].get<std::string>();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A plain pointer, never destroyed at exit: closing the log then would sign a checkpoint after
  // OpenSSL's own exit handlers have run.
  static State* state = nullptr;
  if (state == nullptr || state->inputs >= kInputsPerState) {
    delete state;
    state = NewState().release();
  }
  ++state->inputs;
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string op = in.substr(0, nl);
  std::string body = nl == std::string::npos ? std::string() : in.substr(nl + 1);
  const kms::Identity* caller = state->admin;
  if (!op.empty() && op[0] == '~') {
    caller = state->other;
    op.erase(0, 1);
  }
  body = absl::StrReplaceAll(body, {{"$KEY2", state->key2_id},
                                    {"$KEY", state->key_id},
                                    {"$ARN", state->key_arn},
                                    {"$BLOB", state->blob}});
  const uint64_t seq_before = state->audit->next_seq();
  http::Response r = state->service->HandleAuthenticated(op, body, *caller, "127.0.0.1");

  Check(r.status == 200 || r.status == 400, "status is neither 200 nor 400", op);
  Check(r.headers.Get("Content-Type").has_value(), "no Content-Type", op);
  Check(r.headers.Get("x-amzn-RequestId").has_value(), "no x-amzn-RequestId", op);
  Json j = Json::parse(r.body, nullptr, false);
  Check(!j.is_discarded() && j.is_object(), "body is not a JSON object", op);
  if (r.status != 200) {
    Check(j.contains("__type") && j["__type"].is_string() &&
              !j["__type"].get_ref<const std::string&>().empty(),
          "error without __type", op);
    Check(j.contains("message") && j["message"].is_string(), "error without message", op);
  }
  Check(state->audit->next_seq() > seq_before, "request not recorded in the audit log", op);
  if (caller == state->other && r.status == 200) {
    auto names_first_key = [&](const Json& v) {
      return v.is_string() && (v.get_ref<const std::string&>() == state->key_arn ||
                               v.get_ref<const std::string&>() == state->key_id);
    };
    Check(!names_first_key(j.value("KeyId", Json())), "another account used the first key", op);
    if (j.contains("KeyMetadata") && j["KeyMetadata"].is_object()) {
      Check(!names_first_key(j["KeyMetadata"].value("Arn", Json())),
            "another account described the first key", op);
    }
    if (op == "ListKeys" || op == "ListAliases") {
      Check(r.body.find(state->key_id) == std::string::npos &&
                r.body.find("\"alias/fuzz\"") == std::string::npos,
            "another account listed the first key or its alias", op);
    }
  }
  return 0;
}
