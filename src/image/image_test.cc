#include "image/image.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "attest/pcr.h"
#include "base/file.h"
#include "crypto/ecdsa.h"
#include "crypto/sha.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "image/builder.h"
#include "image/manifest.h"

namespace confide::image {
namespace {

namespace fs = std::filesystem;

// TempDir is a fresh directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "confide-image-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

void SetMtime(const std::string& path, time_t sec) {
  struct timeval tv[2] = {{sec, 0}, {sec, 0}};
  ASSERT_EQ(::utimes(path.c_str(), tv), 0);
}

constexpr char kManifest[] = R"(# demo enclave
name = "demo"

[runtime]
files = ["bin/confide-enclave", "lib/libdemo.so.1"]  # the "kernel + bootstrap"

[application]
files = [
  "app/config.json",
  "app/policy.json",   # trailing comma allowed
]
model_sha256 = "0000000000000000000000000000000000000000000000000000000000000001"
)";

void WriteInputs(const TempDir& d, time_t mtime, bool reversed) {
  WriteText(d / "bin/confide-enclave", "ELF runtime binary");
  WriteText(d / "lib/libdemo.so.1", "ELF library");
  WriteText(d / "app/config.json", "{\"port\": 5000}");
  WriteText(d / "app/policy.json", "{\"allow\": []}");
  for (const char* f :
       {"bin/confide-enclave", "lib/libdemo.so.1", "app/config.json", "app/policy.json"}) {
    SetMtime(d / f, mtime);
  }
  std::string manifest = kManifest;
  if (reversed) {
    manifest = R"(name = "demo"
[application]
model_sha256 = "0000000000000000000000000000000000000000000000000000000000000001"
files = ["app/policy.json", "app/config.json"]
[runtime]
files = ["lib/libdemo.so.1", "bin/confide-enclave"]
)";
  }
  WriteText(d / "enclave.toml", manifest);
  ::chmod((d / "bin/confide-enclave").c_str(), reversed ? 0700 : 0755);
}

TEST(Manifest, ParsesTheSubset) {
  auto m = ParseManifest(kManifest);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->name, "demo");
  EXPECT_EQ(m->runtime_files,
            (std::vector<std::string>{"bin/confide-enclave", "lib/libdemo.so.1"}));
  EXPECT_EQ(m->application_files.size(), 2u);
  ASSERT_TRUE(m->model_sha256.has_value());
  EXPECT_EQ(m->model_sha256->back(), 1);
  EXPECT_FALSE(m->signing_key.has_value());

  auto r = ResolveManifestPaths(*m, "/base");
  EXPECT_EQ(r.runtime_files[0], "/base/bin/confide-enclave");
  auto esc = ParseManifest("name = \"a\"\n[runtime]\nfiles = [\"x\\\"y\", \"/abs\"]\r\n");
  ASSERT_TRUE(esc.ok()) << esc.status();
  EXPECT_EQ(esc->runtime_files[0], "x\"y");
  EXPECT_EQ(ResolveManifestPaths(*esc, "/b").runtime_files[1], "/abs");
}

TEST(Manifest, RejectsWhatIsOutsideTheSubsetWithTheLine) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"[runtime]\nfiles=[\"a\"]\n", "name is required"},
      {"name = \"a\"\n", "[runtime] files"},
      {"name = \"a\"\nname = \"b\"\n[runtime]\nfiles=[\"a\"]", "line 2: key defined twice"},
      {"name = \"a\"\n[runtime]\nfiles=[\"a\"]\n[runtime]\n", "line 4: table defined twice"},
      {"name = \"a\"\n[runtime]\nfile=[\"a\"]\n", "line 3: unknown key: runtime.file"},
      {"name = \"a\"\n[kernel]\n", "line 2: unknown table"},
      {"name = 'a'\n", "line 1: value must be"},
      {"name = 5\n", "line 1: value must be"},
      {"name = \"a\" extra\n", "line 1: unexpected text"},
      {"name = \"a/b\"\n", "line 1: name must match"},
      {"name = \"a\n", "line 1: control character"},
      {"name = \"a\\x\"\n", "unsupported escape"},
      {"name = \"a\"\n[runtime]\nfiles = \"a\"\n", "must be an array"},
      {"name = \"a\"\n[runtime]\nfiles = [\"a\" \"b\"]\n", "expected ',' or ']'"},
      {"name = \"a\"\n[runtime]\nfiles = [\"a\",\n", "line 4: expected a \"basic string\""},
      {"name = \"a\"\n[runtime]\nfiles = [\"\"]\n", "empty path"},
      {"name = \"a\"\n[runtime]\nfiles=[\"a\"]\n[application]\nmodel_sha256 = \"00\"\n",
       "64 hex digits"},
      {"name = \"a\"\n[runtime]\nfiles=[\"a\"]\n[signing]\nkey = \"k\"\n", "both key and cert"},
      {"a.b = \"a\"\n", "line 1: expected '='"},
  };
  for (const Case& c : cases) {
    auto m = ParseManifest(c.text);
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(m.status().message()).find(c.want), std::string::npos)
        << m.status() << " wanted " << c.want;
  }
  EXPECT_FALSE(ParseManifest(std::string(kMaxManifestBytes + 1, '#')).ok());
}

TEST(Image, BuildIsDeterministicAcrossDirectoriesMtimesAndListOrder) {
  TempDir a, b, elsewhere;
  WriteInputs(a, 1000000000, false);
  WriteInputs(b, 1700000000, true);
  auto one = BuildImageFromManifestFile(a / "enclave.toml");
  ASSERT_TRUE(one.ok()) << one.status();
  auto again = BuildImageFromManifestFile(a / "enclave.toml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(one->bytes, again->bytes);

  // Another directory, other mtimes and modes, lists in another order, built from another cwd
  // with a relative manifest path.
  std::string cwd = fs::current_path().string();
  ASSERT_EQ(::chdir(elsewhere.path().c_str()), 0);
  auto two = BuildImageFromManifestFile(fs::relative(b / "enclave.toml").string());
  ASSERT_EQ(::chdir(cwd.c_str()), 0);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(one->bytes, two->bytes);
  EXPECT_EQ(one->measurements.pcr0, two->measurements.pcr0);
  EXPECT_FALSE(one->measurements.pcr8.has_value());

  // Different content, different PCR2 but the same PCR1.
  WriteText(b / "app/config.json", "{\"port\": 5001}");
  auto three = BuildImageFromManifestFile(b / "enclave.toml");
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(one->measurements.pcr1, three->measurements.pcr1);
  EXPECT_NE(one->measurements.pcr2, three->measurements.pcr2);
  EXPECT_NE(one->measurements.pcr0, three->measurements.pcr0);
}

TEST(Image, ParseReturnsFilesAndNitroStyleMeasurements) {
  TempDir d;
  WriteInputs(d, 1, false);
  auto built = BuildImageFromManifestFile(d / "enclave.toml");
  ASSERT_TRUE(built.ok()) << built.status();
  auto img = ParseImage(built->bytes);
  ASSERT_TRUE(img.ok()) << img.status();
  ASSERT_EQ(img->runtime.size(), 2u);
  EXPECT_EQ(img->runtime[0].path, "confide-enclave");
  EXPECT_EQ(AsStringView(img->runtime[0].data), "ELF runtime binary");
  ASSERT_EQ(img->application.size(), 3u);
  EXPECT_EQ(img->application[0].path, "confide.meta");
  auto meta = ParseMetadata(img->application);
  ASSERT_EQ(meta.size(), 2u);
  EXPECT_EQ(meta[0], std::make_pair(std::string("name"), std::string("demo")));
  EXPECT_EQ(meta[1].first, "model_sha256");

  // PCRn = SHA-384(48 zero bytes || SHA-384(section data)); PCR0 over both sections.
  Bytes zero(48, 0);
  EXPECT_EQ(img->measurements.pcr1,
            crypto::Sha384(Concat({zero, crypto::Sha384(img->runtime_data)})));
  EXPECT_EQ(img->measurements.pcr2, attest::MeasureBytes(img->application_data));
  EXPECT_EQ(img->measurements.pcr0,
            attest::MeasureBytes(Concat({img->runtime_data, img->application_data})));
  EXPECT_EQ(img->measurements.pcr0, built->measurements.pcr0);
  EXPECT_EQ(img->measurements.AsPcrMap().size(), 3u);
  EXPECT_EQ(img->image_digest, crypto::Sha384(built->bytes));
}

TEST(Image, EveryBitFlipAndTruncationIsRejected) {
  Bytes rt = *EncodeArchive({{"a", ToBytes("x")}});
  Bytes app = *EncodeArchive({{"b", ToBytes("yz")}, {"c/d", {}}});
  Bytes image = EncodeUnsignedImage(rt, app, 2);
  ASSERT_TRUE(ParseImage(image).ok());
  for (size_t i = 0; i < image.size() * 8; ++i) {
    Bytes bad = image;
    bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_FALSE(ParseImage(bad).ok()) << "bit " << i;
  }
  for (size_t n = 0; n < image.size(); ++n) {
    EXPECT_FALSE(ParseImage(ByteSpan(image).subspan(0, n)).ok()) << "length " << n;
  }
  Bytes longer = image;
  longer.push_back(0);
  EXPECT_FALSE(ParseImage(longer).ok());
}

TEST(Image, ArchiveRejectsBadPathsAndDuplicates) {
  for (const char* p : {"", "/abs", "a/../b", "./a", "a//b", "a/", "sp ace", "a\\b", "..", "é"}) {
    EXPECT_FALSE(EncodeArchive({{p, {}}}).ok()) << p;
  }
  EXPECT_FALSE(EncodeArchive({{"a", {}}, {"a", {}}}).ok());
  EXPECT_TRUE(EncodeArchive({{"lib/libc.so.6", {}}, {"a+b_c-d", {}}}).ok());
}

TEST(Image, MissingFilesAndBadManifestsLeaveNoOutput) {
  TempDir d;
  WriteInputs(d, 1, false);
  std::string out = d / "app.eif";
  fs::remove(d / "app/policy.json");
  auto r = BuildImageFile(d / "enclave.toml", out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status().message()).find("app/policy.json"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));

  WriteText(d / "enclave.toml", "name = \"x\"\n[runtime]\nfiles = [bad]\n");
  r = BuildImageFile(d / "enclave.toml", out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("line 3"), std::string::npos) << r.status();
  EXPECT_FALSE(fs::exists(out));

  r = BuildImageFile(d / "missing.toml", out);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);

  // Two files with one basename would collide in the image.
  WriteText(d / "x/config.json", "1");
  WriteText(d / "enclave.toml",
            "name = \"x\"\n[runtime]\nfiles = [\"bin/confide-enclave\"]\n[application]\n"
            "files = [\"app/config.json\", \"x/config.json\"]\n");
  r = BuildImageFile(d / "enclave.toml", out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("same image path"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  // Leftover temporaries would be partial output too.
  for (const auto& e : fs::directory_iterator(d.path())) {
    EXPECT_EQ(e.path().string().find("app.eif"), std::string::npos) << e.path();
  }
}

TEST(Image, SignedImagesCarryPcr8AndVerify) {
  TempDir d;
  WriteInputs(d, 1, false);
  auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
  ASSERT_TRUE(key.ok());
  crypto::CertificateSpec spec;
  spec.subject.common_name = "confide image signer";
  spec.not_before = absl::FromUnixSeconds(1700000000);
  spec.not_after = spec.not_before + absl::Hours(24 * 365);
  auto cert = crypto::CreateSelfSignedCertificate(spec, *key);
  ASSERT_TRUE(cert.ok()) << cert.status();
  ASSERT_TRUE(base::WriteFileAtomic(d / "signer.key", key->Pem().ExposeSecret(), 0600).ok());
  ASSERT_TRUE(base::WriteFileAtomic(d / "signer.pem", AsBytes(cert->Pem())).ok());
  std::string manifest =
      std::string(kManifest) + "[signing]\nkey = \"signer.key\"\ncertificate = \"signer.pem\"\n";
  WriteText(d / "enclave.toml", manifest);

  auto one = BuildImageFromManifestFile(d / "enclave.toml");
  ASSERT_TRUE(one.ok()) << one.status();
  auto two = BuildImageFromManifestFile(d / "enclave.toml");
  ASSERT_TRUE(two.ok());
  ASSERT_TRUE(one->measurements.pcr8.has_value());
  EXPECT_EQ(*one->measurements.pcr8, attest::MeasureBytes(cert->Der()));
  EXPECT_EQ(one->measurements.AsPcrMap(), two->measurements.AsPcrMap());

  auto img = ParseImage(one->bytes);
  ASSERT_TRUE(img.ok()) << img.status();
  ASSERT_TRUE(img->signature.has_value());
  EXPECT_EQ(img->measurements.AsPcrMap(), one->measurements.AsPcrMap());
  EXPECT_EQ(img->signature->certificate_der, cert->Der());

  // A signature made for another image fails, even with valid section hashes.
  TempDir other;
  WriteInputs(other, 1, false);
  WriteText(other / "app/config.json", "{}");
  fs::copy(d / "signer.key", other / "signer.key");
  fs::copy(d / "signer.pem", other / "signer.pem");
  WriteText(other / "enclave.toml", manifest);
  auto foreign = BuildImageFromManifestFile(other / "enclave.toml");
  ASSERT_TRUE(foreign.ok());
  auto foreign_img = ParseImage(foreign->bytes);
  ASSERT_TRUE(foreign_img.ok());
  Bytes spliced = EncodeUnsignedImage(img->runtime_data, img->application_data, 3);
  AppendSignatureSection(*foreign_img->signature, spliced);
  EXPECT_EQ(ParseImage(spliced).status().code(), absl::StatusCode::kUnauthenticated);

  // A key that does not match the certificate is refused at build time.
  auto other_key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
  ASSERT_TRUE(base::WriteFileAtomic(d / "signer.key", other_key->Pem().ExposeSecret(), 0600).ok());
  auto mismatch = BuildImageFile(d / "enclave.toml", d / "app.eif");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(std::string(mismatch.status().message()).find("does not match"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "app.eif"));
}

}  // namespace
}  // namespace confide::image
