#include "app/runtime.h"

#include <unistd.h>

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "app/flows.h"
#include "base/file.h"
#include "base/log.h"
#include "guard/policy.h"
#include "nlohmann/json.hpp"

namespace confide::app {
namespace {

using Json = nlohmann::json;

bool Stopped(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

std::string Path(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

// WithRetry calls `fn` until it succeeds with something other than Unavailable /
// DeadlineExceeded, `deadline` passes or `stop` is set, pausing between tries.
template <typename Fn>
auto WithRetry(absl::Time deadline, const std::atomic<bool>* stop, Fn fn) -> decltype(fn()) {
  absl::Duration pause = absl::Milliseconds(100);
  for (;;) {
    auto r = fn();
    const absl::Status& s = r.status();
    if (r.ok() || !(absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s))) return r;
    if (absl::Now() + pause > deadline || Stopped(stop)) return r;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Seconds(2));
  }
}

}  // namespace

absl::StatusOr<EnclaveAppOptions> LoadServeConfig(const std::string& app_dir) {
  EnclaveAppOptions o;
  const std::string config_path = Path(app_dir, "enclave.json");
  auto config_text = base::ReadFileBounded(config_path, kMaxConfigBytes);
  if (!config_text.ok()) {
    return absl::NotFoundError(absl::StrCat("cannot read ", config_path));
  }
  ASSIGN_OR_RETURN(o.config, ParseEnclaveConfig(AsStringView(*config_text)));
  const std::string meta_path = Path(app_dir, "confide.meta");
  auto meta_text = base::ReadFileBounded(meta_path, kMaxConfigBytes);
  if (!meta_text.ok()) return absl::NotFoundError(absl::StrCat("cannot read ", meta_path));
  ASSIGN_OR_RETURN(ImageMetadata meta, ParseImageMetadata(AsStringView(*meta_text)));
  if (!meta.model_sha256) {
    return absl::FailedPreconditionError(
        "confide.meta has no model_sha256: the image does not pin a model (build it with "
        "application.model_sha256)");
  }
  o.model_sha256 = *meta.model_sha256;
  if (!o.config.guardrail.empty()) {
    const std::string policy_path = Path(app_dir, o.config.guardrail);
    auto policy_text = base::ReadFileBounded(policy_path, guard::kMaxPolicyBytes);
    if (!policy_text.ok()) return absl::NotFoundError(absl::StrCat("cannot read ", policy_path));
    auto policy = guard::ParsePolicy(AsStringView(*policy_text));
    if (!policy.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(policy_path, ": ", std::string(policy.status().message())));
    }
    auto guardrail = guard::Guardrail::Create(*std::move(policy));
    if (!guardrail.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(policy_path, ": ", std::string(guardrail.status().message())));
    }
    o.guardrail = std::shared_ptr<const guard::Guardrail>(std::move(*guardrail));
  }
  return o;
}

http::ConnectFn VsockConnectFn(enclave::VsockTransport& transport, enclave::VsockAddress remote) {
  return [&transport, remote](absl::Duration timeout) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(enclave::VsockStream stream, transport.Connect(remote, timeout));
    const int fd = ::dup(stream.fd());  // the client owns its own descriptor
    if (fd < 0) return absl::UnavailableError("vsock: dup failed");
    return fd;
  };
}

http::Response ToHttpResponse(ApiReply reply) {
  http::Response r = std::move(reply.response);
  if (reply.stream) {
    r.stream = [producer = std::move(reply.stream)](http::BodyWriter& w) {
      producer([&w](std::string_view piece) { return w.Write(piece); });
    };
  }
  return r;
}

namespace {

// FetchCredentials is step 1.
absl::StatusOr<kms::KmsCredentials> FetchCredentials(http::Client& client) {
  http::Request r;
  r.method = "GET";
  r.target = "/v1/credentials";
  ASSIGN_OR_RETURN(http::Response resp, client.Send(r));
  if (resp.status != 200) {
    return absl::FailedPreconditionError(
        absl::StrCat("provisioning: /v1/credentials answered ", resp.status));
  }
  auto c = kms::ParseCredentialsJson(resp.body);
  // The JSON held the secret: wipe our copy of the body.
  ::explicit_bzero(resp.body.data(), resp.body.size());
  return c;
}

// FetchModel is steps 2-4: the sealed file streamed into `sink`, bounded.
absl::Status FetchModel(http::Client& client, SealedModelSink& sink) {
  http::Request r;
  r.method = "GET";
  r.target = "/v1/model";
  int status = 0;
  uint64_t received = 0;
  absl::Status sink_error;
  absl::Status s = client.SendStreaming(
      r,
      [&](const http::Response& head) {
        status = head.status;
        return status == 200;
      },
      [&](std::string_view piece) {
        received += piece.size();
        if (received > kMaxSealedModelBytes) {
          sink_error = absl::ResourceExhaustedError("provisioning: the sealed model is too large");
          return false;
        }
        sink_error = sink.Update(AsBytes(piece));
        return sink_error.ok();
      });
  RETURN_IF_ERROR(sink_error);
  if (status != 0 && status != 200) {
    return absl::FailedPreconditionError(absl::StrCat("provisioning: /v1/model answered ", status));
  }
  RETURN_IF_ERROR(s);
  log::Info("app.sealed_model_fetched", {{"bytes", received}});
  return sink.Finish();
}

}  // namespace

absl::Status Provision(EnclaveApp& app, enclave::VsockTransport& transport,
                       const ServeOptions& options, const std::atomic<bool>* stop) {
  const absl::Time deadline = absl::Now() + options.provision_timeout;
  auto fail = [&](std::string reason, absl::Status s) {
    app.SetFailed(std::move(reason));
    log::Error("app.provision_failed", {{"status", s}});
    return s;
  };
  http::ClientOptions co;
  co.timeout = absl::Seconds(30);
  http::Client client(VsockConnectFn(transport, {enclave::kParentCid, app.config().provision_port}),
                      co);
  auto credentials = WithRetry(deadline, stop, [&] { return FetchCredentials(client); });
  if (!credentials.ok()) {
    return fail("provisioning: the parent's credentials could not be fetched",
                credentials.status());
  }
  kms::KmsClient kms(NewVsockKmsTransport(transport, app.config().kms.vsock_port),
                     *std::move(credentials), app.config().kms.region, app.config().kms.host);
  // The download is not retried once it started: a broken stream is a failure to report.
  std::unique_ptr<SealedModelSink> sink =
      NewSealedModelSink(app, kms, static_cast<int>(app.config().model.threads));
  absl::Status s = FetchModel(client, *sink);
  sink.reset();
  if (!s.ok()) {
    if (app.state() != EnclaveApp::State::kFailed) {
      app.SetFailed("the sealed model could not be fetched or opened");
    }
    log::Error("app.provision_failed", {{"status", s}});
    return s;
  }
  return absl::OkStatus();
}

absl::Status RunServe(enclave::VsockTransport& transport, attest::NsmClient& nsm,
                      const ServeOptions& options, const std::atomic<bool>* stop,
                      const std::function<void()>& on_ready) {
  ASSIGN_OR_RETURN(EnclaveAppOptions app_options, LoadServeConfig(options.app_dir));
  app_options.local_cid = transport.local_cid();
  // The secure module must answer before anything is served.
  if (auto first = nsm.Attestation(std::nullopt, std::nullopt, std::nullopt); !first.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the secure module did not attest at boot: ",
                                                      std::string(first.status().message())));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<EnclaveApp> app,
                   EnclaveApp::Create(std::move(app_options), &nsm));
  const EnclaveConfig& config = app->config();
  EnclaveApp* app_ptr = app.get();
  kms::KmsTransport kms_transport = NewVsockKmsTransport(transport, config.kms.vsock_port);
  app->set_kms_chat([app_ptr, kms_transport](const http::Request& r) {
    return HandleKmsChat(r, *app_ptr, kms_transport, app_ptr->config().kms);
  });
  std::shared_ptr<vision::DetectorSet> detectors;
  if (config.vision) {
    auto loaded = LoadDetectors(*config.vision, options.app_dir);
    if (loaded.ok()) {
      detectors = std::move(*loaded);
      log::Info("app.vision_ready", {{"models", detectors->names().size()}});
    } else {
      log::Error("app.vision_failed", {{"status", loaded.status()}});
    }
  }
  if (detectors != nullptr) {
    app->set_inner_route([app_ptr, detectors, kms_transport](const http::Request& r) {
      return DetectRoute(r, *app_ptr, *detectors, kms_transport, app_ptr->config().kms);
    });
  }
  ASSIGN_OR_RETURN(enclave::VsockListener listener, transport.Listen(options.port));
  auto shared_listener = std::make_shared<enclave::VsockListener>(std::move(listener));
  http::AcceptFn accept =
      [shared_listener](absl::Duration timeout) -> absl::StatusOr<http::AcceptedConnection> {
    ASSIGN_OR_RETURN(enclave::VsockStream stream, shared_listener->Accept(timeout));
    const int fd = ::dup(stream.fd());
    if (fd < 0) return absl::UnavailableError("vsock: dup failed");
    return http::AcceptedConnection{fd, stream.peer().ToString()};
  };
  http::ServerOptions so;
  so.threads = 2;
  // Streams wait for the model on handler threads: keep threads free for health and
  // attestation (ApiOptions::max_pending streams at most, plus a margin).
  so.handler_threads = 12;
  so.max_body_bytes = 2 * 1024 * 1024;  // a 1 MiB inner body plus its OHTTP/BHTTP framing
  so.read_timeout = absl::Seconds(30);
  EnclaveApp* raw = app.get();
  ASSIGN_OR_RETURN(std::unique_ptr<http::Server> server,
                   http::Server::StartWithAcceptor(accept, so, [raw](const http::Request& r) {
                     return ToHttpResponse(raw->Handle(r));
                   }));
  log::Info("app.serving", {{"port", options.port}, {"key_id", app->key_id()}});
  if (on_ready) on_ready();
  std::thread provisioner([&] { (void)Provision(*app, transport, options, stop); });
  while (!Stopped(stop)) absl::SleepFor(absl::Milliseconds(200));
  server->Stop();
  provisioner.join();
  return absl::OkStatus();
}

}  // namespace confide::app
