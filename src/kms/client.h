// confide::kms client: SigV4-signed AWS KMS JSON 1.1 calls, for the CLI (`confide encrypt`,
// `confide kms call`) and for the enclave (Decrypt / GenerateDataKey with a Recipient, over a
// vsock transport that the enclave supplies).
//
// Every call is POST / with X-Amz-Target: TrentService.<Operation>, an
// application/x-amz-json-1.1 body, and a SigV4 signature over host, content-type, x-amz-date,
// x-amz-target (and x-amz-security-token when the credentials carry a session token), which is
// what the confide KMS server and AWS KMS both accept. AWS error responses {"__type","message"}
// become a Status whose message is "KMS <Operation>: <__type>: <message>", whose code is mapped
// from the AWS name (KmsErrorCode), and whose AWS name is recoverable with AwsErrorType()
// (kms/errors.h).
//
// Secrets: the secret access key lives in SecretBytes; the base64 Plaintext of a response is
// wiped from the response buffers after it is decoded. Nothing secret appears in a Status.
#ifndef CONFIDE_KMS_CLIENT_H_
#define CONFIDE_KMS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/rsa.h"
#include "http/http.h"
#include "kms/ciphertext_blob.h"
#include "kms/errors.h"
#include "nlohmann/json.hpp"

namespace confide::kms {

// KmsCredentials are what a client signs its requests with.
struct KmsCredentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;  // empty: none
};

// kMaxCredentialsFileBytes caps a credentials file.
inline constexpr size_t kMaxCredentialsFileBytes = 64 * 1024;

// ParseCredentialsJson reads {"AccessKeyId", "SecretAccessKey", "SessionToken"?} — the shape of
// IMDS role credentials and of sealed-path.md's /v1/credentials — or the same object under a
// "Credentials" member (`aws sts assume-role` output). Other members (Expiration, Code, ...) are
// ignored. InvalidArgument when the text is not JSON or a required member is missing, empty or
// not a string (the message names the member, never its value).
absl::StatusOr<KmsCredentials> ParseCredentialsJson(std::string_view json);

// LoadCredentials reads a credentials JSON file at `path` (ParseCredentialsJson; at most
// kMaxCredentialsFileBytes, wiped after parsing), or, when `path` is empty, the environment's
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN. NotFound when the file
// cannot be opened; FailedPrecondition when the environment lacks a variable; InvalidArgument
// for a malformed file.
absl::StatusOr<KmsCredentials> LoadCredentials(const std::string& path);

// KmsTransport sends one HTTP request to the KMS and returns its response (any status). It
// returns an error only when no response was received (Unavailable, DeadlineExceeded). It must
// be thread-safe for KmsClient to be.
using KmsTransport = std::function<absl::StatusOr<http::Response>(const http::Request&)>;

// NewTcpKmsTransport returns a thread-safe transport over plain TCP HTTP/1.1 to host:port. It
// keeps a mutex-guarded pool of keep-alive connections (one is taken per call, so concurrent
// calls use separate connections). `timeout` bounds connecting and each exchange.
KmsTransport NewTcpKmsTransport(std::string host, uint16_t port,
                                absl::Duration timeout = absl::Seconds(30));

// NewTcpKmsTransport(host, port, options) is the same with http::ClientOptions: options.timeout
// as above, and options.tls set for HTTPS (the http module's policy: TLS 1.2 minimum, the chain
// and the host name always verified). A TLS failure is the call's Unavailable error.
KmsTransport NewTcpKmsTransport(std::string host, uint16_t port, http::ClientOptions options);

// KmsEndpoint is a parsed --kms-endpoint URL.
struct KmsEndpoint {
  std::string host;         // "127.0.0.1"
  uint16_t port = 80;       // 4600
  std::string host_header;  // "127.0.0.1:4600" (what is sent and signed as Host)
  bool tls = false;         // https://: port defaults to 443
};

// ParseKmsEndpoint parses "http://HOST[:PORT][/]" or "https://HOST[:PORT][/]" (IPv6 as [::1]).
// InvalidArgument for anything else.
absl::StatusOr<KmsEndpoint> ParseKmsEndpoint(std::string_view url);

// NewKmsTransport returns NewTcpKmsTransport for `endpoint`: plain HTTP, or for an https://
// endpoint HTTPS whose chain is verified against the PEM bundle `ca_file` (empty: the system
// default store) and whose certificate must name endpoint.host (a DNS name or an IP address).
// `ca_file` is ignored for http://. Errors surface on the first call (Unavailable, e.g. an
// unreadable CA file or a certificate that does not verify).
KmsTransport NewKmsTransport(const KmsEndpoint& endpoint, const std::string& ca_file,
                             absl::Duration timeout = absl::Seconds(30));

// KmsRecipient is the enclave's side of a Recipient request: its RSA key (whose public half is
// the attestation document's public_key) and a fresh attestation document.
struct KmsRecipient {
  const crypto::RsaPrivateKey* key = nullptr;  // not owned
  Bytes attestation_document;
};

// KmsErrorCode returns the absl code KmsClient gives to the AWS error `aws_type`:
// AccessDeniedException -> PermissionDenied; NotFoundException -> NotFound; the signature and
// credential errors (UnrecognizedClientException, InvalidSignatureException, ...) ->
// Unauthenticated; ValidationException, SerializationException, InvalidCiphertextException,
// IncorrectKeyException and other Invalid*Exception -> InvalidArgument; DisabledException,
// KMSInvalidStateException, KeyUnavailableException -> FailedPrecondition;
// AlreadyExistsException -> AlreadyExists; LimitExceededException, ThrottlingException ->
// ResourceExhausted; DependencyTimeoutException -> DeadlineExceeded;
// UnknownOperationException -> Unimplemented; KMSInternalException -> Internal; anything else
// -> Unavailable for an HTTP 5xx, Unknown otherwise.
absl::StatusCode KmsErrorCode(std::string_view aws_type, int http_status);

// KmsClient calls a KMS. Thread-safe when its transport is (NewTcpKmsTransport's is).
class KmsClient {
 public:
  // KmsClient signs with `credentials` for `region` (service "kms") and sends Host:
  // `host_header` through `transport`.
  KmsClient(KmsTransport transport, KmsCredentials credentials, std::string region,
            std::string host_header);

  // SetClock replaces absl::Now as the signing time (tests). Not thread-safe with calls.
  void SetClock(std::function<absl::Time()> clock) { clock_ = std::move(clock); }

  // Call sends the signed operation `operation` (e.g. "ListKeys") with `request` (a JSON
  // object) and returns the response object. Errors: InvalidArgument for a malformed operation
  // name or a non-object request; the transport's error prefixed "KMS <Op>: "; an AWS error as
  // described above (AwsErrorType(status) returns its __type); Internal when a 200 response is
  // not a JSON object.
  absl::StatusOr<nlohmann::json> Call(std::string_view operation,
                                      const nlohmann::json& request) const;

  // CreateKey creates a SYMMETRIC_DEFAULT key with `description` and, when given, the key
  // policy `policy_json`; returns its KeyId. Call's errors; Internal if KeyId is missing.
  absl::StatusOr<std::string> CreateKey(std::string_view description,
                                        std::optional<std::string> policy_json) const;

  // Encrypt returns the CiphertextBlob of `plaintext` (at most 4096 bytes) under `key_id` (id,
  // ARN or alias) bound to `ctx`. Call's errors; Internal for a malformed response.
  absl::StatusOr<Bytes> Encrypt(std::string_view key_id, ByteSpan plaintext,
                                const EncryptionContext& ctx) const;

  // Decrypt returns the plaintext of `blob` under `ctx`. With a `recipient`, the request carries
  // Recipient {RSAES_OAEP_SHA_256, its attestation document} and the plaintext is opened from
  // CiphertextForRecipient with the recipient's RSA key. Call's errors; Internal when the
  // response is malformed, lacks the expected field, or carries Plaintext although a recipient
  // was given (a KMS that ignores Recipient must not get the enclave to accept a key it showed
  // in clear); InvalidArgument ("CMS decryption failed") when the CMS does not open.
  absl::StatusOr<SecretBytes> Decrypt(ByteSpan blob, const EncryptionContext& ctx,
                                      const KmsRecipient* recipient = nullptr) const;

  // DataKey is a fresh data key and its CiphertextBlob under the KMS key.
  struct DataKey {
    SecretBytes plaintext;  // 32 bytes (AES_256)
    Bytes ciphertext_blob;
  };
  // GenerateDataKey returns a fresh 32-byte (KeySpec AES_256) data key under `key_id` bound to
  // `ctx`, its plaintext opened from CiphertextForRecipient when `recipient` is given. Errors as
  // Decrypt's; Internal also when the key is not 32 bytes.
  absl::StatusOr<DataKey> GenerateDataKey(std::string_view key_id, const EncryptionContext& ctx,
                                          const KmsRecipient* recipient = nullptr) const;

 private:
  absl::StatusOr<SecretBytes> ReadSecret(std::string_view operation, nlohmann::json& response,
                                         const KmsRecipient* recipient) const;

  KmsTransport transport_;
  KmsCredentials credentials_;
  std::string region_;
  std::string host_header_;
  std::function<absl::Time()> clock_;
};

}  // namespace confide::kms

#endif  // CONFIDE_KMS_CLIENT_H_
