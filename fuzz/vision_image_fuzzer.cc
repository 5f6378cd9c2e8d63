// Fuzzes confide::vision's untrusted-image path: the JPEG/PNG header check (ParseImageHeader)
// and the decode behind it (DecodeImage = header check + cv::imdecode). Properties:
//  1. every refusal is InvalidArgument, and DecodeImage refuses whatever ParseImageHeader does;
//  2. a decoded image is 8-bit BGR of exactly the header's size (or its transpose, for EXIF
//     rotation) and within the pixel limit;
//  3. a decoded image re-encodes to a JPEG that passes the header check with the same size and
//     decodes again to the same size.
// The pixel limit is 1 MP here (40 MP in production) so that each input stays fast; the limit
// logic itself is unit-tested. Seeds: tiny JPEGs (baseline, progressive, grey, restart
// intervals) and PNGs (RGB, grey, RGBA 16-bit, palette) in fuzz/corpus/vision_image/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "vision/image.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "vision_image_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide;
  const ByteSpan in(data, size);
  vision::ImageLimits limits;
  limits.max_pixels = 1'000'000;
  auto info = vision::ParseImageHeader(in, limits);
  auto img = vision::DecodeImage(in, limits);
  if (!info.ok()) {
    Check(info.status().code() == absl::StatusCode::kInvalidArgument,
          "header: not InvalidArgument");
    Check(!img.ok(), "decoded what the header check refused");
    return 0;
  }
  Check(info->width > 0 && info->height > 0, "zero dimension accepted");
  Check(uint64_t{info->width} * info->height <= limits.max_pixels, "pixel limit not enforced");
  if (!img.ok()) {
    Check(img.status().code() == absl::StatusCode::kInvalidArgument, "decode: not InvalidArgument");
    return 0;
  }
  const uint32_t w = uint32_t(img->width()), h = uint32_t(img->height());
  Check((w == info->width && h == info->height) || (w == info->height && h == info->width),
        "decoded size differs from the header's");
  auto jpeg = img->EncodeJpeg(75);
  Check(jpeg.ok(), "re-encoding failed");
  auto again_info = vision::ParseImageHeader(*jpeg, limits);
  Check(again_info.ok() && again_info->width == w && again_info->height == h,
        "re-encoded JPEG fails the header check");
  auto again = vision::DecodeImage(*jpeg, limits);
  Check(again.ok() && uint32_t(again->width()) == w && uint32_t(again->height()) == h,
        "re-encoded JPEG does not decode to the same size");
  return 0;
}
