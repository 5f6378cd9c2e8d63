// Fuzzes the enclave's OpenAI-compatible API (confide::app::ApiService) with untrusted request
// bodies, as they arrive after the OHTTP seal is opened. The model is a tiny random-weight GGUF
// (llm::SynthesizeModel) so each input runs the whole path (JSON bounds, message and option
// validation, chat template, tokenizer, at most 2 generated tokens, response JSON). The first
// input byte picks the endpoint and whether to stream. Properties:
//  1. every answer is a valid HTTP status with a JSON body (or an SSE stream ending in [DONE]);
//  2. every error body has OpenAI's {"error":{"message","type"}} shape;
//  3. a 200 chat answer reports usage.completion_tokens <= max_tokens.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "app/openai_api.h"
#include "llm/model.h"
#include "llm/synth.h"
#include "nlohmann/json.hpp"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "app_openai_api_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

confide::Bytes* g_gguf = nullptr;  // kept alive for the model (FromBuffer does not copy)

confide::app::ApiService* Service() {
  static confide::app::ApiService* service = [] {
    confide::llm::SynthSpec spec;
    spec.context_length = 64;
    auto gguf = confide::llm::SynthesizeModel(spec);
    Check(gguf.ok(), "synthesize model");
    g_gguf = new confide::Bytes(*std::move(gguf));
    auto model = confide::llm::Model::FromBuffer(*g_gguf, {});
    Check(model.ok(), "load model");
    confide::app::ApiOptions options;
    options.model_name = "fuzz";
    options.max_tokens = 2;
    options.chat_template = "chatml";
    auto s = confide::app::ApiService::Create(std::move(*model), nullptr, options);
    Check(s.ok(), "create service");
    return s->release();
  }();
  return service;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kPaths[] = {"/v1/chat/completions", "/v1/completions",
                                       "/v1/guardrails/apply", "/v1/models"};
  confide::http::Request req;
  req.method = data[0] & 0x10 ? "GET" : "POST";
  req.target = kPaths[data[0] & 3];
  req.headers.Add("Content-Type", "application/json");
  req.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  confide::http::Response r = Service()->HandleBuffered(req);
  Check(r.status >= 200 && r.status <= 599, "status out of range");
  if (r.status != 200) {
    auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    Check(!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object() &&
              j["error"].contains("message") && j["error"].contains("type"),
          "error body is not OpenAI-shaped");
    return 0;
  }
  if (r.body.rfind("data: ", 0) == 0) {
    Check(r.body.size() >= 14 && r.body.compare(r.body.size() - 14, 14, "data: [DONE]\n\n") == 0,
          "stream does not end with [DONE]");
    return 0;
  }
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  Check(!j.is_discarded() && j.is_object(), "200 body is not a JSON object");
  if (j.contains("usage")) {
    Check(j["usage"]["completion_tokens"].is_number_unsigned() &&
              j["usage"]["completion_tokens"].get<uint64_t>() <= 2,
          "more tokens than max_tokens");
  }
  return 0;
}
