// confide::app seed flows: A (POST /compat/kms-chat, a KMS-encrypted question answered under
// KMS, sealed-path.md §6) and B (POST /v1/detect inside the seal, sealed-path.md §7), and the
// KMS transport over vsock both use.
#ifndef CONFIDE_APP_FLOWS_H_
#define CONFIDE_APP_FLOWS_H_

#include <memory>
#include <optional>
#include <string>

#include "app/enclave_app.h"
#include "app/enclave_config.h"
#include "enclave/vsock.h"
#include "http/http.h"
#include "kms/client.h"
#include "vision/detect.h"

namespace confide::app {

// kMaxKmsPlaintextBytes is KMS Encrypt's plaintext limit: a longer answer is cut (on a UTF-8
// boundary) to fit.
inline constexpr size_t kMaxKmsPlaintextBytes = 4096;

// NewVsockKmsTransport returns a thread-safe KmsTransport that sends each request on a fresh
// connection to (3, port) of `transport` (which must outlive it), where vsock-proxy forwards to
// the KMS.
kms::KmsTransport NewVsockKmsTransport(enclave::VsockTransport& transport, uint32_t port);

// MakeRecipient returns the enclave's KMS Recipient: its RSA key and a fresh attestation
// document binding it. EnclaveApp::Attest's errors.
absl::StatusOr<kms::KmsRecipient> MakeRecipient(EnclaveApp& app);

// HandleKmsChat answers flow A: {"CiphertextBlob": b64, "KeyId", "Credentials":
// {"AccessKeyId","SecretAccessKey","SessionToken"?}, "MaxTokens"?, "EncryptionContext"?} -> KMS
// Decrypt with the enclave's Recipient, those credentials and that context, the model's greedy
// answer (guardrails applied), KMS Encrypt of the answer under KeyId with the same context plus
// "confide:direction":"answer" -> 200 {"CiphertextBlob": b64}. Errors are AWS-shaped
// {"__type","message"}: 400 ValidationException for a malformed request, the KMS's own error
// type and a matching status when KMS refuses (AccessDeniedException 400 as AWS), 503 while the
// model loads. Credentials, question and answer are never logged nor put in an error.
http::Response HandleKmsChat(const http::Request& request, EnclaveApp& app,
                             const kms::KmsTransport& kms_transport, const KmsConfig& config);

// DetectRoute answers POST /v1/detect (flow B) with `detectors`: {"model", "image": b64 |
// "envelope": b64 (a `confide encrypt` file, opened with KMS Decrypt + Recipient using
// "credentials"), "draw_boxes"?}. Returns nullopt for other paths. OpenAI-style errors: 400
// malformed, 404 unknown model, 413 over the body limit, 422 an image that does not decode,
// 403/400 when KMS refuses.
std::optional<ApiReply> DetectRoute(const http::Request& request, EnclaveApp& app,
                                    const vision::DetectorSet& detectors,
                                    const kms::KmsTransport& kms_transport,
                                    const KmsConfig& config);

// LoadDetectors loads the detectors `config` names, file names relative to `app_dir`.
absl::StatusOr<std::unique_ptr<vision::DetectorSet>> LoadDetectors(const VisionConfig& config,
                                                                   const std::string& app_dir);

}  // namespace confide::app

#endif  // CONFIDE_APP_FLOWS_H_
