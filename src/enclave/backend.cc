#include "enclave/backend.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::enclave {
namespace {

class ProcessBackend final : public EnclaveBackend {
 public:
  ProcessBackend(std::string run_dir, std::string vsock_dir)
      : run_dir_(std::move(run_dir)), vsock_dir_(std::move(vsock_dir)) {}

  std::string name() const override { return "process"; }
  absl::StatusOr<EnclaveInfo> Run(RunOptions options) override {
    options.run_dir = run_dir_;
    options.vsock_dir = vsock_dir_;
    return RunEnclave(options);
  }
  absl::StatusOr<std::vector<EnclaveInfo>> Describe() override {
    return DescribeEnclaves(run_dir_, vsock_dir_);
  }
  std::vector<ExitRecord> Exits() override { return ListExitRecords(run_dir_); }
  absl::Status Terminate(const std::string& id) override {
    return TerminateEnclave(run_dir_, vsock_dir_, id);
  }
  absl::StatusOr<std::string> ConsolePath(const std::string& id) override {
    return enclave::ConsolePath(run_dir_, id);
  }

 private:
  std::string run_dir_;
  std::string vsock_dir_;
};

}  // namespace

std::string DefaultBackendName() {
  const char* v = std::getenv("CONFIDE_ENCLAVE_BACKEND");
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(kDefaultBackend);
}

std::unique_ptr<EnclaveBackend> NewProcessBackend(std::string run_dir, std::string vsock_dir) {
  return std::make_unique<ProcessBackend>(std::move(run_dir), std::move(vsock_dir));
}

absl::StatusOr<std::unique_ptr<EnclaveBackend>> NewEnclaveBackend(const std::string& name) {
  if (name == "process") return NewProcessBackend(DefaultRunDir(), DefaultVsockDir());
  return absl::InvalidArgumentError(
      absl::StrCat("unknown enclave backend \"", name,
                   "\" (available: process; a KVM micro-VM and a real-Nitro backend are planned)"));
}

}  // namespace confide::enclave
