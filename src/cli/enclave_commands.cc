#include "cli/enclave_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "base/encoding.h"
#include "base/file.h"
#include "cli/io.h"
#include "crypto/x509.h"
#include "enclave/backend.h"
#include "enclave/boot.h"
#include "enclave/launcher.h"
#include "enclave/vsock.h"
#include "gateway/provision.h"
#include "image/builder.h"

namespace confide::cli {
namespace {

struct BuildArgs {
  std::string manifest;
  std::string output;
};

int Fail(const std::string& what, const absl::Status& s) {
  std::cerr << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

nlohmann::ordered_json MeasurementsJson(const image::Measurements& m) {
  // nitro-cli prints the hash algorithm as Rust's Debug form of its hasher.
  nlohmann::ordered_json j = {{"HashAlgorithm", "Sha384 { ... }"},
                              {"PCR0", base::HexEncode(m.pcr0)},
                              {"PCR1", base::HexEncode(m.pcr1)},
                              {"PCR2", base::HexEncode(m.pcr2)}};
  if (m.pcr8) j["PCR8"] = base::HexEncode(*m.pcr8);
  return j;
}

int RunBuild(const BuildArgs& a) {
  auto built = image::BuildImageFile(a.manifest, a.output);
  if (!built.ok()) return Fail("building the enclave image", built.status());
  // Like `nitro-cli build-enclave`: report where the image went and its measurements.
  auto img = image::ParseImage(built->bytes);
  if (!img.ok()) return Fail("reading back the image", img.status());
  nlohmann::ordered_json out = {{"Image", a.output},
                                {"Measurements", MeasurementsJson(built->measurements)}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

int RunDescribeImage(const std::string& path) {
  auto data = base::ReadFileBounded(path, image::kMaxImageBytes);
  if (!data.ok()) return Fail("reading " + path, data.status());
  auto img = image::ParseImage(*data);
  if (!img.ok()) return Fail("checking " + path, img.status());
  std::cout << DescribeImageJson(*img).dump(2) << "\n";
  return 0;
}

struct RunCmdArgs {
  enclave::RunOptions options;
};

nlohmann::ordered_json EnclaveJson(const enclave::EnclaveInfo& e, bool with_measurements) {
  // Field names and order as `nitro-cli run-enclave` / `describe-enclaves` print them.
  nlohmann::ordered_json j = {{"EnclaveName", e.id},
                              {"EnclaveID", e.id},
                              {"ProcessID", e.pid},
                              {"EnclaveCID", e.cid},
                              {"NumberOfCPUs", e.cpu_ids.size()},
                              {"CPUIDs", e.cpu_ids},
                              {"MemoryMiB", e.memory_mib}};
  if (with_measurements) {
    j["State"] = e.state;
    j["Flags"] = e.debug_mode ? "DEBUG_MODE" : "NONE";
    nlohmann::ordered_json m = MeasurementsJson(e.measurements);
    // Measured at run time from the parent (what the enclave's documents carry).
    if (!e.pcr3.empty()) m["PCR3"] = base::HexEncode(e.pcr3);
    if (!e.pcr4.empty()) m["PCR4"] = base::HexEncode(e.pcr4);
    j["Measurements"] = m;
  }
  j["StartToReadyMs"] = absl::ToDoubleMilliseconds(e.start_to_ready);
  j["ParentRole"] = e.parent_role;
  j["ParentID"] = e.parent_id;
  if (!e.memory_limit.empty()) j["MemoryLimit"] = e.memory_limit;
  return j;
}

nlohmann::ordered_json ExitJson(const enclave::ExitRecord& r) {
  nlohmann::ordered_json j = {{"EnclaveName", r.id},
                              {"EnclaveID", r.id},
                              {"EnclaveCID", r.cid},
                              {"State", "EXITED"},
                              {"Flags", r.debug_mode ? "DEBUG_MODE" : "NONE"},
                              {"ExitReason", r.reason},
                              {"OutOfMemory", r.oom_killed},
                              {"ExitedAt", FormatRfc3339(r.exited_at)}};
  return j;
}

int RunEnclaveCmd(const RunCmdArgs& a) {
  auto backend = enclave::NewEnclaveBackend(enclave::DefaultBackendName());
  if (!backend.ok()) return Fail("enclave backend", backend.status());
  auto info = (*backend)->Run(a.options);
  if (!info.ok()) return Fail("starting the enclave", info.status());
  std::cout << EnclaveJson(*info, /*with_measurements=*/false).dump(2) << "\n";
  return 0;
}

int DescribeEnclavesCmd(bool include_exited) {
  auto backend = enclave::NewEnclaveBackend(enclave::DefaultBackendName());
  if (!backend.ok()) return Fail("enclave backend", backend.status());
  auto list = (*backend)->Describe();
  if (!list.ok()) return Fail("describing enclaves", list.status());
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& e : *list) out.push_back(EnclaveJson(e, /*with_measurements=*/true));
  if (include_exited) {
    for (const auto& r : (*backend)->Exits()) {
      out.push_back(ExitJson(r));
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

int TerminateCmd(const std::string& id) {
  auto backend = enclave::NewEnclaveBackend(enclave::DefaultBackendName());
  if (!backend.ok()) return Fail("enclave backend", backend.status());
  absl::Status s = (*backend)->Terminate(id);
  if (!s.ok()) return Fail("terminating " + id, s);
  nlohmann::ordered_json out = {{"EnclaveName", id}, {"EnclaveID", id}, {"Terminated", true}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

// Running returns whether enclave `id` still runs.
bool Running(enclave::EnclaveBackend& backend, const std::string& id) {
  auto list = backend.Describe();
  if (!list.ok()) return false;
  for (const auto& e : *list) {
    if (e.id == id) return true;
  }
  return false;
}

// ConsoleCmd copies the console of a debug-mode enclave to stdout and follows it until the
// enclave stops or `timeout_s` (0: no limit) passes.
int ConsoleCmd(const std::string& id, int timeout_s) {
  auto backend = enclave::NewEnclaveBackend(enclave::DefaultBackendName());
  if (!backend.ok()) return Fail("enclave backend", backend.status());
  auto path = (*backend)->ConsolePath(id);
  if (!path.ok()) return Fail("console of " + id, path.status());
  int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail("console of " + id, absl::NotFoundError("console file is gone"));
  absl::Time end = timeout_s > 0 ? absl::Now() + absl::Seconds(timeout_s) : absl::InfiniteFuture();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      std::cout.write(buf, n);
      std::cout.flush();
      continue;
    }
    if (absl::Now() >= end || !Running(**backend, id)) break;
    ::usleep(100000);
  }
  ::close(fd);
  return 0;
}

struct FetchArgs {
  uint32_t cid = 0;
  std::string nonce;
  std::string output;
  int timeout_s = 10;
};

int FetchCmd(const FetchArgs& a) {
  auto nonce = base::HexDecode(a.nonce);
  if (!nonce.ok()) return Fail("--nonce", nonce.status());
  auto transport = enclave::DefaultVsockTransport();
  if (!transport.ok()) return Fail("vsock", transport.status());
  auto doc =
      enclave::FetchAttestation(**transport, enclave::VsockAddress{a.cid, enclave::kBootPort},
                                *nonce, absl::Seconds(a.timeout_s));
  if (!doc.ok()) return Fail("fetching the attestation document", doc.status());
  absl::Status s = base::WriteFileAtomic(a.output, *doc, 0644);
  if (!s.ok()) return Fail("writing " + a.output, s);
  return 0;
}

struct ProvideArgs {
  gateway::ProvisionOptions options;
  std::string vsock_dir;
};

// ProvideCmd serves the parent's provisioning endpoints (sealed-path.md §3) until SIGTERM or
// SIGINT.
int ProvideCmd(const ProvideArgs& a) {
  absl::StatusOr<std::unique_ptr<enclave::VsockTransport>> transport =
      a.vsock_dir.empty() ? enclave::DefaultVsockTransport()
                          : enclave::NewEmulatedVsockTransport(a.vsock_dir, enclave::kParentCid);
  if (!transport.ok()) return Fail("vsock", transport.status());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = gateway::ProvisionServer::Start(**transport, a.options);
  if (!server.ok()) return Fail("starting the provisioning server", server.status());
  std::cout << "provision listening on vsock " << (*transport)->local_cid() << ":" << a.options.port
            << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

nlohmann::ordered_json DescribeImageJson(const image::ParsedImage& img) {
  nlohmann::ordered_json out;
  out["EifVersion"] = img.version;
  out["Format"] = "confide-eif";
  out["Measurements"] = MeasurementsJson(img.measurements);
  out["IsSigned"] = img.signature.has_value();
  // ParseImage refuses an image whose section digests or signature do not check out, so a
  // description exists only for an image that passed both.
  out["CheckSHA384"] = true;
  if (img.signature) {
    out["SignatureCheck"] = true;
    auto cert = crypto::Certificate::FromDer(img.signature->certificate_der);
    if (cert.ok()) {
      out["SigningCertificate"] = {{"Subject", cert->Subject()},
                                   {"Issuer", cert->Issuer()},
                                   {"SerialNumber", cert->SerialHex()},
                                   {"NotBefore", FormatRfc3339(cert->NotBefore())},
                                   {"NotAfter", FormatRfc3339(cert->NotAfter())}};
    }
  }
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : image::ParseMetadata(img.application)) meta[k] = v;
  out["ImageName"] = meta.contains("name") ? meta["name"] : nlohmann::ordered_json(nullptr);
  out["ModelSha256"] =
      meta.contains("model_sha256") ? meta["model_sha256"] : nlohmann::ordered_json(nullptr);
  auto files = [](const std::vector<image::FileEntry>& entries) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const image::FileEntry& e : entries) {
      list.push_back({{"Path", e.path}, {"Size", e.data.size()}});
    }
    return list;
  };
  out["Sections"] = {
      {{"Name", "runtime"}, {"Size", img.runtime_data.size()}, {"Files", files(img.runtime)}},
      {{"Name", "application"},
       {"Size", img.application_data.size()},
       {"Files", files(img.application)}}};
  out["ImageDigest"] = base::HexEncode(img.image_digest);
  return out;
}

void AddEnclaveCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* enclave = app.add_subcommand("enclave", "Enclave images and enclaves");
  enclave->require_subcommand(1);

  auto build_args = std::make_shared<BuildArgs>();
  CLI::App* build = enclave->add_subcommand(
      "build",
      "Build a deterministic enclave image from a manifest (enclave.toml) and print its "
      "measurements as JSON. A failed build leaves no output file.");
  build->add_option("--manifest", build_args->manifest, "Manifest (enclave.toml)")->required();
  build->add_option("--output", build_args->output, "Image file to write (e.g. app.eif)")
      ->required();
  build->callback([run, build_args] { *run = [build_args] { return RunBuild(*build_args); }; });

  auto image_path = std::make_shared<std::string>();
  CLI::App* describe = enclave->add_subcommand(
      "describe-image",
      "Check an enclave image (section digests, signature) and print its measurements as JSON, "
      "in the shape of `nitro-cli describe-eif`");
  describe->add_option("image", *image_path, "Image file")->required();
  describe->callback(
      [run, image_path] { *run = [image_path] { return RunDescribeImage(*image_path); }; });

  auto root_dir = std::make_shared<std::string>(enclave::DefaultSimulationRootDir());
  auto force = std::make_shared<bool>(false);
  CLI::App* init_root = enclave->add_subcommand(
      "init-root",
      "Create the simulation root CA the launcher signs emulated attestation documents with "
      "(keys 0600; the key never enters an enclave)");
  init_root->add_option("--dir", *root_dir,
                        "Directory (default $CONFIDE_SIM_ROOT or "
                        "/var/lib/confide/sim-root)");
  init_root->add_flag("--force", *force, "Replace an existing root");
  init_root->callback([run, root_dir, force] {
    *run = [root_dir, force] {
      absl::Status s = enclave::InitSimulationRoot(*root_dir, *force);
      if (!s.ok()) return Fail("creating the simulation root", s);
      nlohmann::ordered_json out = {{"RootCertificate", *root_dir + "/root.pem"},
                                    {"RootKey", *root_dir + "/root.key"},
                                    {"Simulation", true}};
      std::cout << out.dump(2) << "\n";
      return 0;
    };
  });

  auto ra = std::make_shared<RunCmdArgs>();
  ra->options.sim_root_dir = enclave::DefaultSimulationRootDir();
  CLI::App* run_cmd = enclave->add_subcommand(
      "run", "Start an enclave from an image (process backend) and print it as JSON once ready");
  run_cmd->add_option("--image", ra->options.image_path, "Image file (.eif)")->required();
  run_cmd->add_option("--cpu-count", ra->options.cpu_count, "Number of CPUs")->required();
  run_cmd->add_option("--memory", ra->options.memory_mib, "Memory in MiB")->required();
  run_cmd->add_option("--cid", ra->options.cid, "Enclave CID (4 or more)")->required();
  run_cmd->add_flag("--debug-mode", ra->options.debug_mode,
                    "Debug mode: console available, PCR0/1/2/8 attested as zeros");
  run_cmd->add_option("--sim-root", ra->options.sim_root_dir, "Simulation root directory");
  ra->options.parent_role = enclave::DefaultParentRole();
  run_cmd->add_option("--parent-role", ra->options.parent_role,
                      "The parent's role (an IAM role ARN on AWS), measured into PCR3 "
                      "(default $CONFIDE_PARENT_ROLE; none: PCR3 zero)");
  run_cmd->add_option("--parent-id", ra->options.parent_id,
                      "The parent's instance ID, measured into PCR4 (default $CONFIDE_PARENT_ID "
                      "or one derived from /etc/machine-id)");
  run_cmd->callback([run, ra] { *run = [ra] { return RunEnclaveCmd(*ra); }; });

  CLI::App* describe_cmd =
      enclave->add_subcommand("describe", "List running enclaves as JSON (nitro-cli's shape)");
  auto include_exited = std::make_shared<bool>(false);
  describe_cmd->add_flag("--include-exited", *include_exited,
                         "Also list recently ended enclaves with why they ended");
  describe_cmd->callback([run, include_exited] {
    *run = [include_exited] { return DescribeEnclavesCmd(*include_exited); };
  });

  auto term_id = std::make_shared<std::string>();
  CLI::App* term = enclave->add_subcommand("terminate", "Stop an enclave");
  term->add_option("--enclave-id", *term_id, "Enclave ID")->required();
  term->callback([run, term_id] { *run = [term_id] { return TerminateCmd(*term_id); }; });

  auto con_id = std::make_shared<std::string>();
  auto con_timeout = std::make_shared<int>(0);
  CLI::App* con = enclave->add_subcommand("console", "Follow a debug-mode enclave's console");
  con->add_option("--enclave-id", *con_id, "Enclave ID")->required();
  con->add_option("--disconnect-timeout", *con_timeout, "Stop after this many seconds");
  con->callback([run, con_id, con_timeout] {
    *run = [con_id, con_timeout] { return ConsoleCmd(*con_id, *con_timeout); };
  });

  auto fa = std::make_shared<FetchArgs>();
  CLI::App* fetch = enclave->add_subcommand(
      "attestation",
      "Fetch a fresh attestation document with a nonce from an enclave over vsock (unverified: "
      "check it with `confide attest verify`)");
  fetch->add_option("--enclave-cid", fa->cid, "Enclave CID")->required();
  fetch->add_option("--nonce", fa->nonce, "Nonce (hex, 1..512 bytes)")->required();
  fetch->add_option("--output", fa->output, "Document file to write")->required();
  fetch->add_option("--timeout", fa->timeout_s, "Seconds");
  fetch->callback([run, fa] { *run = [fa] { return FetchCmd(*fa); }; });

  auto pa = std::make_shared<ProvideArgs>();
  CLI::App* provide = enclave->add_subcommand(
      "provide",
      "Serve what enclaves fetch after boot on the parent's vsock: GET /v1/credentials (KMS "
      "credentials) and GET /v1/model (the sealed model file, streamed). Runs until "
      "SIGTERM/SIGINT.");
  provide->add_option("--model", pa->options.model_path, "Sealed model file")->required();
  provide
      ->add_option("--credentials", pa->options.credentials_path,
                   "JSON {AccessKeyId, SecretAccessKey, SessionToken?}")
      ->required();
  provide->add_option("--port", pa->options.port, "vsock port (7000)");
  provide->add_option("--vsock-dir", pa->vsock_dir,
                      "Use the vsock emulation rooted here (as CID 3) instead of the default");
  provide->callback([run, pa] { *run = [pa] { return ProvideCmd(*pa); }; });
}

}  // namespace confide::cli
