#include "cli/model_pull.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "cli/cli.h"
#include "cli/tls_commands.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "http/http.h"
#include "testing/testdata.h"

namespace confide::cli {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/confide-pull-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 8));
  return s;
}

// MirrorServer serves `model` (the pinned bytes) and misbehaving variants over HTTPS (or plain
// HTTP) on 127.0.0.1, with a certificate from WriteSelfSignedTls.
class MirrorServer {
 public:
  MirrorServer(std::string model, bool tls) : model_(std::move(model)) {
    SelfSignedTlsOptions t;
    t.out_dir = pki_.path();
    t.hosts = {"localhost"};
    t.ips = {"127.0.0.1"};
    EXPECT_TRUE(WriteSelfSignedTls(t, absl::Now()).ok());
    http::ServerOptions o;
    if (tls) o.tls = http::TlsServerOptions{pki_.File("cert.pem"), pki_.File("key.pem")};
    auto server = http::Server::Start(o, [this](const http::Request& r) { return Handle(r); });
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    origin_ = absl::StrCat(tls ? "https" : "http", "://127.0.0.1:", server_->port());
  }
  const std::string& origin() const { return origin_; }
  std::string ca() const { return pki_.File("ca.pem"); }
  int hits() const { return hits_.load(); }

 private:
  http::Response Handle(const http::Request& r) {
    ++hits_;
    const std::string& t = r.target;
    auto redirect = [](int status, std::string to) {
      http::Response resp;
      resp.status = status;
      resp.headers.Add("Location", std::move(to));
      resp.body = "moved";
      return resp;
    };
    if (t == "/m/model.gguf") return http::Response{200, {}, model_, {}};
    if (t == "/m/hop-relative.gguf") return redirect(302, "/m/model.gguf");
    if (t == "/m/hop-sibling.gguf") return redirect(307, "hop-relative.gguf");
    if (t == "/m/hop-absolute.gguf") return redirect(301, origin_ + "/m/hop-sibling.gguf");
    if (t == "/m/loop.gguf") return redirect(302, "/m/loop.gguf");
    if (t == "/m/to-plain-http.gguf") return redirect(302, "http://192.0.2.1/m/model.gguf");
    if (t == "/m/wrong.gguf") {
      std::string wrong = model_;
      wrong[wrong.size() / 2] ^= 1;
      return http::Response{200, {}, wrong, {}};
    }
    if (t == "/m/short-length.gguf") {  // Content-Length announces fewer bytes
      return http::Response{200, {}, model_.substr(0, model_.size() - 1), {}};
    }
    if (t == "/m/long-length.gguf") return http::Response{200, {}, model_ + "x", {}};
    if (t == "/m/short-stream.gguf" || t == "/m/long-stream.gguf") {  // chunked: no length
      const bool longer = t == "/m/long-stream.gguf";
      http::Response resp;
      resp.stream = [this, longer](http::BodyWriter& w) {
        const size_t n = longer ? model_.size() : model_.size() - 100;
        for (size_t off = 0; off < n; off += 4096) {
          if (!w.Write(std::string_view(model_).substr(off, std::min<size_t>(4096, n - off)))) {
            return;
          }
        }
        if (longer) w.Write(std::string(100000, 'A'));
      };
      return resp;
    }
    return http::Response::Text(404, "no");
  }

  std::string model_;
  TempDir pki_;
  std::unique_ptr<http::Server> server_;
  std::string origin_;
  std::atomic<int> hits_{0};
};

struct Fixture {
  explicit Fixture(size_t size = 300000, bool tls = true)
      : model(Pattern(size, 7)),
        sha(base::HexEncode(crypto::Sha256(AsBytes(model)))),
        server(model, tls) {}
  llm::CatalogEntry Entry(const std::string& path) {
    url = "https://models.example.invalid" + path;
    return llm::CatalogEntry{"tiny", url, model.size(), sha, "test"};
  }
  PullOptions Options() const {
    PullOptions o;
    o.out_dir = out.File("models");
    o.mirror = server.origin();
    o.ca_file = server.ca();
    o.timeout = absl::Seconds(10);
    return o;
  }
  std::string Final() const { return out.File("models/tiny.gguf"); }
  std::string PartialPath() const { return out.File("models/.tiny.gguf.partial"); }

  std::string model;
  std::string sha;
  std::string url;
  MirrorServer server;
  TempDir out;
};

std::string ReadAll(const std::string& path) {
  auto b = base::ReadFileBounded(path, 16 << 20);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? std::string(b->begin(), b->end()) : "";
}

int RunCli(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return RunConfide(static_cast<int>(argv.size()), argv.data());
}

TEST(ModelPull, DownloadsVerifiesAndSkipsWhenPresent) {
  Fixture f;
  auto r = PullModel(f.Entry("/m/model.gguf"), f.Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->downloaded);
  EXPECT_EQ(r->path, f.Final());
  EXPECT_EQ(ReadAll(f.Final()), f.model);
  EXPECT_FALSE(fs::exists(f.PartialPath()));
  const int hits = f.server.hits();
  auto again = PullModel(f.Entry("/m/model.gguf"), f.Options());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->downloaded);
  EXPECT_EQ(f.server.hits(), hits);  // not fetched again
}

TEST(ModelPull, ReplacesAnExistingFileWithAnotherDigest) {
  Fixture f;
  fs::create_directories(f.out.File("models"));
  std::string bad = f.model;
  bad[0] ^= 1;
  ASSERT_TRUE(base::WriteFileAtomic(f.Final(), AsBytes(bad)).ok());
  auto r = PullModel(f.Entry("/m/model.gguf"), f.Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->downloaded);
  EXPECT_EQ(ReadAll(f.Final()), f.model);
}

TEST(ModelPull, FollowsRelativeSiblingAndAbsoluteRedirects) {
  Fixture f;
  for (const char* path : {"/m/hop-relative.gguf", "/m/hop-sibling.gguf", "/m/hop-absolute.gguf"}) {
    fs::remove_all(f.out.File("models"));
    auto r = PullModel(f.Entry(path), f.Options());
    ASSERT_TRUE(r.ok()) << path << ": " << r.status();
    EXPECT_EQ(ReadAll(f.Final()), f.model) << path;
  }
}

TEST(ModelPull, RefusesTooManyRedirects) {
  Fixture f;
  auto r = PullModel(f.Entry("/m/loop.gguf"), f.Options());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("redirects"), std::string::npos);
  EXPECT_FALSE(fs::exists(f.PartialPath()));
  EXPECT_FALSE(fs::exists(f.Final()));
}

TEST(ModelPull, RefusesRedirectToPlainHttp) {
  Fixture f;
  auto r = PullModel(f.Entry("/m/to-plain-http.gguf"), f.Options());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_FALSE(fs::exists(f.PartialPath()));
}

TEST(ModelPull, RefusesDigestMismatchAndLeavesNoFile) {
  Fixture f;
  auto r = PullModel(f.Entry("/m/wrong.gguf"), f.Options());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find("digest mismatch: got "), std::string::npos) << msg;
  EXPECT_NE(msg.find(" want " + f.sha), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(f.PartialPath()));
  EXPECT_FALSE(fs::exists(f.Final()));
  EXPECT_FALSE(fs::exists(f.out.File("models")));  // the directory it created is gone too
}

TEST(ModelPull, RefusesTruncatedAndOversizedBodies) {
  Fixture f;
  for (const char* path : {"/m/short-length.gguf", "/m/long-length.gguf", "/m/short-stream.gguf",
                           "/m/long-stream.gguf"}) {
    auto r = PullModel(f.Entry(path), f.Options());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << path << ": " << r.status();
    EXPECT_FALSE(fs::exists(f.PartialPath())) << path;
    EXPECT_FALSE(fs::exists(f.Final())) << path;
  }
  auto r = PullModel(f.Entry("/m/long-stream.gguf"), f.Options());
  EXPECT_NE(std::string(r.status().message()).find("exceeds the pinned size"), std::string::npos)
      << r.status();
  r = PullModel(f.Entry("/m/short-stream.gguf"), f.Options());
  EXPECT_NE(std::string(r.status().message()).find("truncated"), std::string::npos) << r.status();
}

TEST(ModelPull, HttpStatusIsReported) {
  Fixture f;
  auto r = PullModel(f.Entry("/m/absent.gguf"), f.Options());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("HTTP 404"), std::string::npos);
  EXPECT_FALSE(fs::exists(f.PartialPath()));
}

TEST(ModelPull, UntrustedCertificateFails) {
  Fixture f;
  PullOptions o = f.Options();
  o.ca_file.clear();  // the system store does not know the test CA
  auto r = PullModel(f.Entry("/m/model.gguf"), o);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(f.PartialPath()));
  EXPECT_FALSE(fs::exists(f.Final()));
}

TEST(ModelPull, PlainHttpOnlyToLoopback) {
  Fixture f(300000, /*tls=*/false);
  PullOptions o = f.Options();
  o.ca_file.clear();
  auto r = PullModel(f.Entry("/m/model.gguf"), o);  // http://127.0.0.1:port
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadAll(f.Final()), f.model);
  o.mirror = "http://192.0.2.1:8080";
  fs::remove_all(f.out.File("models"));
  r = PullModel(f.Entry("/m/model.gguf"), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("plain http"), std::string::npos);
  o.mirror = "https://127.0.0.1:1/with/path";
  EXPECT_EQ(PullModel(f.Entry("/m/model.gguf"), o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ModelPull, UnresolvableHostSuggestsCopyingTheFile) {
  Fixture f;
  PullOptions o = f.Options();
  o.mirror = "https://confide-no-such-host.invalid";
  auto r = PullModel(f.Entry("/m/model.gguf"), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("--model PATH"), std::string::npos)
      << r.status();
  EXPECT_FALSE(fs::exists(f.PartialPath()));
}

TEST(ModelPull, LoopbackHosts) {
  for (const char* h : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"}) {
    EXPECT_TRUE(IsLoopbackHost(h)) << h;
  }
  for (const char* h : {"127.0.0.1.example.com", "127.0.0", "1127.0.0.1", "128.0.0.1", "::2",
                        "localhost.example", "127.0.0.256", "127..0.1", ""}) {
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
  }
}

TEST(ModelPull, CatalogueIsWellFormed) {
  ASSERT_FALSE(llm::ModelCatalog().empty());
  for (const llm::CatalogEntry& e : llm::ModelCatalog()) {
    EXPECT_EQ(e.sha256_hex.size(), 64u) << e.name;
    EXPECT_TRUE(e.url.substr(0, 8) == "https://") << e.name;
    EXPECT_GT(e.size, 0u) << e.name;
    EXPECT_EQ(llm::FindCatalogEntry(e.name), &e);
  }
  const llm::CatalogEntry* s = llm::FindCatalogEntry("stories260K");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->size, 1185376u);
  EXPECT_EQ(llm::FindCatalogEntry("no-such-model"), nullptr);
}

// The real catalogue entry, served from the shared copy through a mirror with a redirect hop.
TEST(ModelPull, Stories260KThroughMirror) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto bytes = base::ReadFileBounded(path.string(), 16 << 20);
  ASSERT_TRUE(bytes.ok());
  const llm::CatalogEntry* s = llm::FindCatalogEntry("stories260K");
  ASSERT_NE(s, nullptr);
  // The mirror redirects the catalogue's path to /cdn/blob (as huggingface.co redirects to its
  // CDN) and serves the bytes there.
  class Real {
   public:
    explicit Real(std::string body) {
      SelfSignedTlsOptions t;
      t.out_dir = pki.path();
      t.ips = {"127.0.0.1"};
      EXPECT_TRUE(WriteSelfSignedTls(t, absl::Now()).ok());
      http::ServerOptions o;
      o.tls = http::TlsServerOptions{pki.File("cert.pem"), pki.File("key.pem")};
      auto started = http::Server::Start(o, [body](const http::Request& r) {
        if (r.target == "/cdn/blob") return http::Response{200, {}, body, {}};
        http::Response hop;
        hop.status = 302;
        hop.headers.Add("Location", "/cdn/blob");
        return hop;
      });
      EXPECT_TRUE(started.ok());
      server = std::move(*started);
    }
    TempDir pki;
    std::unique_ptr<http::Server> server;
  };
  Real real(std::string(bytes->begin(), bytes->end()));
  TempDir out;
  PullOptions o;
  o.out_dir = out.File("models");
  o.mirror = absl::StrCat("https://127.0.0.1:", real.server->port());
  o.ca_file = real.pki.File("ca.pem");
  auto r = PullModel(*s, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->path, out.File("models/stories260K.gguf"));
  EXPECT_EQ(ReadAll(r->path).size(), s->size);

  // And through the CLI.
  TempDir out2;
  EXPECT_EQ(RunCli({"confide", "model", "pull", "stories260K", "--out", out2.path(), "--mirror",
                    o.mirror, "--ca", o.ca_file}),
            0);
  EXPECT_TRUE(fs::exists(out2.File("stories260K.gguf")));
}

TEST(ModelPullCli, ListUnknownAndMissingName) {
  EXPECT_EQ(RunCli({"confide", "model", "pull", "--list"}), 0);
  EXPECT_EQ(RunCli({"confide", "model", "pull", "no-such-model"}), 2);
  EXPECT_EQ(RunCli({"confide", "model", "pull"}), 2);
  EXPECT_EQ(RunCli({"confide", "model", "pull", "stories260K", "--mirror", "http://192.0.2.1"}), 1);
}

}  // namespace
}  // namespace confide::cli
