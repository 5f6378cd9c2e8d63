// Fuzzes the enclave's configuration parsers (confide::app::ParseEnclaveConfig for
// /app/enclave.json, ParseImageMetadata for /app/confide.meta). Both files are measured, but a
// parser that crashes or accepts garbage would still turn a bad image into undefined behaviour
// inside the enclave. Properties: no crash; an accepted config has a model name and bounded
// values; an accepted metadata digest is 32 bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "app/enclave_config.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "app_enclave_config_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = confide::app::ParseEnclaveConfig(in);
  if (c.ok()) {
    Check(!c->model.name.empty(), "accepted a config without a model name");
    Check(c->model.max_tokens >= 1 && c->model.max_tokens <= 32768, "max_tokens out of range");
  }
  auto m = confide::app::ParseImageMetadata(in);
  if (m.ok() && m->model_sha256) {
    Check(m->model_sha256->size() == 32, "metadata digest is not 32 bytes");
  }
  return 0;
}
