#include "client/http_transport.h"

#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace confide::client {
namespace {

// kMaxIdleConnections bounds the kept-alive connections of one transport.
constexpr size_t kMaxIdleConnections = 8;

class PooledHttpTransport : public Transport {
 public:
  PooledHttpTransport(http::Url url, http::ClientOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  absl::StatusOr<http::Response> Send(const http::Request& request) override {
    auto client = Take();
    auto r = client->Send(request);
    Give(std::move(client), r.ok());
    return r;
  }

  absl::Status SendStreaming(const http::Request& request, const HeadCallback& on_head,
                             const BodyCallback& on_body) override {
    auto client = Take();
    absl::Status s = client->SendStreaming(request, on_head, on_body);
    Give(std::move(client), s.ok());
    return s;
  }

 private:
  std::unique_ptr<http::Client> Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<http::Client>(url_.host, url_.port, options_);
  }
  // Give keeps a connection that finished its exchange cleanly for the next request.
  void Give(std::unique_ptr<http::Client> client, bool clean) {
    if (!clean) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(client));
  }

  const http::Url url_;
  const http::ClientOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<http::Client>> idle_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::shared_ptr<Transport>> HttpTransport(std::string_view gateway_url,
                                                         http::ClientOptions options) {
  auto url = http::ParseUrl(gateway_url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway URL: ", std::string(url.status().message())));
  }
  if (url->scheme == "https" && !options.tls) options.tls = http::TlsClientOptions{};
  if (url->scheme == "http") options.tls.reset();
  return std::make_shared<PooledHttpTransport>(*std::move(url), std::move(options));
}

absl::StatusOr<std::unique_ptr<SealedSession>> ConnectSession(
    std::string_view gateway_url, TrustPolicy policy, const http::ClientOptions& http_options,
    SessionOptions options) {
  ASSIGN_OR_RETURN(std::shared_ptr<Transport> transport, HttpTransport(gateway_url, http_options));
  auto url = http::ParseUrl(gateway_url);
  std::string prefix = url->path;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (prefix.find('?') != std::string::npos) {
    return absl::InvalidArgumentError("gateway URL: must not have a query");
  }
  options.path_prefix = prefix;
  return std::make_unique<SealedSession>(std::move(transport), std::move(policy),
                                         std::move(options));
}

}  // namespace confide::client
