#include "vision/image.h"

#include <algorithm>
#include <array>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "vision/internal/image_impl.h"

namespace confide::vision {
namespace {

using base::ByteCursor;

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("image: ", std::string(what)));
}

absl::Status CheckDimensions(uint64_t width, uint64_t height, const ImageLimits& limits) {
  if (width == 0 || height == 0) return Bad("zero width or height");
  if (width * height > limits.max_pixels) {
    return Bad(
        absl::StrCat(width, "x", height, " exceeds the limit of ", limits.max_pixels, " pixels"));
  }
  return absl::OkStatus();
}

// ---- JPEG (ITU-T T.81) ----

//= https://www.w3.org/Graphics/JPEG/itu-t81.pdf#B.1.1.3
//# All markers are assigned two-byte codes: an X'FF' byte followed by a byte which is not
//# equal to 0 or X'FF'. ... Any marker may optionally be preceded by any number of fill bytes,
//# which are bytes assigned code X'FF'.
constexpr uint8_t kSoi = 0xD8;
constexpr uint8_t kEoi = 0xD9;
constexpr uint8_t kSos = 0xDA;

bool IsRst(uint8_t code) { return code >= 0xD0 && code <= 0xD7; }

// IsSof returns true for any start-of-frame marker (Table B.1: C0-C3, C5-C7, C9-CB, CD-CF).
bool IsSof(uint8_t code) {
  return code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC;
}

// IsDecodableSof returns true for the processes libjpeg(-turbo) 2.1 decodes at 8-bit precision:
// baseline, extended and progressive DCT, Huffman or arithmetic coded. Lossless (C3, CB) and
// hierarchical (C5-C7, CD-CF) frames are refused before they reach the codec.
bool IsDecodableSof(uint8_t code) {
  return code == 0xC0 || code == 0xC1 || code == 0xC2 || code == 0xC9 || code == 0xCA;
}

// ReadMarker reads a marker (0xFF, optional fill bytes, code) and returns its code.
absl::StatusOr<uint8_t> ReadMarker(ByteCursor& c) {
  uint8_t b;
  if (!c.ReadU8(&b)) return Bad("JPEG truncated before the end-of-image marker");
  if (b != 0xFF) return Bad("JPEG: expected a marker");
  do {
    if (!c.ReadU8(&b)) return Bad("JPEG truncated inside a marker");
  } while (b == 0xFF);
  if (b == 0x00) return Bad("JPEG: stuffed byte outside a scan");
  return b;
}

// SkipEntropyData consumes the entropy-coded data after a scan header, up to (not including)
// the 0xFF that starts the next marker other than RSTn.
//= https://www.w3.org/Graphics/JPEG/itu-t81.pdf#B.1.1.5
//# If a X'00' byte is detected after a X'FF' byte, the decoder must discard the X'00' byte
absl::Status SkipEntropyData(ByteCursor& c) {
  while (true) {
    ByteSpan rest = c.rest();
    auto ff = std::find(rest.begin(), rest.end(), uint8_t{0xFF});
    size_t at = static_cast<size_t>(ff - rest.begin());
    if (ff == rest.end() || !c.Skip(at)) {
      return Bad("JPEG truncated inside a scan (no end-of-image marker)");
    }
    // c is at an 0xFF. Look past fill bytes at the code.
    ByteCursor peek = c;
    uint8_t b = 0xFF;
    size_t fill = 0;
    while (b == 0xFF) {
      if (!peek.ReadU8(&b)) return Bad("JPEG truncated inside a scan (no end-of-image marker)");
      ++fill;
    }
    if (b == 0x00 || IsRst(b)) {
      if (!c.Skip(fill)) return Bad("JPEG truncated inside a scan");
      continue;
    }
    // A marker: leave the cursor on its last 0xFF so that ReadMarker reads 0xFF, code.
    // `fill` counted the 0xFF bytes and the code.
    if (!c.Skip(fill - 2)) return Bad("JPEG truncated inside a scan");
    return absl::OkStatus();
  }
}

absl::StatusOr<ImageInfo> ParseJpeg(ByteCursor c, const ImageLimits& limits) {
  uint8_t b0, b1;
  if (!c.ReadU8(&b0) || !c.ReadU8(&b1) || b0 != 0xFF || b1 != kSoi) {
    return Bad("JPEG: missing start-of-image marker");
  }
  ImageInfo info;
  info.format = ImageFormat::kJpeg;
  bool have_frame = false;
  int scans = 0;
  while (true) {
    ASSIGN_OR_RETURN(uint8_t code, ReadMarker(c));
    if (code == kEoi) break;
    if (code == kSoi) return Bad("JPEG: second start-of-image marker");
    if (IsRst(code)) return Bad("JPEG: restart marker outside a scan");
    if (code == 0x01) continue;  // TEM: standalone, no parameters (Table B.1).
    uint16_t len;
    ByteSpan seg;
    if (!c.ReadU16BE(&len) || len < 2 || !c.ReadBytes(len - 2u, &seg)) {
      return Bad("JPEG: truncated or malformed segment length");
    }
    if (IsSof(code)) {
      if (have_frame) return Bad("JPEG: more than one frame header");
      if (!IsDecodableSof(code)) {
        return Bad("JPEG: unsupported coding process (lossless or hierarchical)");
      }
      //= https://www.w3.org/Graphics/JPEG/itu-t81.pdf#B.2.2
      //# Lf: Frame header length ... P: Sample precision ... Y: Number of lines ...
      //# X: Number of samples per line ... Nf: Number of image components in frame
      ByteCursor f(seg);
      uint8_t precision, num_components;
      uint16_t height, width;
      if (!f.ReadU8(&precision) || !f.ReadU16BE(&height) || !f.ReadU16BE(&width) ||
          !f.ReadU8(&num_components)) {
        return Bad("JPEG: truncated frame header");
      }
      if (precision != 8) return Bad("JPEG: only 8-bit sample precision is supported");
      if (num_components != 1 && num_components != 3 && num_components != 4) {
        return Bad("JPEG: frame must have 1, 3 or 4 components");
      }
      if (f.remaining() != 3u * num_components) {
        return Bad("JPEG: frame header length does not match its components");
      }
      RETURN_IF_ERROR(CheckDimensions(width, height, limits));
      info.width = width;
      info.height = height;
      info.components = num_components;
      have_frame = true;
    } else if (code == kSos) {
      if (!have_frame) return Bad("JPEG: scan before the frame header");
      if (++scans > limits.max_jpeg_scans) {
        return Bad(absl::StrCat("JPEG: more than ", limits.max_jpeg_scans, " scans"));
      }
      RETURN_IF_ERROR(SkipEntropyData(c));
    }
    // Other segments (APPn, COM, DQT, DHT, DRI, DAC, DNL, ...) are left to the codec.
  }
  if (!have_frame) return Bad("JPEG: no frame header");
  if (scans == 0) return Bad("JPEG: no scan");
  return info;
}

// ---- PNG (ISO/IEC 15948, W3C PNG 2nd edition) ----

constexpr std::array<uint8_t, 8> kPngSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr uint32_t kPngMaxLength = 0x7FFFFFFFu;

// Crc32 is the PNG/zlib CRC (polynomial 0xEDB88320), computed bytewise: it only covers IHDR.
uint32_t Crc32(ByteSpan a, ByteSpan b) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (ByteSpan s : {a, b}) {
    for (uint8_t x : s) c = table[(c ^ x) & 0xFF] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

struct PngChunk {
  uint32_t type = 0;
  ByteSpan type_bytes;
  ByteSpan data;
  uint32_t crc = 0;
};

absl::StatusOr<PngChunk> ReadChunk(ByteCursor& c) {
  //= https://www.w3.org/TR/png/#5Chunk-layout
  //# Length: A PNG four-byte unsigned integer giving the number of bytes in the chunk's data
  //# field. ... Although encoders and decoders should treat the length as unsigned, its value
  //# shall not exceed 2^31-1 bytes.
  uint32_t len;
  PngChunk ch;
  if (!c.ReadU32BE(&len)) return Bad("PNG truncated before the IEND chunk");
  if (len > kPngMaxLength) return Bad("PNG: chunk length over 2^31-1");
  ByteCursor t = c;
  if (!c.ReadBytes(4, &ch.type_bytes) || !t.ReadU32BE(&ch.type) || !c.ReadBytes(len, &ch.data) ||
      !c.ReadU32BE(&ch.crc)) {
    return Bad("PNG truncated inside a chunk");
  }
  for (uint8_t x : ch.type_bytes) {
    bool letter = (x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z');
    if (!letter) return Bad("PNG: chunk type is not four letters");
  }
  return ch;
}

constexpr uint32_t Tag(char a, char b, char c, char d) {
  return (uint32_t(uint8_t(a)) << 24) | (uint32_t(uint8_t(b)) << 16) | (uint32_t(uint8_t(c)) << 8) |
         uint32_t(uint8_t(d));
}

absl::StatusOr<ImageInfo> ParsePng(ByteCursor c, const ImageLimits& limits) {
  ByteSpan sig;
  if (!c.ReadBytes(kPngSignature.size(), &sig) ||
      !std::equal(sig.begin(), sig.end(), kPngSignature.begin())) {
    return Bad("PNG: bad signature");
  }
  ASSIGN_OR_RETURN(PngChunk ihdr, ReadChunk(c));
  //= https://www.w3.org/TR/png/#11IHDR
  //# The IHDR chunk shall be the first chunk in the PNG datastream.
  if (ihdr.type != Tag('I', 'H', 'D', 'R') || ihdr.data.size() != 13) {
    return Bad("PNG: first chunk is not a 13-byte IHDR");
  }
  if (Crc32(ihdr.type_bytes, ihdr.data) != ihdr.crc) return Bad("PNG: IHDR CRC mismatch");
  ByteCursor h(ihdr.data);
  uint32_t width = 0, height = 0;
  uint8_t depth = 0, color = 0, compression = 0, filter = 0, interlace = 0;
  if (!h.ReadU32BE(&width) || !h.ReadU32BE(&height) || !h.ReadU8(&depth) || !h.ReadU8(&color) ||
      !h.ReadU8(&compression) || !h.ReadU8(&filter) || !h.ReadU8(&interlace)) {
    return Bad("PNG: truncated IHDR");
  }
  //# Width and height give the image dimensions in pixels. They are PNG four-byte unsigned
  //# integers. Zero is an invalid value.
  if (width > kPngMaxLength || height > kPngMaxLength) return Bad("PNG: dimension over 2^31-1");
  RETURN_IF_ERROR(CheckDimensions(width, height, limits));
  //= https://www.w3.org/TR/png/#table111
  //# Greyscale 0: 1, 2, 4, 8, 16; Truecolour 2: 8, 16; Indexed-colour 3: 1, 2, 4, 8;
  //# Greyscale with alpha 4: 8, 16; Truecolour with alpha 6: 8, 16
  int components = 0;
  bool depth_ok = false;
  switch (color) {
    case 0:
      components = 1;
      depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
      break;
    case 2:
      components = 3;
      depth_ok = depth == 8 || depth == 16;
      break;
    case 3:
      components = 3;
      depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
      break;
    case 4:
      components = 2;
      depth_ok = depth == 8 || depth == 16;
      break;
    case 6:
      components = 4;
      depth_ok = depth == 8 || depth == 16;
      break;
    default:
      return Bad("PNG: invalid colour type");
  }
  if (!depth_ok) return Bad("PNG: invalid bit depth for the colour type");
  if (compression != 0 || filter != 0 || interlace > 1) {
    return Bad("PNG: invalid compression, filter or interlace method");
  }
  bool have_idat = false;
  while (true) {
    ASSIGN_OR_RETURN(PngChunk ch, ReadChunk(c));
    if (ch.type == Tag('I', 'H', 'D', 'R')) return Bad("PNG: second IHDR chunk");
    if (ch.type == Tag('I', 'D', 'A', 'T')) have_idat = true;
    if (ch.type == Tag('I', 'E', 'N', 'D')) break;
  }
  if (!have_idat) return Bad("PNG: no IDAT chunk");
  ImageInfo info;
  info.format = ImageFormat::kPng;
  info.width = width;
  info.height = height;
  info.components = components;
  return info;
}

}  // namespace

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
  }
  return "unknown";
}

absl::StatusOr<ImageInfo> ParseImageHeader(ByteSpan data, const ImageLimits& limits) {
  if (data.size() > limits.max_bytes) {
    return Bad(
        absl::StrCat("input of ", data.size(), " bytes exceeds the limit of ", limits.max_bytes));
  }
  if (data.empty()) return Bad("empty input");
  if (data.size() >= 2 && data[0] == 0xFF && data[1] == kSoi)
    return ParseJpeg(ByteCursor(data), limits);
  if (data[0] == kPngSignature[0]) return ParsePng(ByteCursor(data), limits);
  return Bad("unsupported format (only JPEG and PNG are accepted)");
}

Image::Image() : impl_(std::make_unique<Impl>()) {}
Image::~Image() = default;
Image::Image(Image&&) noexcept = default;
Image& Image::operator=(Image&&) noexcept = default;

int Image::width() const { return impl_->mat.cols; }
int Image::height() const { return impl_->mat.rows; }
const ImageInfo& Image::info() const { return impl_->info; }

absl::StatusOr<Bytes> Image::EncodeJpeg(int quality) const {
  if (quality < 1 || quality > 100) return absl::InvalidArgumentError("JPEG quality not in 1..100");
  if (impl_->mat.empty()) return absl::FailedPreconditionError("image: empty");
  std::vector<uchar> out;
  bool ok = false;
  // OpenCV reports failures by throwing cv::Exception; this is the boundary.
  try {
    ok = cv::imencode(".jpg", impl_->mat, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) return absl::InternalError("image: JPEG encoding failed");
  return Bytes(out.begin(), out.end());
}

absl::StatusOr<Image> DecodeImage(ByteSpan data, const ImageLimits& limits) {
  ASSIGN_OR_RETURN(ImageInfo info, ParseImageHeader(data, limits));
  // The header check bounds width*height by limits.max_pixels (40 MP by default), far below
  // OpenCV's own defaults (OPENCV_IO_MAX_IMAGE_PIXELS = 2^30, width/height 2^20), so ours are
  // the limits in force. IMREAD_COLOR always yields 8-bit, 3-channel BGR (16-bit and alpha
  // stripped inside the codec), so the decoded buffer is at most 3 * max_pixels bytes; never
  // IMREAD_UNCHANGED / ANYDEPTH / LOAD_GDAL. JPEG and PNG decode straight from this memory
  // buffer (no temporary file holds the plaintext).
  cv::Mat encoded(1, static_cast<int>(data.size()), CV_8UC1,
                  const_cast<uint8_t*>(data.data()));  // imdecode only reads it.
  Image image;
  try {
    image.impl().mat = cv::imdecode(encoded, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    image.impl().mat.release();
  }
  cv::Mat& m = image.impl().mat;
  if (m.empty()) {
    return Bad(
        absl::StrCat(std::string(ImageFormatName(info.format)), " data could not be decoded"));
  }
  if (m.type() != CV_8UC3) return absl::InternalError("image: decoder returned a non-BGR image");
  bool same = uint32_t(m.cols) == info.width && uint32_t(m.rows) == info.height;
  bool rotated = uint32_t(m.cols) == info.height && uint32_t(m.rows) == info.width;
  if (!same && !rotated) return Bad("decoded size differs from the header's");
  image.impl().info = info;
  return image;
}

}  // namespace confide::vision
