// confide::enclave backends: what runs enclaves, behind one interface with nitro-cli's verbs
// (run, describe, terminate, console), so the CLI and tests do not care which isolation
// mechanism is underneath.
//
// Today there is one backend, "process" (launcher.h: namespaces + seccomp + a memory cgroup,
// the launcher playing Nitro's hypervisor with an emulated secure module). The interface is
// what a KVM micro-VM backend (the same image booted under a minimal VMM, vsock through
// vhost-vsock) or a real-Nitro backend (driving nitro-cli, the image converted to an EIF, the
// documents then signed by AWS's root) would implement; both are future work.
#ifndef CONFIDE_ENCLAVE_BACKEND_H_
#define CONFIDE_ENCLAVE_BACKEND_H_

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "enclave/launcher.h"

namespace confide::enclave {

// EnclaveBackend runs and manages enclaves. Implementations are safe to use from one thread.
class EnclaveBackend {
 public:
  virtual ~EnclaveBackend() = default;

  // name returns the backend's name as NewEnclaveBackend accepts it.
  virtual std::string name() const = 0;
  // Run starts an enclave and returns once it is ready (RunEnclave's contract; the options'
  // run_dir / vsock_dir are the backend's own).
  virtual absl::StatusOr<EnclaveInfo> Run(RunOptions options) = 0;
  // Describe returns the running enclaves.
  virtual absl::StatusOr<std::vector<EnclaveInfo>> Describe() = 0;
  // Exits returns how recently ended enclaves ended, newest first.
  virtual std::vector<ExitRecord> Exits() = 0;
  // Terminate stops enclave `id` (NotFound when it does not run).
  virtual absl::Status Terminate(const std::string& id) = 0;
  // ConsolePath returns a debug-mode enclave's console file (ConsolePath's contract).
  virtual absl::StatusOr<std::string> ConsolePath(const std::string& id) = 0;
};

// kDefaultBackend is the backend used when none is named.
inline constexpr char kDefaultBackend[] = "process";

// DefaultBackendName returns $CONFIDE_ENCLAVE_BACKEND or kDefaultBackend.
std::string DefaultBackendName();

// NewProcessBackend returns the "process" backend keeping its state in `run_dir` and its
// emulated vsock sockets in `vsock_dir`.
std::unique_ptr<EnclaveBackend> NewProcessBackend(std::string run_dir, std::string vsock_dir);

// NewEnclaveBackend returns the backend called `name` with the default directories
// (DefaultRunDir, DefaultVsockDir). InvalidArgument naming the known backends otherwise.
absl::StatusOr<std::unique_ptr<EnclaveBackend>> NewEnclaveBackend(const std::string& name);

}  // namespace confide::enclave

#endif  // CONFIDE_ENCLAVE_BACKEND_H_
