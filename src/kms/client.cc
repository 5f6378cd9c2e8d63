#include "kms/client.h"

#include <stdlib.h>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/cms.h"
#include "kms/http_request.h"
#include "kms/recipient.h"
#include "kms/sigv4.h"

namespace confide::kms {
namespace {

using Json = nlohmann::json;

constexpr char kContentType[] = "application/x-amz-json-1.1";
// kMaxResponseBytes bounds a KMS response we parse (the largest are ListKeys pages and
// policies, a few KiB).
constexpr size_t kMaxResponseBytes = 4 * 1024 * 1024;
// kMaxErrorMessageChars bounds the server's error message that we repeat.
constexpr size_t kMaxErrorMessageChars = 512;
constexpr size_t kDataKeyLen = 32;

// WipeString overwrites a string's bytes (a copy of a secret we are about to drop).
void WipeString(std::string& s) {
  SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
  s.clear();
}

bool IsOperationName(std::string_view op) {
  if (op.empty() || op.size() > 64) return false;
  for (char c : op) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

// Printable returns `s` cut to `max` characters with control and non-ASCII bytes replaced, so a
// server's message cannot inject terminal escapes or newlines into our logs.
std::string Printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (s.size() > max) out += "...";
  return out;
}

absl::StatusOr<std::string> RequiredString(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("credentials: ", name, " is missing"));
  }
  return it->get<std::string>();
}

Json ContextJson(const EncryptionContext& ctx) {
  Json out = Json::object();
  for (const auto& [k, v] : ctx) out[k] = v;
  return out;
}

// DecodeBlobField returns the base64 member `name` of a response.
absl::StatusOr<Bytes> DecodeBlobField(std::string_view op, const Json& response, const char* name) {
  auto it = response.find(name);
  if (it == response.end() || !it->is_string()) {
    return absl::InternalError(absl::StrCat("KMS ", std::string(op), ": response lacks ", name));
  }
  auto bytes = base::Base64Decode(it->get_ref<const std::string&>());
  if (!bytes.ok()) {
    return absl::InternalError(
        absl::StrCat("KMS ", std::string(op), ": response ", name, " is not base64"));
  }
  return *std::move(bytes);
}

struct TcpPool {
  std::string host;
  uint16_t port = 0;
  http::ClientOptions options;
  std::mutex mu;
  std::vector<std::unique_ptr<http::Client>> idle;  // guarded by mu
};

constexpr size_t kMaxIdleConnections = 8;

}  // namespace

absl::StatusOr<KmsCredentials> ParseCredentialsJson(std::string_view json) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("credentials: not a JSON object");
  }
  Json* obj = &j;
  if (!j.contains("AccessKeyId") && j.contains("Credentials") && j["Credentials"].is_object()) {
    obj = &j["Credentials"];
  }
  KmsCredentials out;
  ASSIGN_OR_RETURN(out.access_key_id, RequiredString(*obj, "AccessKeyId"));
  auto secret_it = obj->find("SecretAccessKey");
  if (secret_it == obj->end() || !secret_it->is_string() ||
      secret_it->get_ref<const std::string&>().empty()) {
    return absl::InvalidArgumentError("credentials: SecretAccessKey is missing");
  }
  std::string& secret = secret_it->get_ref<std::string&>();
  out.secret_access_key = SecretBytes::CopyFrom(AsBytes(secret));
  WipeString(secret);
  auto token_it = obj->find("SessionToken");
  if (token_it != obj->end() && !token_it->is_null()) {
    if (!token_it->is_string()) {
      return absl::InvalidArgumentError("credentials: SessionToken is not a string");
    }
    out.session_token = token_it->get<std::string>();
  }
  return out;
}

absl::StatusOr<KmsCredentials> LoadCredentials(const std::string& path) {
  if (path.empty()) {
    const char* id = getenv("AWS_ACCESS_KEY_ID");
    const char* secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char* token = getenv("AWS_SESSION_TOKEN");
    if (id == nullptr || *id == '\0' || secret == nullptr || *secret == '\0') {
      return absl::FailedPreconditionError(
          "no credentials: pass --credentials FILE or set AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY");
    }
    KmsCredentials out;
    out.access_key_id = id;
    out.secret_access_key = SecretBytes::CopyFrom(AsBytes(secret));
    if (token != nullptr) out.session_token = token;
    return out;
  }
  ASSIGN_OR_RETURN(Bytes text, base::ReadFileBounded(path, kMaxCredentialsFileBytes));
  auto creds = ParseCredentialsJson(AsStringView(text));
  SecureZero(text);
  if (!creds.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::string(creds.status().message())));
  }
  return creds;
}

KmsTransport NewTcpKmsTransport(std::string host, uint16_t port, absl::Duration timeout) {
  http::ClientOptions options;
  options.timeout = timeout;
  return NewTcpKmsTransport(std::move(host), port, std::move(options));
}

KmsTransport NewTcpKmsTransport(std::string host, uint16_t port, http::ClientOptions options) {
  auto pool = std::make_shared<TcpPool>();
  pool->host = std::move(host);
  pool->port = port;
  pool->options = std::move(options);
  return [pool](const http::Request& request) -> absl::StatusOr<http::Response> {
    std::unique_ptr<http::Client> client;
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (!pool->idle.empty()) {
        client = std::move(pool->idle.back());
        pool->idle.pop_back();
      }
    }
    if (client == nullptr) {
      client = std::make_unique<http::Client>(pool->host, pool->port, pool->options);
    }
    auto response = client->Send(request);
    if (response.ok()) {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (pool->idle.size() < kMaxIdleConnections) pool->idle.push_back(std::move(client));
    }
    return response;
  };
}

absl::StatusOr<KmsEndpoint> ParseKmsEndpoint(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  KmsEndpoint out;
  std::string_view rest;
  if (url.substr(0, kHttps.size()) == kHttps) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(kHttps.size());
  } else if (url.substr(0, kHttp.size()) == kHttp) {
    rest = url.substr(kHttp.size());
  } else {
    return absl::InvalidArgumentError("KMS endpoint must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos ||
      rest.find('@') != std::string_view::npos || rest.find('?') != std::string_view::npos) {
    return absl::InvalidArgumentError("KMS endpoint must be http[s]://HOST[:PORT]");
  }
  out.host_header = std::string(rest);
  std::string_view host = rest;
  std::string_view port_text;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("KMS endpoint: unterminated IPv6 address");
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return absl::InvalidArgumentError("KMS endpoint: bad port");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port_text = rest.substr(colon + 1);
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("KMS endpoint: empty host");
  if (!port_text.empty() || rest.back() == ':') {
    if (port_text.empty() || port_text.size() > 5) {
      return absl::InvalidArgumentError("KMS endpoint: bad port");
    }
    uint32_t port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return absl::InvalidArgumentError("KMS endpoint: bad port");
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return absl::InvalidArgumentError("KMS endpoint: bad port");
    out.port = static_cast<uint16_t>(port);
  }
  out.host = std::string(host);
  return out;
}

KmsTransport NewKmsTransport(const KmsEndpoint& endpoint, const std::string& ca_file,
                             absl::Duration timeout) {
  http::ClientOptions options;
  options.timeout = timeout;
  if (endpoint.tls) options.tls = http::TlsClientOptions{ca_file, /*server_name=*/""};
  return NewTcpKmsTransport(endpoint.host, endpoint.port, std::move(options));
}

absl::StatusCode KmsErrorCode(std::string_view type, int http_status) {
  using C = absl::StatusCode;
  if (type == "AccessDeniedException") return C::kPermissionDenied;
  if (type == "NotFoundException") return C::kNotFound;
  if (type == "UnrecognizedClientException" || type == "InvalidSignatureException" ||
      type == "IncompleteSignatureException" || type == "MissingAuthenticationTokenException" ||
      type == "ExpiredTokenException" || type == "InvalidClientTokenId" ||
      type == "XAmzContentSHA256Mismatch" || type == "SignatureDoesNotMatch") {
    return C::kUnauthenticated;
  }
  if (type == "DisabledException" || type == "KMSInvalidStateException" ||
      type == "KeyUnavailableException") {
    return C::kFailedPrecondition;
  }
  if (type == "AlreadyExistsException") return C::kAlreadyExists;
  if (type == "LimitExceededException" || type == "ThrottlingException") {
    return C::kResourceExhausted;
  }
  if (type == "DependencyTimeoutException") return C::kDeadlineExceeded;
  if (type == "UnknownOperationException") return C::kUnimplemented;
  if (type == "KMSInternalException") return C::kInternal;
  if (type == "ValidationException" || type == "SerializationException" ||
      type == "MalformedPolicyDocumentException" ||
      (type.substr(0, 7) == "Invalid" && type.size() > 16 &&
       type.substr(type.size() - 9) == "Exception") ||
      type == "IncorrectKeyException") {
    return C::kInvalidArgument;
  }
  return http_status >= 500 ? C::kUnavailable : C::kUnknown;
}

KmsClient::KmsClient(KmsTransport transport, KmsCredentials credentials, std::string region,
                     std::string host_header)
    : transport_(std::move(transport)),
      credentials_(std::move(credentials)),
      region_(std::move(region)),
      host_header_(std::move(host_header)),
      clock_([] { return absl::Now(); }) {}

absl::StatusOr<Json> KmsClient::Call(std::string_view operation, const Json& request) const {
  if (!IsOperationName(operation)) {
    return absl::InvalidArgumentError("KMS operation name must be letters and digits");
  }
  const std::string op(operation);
  if (!request.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("KMS ", op, ": request must be a JSON object"));
  }
  HttpRequest signed_request;
  signed_request.method = "POST";
  signed_request.target = "/";
  signed_request.version = "HTTP/1.1";
  signed_request.headers.push_back({"Host", host_header_});
  signed_request.headers.push_back({"Content-Type", kContentType});
  signed_request.headers.push_back({"X-Amz-Target", absl::StrCat("TrentService.", op)});
  std::string body = request.dump();
  signed_request.body.assign(body.begin(), body.end());
  SigV4Credentials sig_creds;
  sig_creds.access_key_id = credentials_.access_key_id;
  sig_creds.secret_access_key = credentials_.secret_access_key.Clone();
  sig_creds.session_token = credentials_.session_token;
  SigV4SignOptions options;
  options.region = region_;
  options.service = "kms";
  options.time = clock_();
  auto signed_or = SignSigV4(signed_request, sig_creds, options);
  SecureZero(signed_request.body);
  if (!signed_or.ok()) {
    return absl::InternalError(
        absl::StrCat("KMS ", op, ": signing failed: ", std::string(signed_or.status().message())));
  }
  http::Request http_request;
  http_request.method = "POST";
  http_request.target = "/";
  for (const auto& h : signed_request.headers) http_request.headers.Add(h.name, h.value);
  http_request.body = std::move(body);

  auto response_or = transport_(http_request);
  WipeString(http_request.body);  // may carry plaintext (Encrypt)
  if (!response_or.ok()) {
    return absl::Status(
        response_or.status().code(),
        absl::StrCat("KMS ", op, ": ", std::string(response_or.status().message())));
  }
  http::Response& response = *response_or;
  if (response.body.size() > kMaxResponseBytes) {
    WipeString(response.body);
    return absl::InternalError(absl::StrCat("KMS ", op, ": response too large"));
  }
  Json parsed = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  WipeString(response.body);  // may carry a base64 Plaintext
  if (response.status == 200) {
    if (parsed.is_discarded() || !parsed.is_object()) {
      return absl::InternalError(absl::StrCat("KMS ", op, ": response is not a JSON object"));
    }
    return parsed;
  }
  // AWS JSON 1.1 errors: {"__type": "[namespace#]Name", "message" | "Message": "..."}; some
  // front ends put the name only in x-amzn-ErrorType ("Name:http://...").
  std::string type;
  std::string message;
  if (!parsed.is_discarded() && parsed.is_object()) {
    auto t = parsed.find("__type");
    if (t != parsed.end() && t->is_string()) type = t->get<std::string>();
    for (const char* key : {"message", "Message"}) {
      auto m = parsed.find(key);
      if (m != parsed.end() && m->is_string()) {
        message = m->get<std::string>();
        break;
      }
    }
  }
  if (type.empty()) {
    auto header = response.headers.Get("x-amzn-ErrorType");
    if (header.has_value()) type = std::string(header->substr(0, header->find(':')));
  }
  if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  type = Printable(type, 128);
  if (type.empty()) {
    return absl::Status(
        response.status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown,
        absl::StrCat("KMS ", op, ": HTTP ", response.status));
  }
  std::string text = absl::StrCat("KMS ", op, ": ", type);
  if (!message.empty()) absl::StrAppend(&text, ": ", Printable(message, kMaxErrorMessageChars));
  return AwsError(KmsErrorCode(type, response.status), type, text);
}

absl::StatusOr<std::string> KmsClient::CreateKey(std::string_view description,
                                                 std::optional<std::string> policy_json) const {
  Json request = {{"Description", std::string(description)}};
  if (policy_json.has_value()) request["Policy"] = *policy_json;
  ASSIGN_OR_RETURN(Json response, Call("CreateKey", request));
  auto meta = response.find("KeyMetadata");
  if (meta == response.end() || !meta->is_object() || !meta->contains("KeyId") ||
      !(*meta)["KeyId"].is_string()) {
    return absl::InternalError("KMS CreateKey: response lacks KeyMetadata.KeyId");
  }
  return (*meta)["KeyId"].get<std::string>();
}

absl::StatusOr<Bytes> KmsClient::Encrypt(std::string_view key_id, ByteSpan plaintext,
                                         const EncryptionContext& ctx) const {
  Json request = {{"KeyId", std::string(key_id)}, {"Plaintext", base::Base64Encode(plaintext)}};
  if (!ctx.empty()) request["EncryptionContext"] = ContextJson(ctx);
  auto response = Call("Encrypt", request);
  WipeString(request["Plaintext"].get_ref<std::string&>());
  if (!response.ok()) return response.status();
  return DecodeBlobField("Encrypt", *response, "CiphertextBlob");
}

absl::StatusOr<SecretBytes> KmsClient::ReadSecret(std::string_view op, Json& response,
                                                  const KmsRecipient* recipient) const {
  auto plain = response.find("Plaintext");
  if (recipient != nullptr) {
    if (plain != response.end()) {
      if (plain->is_string()) WipeString(plain->get_ref<std::string&>());
      return absl::InternalError(
          absl::StrCat("KMS ", std::string(op),
                       ": response carried Plaintext although a Recipient was given; refusing it"));
    }
    ASSIGN_OR_RETURN(Bytes cms, DecodeBlobField(op, response, "CiphertextForRecipient"));
    return crypto::OpenEnvelopedData(cms, *recipient->key);
  }
  if (plain == response.end() || !plain->is_string()) {
    return absl::InternalError(absl::StrCat("KMS ", std::string(op), ": response lacks Plaintext"));
  }
  std::string& text = plain->get_ref<std::string&>();
  auto bytes = base::Base64Decode(text);
  WipeString(text);
  if (!bytes.ok()) {
    return absl::InternalError(
        absl::StrCat("KMS ", std::string(op), ": response Plaintext is not base64"));
  }
  SecretBytes out = SecretBytes::CopyFrom(*bytes);
  SecureZero(*bytes);
  return out;
}

namespace {

absl::Status AddRecipient(const KmsRecipient* recipient, Json& request) {
  if (recipient == nullptr) return absl::OkStatus();
  if (recipient->key == nullptr || recipient->attestation_document.empty()) {
    return absl::InvalidArgumentError("KMS Recipient needs an RSA key and an attestation document");
  }
  request["Recipient"] = {
      {"KeyEncryptionAlgorithm", kRecipientAlgorithm},
      {"AttestationDocument", base::Base64Encode(recipient->attestation_document)}};
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecretBytes> KmsClient::Decrypt(ByteSpan blob, const EncryptionContext& ctx,
                                               const KmsRecipient* recipient) const {
  Json request = {{"CiphertextBlob", base::Base64Encode(blob)}};
  if (!ctx.empty()) request["EncryptionContext"] = ContextJson(ctx);
  RETURN_IF_ERROR(AddRecipient(recipient, request));
  ASSIGN_OR_RETURN(Json response, Call("Decrypt", request));
  return ReadSecret("Decrypt", response, recipient);
}

absl::StatusOr<KmsClient::DataKey> KmsClient::GenerateDataKey(std::string_view key_id,
                                                              const EncryptionContext& ctx,
                                                              const KmsRecipient* recipient) const {
  Json request = {{"KeyId", std::string(key_id)}, {"KeySpec", "AES_256"}};
  if (!ctx.empty()) request["EncryptionContext"] = ContextJson(ctx);
  RETURN_IF_ERROR(AddRecipient(recipient, request));
  ASSIGN_OR_RETURN(Json response, Call("GenerateDataKey", request));
  DataKey out;
  ASSIGN_OR_RETURN(out.ciphertext_blob,
                   DecodeBlobField("GenerateDataKey", response, "CiphertextBlob"));
  ASSIGN_OR_RETURN(out.plaintext, ReadSecret("GenerateDataKey", response, recipient));
  if (out.plaintext.size() != kDataKeyLen) {
    return absl::InternalError("KMS GenerateDataKey: the data key is not 32 bytes");
  }
  return out;
}

}  // namespace confide::kms
