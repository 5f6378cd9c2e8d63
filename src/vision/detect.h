// confide::vision entry points for the enclave app and the CLI: a set of loaded detectors
// (from a model directory or from the "vision" section of enclave.json, sealed-path.md §5) and
// DetectJson, the body of `POST /v1/detect` (sealed-path.md §7).
#ifndef CONFIDE_VISION_DETECT_H_
#define CONFIDE_VISION_DETECT_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "vision/detector.h"
#include "vision/image.h"

namespace confide::vision {

// Model names of the detectors confide ships support for.
inline constexpr char kYoloFastestXl[] = "yolo-fastest-1.1-xl";
inline constexpr char kYoloFastest[] = "yolo-fastest-1.1";
inline constexpr char kUltraFace[] = "ultraface-rfb-320";

// Caps on model files read from disk.
inline constexpr size_t kMaxModelFileBytes = 256 * 1024 * 1024;
inline constexpr size_t kMaxTextFileBytes = 1024 * 1024;

// VisionConfig is the "vision" section of enclave.json (sealed-path.md §5): file paths, absolute
// or relative to the configuration's directory. Empty = not configured. The YOLO model's name
// is its .cfg file name without the extension (e.g. "yolo-fastest-1.1-xl").
struct VisionConfig {
  std::string yolo_cfg;
  std::string yolo_weights;
  std::string coco_names;
  std::string ultraface_onnx;
};

// ParseVisionConfig reads the "vision" object: keys yolo_cfg, yolo_weights, coco_names,
// ultraface_onnx (strings), relative paths resolved against `base_dir`. InvalidArgument for a
// non-object, an unknown key, a non-string value, or a YOLO triple given only in part.
absl::StatusOr<VisionConfig> ParseVisionConfig(const nlohmann::json& j,
                                               const std::filesystem::path& base_dir);

// DetectorSet holds loaded detectors by model name. Immutable once built; Find and DetectJson
// are thread-safe.
class DetectorSet {
 public:
  DetectorSet();
  ~DetectorSet();
  DetectorSet(DetectorSet&&) noexcept;
  DetectorSet& operator=(DetectorSet&&) noexcept;

  // FromDirectory loads the known models found under `dir`, each in `dir` itself or in the
  // layout of ../shared/models/vision: yolo-fastest/{yolo-fastest-1.1-xl,yolo-fastest-1.1}.
  // {cfg,weights} + coco.names, ultraface/version-RFB-320.onnx. `only`, when not empty, names
  // the models to load (others are not read). NotFound if no (requested) model is present;
  // InvalidArgument / NotFound from loading.
  static absl::StatusOr<DetectorSet> FromDirectory(const std::filesystem::path& dir,
                                                   const std::vector<std::string>& only = {});

  // FromConfig loads the models a VisionConfig names. NotFound if it names none or a file is
  // missing; InvalidArgument if a model does not load.
  static absl::StatusOr<DetectorSet> FromConfig(const VisionConfig& config);

  // Add takes ownership of a loaded detector (e.g. one built from decrypted in-memory files).
  // AlreadyExists if its name is taken.
  absl::Status Add(std::unique_ptr<Detector> detector);

  // Find returns the detector named `name`, or nullptr. The set keeps ownership.
  const Detector* Find(std::string_view name) const;

  // names returns the loaded model names, sorted.
  std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<Detector>> detectors_;
};

// LoadYoloFastestFiles / LoadUltraFaceFile read model files (bounded by kMaxModelFileBytes /
// kMaxTextFileBytes) and load them as Detector::LoadYoloFastest / LoadUltraFace do. NotFound
// for a missing file.
absl::StatusOr<std::unique_ptr<Detector>> LoadYoloFastestFiles(std::string name,
                                                               const std::filesystem::path& cfg,
                                                               const std::filesystem::path& weights,
                                                               const std::filesystem::path& names);
absl::StatusOr<std::unique_ptr<Detector>> LoadUltraFaceFile(std::string name,
                                                            const std::filesystem::path& onnx);

// DetectionsToJson returns [{"label", "score" (rounded to 4 decimals), "box": [x, y, w, h]}].
nlohmann::json DetectionsToJson(const std::vector<Detection>& detections);

// DetectJson checks and decodes `image` (JPEG or PNG, within ImageLimits), runs the model
// `model_name` and returns {"model", "width", "height", "detections": [...]} plus "image":
// base64 of a JPEG with the boxes drawn when `draw_boxes`. NotFound for an unknown model (the
// message lists the loaded names, never echoes the request's); InvalidArgument for an image
// ParseImageHeader / DecodeImage refuses; Internal if OpenCV fails. No image content reaches
// a message or a log.
absl::StatusOr<nlohmann::json> DetectJson(const DetectorSet& set, std::string_view model_name,
                                          ByteSpan image, bool draw_boxes);

}  // namespace confide::vision

#endif  // CONFIDE_VISION_DETECT_H_
