#include "gateway/provision.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/log.h"
#include "nlohmann/json.hpp"

namespace confide::gateway {
namespace {

constexpr size_t kModelPieceBytes = 256 * 1024;

http::Response Text(int status, std::string body) {
  return http::Response::Text(status, std::move(body) + "\n");
}

// PeerCid returns the CID of a "cid:port" remote address (0 when it does not parse).
uint32_t PeerCid(const std::string& remote) {
  auto a = enclave::ParseVsockAddress(remote);
  return a.ok() ? a->cid : 0;
}

struct OwnedFd {
  explicit OwnedFd(int f) : fd(f) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { ::close(fd); }
  int fd;
};

}  // namespace

absl::StatusOr<SecretBytes> ParseCredentials(ByteSpan file) {
  nlohmann::json j = nlohmann::json::parse(file.begin(), file.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("credentials: not a JSON object");
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const char* required : {"AccessKeyId", "SecretAccessKey"}) {
    auto it = j.find(required);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("credentials: ", required, " must be a non-empty string"));
    }
    out[required] = *it;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "AccessKeyId" || key == "SecretAccessKey") continue;
    if (key == "SessionToken") {
      if (!it->is_string()) {
        return absl::InvalidArgumentError("credentials: SessionToken must be a string");
      }
      if (!it->get_ref<const std::string&>().empty()) out["SessionToken"] = *it;
      continue;
    }
    if (key == "Version" || key == "Expiration") continue;
    // The field name is ours to report only when it is a plain identifier.
    return absl::InvalidArgumentError(
        absl::StrCat("credentials: unexpected field (", key.size(), " characters)"));
  }
  std::string text = out.dump();
  SecretBytes secret = SecretBytes::CopyFrom(AsBytes(text));
  std::fill(text.begin(), text.end(), '\0');
  return secret;
}

absl::StatusOr<std::unique_ptr<ProvisionServer>> ProvisionServer::Start(
    enclave::VsockTransport& transport, const ProvisionOptions& options) {
  std::unique_ptr<ProvisionServer> s(new ProvisionServer());
  s->options_ = options;
  {
    auto file = base::ReadFileBounded(options.credentials_path, kMaxCredentialsFileBytes);
    if (!file.ok()) return file.status();
    auto creds = ParseCredentials(*file);
    std::fill(file->begin(), file->end(), 0);
    if (!creds.ok()) return creds.status();
    s->credentials_json_ = *std::move(creds);
  }
  const int fd = ::open(options.model_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open the model file ", options.model_path));
  }
  ::close(fd);
  ASSIGN_OR_RETURN(enclave::VsockListener listener, transport.Listen(options.port));
  s->listener_ = std::make_unique<enclave::VsockListener>(std::move(listener));
  enclave::VsockListener* l = s->listener_.get();
  http::AcceptFn accept = [l](absl::Duration timeout) -> absl::StatusOr<http::AcceptedConnection> {
    const absl::Time until = absl::Now() + timeout;
    for (;;) {
      ASSIGN_OR_RETURN(enclave::VsockStream conn,
                       l->Accept(std::max(absl::ZeroDuration(), until - absl::Now())));
      if (enclave::ValidateEnclaveCid(conn.peer().cid).ok()) {
        const int owned = ::fcntl(conn.fd(), F_DUPFD_CLOEXEC, 0);
        if (owned < 0) return absl::UnavailableError("cannot duplicate the vsock descriptor");
        return http::AcceptedConnection{owned, conn.peer().ToString()};
      }
      log::Warning("provision.refused_peer", {{"peer_cid", conn.peer().cid}});
      if (absl::Now() >= until) return absl::DeadlineExceededError("no connection");
    }
  };
  http::ServerOptions so;
  so.handler_threads = options.handler_threads;
  so.max_body_bytes = 0;  // GETs only
  ProvisionServer* raw = s.get();
  auto server = http::Server::StartWithAcceptor(
      std::move(accept), so, [raw](const http::Request& r) { return raw->Handle(r); });
  if (!server.ok()) return server.status();
  s->server_ = *std::move(server);
  log::Info("provision.listen", {{"port", options.port}});
  return s;
}

ProvisionServer::~ProvisionServer() { Stop(); }

void ProvisionServer::Stop() {
  if (server_) server_->Stop();
  if (listener_) listener_->Close();
}

http::Response ProvisionServer::Handle(const http::Request& request) {
  const uint32_t peer = PeerCid(request.remote_address);
  if (request.method != "GET") {
    http::Response r = Text(405, "only GET is supported");
    r.headers.Add("Allow", "GET");
    return r;
  }
  if (request.target == "/v1/credentials") {
    http::Response r;
    r.status = 200;
    r.headers.Add("Content-Type", "application/json");
    r.headers.Add("Cache-Control", "no-store");
    r.body = std::string(AsStringView(credentials_json_.ExposeSecret()));
    log::Info("provision.credentials", {{"peer_cid", peer}});
    return r;
  }
  if (request.target == "/v1/model") {
    const int fd = ::open(options_.model_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      log::Error("provision.model_missing", {{"peer_cid", peer}});
      return Text(500, "model file unavailable");
    }
    http::Response r;
    r.status = 200;
    r.headers.Add("Content-Type", "application/octet-stream");
    // The producer owns the descriptor: one open file per transfer, read piece by piece (and
    // closed even if the server drops the response before streaming it).
    auto owned = std::make_shared<OwnedFd>(fd);
    r.stream = [owned, peer](http::BodyWriter& writer) {
      std::string piece(kModelPieceBytes, '\0');
      uint64_t sent = 0;
      bool complete = false;
      for (;;) {
        const ssize_t n = ::read(owned->fd, piece.data(), piece.size());
        if (n == 0) {
          complete = true;
          break;
        }
        if (n < 0) break;  // truncated stream: the enclave checks the envelope and the hash
        if (!writer.Write(std::string_view(piece.data(), static_cast<size_t>(n)))) break;
        sent += static_cast<uint64_t>(n);
      }
      log::Info("provision.model", {{"peer_cid", peer}, {"bytes", sent}, {"complete", complete}});
    };
    return r;
  }
  return Text(404, "unknown path");
}

}  // namespace confide::gateway
