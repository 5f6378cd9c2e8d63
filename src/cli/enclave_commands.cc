#include "cli/enclave_commands.h"

#include <iostream>
#include <memory>
#include <string>

#include "base/encoding.h"
#include "base/file.h"
#include "cli/io.h"
#include "crypto/x509.h"
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
}

}  // namespace confide::cli
