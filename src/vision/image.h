// confide::vision images: a strict header check for untrusted JPEG/PNG bytes and the decoded
// image that the detectors read.
//
// Images arrive decrypted in enclave memory from a client. Before any byte reaches a codec
// library, ParseImageHeader walks the container itself (JPEG markers, PNG chunks) through a
// bounds-checked cursor, learns the format and the dimensions, and refuses anything outside
// ImageLimits. DecodeImage then decodes with OpenCV and checks that the decoder saw the same
// dimensions. Error messages name what failed, never the bytes.
#ifndef CONFIDE_VISION_IMAGE_H_
#define CONFIDE_VISION_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::vision {

// ImageFormat is a container format that the vision module accepts.
enum class ImageFormat { kJpeg, kPng };

// ImageFormatName returns "jpeg" or "png".
std::string_view ImageFormatName(ImageFormat format);

// ImageLimits bounds what ParseImageHeader / DecodeImage accept.
struct ImageLimits {
  // max_bytes caps the encoded input (16 MiB).
  size_t max_bytes = 16 * 1024 * 1024;
  // max_pixels caps width * height (40 megapixels): the decoded BGR image is at most 3x this.
  uint64_t max_pixels = 40'000'000;
  // max_jpeg_scans caps the scans of a (progressive) JPEG: each scan makes the decoder walk the
  // whole coefficient buffer again, so thousands of tiny scans are a CPU bomb.
  int max_jpeg_scans = 256;
};

// ImageInfo is what the header check learned about an image.
struct ImageInfo {
  ImageFormat format = ImageFormat::kJpeg;
  uint32_t width = 0;
  uint32_t height = 0;
  // components is the number of colour channels declared (JPEG: 1, 3 or 4; PNG: 1..4).
  int components = 0;
};

// ParseImageHeader checks `data` as a complete JPEG (SOI, segments, exactly one SOF0/1/2/9/10
// of 8-bit precision before the first SOS, scans, EOI) or PNG (signature, IHDR first with a
// valid CRC and depth/colour combination, chunks up to IEND with at least one IDAT) and
// returns its format and dimensions. InvalidArgument (naming the rule broken, never echoing
// content) for: input over limits.max_bytes, an unrecognised signature (only JPEG and PNG are
// accepted), a truncated or malformed structure, zero width or height, more than
// limits.max_pixels, an unsupported coding process. Pure function; thread-safe.
absl::StatusOr<ImageInfo> ParseImageHeader(ByteSpan data, const ImageLimits& limits = {});

// Image is a decoded 8-bit BGR image held in memory (OpenCV's layout). Move-only; not
// thread-safe for concurrent mutation, safe for concurrent const use.
class Image {
 public:
  Image();
  ~Image();
  Image(Image&&) noexcept;
  Image& operator=(Image&&) noexcept;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;

  // width / height return the decoded size in pixels (after EXIF orientation, if any).
  int width() const;
  int height() const;
  // info returns what the header check found (before any EXIF rotation).
  const ImageInfo& info() const;

  // EncodeJpeg returns the image as a baseline JPEG of the given quality (1..100).
  // InvalidArgument for a bad quality; Internal if the encoder fails.
  absl::StatusOr<Bytes> EncodeJpeg(int quality = 90) const;

  struct Impl;
  // impl gives the module's own code access to the pixels (vision/internal/image_impl.h).
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// DecodeImage runs ParseImageHeader and then decodes `data` into 8-bit BGR (grey, palette,
// 16-bit and alpha inputs are converted; EXIF orientation is applied as cv::imread does).
// InvalidArgument for everything ParseImageHeader refuses, for data the codec cannot decode,
// and when the decoded size differs from the header's (also rotated). Thread-safe.
absl::StatusOr<Image> DecodeImage(ByteSpan data, const ImageLimits& limits = {});

}  // namespace confide::vision

#endif  // CONFIDE_VISION_IMAGE_H_
