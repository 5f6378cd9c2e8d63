#include "cli/envelope_commands.h"

#include <stdlib.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "kms/client.h"
#include "kms/envelope.h"
#include "nlohmann/json.hpp"

namespace confide::cli {
namespace {

// KmsArgs are the options every KMS-calling command shares.
struct KmsArgs {
  std::string endpoint = "http://127.0.0.1:4600";
  std::string credentials;  // empty: the AWS_* environment variables
  std::string region;       // empty: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  std::string ca_file;      // https:// endpoints: PEM roots; empty: the system store
};

void AddKmsOptions(CLI::App* cmd, KmsArgs& a) {
  cmd->add_option("--kms-endpoint", a.endpoint, "KMS endpoint URL (http[s]://HOST:PORT)");
  cmd->add_option("--ca", a.ca_file,
                  "PEM bundle of roots trusted for an https:// KMS endpoint (default: the "
                  "system store)");
  cmd->add_option("--credentials", a.credentials,
                  "JSON file {AccessKeyId, SecretAccessKey, SessionToken?} (default: the "
                  "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN variables)");
  cmd->add_option("--region", a.region,
                  "Region for SigV4 (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)");
}

int Fail(const absl::Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

absl::StatusOr<std::unique_ptr<kms::KmsClient>> MakeClient(const KmsArgs& a) {
  ASSIGN_OR_RETURN(kms::KmsEndpoint endpoint, kms::ParseKmsEndpoint(a.endpoint));
  ASSIGN_OR_RETURN(kms::KmsCredentials credentials, kms::LoadCredentials(a.credentials));
  std::string region = a.region;
  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    const char* v = getenv(var);
    if (region.empty() && v != nullptr && *v != '\0') region = v;
  }
  if (region.empty()) region = "us-east-1";
  if (!a.ca_file.empty() && !endpoint.tls) {
    return absl::InvalidArgumentError("--ca applies only to an https:// --kms-endpoint");
  }
  return std::make_unique<kms::KmsClient>(kms::NewKmsTransport(endpoint, a.ca_file),
                                          std::move(credentials), std::move(region),
                                          endpoint.host_header);
}

// ParseContext turns repeated KEY=VALUE options into an encryption context.
absl::StatusOr<kms::EncryptionContext> ParseContext(const std::vector<std::string>& pairs) {
  kms::EncryptionContext ctx;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("--context must be KEY=VALUE with a non-empty KEY");
    }
    if (!ctx.emplace(p.substr(0, eq), p.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--context key '", p.substr(0, eq), "' given twice"));
    }
  }
  return ctx;
}

std::string ContextText(const kms::EncryptionContext& ctx) {
  std::string out;
  for (const auto& [k, v] : ctx) {
    if (!out.empty()) out += ",";
    out += k + "=" + v;
  }
  return out.empty() ? "(none)" : out;
}

struct EncryptArgs {
  KmsArgs kms;
  std::string key_id;
  std::vector<std::string> context;
  std::string in;
  std::string out;
  uint32_t segment_len = kms::kDefaultEnvelopeSegmentLen;
};

int RunEncrypt(const EncryptArgs& a, bool model) {
  auto ctx = ParseContext(a.context);
  if (!ctx.ok()) {
    std::cerr << "error: " << ctx.status().message() << "\n";
    return 2;
  }
  if (model) (*ctx)["confide:purpose"] = "model";
  auto client = MakeClient(a.kms);
  if (!client.ok()) return Fail(client.status());
  kms::EnvelopeOptions options;
  options.segment_len = a.segment_len;
  auto result = kms::EncryptFile(**client, a.key_id, *ctx, a.in, a.out, options);
  if (!result.ok()) return Fail(result.status());
  if (model) std::cout << "model_sha256 " << base::HexEncode(result->plaintext_sha256) << "\n";
  std::cout << "sealed " << a.in << " -> " << a.out << " (" << result->plaintext_len
            << " bytes, key " << a.key_id << ", context " << ContextText(*ctx) << ")\n";
  return 0;
}

struct DecryptArgs {
  KmsArgs kms;
  std::vector<std::string> context;
  std::string in;
  std::string out;
};

int RunDecrypt(const DecryptArgs& a) {
  auto required = ParseContext(a.context);
  if (!required.ok()) {
    std::cerr << "error: " << required.status().message() << "\n";
    return 2;
  }
  auto client = MakeClient(a.kms);
  if (!client.ok()) return Fail(client.status());
  auto result = kms::DecryptFile(**client, a.in, a.out, *required);
  if (!result.ok()) return Fail(result.status());
  std::cout << "decrypted " << a.in << " -> " << a.out << " (" << result->plaintext_len
            << " bytes, context " << ContextText(result->context) << ")\n";
  return 0;
}

struct CallArgs {
  KmsArgs kms;
  std::string operation;
  std::string json = "{}";
};

int RunCall(const CallArgs& a) {
  nlohmann::json request = nlohmann::json::parse(a.json, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) {
    std::cerr << "error: --json must be a JSON object\n";
    return 2;
  }
  auto client = MakeClient(a.kms);
  if (!client.ok()) return Fail(client.status());
  auto response = (*client)->Call(a.operation, request);
  if (!response.ok()) return Fail(response.status());
  std::cout << response->dump(2) << "\n";
  return 0;
}

CLI::App* FindSubcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

void AddEncryptOptions(CLI::App* cmd, EncryptArgs& a, bool model) {
  AddKmsOptions(cmd, a.kms);
  cmd->add_option("--key-id", a.key_id, "KMS key: id, ARN, alias/NAME or alias ARN")->required();
  cmd->add_option("--context", a.context,
                  model ? "Extra encryption context KEY=VALUE (repeatable); "
                          "confide:purpose=model is always added"
                        : "Encryption context KEY=VALUE (repeatable)");
  cmd->add_option("--in", a.in, "Plaintext file (a regular file)")->required();
  cmd->add_option("--out", a.out, "Envelope file to write (atomically)")->required();
  cmd->add_option("--segment-size", a.segment_len, "Plaintext bytes per segment (default 1 MiB)")
      ->check(CLI::Range(crypto::kStreamMinSegmentLen, crypto::kStreamMaxSegmentLen));
}

}  // namespace

void AddEnvelopeCommands(CLI::App& app, std::function<int()>* run) {
  auto enc = std::make_shared<EncryptArgs>();
  CLI::App* encrypt = app.add_subcommand(
      "encrypt", "Encrypt a file into an envelope (KMS GenerateDataKey + AES-256-GCM segments)");
  AddEncryptOptions(encrypt, *enc, false);
  encrypt->callback([run, enc] { *run = [enc] { return RunEncrypt(*enc, false); }; });

  auto dec = std::make_shared<DecryptArgs>();
  CLI::App* decrypt =
      app.add_subcommand("decrypt", "Decrypt an envelope file (KMS Decrypt of its data key)");
  AddKmsOptions(decrypt, dec->kms);
  decrypt->add_option("--context", dec->context,
                      "Required encryption context KEY=VALUE (repeatable): refuse envelopes "
                      "without it");
  decrypt->add_option("--in", dec->in, "Envelope file")->required();
  decrypt->add_option("--out", dec->out, "Plaintext file to write (mode 0600, atomically)")
      ->required();
  decrypt->callback([run, dec] { *run = [dec] { return RunDecrypt(*dec); }; });

  if (CLI::App* model = FindSubcommand(app, "model")) {
    auto seal_args = std::make_shared<EncryptArgs>();
    CLI::App* seal = model->add_subcommand(
        "seal",
        "Seal a model file for the enclave (encrypt with context confide:purpose=model) and "
        "print its model_sha256");
    AddEncryptOptions(seal, *seal_args, true);
    seal->callback(
        [run, seal_args] { *run = [seal_args] { return RunEncrypt(*seal_args, true); }; });
  }

  if (CLI::App* kms_cmd = FindSubcommand(app, "kms")) {
    auto call_args = std::make_shared<CallArgs>();
    CLI::App* call = kms_cmd->add_subcommand(
        "call", "Send one SigV4-signed KMS operation and print the JSON response");
    AddKmsOptions(call, call_args->kms);
    call->add_option("operation", call_args->operation, "Operation, e.g. CreateKey")->required();
    call->add_option("--json", call_args->json, "Request body, a JSON object (default {})");
    call->callback([run, call_args] { *run = [call_args] { return RunCall(*call_args); }; });
  }
}

}  // namespace confide::cli
