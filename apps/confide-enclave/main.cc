// confide-enclave: the runtime inside an enclave. Wiring only. It opens the secure module
// (/dev/nsm on Nitro, else the descriptor named by CONFIDE_NSM_FD that the launcher passes),
// picks the vsock transport from the environment, and then either
//   serve  (`confide-enclave serve [--app-dir DIR]`, and the default when /app/enclave.json
//          exists): the confidential-inference application (src/app/runtime.h) on vsock port
//          5000, provisioning its sealed model from the parent; or
//   boot   (`confide-enclave boot`, the default otherwise): the health/attestation endpoint of
//          src/enclave/boot.h on vsock port 5000.
// Both run until SIGTERM.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "app/runtime.h"
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

int Usage() {
  std::fprintf(stderr, "usage: confide-enclave [serve [--app-dir DIR] | boot]\n");
  return 2;
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

int main(int argc, char** argv) {
  confide::app::ServeOptions serve_options;
  std::string mode;
  for (int i = 1; i < argc; ++i) {
    if ((std::strcmp(argv[i], "serve") == 0 || std::strcmp(argv[i], "boot") == 0) && mode.empty()) {
      mode = argv[i];
    } else if (std::strcmp(argv[i], "--app-dir") == 0 && i + 1 < argc && mode == "serve") {
      serve_options.app_dir = argv[++i];
    } else {
      return Usage();
    }
  }
  if (mode.empty()) {
    mode =
        ::access((serve_options.app_dir + "/enclave.json").c_str(), F_OK) == 0 ? "serve" : "boot";
  }
  struct sigaction sa = {};
  sa.sa_handler = OnTerm;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  auto nsm = OpenNsm();
  if (!nsm.ok()) return Fail("secure module", nsm.status());
  auto transport = confide::enclave::DefaultVsockTransport();
  if (!transport.ok()) return Fail("vsock", transport.status());
  auto ready = [&] {
    std::fprintf(stdout, "confide-enclave: %sready on vsock %u:%u\n",
                 mode == "serve" ? "serve " : "", (*transport)->local_cid(),
                 confide::enclave::kBootPort);
    std::fflush(stdout);
  };
  if (mode == "serve") {
    absl::Status s = confide::app::RunServe(**transport, **nsm, serve_options, &g_stop, ready);
    if (!s.ok()) return Fail("serve", s);
    return 0;
  }
  absl::Status s = confide::enclave::RunBoot(**transport, **nsm, confide::enclave::BootOptions{},
                                             &g_stop, ready);
  if (!s.ok()) return Fail("boot", s);
  return 0;
}
