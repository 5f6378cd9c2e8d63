// Fuzzes the GGUF reader and the model loader.
//
// Properties: (1) parsing never crashes and fails only with InvalidArgument; (2) what parses
// re-serialises (GgufWriter::FromFile) to a file that parses to the same metadata and tensors,
// and re-serialising that gives the same bytes; (3) a file that loads as a model runs one
// forward step with finite-or-not logits but no crash and no allocation surprises.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "llm/gguf.h"
#include "llm/model.h"

using confide::Bytes;
using confide::ByteSpan;
using confide::llm::GgufFile;
using confide::llm::GgufWriter;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = GgufFile::Parse(ByteSpan(data, size));
  if (!f.ok()) {
    if (f.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto w = GgufWriter::FromFile(*f);
  if (!w.ok()) std::abort();
  Bytes once = w->Finish();
  auto g = GgufFile::Parse(once);
  if (!g.ok()) std::abort();
  if (!(g->metadata() == f->metadata()) || g->tensors().size() != f->tensors().size()) {
    std::abort();
  }
  for (size_t i = 0; i < f->tensors().size(); ++i) {
    const auto& a = f->tensors()[i];
    const auto& b = g->tensors()[i];
    if (a.name != b.name || a.type != b.type || a.dims != b.dims ||
        a.data.size() != b.data.size() ||
        (a.data.size() != 0 && std::memcmp(a.data.data(), b.data.data(), a.data.size()) != 0)) {
      std::abort();
    }
  }
  auto w2 = GgufWriter::FromFile(*g);
  if (!w2.ok() || w2->Finish() != once) std::abort();

  // The loader borrows the bytes; keep a copy so tensor views stay valid and aligned.
  auto model = confide::llm::Model::FromBuffer(once, {.max_context = 4});
  if (model.ok()) {
    auto logits = (*model)->Forward(0, 0);
    if (!logits.ok() || logits->size() != (*model)->config().vocab_size) std::abort();
  }
  return 0;
}
