#include "cli/audit_commands.h"

#include <iostream>
#include <memory>
#include <string>

#include "base/file.h"
#include "crypto/ecdsa.h"
#include "kms/audit_log.h"
#include "nlohmann/json.hpp"

namespace confide::cli {
namespace {

constexpr size_t kMaxAuditLogBytes = size_t{4} << 30;

struct VerifyArgs {
  std::string log;
  std::string public_key;
};

int RunVerify(const VerifyArgs& a) {
  std::optional<crypto::EcdsaPublicKey> key;
  if (!a.public_key.empty()) {
    auto pem = base::ReadFileBounded(a.public_key, 64 * 1024);
    if (!pem.ok()) {
      std::cerr << "error: --public-key: " << pem.status().message() << "\n";
      return 1;
    }
    auto k = crypto::EcdsaPublicKey::FromPem(AsStringView(*pem));
    if (!k.ok()) {
      std::cerr << "error: --public-key: " << k.status().message() << "\n";
      return 1;
    }
    key.emplace(*std::move(k));
  }
  auto contents = base::ReadFileBounded(a.log, kMaxAuditLogBytes);
  if (!contents.ok()) {
    std::cerr << "error: " << contents.status().message() << "\n";
    return 1;
  }
  auto v = kms::VerifyAuditLog(*contents, key ? &*key : nullptr);
  if (!v.ok()) {
    std::cerr << "error: audit log rejected: " << v.status().message() << "\n";
    return 1;
  }
  nlohmann::ordered_json out = {{"verified", true},
                                {"records", v->records},
                                {"checkpoints", v->checkpoints},
                                {"unanchored_records", v->unanchored},
                                {"signatures_checked", key.has_value()}};
  std::cout << out.dump(2) << "\n";
  if (!key) {
    std::cerr << "warning: no --public-key: the hash chain was checked but checkpoint "
                 "signatures were not, so a rewrite with recomputed hashes would pass\n";
  }
  if (v->unanchored > 0) {
    std::cerr << "warning: " << v->unanchored
              << " records follow the last signed checkpoint; deleting them would not be "
                 "detectable\n";
  }
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* audit = app.add_subcommand("audit", "Hash-chained, signed audit logs");
  audit->require_subcommand(1);
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "Check an audit log for any edit, deletion, insertion or reordering");
  verify->add_option("log", args->log, "Audit log file (JSON lines)")->required();
  verify->add_option("--public-key", args->public_key,
                     "PEM public key that signs the log's checkpoints");
  verify->callback([run, args] { *run = [args] { return RunVerify(*args); }; });
}

}  // namespace confide::cli
