#include "llm/catalog.h"

#include <array>

namespace confide::llm {
namespace {

// Add an entry only with a digest computed from a downloaded copy of the file; never copy a
// digest from a web page.
constexpr std::array<CatalogEntry, 1> kCatalog = {{
    {"stories260K",
     "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf", 1185376,
     "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
     "TinyStories llama, 260K parameters (Karpathy llama2.c, GGUF by ggml-org); for tests"},
}};

}  // namespace

std::span<const CatalogEntry> ModelCatalog() { return kCatalog; }

const CatalogEntry* FindCatalogEntry(std::string_view name) {
  for (const CatalogEntry& e : kCatalog) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace confide::llm
