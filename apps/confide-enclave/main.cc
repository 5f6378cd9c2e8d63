// confide-enclave: the runtime inside an enclave. Wiring only (src/enclave/boot.h): it opens the
// secure module (/dev/nsm on Nitro, else the descriptor named by CONFIDE_NSM_FD that the
// launcher passes), picks the vsock transport from the environment, and serves the
// health/attestation endpoint on vsock port 5000 until SIGTERM.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "attest/nsm_client.h"
#include "enclave/boot.h"
#include "enclave/vsock.h"

namespace {

std::atomic<bool> g_stop{false};

void OnTerm(int) { g_stop.store(true); }

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "confide-enclave: %s: %s\n", what, std::string(s.message()).c_str());
  return 1;
}

absl::StatusOr<std::unique_ptr<confide::attest::NsmClient>> OpenNsm() {
  if (::access(confide::attest::kNitroNsmDevice, F_OK) == 0) {
    return confide::attest::NewDeviceNsmClient();
  }
  const char* fd_text = std::getenv(confide::enclave::kNsmFdEnv);
  if (fd_text == nullptr) {
    return absl::NotFoundError("no /dev/nsm and no CONFIDE_NSM_FD: no secure module");
  }
  char* end = nullptr;
  long fd = std::strtol(fd_text, &end, 10);
  if (end == fd_text || *end != '\0' || fd < 3 || fd > 1 << 20) {
    return absl::InvalidArgumentError("CONFIDE_NSM_FD is not a descriptor number");
  }
  return confide::attest::NewDescriptorNsmClient(static_cast<int>(fd));
}

}  // namespace

int main() {
  struct sigaction sa = {};
  sa.sa_handler = OnTerm;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto nsm = OpenNsm();
  if (!nsm.ok()) return Fail("secure module", nsm.status());
  auto transport = confide::enclave::DefaultVsockTransport();
  if (!transport.ok()) return Fail("vsock", transport.status());
  absl::Status s =
      confide::enclave::RunBoot(**transport, **nsm, confide::enclave::BootOptions{}, &g_stop, [&] {
        std::fprintf(stdout, "confide-enclave: ready on vsock %u:%u\n", (*transport)->local_cid(),
                     confide::enclave::kBootPort);
        std::fflush(stdout);
      });
  if (!s.ok()) return Fail("boot", s);
  return 0;
}
