#include "app/enclave_config.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "nlohmann/json.hpp"

namespace confide::app {
namespace {

using Json = nlohmann::json;
constexpr int kMaxDepth = 4;

// Split returns the parts of `s` between `sep` (std::string_view; absl's has its own type).
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("enclave.json: ", std::string(field), ": ", std::string(what)));
}

absl::StatusOr<Json> ParseStrict(std::string_view text) {
  if (text.size() > kMaxConfigBytes) return Invalid("(file)", "too large");
  std::vector<std::set<std::string>> keys;
  bool duplicate = false, too_deep = false;
  Json::parser_callback_t cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxDepth) too_deep = true;
    if (event == Json::parse_event_t::object_start) keys.emplace_back();
    if (event == Json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == Json::parse_event_t::key && !keys.empty() && parsed.is_string() &&
        !keys.back().insert(parsed.get<std::string>()).second) {
      duplicate = true;
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("(file)", "malformed JSON");
  if (too_deep) return Invalid("(file)", "nested too deeply");
  if (duplicate) return Invalid("(file)", "duplicate key");
  if (!j.is_object()) return Invalid("(file)", "must be an object");
  return j;
}

// Object checks that `j` is an object whose keys are all in `allowed`.
absl::Status Object(const Json& j, std::string_view field,
                    std::initializer_list<std::string_view> allowed) {
  if (!j.is_object()) return Invalid(field, "must be an object");
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || k == a;
    if (!known) return Invalid(field, "unknown field");  // the name is not echoed
  }
  return absl::OkStatus();
}

absl::Status Uint(const Json& j, const char* key, std::string_view field, uint64_t lo, uint64_t hi,
                  auto* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return Invalid(field, "must be a non-negative integer");
  }
  const uint64_t v = it->get<uint64_t>();
  if (v < lo || v > hi) return Invalid(field, absl::StrCat("must be in ", lo, "..", hi));
  *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
  return absl::OkStatus();
}

absl::Status String(const Json& j, const char* key, std::string_view field, std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_string()) return Invalid(field, "must be a string");
  *out = it->get<std::string>();
  if (out->size() > 255) return Invalid(field, "longer than 255 bytes");
  return absl::OkStatus();
}

absl::Status FileName(const Json& j, const char* key, std::string_view field, std::string* out) {
  RETURN_IF_ERROR(String(j, key, field, out));
  if (j.find(key) == j.end()) return absl::OkStatus();
  if (out->empty() || (*out)[0] == '/' || out->find('\0') != std::string::npos) {
    return Invalid(field, "must be a relative file name");
  }
  for (std::string_view part : Split(*out, '/')) {
    if (part == ".." || part.empty()) return Invalid(field, "must be a relative file name");
  }
  return absl::OkStatus();
}

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<EnclaveConfig> ParseEnclaveConfig(std::string_view json_text) {
  ASSIGN_OR_RETURN(Json j, ParseStrict(json_text));
  EnclaveConfig c;
  RETURN_IF_ERROR(
      Object(j, "(top level)", {"model", "kms", "provision_port", "guardrail", "vision"}));
  auto model = j.find("model");
  if (model == j.end()) return Invalid("model", "is required");
  RETURN_IF_ERROR(
      Object(*model, "model", {"name", "max_tokens", "threads", "context", "chat_template"}));
  if (model->find("name") == model->end()) return Invalid("model.name", "is required");
  RETURN_IF_ERROR(String(*model, "name", "model.name", &c.model.name));
  if (!IsName(c.model.name)) return Invalid("model.name", "must be [A-Za-z0-9._:-]{1,64}");
  RETURN_IF_ERROR(Uint(*model, "max_tokens", "model.max_tokens", 1, 32768, &c.model.max_tokens));
  RETURN_IF_ERROR(Uint(*model, "threads", "model.threads", 1, 256, &c.model.threads));
  RETURN_IF_ERROR(Uint(*model, "context", "model.context", 16, 131072, &c.model.context));
  RETURN_IF_ERROR(String(*model, "chat_template", "model.chat_template", &c.model.chat_template));
  if (auto kms = j.find("kms"); kms != j.end()) {
    RETURN_IF_ERROR(Object(*kms, "kms", {"vsock_port", "region", "host"}));
    RETURN_IF_ERROR(Uint(*kms, "vsock_port", "kms.vsock_port", 1, 0xFFFFFFFEu, &c.kms.vsock_port));
    RETURN_IF_ERROR(String(*kms, "region", "kms.region", &c.kms.region));
    RETURN_IF_ERROR(String(*kms, "host", "kms.host", &c.kms.host));
    if (c.kms.region.empty() || c.kms.host.empty()) {
      return Invalid("kms", "region and host must not be empty");
    }
  }
  RETURN_IF_ERROR(Uint(j, "provision_port", "provision_port", 1, 0xFFFFFFFEu, &c.provision_port));
  RETURN_IF_ERROR(FileName(j, "guardrail", "guardrail", &c.guardrail));
  if (auto v = j.find("vision"); v != j.end()) {
    RETURN_IF_ERROR(
        Object(*v, "vision", {"yolo_cfg", "yolo_weights", "coco_names", "ultraface_onnx"}));
    VisionConfig vc;
    RETURN_IF_ERROR(FileName(*v, "yolo_cfg", "vision.yolo_cfg", &vc.yolo_cfg));
    RETURN_IF_ERROR(FileName(*v, "yolo_weights", "vision.yolo_weights", &vc.yolo_weights));
    RETURN_IF_ERROR(FileName(*v, "coco_names", "vision.coco_names", &vc.coco_names));
    RETURN_IF_ERROR(FileName(*v, "ultraface_onnx", "vision.ultraface_onnx", &vc.ultraface_onnx));
    c.vision = std::move(vc);
  }
  return c;
}

absl::StatusOr<ImageMetadata> ParseImageMetadata(std::string_view text) {
  if (text.size() > kMaxConfigBytes) return absl::InvalidArgumentError("confide.meta: too large");
  ImageMetadata m;
  std::set<std::string> seen;
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError("confide.meta: a line has no '='");
    }
    const std::string key(line.substr(0, eq));
    const std::string_view value = line.substr(eq + 1);
    if (!seen.insert(key).second) return absl::InvalidArgumentError("confide.meta: duplicate key");
    if (key == "name") {
      m.name = std::string(value);
    } else if (key == "model_sha256") {
      auto d = base::HexDecode(value);
      if (!d.ok() || d->size() != 32) {
        return absl::InvalidArgumentError("confide.meta: model_sha256 must be 64 hex digits");
      }
      m.model_sha256 = std::move(*d);
    }
  }
  return m;
}

}  // namespace confide::app
