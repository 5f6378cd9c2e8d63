// confide::app enclave configuration: /app/enclave.json (sealed-path.md §5), measured in PCR2 with
// the rest of the application section, and the image metadata /app/confide.meta (the plaintext
// model's SHA-256, from the manifest).
#ifndef CONFIDE_APP_ENCLAVE_CONFIG_H_
#define CONFIDE_APP_ENCLAVE_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::app {

// kMaxConfigBytes caps enclave.json and confide.meta.
inline constexpr size_t kMaxConfigBytes = 64 * 1024;

// ModelConfig is enclave.json's "model".
struct ModelConfig {
  std::string name;           // required: the id /v1/models lists, [A-Za-z0-9._:-]{1,64}
  size_t max_tokens = 256;    // 1..32768: cap and default of max_tokens
  size_t threads = 1;         // 1..256
  size_t context = 4096;      // 16..131072: KV cache positions (capped by the model's own)
  std::string chat_template;  // optional llm::ChatTemplateFromName name; "" = the model's
};

// KmsConfig is enclave.json's "kms".
struct KmsConfig {
  uint32_t vsock_port = 8000;  // on the parent (CID 3), where vsock-proxy forwards to the KMS
  std::string region = "us-east-1";
  std::string host = "kms.confide.local";  // Host header and SigV4 host
};

// VisionConfig is enclave.json's "vision": file names under the application directory.
struct VisionConfig {
  std::string yolo_cfg;
  std::string yolo_weights;
  std::string coco_names;
  std::string ultraface_onnx;
};

// EnclaveConfig is /app/enclave.json.
struct EnclaveConfig {
  ModelConfig model;
  KmsConfig kms;
  uint32_t provision_port = 7000;
  std::string guardrail;  // policy file under the application directory; "" = none
  std::optional<VisionConfig> vision;
};

// ParseEnclaveConfig parses enclave.json strictly. InvalidArgument naming the field for:
// malformed JSON, text over kMaxConfigBytes, duplicate keys, unknown fields (at any level),
// wrong types, values outside the ranges above, a port of 0 or above 2^32-1, and file names
// that are empty, absolute, contain ".." or a NUL, or are longer than 255 bytes. Only
// model.name is required.
absl::StatusOr<EnclaveConfig> ParseEnclaveConfig(std::string_view json_text);

// ImageMetadata is /app/confide.meta ("key=value" lines written by the image builder).
struct ImageMetadata {
  std::string name;
  std::optional<Bytes> model_sha256;  // 32 bytes
};

// ParseImageMetadata parses confide.meta. InvalidArgument for text over kMaxConfigBytes, a line
// without '=', a duplicate key, or a model_sha256 that is not 64 hex digits. Unknown keys are
// ignored (the builder may add more).
absl::StatusOr<ImageMetadata> ParseImageMetadata(std::string_view text);

}  // namespace confide::app

#endif  // CONFIDE_APP_ENCLAVE_CONFIG_H_
