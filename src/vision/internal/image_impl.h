// Private to src/vision: the OpenCV matrix behind confide::vision::Image.
#ifndef CONFIDE_VISION_INTERNAL_IMAGE_IMPL_H_
#define CONFIDE_VISION_INTERNAL_IMAGE_IMPL_H_

#include <opencv2/core.hpp>

#include "vision/image.h"

namespace confide::vision {

// Image::Impl holds the decoded pixels (CV_8UC3, BGR) and the header facts.
struct Image::Impl {
  cv::Mat mat;
  ImageInfo info;
};

}  // namespace confide::vision

#endif  // CONFIDE_VISION_INTERNAL_IMAGE_IMPL_H_
