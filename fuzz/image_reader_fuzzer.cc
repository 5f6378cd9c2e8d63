// Fuzzes confide::image::ParseImage on untrusted bytes and checks the reader's properties:
//  1. an image that parses re-encodes to exactly the input bytes (the format has one encoding:
//     sorted entries, fixed header, no slack), archives included;
//  2. its measurements are those ComputeMeasurements gives for the parsed sections;
//  3. every entry path is one the builder could have written.
// The seed corpus holds a small unsigned and a signed image (fuzz/corpus/image_reader/).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "image/image.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "image_reader_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide;
  const ByteSpan in(data, size);
  auto img = image::ParseImage(in);
  if (!img.ok()) return 0;
  auto rt = image::EncodeArchive(img->runtime);
  auto app = image::EncodeArchive(img->application);
  Check(rt.ok() && *rt == img->runtime_data, "runtime archive does not re-encode");
  Check(app.ok() && *app == img->application_data, "application archive does not re-encode");
  for (const auto* list : {&img->runtime, &img->application}) {
    for (const image::FileEntry& e : *list) {
      Check(image::ValidateEntryPath(e.path).ok(), "invalid path accepted");
    }
  }
  Bytes again =
      image::EncodeUnsignedImage(img->runtime_data, img->application_data, img->signature ? 3 : 2);
  if (img->signature) image::AppendSignatureSection(*img->signature, again);
  Check(again == Bytes(in.begin(), in.end()), "image does not re-encode to the input");
  std::optional<Bytes> cert;
  if (img->signature) cert = img->signature->certificate_der;
  auto m = image::ComputeMeasurements(img->runtime_data, img->application_data, cert);
  Check(m.AsPcrMap() == img->measurements.AsPcrMap(), "measurements differ");
  return 0;
}
