#include "vision/image.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace confide::vision {
namespace {

// A small test pattern (gradients, so that JPEG has non-trivial scans).
cv::Mat Pattern(int width, int height, int type = CV_8UC3) {
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 7), uchar(y * 5), uchar((x + y) * 3));
    }
  }
  if (type == CV_8UC1) cv::cvtColor(m, m, cv::COLOR_BGR2GRAY);
  if (type == CV_8UC4) cv::cvtColor(m, m, cv::COLOR_BGR2BGRA);
  if (type == CV_16UC3) m.convertTo(m, CV_16UC3, 257);
  return m;
}

Bytes Encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uchar> out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params));
  return Bytes(out.begin(), out.end());
}

Bytes Jpeg(int w, int h, bool progressive = false) {
  return Encode(Pattern(w, h), ".jpg",
                {cv::IMWRITE_JPEG_QUALITY, 90, cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0});
}

Bytes Png(int w, int h, int type = CV_8UC3) { return Encode(Pattern(w, h, type), ".png"); }

uint32_t Crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

void PutU32(Bytes& b, size_t at, uint32_t v) {
  b[at] = uint8_t(v >> 24);
  b[at + 1] = uint8_t(v >> 16);
  b[at + 2] = uint8_t(v >> 8);
  b[at + 3] = uint8_t(v);
}

// SetPngSize rewrites IHDR's width and height and fixes its CRC.
void SetPngSize(Bytes& png, uint32_t w, uint32_t h) {
  PutU32(png, 16, w);
  PutU32(png, 20, h);
  PutU32(png, 29, Crc32(&png[12], 17));
}

// SofOffset returns the offset of the first SOFn marker's 0xFF in a JPEG from OpenCV.
size_t SofOffset(const Bytes& jpeg) {
  for (size_t i = 2; i + 1 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) return i;
  }
  ADD_FAILURE() << "no SOF";
  return 0;
}

void SetJpegSize(Bytes& jpeg, uint16_t w, uint16_t h) {
  size_t s = SofOffset(jpeg);
  jpeg[s + 5] = uint8_t(h >> 8);
  jpeg[s + 6] = uint8_t(h);
  jpeg[s + 7] = uint8_t(w >> 8);
  jpeg[s + 8] = uint8_t(w);
}

void ExpectRefused(ByteSpan data, const std::string& needle = "") {
  auto info = ParseImageHeader(data);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument) << info.status();
  if (!needle.empty()) {
    EXPECT_TRUE(absl::StrContains(info.status().message(), needle)) << info.status();
  }
  auto img = DecodeImage(data);
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ImageHeader, BaselineAndProgressiveJpeg) {
  for (bool progressive : {false, true}) {
    Bytes j = Jpeg(37, 21, progressive);
    auto info = ParseImageHeader(j);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->format, ImageFormat::kJpeg);
    EXPECT_EQ(info->width, 37u);
    EXPECT_EQ(info->height, 21u);
    EXPECT_EQ(info->components, 3);
    auto img = DecodeImage(j);
    ASSERT_TRUE(img.ok()) << img.status();
    EXPECT_EQ(img->width(), 37);
    EXPECT_EQ(img->height(), 21);
  }
  Bytes grey = Encode(Pattern(8, 9, CV_8UC1), ".jpg");
  auto info = ParseImageHeader(grey);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->components, 1);
  auto img = DecodeImage(grey);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->width(), 8);
}

TEST(ImageHeader, PngColourTypes) {
  struct Case {
    int type;
    int components;
  };
  for (Case c : {Case{CV_8UC3, 3}, Case{CV_8UC1, 1}, Case{CV_8UC4, 4}, Case{CV_16UC3, 3}}) {
    Bytes p = Png(13, 17, c.type);
    auto info = ParseImageHeader(p);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->format, ImageFormat::kPng);
    EXPECT_EQ(info->width, 13u);
    EXPECT_EQ(info->height, 17u);
    EXPECT_EQ(info->components, c.components);
    auto img = DecodeImage(p);
    ASSERT_TRUE(img.ok()) << img.status();
    EXPECT_EQ(img->width(), 13);
    EXPECT_EQ(img->height(), 17);
  }
}

TEST(ImageHeader, RefusesOtherFormats) {
  ExpectRefused({}, "empty");
  ExpectRefused(AsBytes("GIF89a\x01\x00\x01\x00"), "only JPEG and PNG");
  ExpectRefused(AsBytes("BM\x36\x00\x00\x00"), "only JPEG and PNG");
  ExpectRefused(Encode(Pattern(4, 4), ".bmp"), "only JPEG and PNG");
  ExpectRefused(AsBytes("\x89PNX\r\n\x1a\n"), "signature");
}

TEST(ImageHeader, RefusesOversizedInput) {
  Bytes j = Jpeg(16, 16);
  ImageLimits small;
  small.max_bytes = j.size() - 1;
  auto info = ParseImageHeader(j, small);
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::StrContains(info.status().message(), "exceeds the limit")) << info.status();
  // The default cap: 16 MiB + 1 byte, refused before anything is parsed.
  Bytes big(16 * 1024 * 1024 + 1, 0);
  std::copy(j.begin(), j.end(), big.begin());
  ExpectRefused(big, "exceeds the limit of 16777216");
}

TEST(ImageHeader, RefusesHugeAndZeroDimensions) {
  Bytes j = Jpeg(16, 16);
  SetJpegSize(j, 7000, 6000);  // 42 MP
  ExpectRefused(j, "exceeds the limit of 40000000 pixels");
  SetJpegSize(j, 65535, 65535);
  ExpectRefused(j, "pixels");
  SetJpegSize(j, 16, 0);
  ExpectRefused(j, "zero width or height");
  SetJpegSize(j, 0, 16);
  ExpectRefused(j, "zero width or height");

  Bytes p = Png(16, 16);
  SetPngSize(p, 100000, 100000);
  ExpectRefused(p, "pixels");
  SetPngSize(p, 0x7FFFFFFF, 1);
  ExpectRefused(p, "pixels");
  SetPngSize(p, 0x80000000u, 1);
  ExpectRefused(p, "2^31-1");
  SetPngSize(p, 0, 16);
  ExpectRefused(p, "zero width or height");
  // 40 MP exactly is within the limit as far as the header goes (the decoder then fails on the
  // mismatched data, cleanly).
  SetPngSize(p, 8000, 5000);
  EXPECT_TRUE(ParseImageHeader(p).ok());
  EXPECT_EQ(DecodeImage(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ImageHeader, EveryTruncationIsRefused) {
  for (const Bytes& full : {Jpeg(16, 16), Jpeg(16, 16, true), Png(16, 16)}) {
    ASSERT_TRUE(ParseImageHeader(full).ok());
    for (size_t n = 0; n < full.size(); ++n) {
      ByteSpan prefix(full.data(), n);
      auto info = ParseImageHeader(prefix);
      ASSERT_FALSE(info.ok()) << "prefix " << n << " of " << full.size();
      EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// Flipping any bit either gets the image refused cleanly or yields a decoded image whose size
// the header check announced.
TEST(ImageHeader, BitFlipsAreRefusedOrConsistent) {
  int decoded = 0, refused = 0;
  for (const Bytes& full : {Jpeg(8, 8), Png(8, 8)}) {
    for (size_t i = 0; i < full.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes m = full;
        m[i] ^= uint8_t(1u << bit);
        auto img = DecodeImage(m);
        if (!img.ok()) {
          EXPECT_EQ(img.status().code(), absl::StatusCode::kInvalidArgument) << img.status();
          ++refused;
          continue;
        }
        ++decoded;
        auto info = ParseImageHeader(m);
        ASSERT_TRUE(info.ok());
        EXPECT_EQ(uint32_t(img->width()) * uint32_t(img->height()), info->width * info->height);
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(decoded, 0);
}

TEST(ImageHeader, RefusesUnsupportedJpegProcesses) {
  Bytes j = Jpeg(16, 16);
  size_t s = SofOffset(j);
  Bytes lossless = j;
  lossless[s + 1] = 0xC3;
  ExpectRefused(lossless, "unsupported coding process");
  Bytes hierarchical = j;
  hierarchical[s + 1] = 0xC5;
  ExpectRefused(hierarchical, "unsupported coding process");
  Bytes twelve_bit = j;
  twelve_bit[s + 4] = 12;
  ExpectRefused(twelve_bit, "8-bit");
  Bytes two_components = j;
  two_components[s + 9] = 2;
  ExpectRefused(two_components, "components");
}

TEST(ImageHeader, RefusesMalformedJpegStructure) {
  Bytes j = Jpeg(16, 16);
  // No frame before the scan: drop the SOF segment.
  size_t s = SofOffset(j);
  size_t len = (size_t(j[s + 2]) << 8) | j[s + 3];
  Bytes no_sof = j;
  no_sof.erase(no_sof.begin() + long(s), no_sof.begin() + long(s + 2 + len));
  ExpectRefused(no_sof, "scan before the frame header");
  // Two frame headers.
  Bytes two_sof = j;
  two_sof.insert(two_sof.begin() + long(s), j.begin() + long(s), j.begin() + long(s + 2 + len));
  ExpectRefused(two_sof, "more than one frame header");
  // A second SOI.
  Bytes two_soi = j;
  two_soi.insert(two_soi.begin() + 2, {0xFF, 0xD8});
  ExpectRefused(two_soi, "second start-of-image");
  // A segment length below 2.
  Bytes bad_len = j;
  bad_len.insert(bad_len.begin() + 2, {0xFF, 0xFE, 0x00, 0x01});
  ExpectRefused(bad_len, "segment length");
  // Garbage where a marker belongs.
  Bytes garbage = j;
  garbage.insert(garbage.begin() + 2, {0x12});
  ExpectRefused(garbage, "expected a marker");
  // Too many scans.
  Bytes progressive = Jpeg(16, 16, true);
  ImageLimits few;
  few.max_jpeg_scans = 2;
  auto info = ParseImageHeader(progressive, few);
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::StrContains(info.status().message(), "more than 2 scans"));
  // Fill bytes before a marker are allowed (T.81 B.1.1.3).
  Bytes fill = j;
  fill.insert(fill.begin() + 2, {0xFF, 0xFF});
  EXPECT_TRUE(ParseImageHeader(fill).ok());
  EXPECT_TRUE(DecodeImage(fill).ok());
  // Trailing bytes after EOI are ignored.
  Bytes trailing = j;
  trailing.insert(trailing.end(), {1, 2, 3});
  EXPECT_TRUE(DecodeImage(trailing).ok());
}

TEST(ImageHeader, RefusesMalformedPngStructure) {
  Bytes p = Png(16, 16);
  Bytes bad_crc = p;
  bad_crc[29] ^= 1;
  ExpectRefused(bad_crc, "IHDR CRC");
  Bytes bad_depth = p;
  bad_depth[24] = 3;
  PutU32(bad_depth, 29, Crc32(&bad_depth[12], 17));
  ExpectRefused(bad_depth, "bit depth");
  Bytes bad_colour = p;
  bad_colour[25] = 5;
  PutU32(bad_colour, 29, Crc32(&bad_colour[12], 17));
  ExpectRefused(bad_colour, "colour type");
  Bytes bad_interlace = p;
  bad_interlace[28] = 2;
  PutU32(bad_interlace, 29, Crc32(&bad_interlace[12], 17));
  ExpectRefused(bad_interlace, "interlace");
  Bytes not_ihdr = p;
  not_ihdr[12] = 'X';
  ExpectRefused(not_ihdr, "IHDR");
  // IEND right after IHDR: no IDAT.
  Bytes no_idat(p.begin(), p.begin() + 33);
  const uint8_t iend[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  no_idat.insert(no_idat.end(), std::begin(iend), std::end(iend));
  ExpectRefused(no_idat, "no IDAT");
  // A chunk type that is not letters.
  Bytes bad_type = p;
  bad_type[37] = '1';
  ExpectRefused(bad_type, "four letters");
  // A corrupted IDAT payload: the header passes, the codec refuses, cleanly.
  Bytes bad_idat = p;
  bad_idat[45] ^= 0xFF;
  EXPECT_TRUE(ParseImageHeader(bad_idat).ok());
  EXPECT_EQ(DecodeImage(bad_idat).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ImageHeader, MessagesNeverEchoContent) {
  const std::string canary = "CANARY-7f3a9c-SECRET";
  Bytes j = Jpeg(16, 16);
  Bytes with_comment = {0xFF, 0xD8, 0xFF, 0xFE, 0, uint8_t(canary.size() + 2)};
  with_comment.insert(with_comment.end(), canary.begin(), canary.end());
  with_comment.insert(with_comment.end(), j.begin() + 2, j.end());
  ASSERT_TRUE(DecodeImage(with_comment).ok());
  for (size_t n : {size_t{10}, size_t{30}, with_comment.size() - 1}) {
    auto s = DecodeImage(ByteSpan(with_comment.data(), n)).status();
    ASSERT_FALSE(s.ok());
    EXPECT_FALSE(absl::StrContains(s.message(), "CANARY")) << s;
  }
  Bytes not_image = ToBytes(canary);
  auto s = DecodeImage(not_image).status();
  EXPECT_FALSE(absl::StrContains(s.message(), "CANARY")) << s;
}

// An EXIF orientation of 6 (rotate 90 degrees clockwise) is applied as cv::imread does: the
// decoded image is the header's transpose, which DecodeImage accepts.
TEST(Image, ExifOrientationIsApplied) {
  Bytes j = Jpeg(10, 12);
  const uint8_t app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,  // APP1, Exif
                          'M',  'M',  0x00, 0x2A, 0,   0,   0,   8,          // TIFF, IFD at 8
                          0,    1,                                           // one entry
                          0x01, 0x12, 0x00, 0x03, 0,   0,   0,   1,   0, 6,
                          0,    0,               // Orientation = 6
                          0,    0,    0,    0};  // no next IFD
  j.insert(j.begin() + 2, std::begin(app1), std::end(app1));
  auto img = DecodeImage(j);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->info().width, 10u);
  EXPECT_EQ(img->width(), 12);
  EXPECT_EQ(img->height(), 10);
}

TEST(Image, EncodeJpegRoundTrip) {
  auto img = DecodeImage(Png(24, 10));
  ASSERT_TRUE(img.ok());
  auto jpeg = img->EncodeJpeg(80);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  auto info = ParseImageHeader(*jpeg);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, 24u);
  EXPECT_EQ(info->height, 10u);
  EXPECT_EQ(img->EncodeJpeg(0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace confide::vision
