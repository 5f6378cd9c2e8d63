#include "app/flows.h"

#include <string.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "app/runtime.h"
#include "base/encoding.h"
#include "base/log.h"
#include "kms/envelope.h"
#include "kms/errors.h"
#include "nlohmann/json.hpp"

namespace confide::app {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// AwsErrorResponse returns an AWS-shaped error {"__type","message"}.
http::Response AwsErrorResponse(int status, std::string_view type, std::string_view message) {
  http::Response r = http::Response::Json(
      status, Dump(Json{{"__type", std::string(type)}, {"message", std::string(message)}}));
  r.headers.Set("Content-Type", "application/x-amz-json-1.1");
  return r;
}

// KmsFailure maps a KmsClient error to a response naming the AWS error type (our own message:
// the KMS's text is not passed on).
http::Response KmsFailure(std::string_view step, const absl::Status& s) {
  const std::string type = kms::AwsErrorType(s);
  int status = 400;
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) status = 503;
  if (absl::IsInternal(s)) status = 500;
  return AwsErrorResponse(status, type, absl::StrCat(std::string(step), " failed: ", type));
}

// CredentialsFrom parses a "Credentials"-style JSON object, wiping the serialised copy.
absl::StatusOr<kms::KmsCredentials> CredentialsFrom(const Json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("credentials must be an object");
  std::string text = j.dump();
  auto c = kms::ParseCredentialsJson(text);
  ::explicit_bzero(text.data(), text.size());
  return c;
}

// Utf8Cut returns the longest prefix of `s` of at most `n` bytes that does not split a UTF-8
// sequence.
std::string_view Utf8Cut(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

http::Response OpenAiStyle(int status, std::string_view message, std::string_view param,
                           std::string_view code) {
  return OpenAiError(status, "invalid_request_error", message, param, code);
}

// OpenEnvelopeImage opens a `confide encrypt` envelope with KMS Decrypt + the enclave's
// Recipient, signing with the request's "credentials".
absl::StatusOr<SecretBytes> OpenEnvelopeImage(EnclaveApp& app, ByteSpan envelope,
                                              const Json& request,
                                              const kms::KmsTransport& kms_transport,
                                              const KmsConfig& config) {
  auto creds_it = request.find("credentials");
  if (creds_it == request.end()) return absl::InvalidArgumentError("credentials are required");
  ASSIGN_OR_RETURN(kms::KmsCredentials credentials, CredentialsFrom(*creds_it));
  kms::KmsClient client(kms_transport, std::move(credentials), config.region, config.host);
  ASSIGN_OR_RETURN(kms::KmsRecipient recipient, MakeRecipient(app));
  return kms::DecryptEnvelope(client, envelope, {}, &recipient, 1);
}

}  // namespace

kms::KmsTransport NewVsockKmsTransport(enclave::VsockTransport& transport, uint32_t port) {
  return [&transport, port](const http::Request& request) -> absl::StatusOr<http::Response> {
    http::ClientOptions o;
    o.timeout = absl::Seconds(30);
    http::Client client(VsockConnectFn(transport, {enclave::kParentCid, port}), o);
    return client.Send(request);
  };
}

absl::StatusOr<kms::KmsRecipient> MakeRecipient(EnclaveApp& app) {
  kms::KmsRecipient r;
  r.key = &app.rsa_key();
  ASSIGN_OR_RETURN(r.attestation_document, app.Attest(std::nullopt));
  return r;
}

http::Response HandleKmsChat(const http::Request& request, EnclaveApp& app,
                             const kms::KmsTransport& kms_transport, const KmsConfig& config) {
  auto invalid = [](std::string_view m) { return AwsErrorResponse(400, "ValidationException", m); };
  if (request.body.size() > 64 * 1024) return invalid("request body exceeds 64 KiB");
  Json j = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid("request body is not a JSON object");
  for (const auto& [k, v] : j.items()) {
    if (k != "CiphertextBlob" && k != "KeyId" && k != "Credentials" && k != "MaxTokens" &&
        k != "EncryptionContext") {
      return invalid("unknown field");
    }
  }
  auto blob_it = j.find("CiphertextBlob");
  auto key_it = j.find("KeyId");
  auto creds_it = j.find("Credentials");
  if (blob_it == j.end() || !blob_it->is_string()) return invalid("CiphertextBlob is required");
  if (key_it == j.end() || !key_it->is_string() || key_it->get_ref<const std::string&>().empty()) {
    return invalid("KeyId is required");
  }
  if (creds_it == j.end()) return invalid("Credentials are required");
  size_t max_tokens = app.config().model.max_tokens;
  if (auto mt = j.find("MaxTokens"); mt != j.end()) {
    if (!mt->is_number_integer() || mt->get<int64_t>() < 1) {
      return invalid("MaxTokens must be an integer >= 1");
    }
    max_tokens = static_cast<size_t>(mt->get<uint64_t>());
  }
  // The question's encryption context (as KMS takes it); the answer is encrypted with the same
  // context plus confide:direction=answer, so a key policy can let the user read answers
  // (kms:EncryptionContext:confide:direction) while questions open only for this enclave.
  kms::EncryptionContext question_context;
  if (auto ec = j.find("EncryptionContext"); ec != j.end()) {
    if (!ec->is_object() || ec->size() > 64) {
      return invalid("EncryptionContext must be an object of at most 64 string pairs");
    }
    for (const auto& [k, v] : ec->items()) {
      if (!v.is_string() || k.empty() || k.size() > 256 ||
          v.get_ref<const std::string&>().size() > 1024) {
        return invalid("EncryptionContext keys and values must be short strings");
      }
      question_context[k] = v.get<std::string>();
    }
  }
  kms::EncryptionContext answer_context = question_context;
  answer_context["confide:direction"] = "answer";
  auto blob = base::Base64Decode(blob_it->get_ref<const std::string&>());
  if (!blob.ok()) return invalid("CiphertextBlob is not base64");
  auto credentials = CredentialsFrom(*creds_it);
  if (!credentials.ok()) return invalid("Credentials are malformed");
  std::shared_ptr<ApiService> api = app.api();
  if (api == nullptr) {
    return AwsErrorResponse(503, "ServiceUnavailableException", "the model is not loaded");
  }
  kms::KmsClient client(kms_transport, *std::move(credentials), config.region, config.host);
  auto recipient = MakeRecipient(app);
  if (!recipient.ok()) {
    return AwsErrorResponse(500, "KMSInternalException", "the enclave could not attest");
  }
  auto question = client.Decrypt(*blob, question_context, &*recipient);
  if (!question.ok()) return KmsFailure("KMS Decrypt", question.status());
  auto answer = api->Chat(AsStringView(question->ExposeSecret()), max_tokens);  // guardrails inside
  question->Wipe();
  if (!answer.ok()) {
    const bool busy = absl::IsResourceExhausted(answer.status());
    return AwsErrorResponse(busy ? 429 : 400, busy ? "ThrottlingException" : "ValidationException",
                            busy ? "the model is busy" : "the question cannot be answered");
  }
  const std::string_view text = Utf8Cut(answer->content, kMaxKmsPlaintextBytes);
  auto sealed =
      client.Encrypt(key_it->get_ref<const std::string&>(), AsBytes(text), answer_context);
  ::explicit_bzero(answer->content.data(), answer->content.size());
  if (!sealed.ok()) return KmsFailure("KMS Encrypt", sealed.status());
  log::Info("app.kms_chat", {{"completion_tokens", answer->completion_tokens}});
  return http::Response::Json(200, Dump(Json{{"CiphertextBlob", base::Base64Encode(*sealed)}}));
}

std::optional<ApiReply> DetectRoute(const http::Request& request, EnclaveApp& app,
                                    const vision::DetectorSet& detectors,
                                    const kms::KmsTransport& kms_transport,
                                    const KmsConfig& config) {
  std::string_view path = request.target;
  if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path != "/v1/detect") return std::nullopt;
  auto reply = [](http::Response r) { return std::optional<ApiReply>(ApiReply{std::move(r), {}}); };
  if (request.method != "POST") {
    return reply(OpenAiStyle(405, "use POST for this path", "", "method_not_allowed"));
  }
  // An image is larger than a chat request: 16 MiB of base64 at most (the BHTTP limit).
  if (request.body.size() > 16 * 1024 * 1024) {
    return reply(OpenAiStyle(413, "request body exceeds 16 MiB", "", "request_too_large"));
  }
  Json j = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return reply(OpenAiStyle(400, "request body is not a JSON object", "", "invalid_json"));
  }
  auto model = j.find("model");
  if (model == j.end() || !model->is_string()) {
    return reply(OpenAiStyle(400, "'model' must be a string", "model", "invalid_type"));
  }
  bool draw_boxes = false;
  if (auto d = j.find("draw_boxes"); d != j.end() && !d->is_null()) {
    if (!d->is_boolean()) {
      return reply(
          OpenAiStyle(400, "'draw_boxes' must be a boolean", "draw_boxes", "invalid_type"));
    }
    draw_boxes = d->get<bool>();
  }
  auto image_it = j.find("image");
  auto envelope_it = j.find("envelope");
  const bool has_image = image_it != j.end() && !image_it->is_null();
  const bool has_envelope = envelope_it != j.end() && !envelope_it->is_null();
  if (has_image == has_envelope) {
    return reply(
        OpenAiStyle(400, "give exactly one of 'image' and 'envelope'", "image", "invalid_value"));
  }
  const Json& data = has_image ? *image_it : *envelope_it;
  if (!data.is_string()) {
    return reply(OpenAiStyle(400, "the image must be base64 text", has_image ? "image" : "envelope",
                             "invalid_type"));
  }
  auto bytes = base::Base64Decode(data.get_ref<const std::string&>());
  if (!bytes.ok()) {
    return reply(OpenAiStyle(400, "the image is not base64", has_image ? "image" : "envelope",
                             "invalid_value"));
  }
  SecretBytes plaintext;
  if (has_envelope) {
    auto opened = OpenEnvelopeImage(app, *bytes, j, kms_transport, config);
    if (!opened.ok()) {
      const absl::Status& s = opened.status();
      if (absl::IsPermissionDenied(s)) {
        return reply(
            OpenAiStyle(403, "KMS refused to decrypt the image", "envelope", "kms_access_denied"));
      }
      return reply(
          OpenAiStyle(400, "the envelope could not be opened", "envelope", "envelope_error"));
    }
    plaintext = *std::move(opened);
  } else {
    plaintext = SecretBytes::CopyFrom(*bytes);
  }
  auto result = vision::DetectJson(detectors, model->get_ref<const std::string&>(),
                                   plaintext.ExposeSecret(), draw_boxes);
  if (!result.ok()) {
    const absl::Status& s = result.status();
    if (absl::IsNotFound(s)) {
      return reply(OpenAiStyle(404, std::string(s.message()), "model", "model_not_found"));
    }
    if (absl::IsInvalidArgument(s)) {
      return reply(OpenAiStyle(422, "the image is not a JPEG or PNG within the limits", "image",
                               "invalid_image"));
    }
    return reply(OpenAiError(500, "server_error", "detection failed", "", "internal_error"));
  }
  return reply(http::Response::Json(200, Dump(*result)));
}

absl::StatusOr<std::unique_ptr<vision::DetectorSet>> LoadDetectors(const VisionConfig& config,
                                                                   const std::string& app_dir) {
  auto path = [&](const std::string& name) {
    return name.empty() ? std::string() : absl::StrCat(app_dir, "/", name);
  };
  vision::VisionConfig vc;
  vc.yolo_cfg = path(config.yolo_cfg);
  vc.yolo_weights = path(config.yolo_weights);
  vc.coco_names = path(config.coco_names);
  vc.ultraface_onnx = path(config.ultraface_onnx);
  ASSIGN_OR_RETURN(vision::DetectorSet set, vision::DetectorSet::FromConfig(vc));
  return std::make_unique<vision::DetectorSet>(std::move(set));
}

}  // namespace confide::app
