// confide::vision detectors: Yolo-Fastest (COCO objects) and UltraFace RFB-320 (faces) on
// OpenCV 4.6's DNN module, CPU backend.
//
// Pre- and post-processing follow ../shared/models/vision/expected_detections_opencv46.txt
// exactly, so that the numbers match the reference run with Debian 12's OpenCV:
//   Yolo-Fastest: blobFromImage(img, 1/255, 320x320, swapRB, crop=false); each row of the two
//     YOLO outputs is [cx, cy, w, h, objectness, class scores...] relative to the image;
//     score = max class score; keep score > 0.30; NMSBoxes(score 0.30, IoU 0.45) over all
//     classes; box = x, y, w, h in pixels.
//   UltraFace: blobFromImage(img, 1/128, 320x240, mean 127, swapRB); outputs scores[1,N,2]
//     (column 1 = face) and boxes[1,N,4] (x0, y0, x1, y1 normalised); keep score > 0.7;
//     NMSBoxes(0.7, 0.3).
#ifndef CONFIDE_VISION_DETECTOR_H_
#define CONFIDE_VISION_DETECTOR_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "vision/image.h"

namespace confide::vision {

// Detection is one detected object: its label ("dog", "face"), score in [0, 1] and box
// {x, y, w, h} in pixels of the decoded image (clipped to it).
struct Detection {
  std::string label;
  float score = 0;
  std::array<int, 4> box = {0, 0, 0, 0};
};

// DetectorKind is the network family, which fixes pre- and post-processing.
enum class DetectorKind { kYoloFastest, kUltraFace };

// DetectorOptions are the thresholds; the defaults are the reference's.
struct DetectorOptions {
  // score_threshold: detections scoring at or below it are dropped (YOLO 0.30, UltraFace 0.7).
  float score_threshold = -1;  // < 0: the kind's default
  // nms_threshold: IoU above which the lower-scored of two boxes is suppressed (0.45 / 0.3).
  float nms_threshold = -1;  // < 0: the kind's default
};

// Detector runs one loaded network. Detect() is thread-safe (calls are serialised: an OpenCV
// Net holds per-forward state); the detector is immutable after loading.
class Detector {
 public:
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // LoadYoloFastest builds a Yolo-Fastest detector from a Darknet .cfg, its .weights and the
  // class names (one per line, e.g. coco.names), all in memory (the enclave may hold them only
  // decrypted in memory). It runs one warm-up forward and checks that the network has YOLO
  // outputs with as many classes as `names` lists. InvalidArgument if a part is empty, the
  // network does not load, or the shapes disagree; the message never quotes the files.
  static absl::StatusOr<std::unique_ptr<Detector>> LoadYoloFastest(std::string name, ByteSpan cfg,
                                                                   ByteSpan weights, ByteSpan names,
                                                                   DetectorOptions options = {});

  // LoadUltraFace builds a face detector from UltraFace's version-RFB-320.onnx (box decoding
  // inside the graph) held in memory; warm-up and output checks as above (outputs "scores"
  // [1,N,2] and "boxes" [1,N,4]). InvalidArgument on failure.
  static absl::StatusOr<std::unique_ptr<Detector>> LoadUltraFace(std::string name, ByteSpan onnx,
                                                                 DetectorOptions options = {});

  // Detect returns the detections in `image`, highest score first. Internal if OpenCV fails.
  absl::StatusOr<std::vector<Detection>> Detect(const Image& image) const;

  // name returns the model name given at load ("yolo-fastest-1.1-xl").
  const std::string& name() const;
  // kind returns the network family.
  DetectorKind kind() const;
  // input_width / input_height return the network's input size (320x320 or 320x240).
  int input_width() const;
  int input_height() const;

  struct Impl;

 private:
  explicit Detector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// SetVisionThreads sets how many threads OpenCV uses for DNN and image operations in this
// process (cv::setNumThreads: process-wide, not per detector). `threads` <= 0 restores
// OpenCV's default (all cores).
void SetVisionThreads(int threads);

// VisionThreads returns the number of threads OpenCV currently uses (cv::getNumThreads).
int VisionThreads();

// DrawDetections returns a copy of `image` with each detection's box and "label score" drawn,
// encoded as JPEG (quality 90). Internal if encoding fails.
absl::StatusOr<Bytes> DrawDetections(const Image& image, const std::vector<Detection>& detections);

}  // namespace confide::vision

#endif  // CONFIDE_VISION_DETECTOR_H_
