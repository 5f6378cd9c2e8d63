#include "cli/attest_commands.h"

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "base/file.h"
#include "cli/io.h"
#include "nlohmann/json.hpp"

namespace confide::cli {
namespace {

struct VerifyArgs {
  std::string root;
  std::string at;
  std::vector<std::string> expect_pcrs;
  std::string nonce, user_data, public_key;
  double max_age_seconds = -1;
  bool allow_simulation_root = false;
  std::string document;
};

struct EmulateArgs {
  std::string ca_dir;
  std::string module_id = "i-00000000000000000-enc0000000000000000";
  std::vector<std::string> pcrs;
  std::string nonce, user_data, public_key;
  bool debug_mode = false;
  std::string format = "raw";
  std::string out = "-";
};

int Fail(const std::string& what, const absl::Status& s) {
  std::cerr << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

absl::StatusOr<std::optional<Bytes>> OptionalHex(const std::string& hex, const char* name) {
  if (hex.empty()) return std::optional<Bytes>();
  auto b = base::HexDecode(hex);
  if (!b.ok()) {
    return absl::InvalidArgumentError(std::string("--") + name + " is not valid hex");
  }
  return std::optional<Bytes>(*std::move(b));
}

nlohmann::ordered_json OptionalHexJson(const std::optional<Bytes>& b) {
  return b ? nlohmann::ordered_json(base::HexEncode(*b)) : nlohmann::ordered_json(nullptr);
}

int RunVerify(const VerifyArgs& a) {
  auto root = ReadInput(a.root);
  if (!root.ok()) return Fail("reading --root", root.status());
  attest::VerifierOptions options;
  options.allow_simulation_root = a.allow_simulation_root;
  auto verifier = attest::Verifier::Create(*root, options);
  if (!verifier.ok()) return Fail("pinning the root certificate", verifier.status());

  attest::Expectations expect;
  for (const std::string& p : a.expect_pcrs) {
    auto parsed = attest::ParsePcrArg(p);
    if (!parsed.ok()) return Fail("--expect-pcr", parsed.status());
    expect.pcrs[parsed->first] = parsed->second;
  }
  auto nonce = OptionalHex(a.nonce, "nonce");
  auto user_data = OptionalHex(a.user_data, "user-data");
  auto public_key = OptionalHex(a.public_key, "public-key");
  for (const auto* s : {&nonce, &user_data, &public_key}) {
    if (!s->ok()) return Fail("arguments", s->status());
  }
  expect.nonce = *nonce;
  expect.user_data = *user_data;
  expect.public_key = *public_key;
  if (a.max_age_seconds >= 0) expect.max_age = absl::Seconds(a.max_age_seconds);

  absl::Time at = absl::Now();
  if (!a.at.empty()) {
    auto t = ParseTime(a.at);
    if (!t.ok()) return Fail("--at", t.status());
    at = *t;
  }
  auto raw = ReadInput(a.document);
  if (!raw.ok()) return Fail("reading the document", raw.status());
  auto doc = DecodeBinaryInput(*raw);
  if (!doc.ok()) return Fail("reading the document", doc.status());

  auto verified = verifier->Verify(*doc, expect, at);
  if (!verified.ok()) {
    std::cerr << "error: attestation document rejected: " << verified.status().message() << "\n";
    return 1;
  }
  const attest::AttestationDocument& d = verified->document;
  nlohmann::ordered_json pcrs = nlohmann::ordered_json::object();
  for (const auto& [i, v] : d.pcrs) pcrs[std::to_string(i)] = base::HexEncode(v);
  nlohmann::ordered_json out = {
      {"verified", true},
      {"simulation", verified->simulation},
      {"verified_at", FormatRfc3339(at)},
      {"module_id", d.module_id},
      {"digest", d.digest},
      {"timestamp_ms", d.timestamp_ms},
      {"timestamp", FormatRfc3339(absl::FromUnixMillis(static_cast<int64_t>(d.timestamp_ms)))},
      {"pcrs", pcrs},
      {"public_key", OptionalHexJson(d.public_key)},
      {"user_data", OptionalHexJson(d.user_data)},
      {"nonce", OptionalHexJson(d.nonce)},
      {"certificate",
       {{"subject", verified->leaf_subject},
        {"not_before", FormatRfc3339(verified->leaf_not_before)},
        {"not_after", FormatRfc3339(verified->leaf_not_after)}}},
      {"cabundle_len", d.cabundle.size()},
      {"root",
       {{"subject", verified->root_subject}, {"sha256", base::HexEncode(verified->root_sha256)}}},
      {"checked",
       {{"pcrs", expect.pcrs.size()},
        {"nonce", expect.nonce.has_value()},
        {"user_data", expect.user_data.has_value()},
        {"public_key", expect.public_key.has_value()},
        {"max_age_seconds", expect.max_age
                                ? nlohmann::ordered_json(absl::ToDoubleSeconds(*expect.max_age))
                                : nullptr}}}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

int RunMeasure(const std::vector<std::string>& files) {
  Bytes all;
  for (const std::string& f : files) {
    auto b = ReadInput(f);
    if (!b.ok()) return Fail("reading " + f, b.status());
    Append(all, *b);
  }
  std::cout << base::HexEncode(attest::MeasureBytes(all)) << "\n";
  return 0;
}

int RunSimCa(const std::string& dir) {
  auto ca = attest::SimulationCa::Create(absl::Now());
  if (!ca.ok()) return Fail("creating the simulation CA", ca.status());
  if (auto s = ca->Save(dir); !s.ok()) return Fail("saving the simulation CA", s);
  std::cerr << "simulation CA written to " << dir
            << " (root.pem is what verifiers pin, with --allow-simulation-root)\n";
  return 0;
}

int RunEmulate(const EmulateArgs& a) {
  auto ca = attest::SimulationCa::Load(a.ca_dir);
  if (!ca.ok()) return Fail("loading the simulation CA", ca.status());
  attest::PcrMap pcrs;
  for (uint32_t i = 0; i < 16; ++i) pcrs[i] = attest::ZeroPcr();
  for (const std::string& p : a.pcrs) {
    auto parsed = attest::ParsePcrArg(p);
    if (!parsed.ok()) return Fail("--pcr", parsed.status());
    pcrs[parsed->first] = parsed->second;
  }
  auto nonce = OptionalHex(a.nonce, "nonce");
  auto user_data = OptionalHex(a.user_data, "user-data");
  auto public_key = OptionalHex(a.public_key, "public-key");
  for (const auto* s : {&nonce, &user_data, &public_key}) {
    if (!s->ok()) return Fail("arguments", s->status());
  }
  attest::EmulatedNsm nsm(std::make_shared<attest::SimulationCa>(*std::move(ca)), a.module_id, pcrs,
                          a.debug_mode);
  auto doc = nsm.Attest(*user_data, *nonce, *public_key, absl::Now());
  if (!doc.ok()) return Fail("creating the attestation document", doc.status());
  Bytes out;
  if (a.format == "hex") {
    out = ToBytes(base::HexEncode(*doc) + "\n");
  } else if (a.format == "base64") {
    out = ToBytes(base::Base64Encode(*doc) + "\n");
  } else {
    out = *doc;
  }
  if (a.out == "-") {
    std::cout.write(reinterpret_cast<const char*>(out.data()),
                    static_cast<std::streamsize>(out.size()));
    return 0;
  }
  if (auto s = base::WriteFileAtomic(a.out, out); !s.ok()) return Fail("writing --out", s);
  return 0;
}

}  // namespace

void AddAttestCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* attest = app.add_subcommand("attest", "Nitro-format attestation documents");
  attest->require_subcommand(1);

  auto verify_args = std::make_shared<VerifyArgs>();
  CLI::App* verify = attest->add_subcommand(
      "verify",
      "Verify an attestation document (raw CBOR, hex or base64; '-' for stdin). Prints a JSON "
      "summary, or the failed check and exits 1.");
  verify->add_option("--root", verify_args->root, "Pinned root certificate (PEM or DER)")
      ->required();
  verify->add_option("--at", verify_args->at,
                     "Verification time: RFC 3339, Unix seconds, or Unix ms with 'ms' suffix "
                     "(default: now)");
  verify->add_option("--expect-pcr", verify_args->expect_pcrs, "Expected PCR as N=HEX (repeat)");
  verify->add_option("--nonce", verify_args->nonce, "Expected nonce (hex)");
  verify->add_option("--user-data", verify_args->user_data, "Expected user_data (hex)");
  verify->add_option("--public-key", verify_args->public_key, "Expected public_key (hex)");
  verify->add_option("--max-age", verify_args->max_age_seconds,
                     "Reject documents older than this many seconds");
  verify->add_flag("--allow-simulation-root", verify_args->allow_simulation_root,
                   "Trust a confide simulation root (development and CI only)");
  verify->add_option("document", verify_args->document, "Document file, or - for stdin")
      ->required();
  verify->callback(
      [run, verify_args] { *run = [verify_args] { return RunVerify(*verify_args); }; });

  auto measure_files = std::make_shared<std::vector<std::string>>();
  CLI::App* measure =
      attest->add_subcommand("measure",
                             "Print the PCR value of files as Nitro measures a section: "
                             "SHA-384(0^48 || SHA-384(concatenated files))");
  measure->add_option("files", *measure_files, "Files, measured concatenated")->required();
  measure->callback(
      [run, measure_files] { *run = [measure_files] { return RunMeasure(*measure_files); }; });

  auto ca_dir = std::make_shared<std::string>();
  CLI::App* sim_ca = attest->add_subcommand(
      "sim-ca", "Create a simulation CA for the emulated secure module (development only)");
  sim_ca->add_option("--dir", *ca_dir, "Output directory")->required();
  sim_ca->callback([run, ca_dir] { *run = [ca_dir] { return RunSimCa(*ca_dir); }; });

  auto em = std::make_shared<EmulateArgs>();
  CLI::App* emulate = attest->add_subcommand(
      "emulate", "Sign an attestation document with the emulated secure module");
  emulate->add_option("--ca", em->ca_dir, "Simulation CA directory (from sim-ca)")->required();
  emulate->add_option("--module-id", em->module_id, "Enclave module id");
  emulate->add_option("--pcr", em->pcrs, "PCR value N=HEX (repeat; others are zero)");
  emulate->add_option("--nonce", em->nonce, "nonce (hex)");
  emulate->add_option("--user-data", em->user_data, "user_data (hex)");
  emulate->add_option("--public-key", em->public_key, "public_key (hex)");
  emulate->add_flag("--debug-mode", em->debug_mode, "Report PCR0/1/2/8 as zeros, as Nitro does");
  emulate->add_option("--format", em->format, "raw|hex|base64")
      ->check(CLI::IsMember({"raw", "hex", "base64"}));
  emulate->add_option("--out", em->out, "Output file (default: stdout)");
  emulate->callback([run, em] { *run = [em] { return RunEmulate(*em); }; });
}

}  // namespace confide::cli
