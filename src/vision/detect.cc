#include "vision/detect.h"

#include <algorithm>
#include <cmath>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/encoding.h"
#include "base/file.h"

namespace confide::vision {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<Bytes> ReadModelFile(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("vision: model file not found: ", path.string()));
  }
  return base::ReadFileBounded(path.string(), max_bytes);
}

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// FirstExisting returns the first of `candidates` that is a regular file, or an empty path.
fs::path FirstExisting(std::initializer_list<fs::path> candidates) {
  for (const fs::path& p : candidates) {
    if (Exists(p)) return p;
  }
  return {};
}

bool Wanted(const std::vector<std::string>& only, std::string_view name) {
  return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
}

}  // namespace

absl::StatusOr<VisionConfig> ParseVisionConfig(const nlohmann::json& j, const fs::path& base_dir) {
  if (!j.is_object()) return absl::InvalidArgumentError("vision config: not an object");
  VisionConfig c;
  for (const auto& [key, value] : j.items()) {
    std::string* field = nullptr;
    if (key == "yolo_cfg") {
      field = &c.yolo_cfg;
    } else if (key == "yolo_weights") {
      field = &c.yolo_weights;
    } else if (key == "coco_names") {
      field = &c.coco_names;
    } else if (key == "ultraface_onnx") {
      field = &c.ultraface_onnx;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("vision config: unknown key \"", key, "\""));
    }
    if (!value.is_string() || value.get<std::string>().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("vision config: \"", key, "\" must be a non-empty string"));
    }
    fs::path p = value.get<std::string>();
    *field = (p.is_absolute() ? p : base_dir / p).string();
  }
  int yolo_parts = !c.yolo_cfg.empty() + !c.yolo_weights.empty() + !c.coco_names.empty();
  if (yolo_parts != 0 && yolo_parts != 3) {
    return absl::InvalidArgumentError(
        "vision config: yolo_cfg, yolo_weights and coco_names go together");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<Detector>> LoadYoloFastestFiles(std::string name,
                                                               const fs::path& cfg,
                                                               const fs::path& weights,
                                                               const fs::path& names) {
  ASSIGN_OR_RETURN(Bytes cfg_bytes, ReadModelFile(cfg, kMaxTextFileBytes));
  ASSIGN_OR_RETURN(Bytes weight_bytes, ReadModelFile(weights, kMaxModelFileBytes));
  ASSIGN_OR_RETURN(Bytes name_bytes, ReadModelFile(names, kMaxTextFileBytes));
  return Detector::LoadYoloFastest(std::move(name), cfg_bytes, weight_bytes, name_bytes);
}

absl::StatusOr<std::unique_ptr<Detector>> LoadUltraFaceFile(std::string name,
                                                            const fs::path& onnx) {
  ASSIGN_OR_RETURN(Bytes onnx_bytes, ReadModelFile(onnx, kMaxModelFileBytes));
  return Detector::LoadUltraFace(std::move(name), onnx_bytes);
}

DetectorSet::DetectorSet() = default;
DetectorSet::~DetectorSet() = default;
DetectorSet::DetectorSet(DetectorSet&&) noexcept = default;
DetectorSet& DetectorSet::operator=(DetectorSet&&) noexcept = default;

absl::StatusOr<DetectorSet> DetectorSet::FromDirectory(const fs::path& dir,
                                                       const std::vector<std::string>& only) {
  for (const std::string& n : only) {
    if (n != kYoloFastestXl && n != kYoloFastest && n != kUltraFace) {
      return absl::NotFoundError(absl::StrCat("vision: unknown model; known: ", kYoloFastestXl,
                                              ", ", kYoloFastest, ", ", kUltraFace));
    }
  }
  DetectorSet set;
  const fs::path yolo_dir = dir / "yolo-fastest";
  const fs::path names = FirstExisting({dir / "coco.names", yolo_dir / "coco.names"});
  for (std::string_view yolo : {kYoloFastestXl, kYoloFastest}) {
    if (!Wanted(only, yolo)) continue;
    const std::string stem(yolo);
    fs::path cfg = FirstExisting({dir / (stem + ".cfg"), yolo_dir / (stem + ".cfg")});
    fs::path weights = FirstExisting({dir / (stem + ".weights"), yolo_dir / (stem + ".weights")});
    if (cfg.empty() || weights.empty() || names.empty()) continue;
    ASSIGN_OR_RETURN(auto d, LoadYoloFastestFiles(stem, cfg, weights, names));
    RETURN_IF_ERROR(set.Add(std::move(d)));
  }
  if (Wanted(only, kUltraFace)) {
    fs::path onnx =
        FirstExisting({dir / "version-RFB-320.onnx", dir / "ultraface" / "version-RFB-320.onnx"});
    if (!onnx.empty()) {
      ASSIGN_OR_RETURN(auto d, LoadUltraFaceFile(std::string(kUltraFace), onnx));
      RETURN_IF_ERROR(set.Add(std::move(d)));
    }
  }
  if (set.detectors_.empty()) {
    return absl::NotFoundError(absl::StrCat("vision: no ", only.empty() ? "" : "requested ",
                                            "model found under ", dir.string()));
  }
  return set;
}

absl::StatusOr<DetectorSet> DetectorSet::FromConfig(const VisionConfig& config) {
  DetectorSet set;
  if (!config.yolo_cfg.empty()) {
    std::string name = fs::path(config.yolo_cfg).stem().string();
    ASSIGN_OR_RETURN(auto d, LoadYoloFastestFiles(std::move(name), config.yolo_cfg,
                                                  config.yolo_weights, config.coco_names));
    RETURN_IF_ERROR(set.Add(std::move(d)));
  }
  if (!config.ultraface_onnx.empty()) {
    ASSIGN_OR_RETURN(auto d, LoadUltraFaceFile(std::string(kUltraFace), config.ultraface_onnx));
    RETURN_IF_ERROR(set.Add(std::move(d)));
  }
  if (set.detectors_.empty()) return absl::NotFoundError("vision config: names no model");
  return set;
}

absl::Status DetectorSet::Add(std::unique_ptr<Detector> detector) {
  if (detector == nullptr) return absl::InvalidArgumentError("vision: null detector");
  if (Find(detector->name()) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("vision: model loaded twice: ", detector->name()));
  }
  detectors_.push_back(std::move(detector));
  return absl::OkStatus();
}

const Detector* DetectorSet::Find(std::string_view name) const {
  for (const auto& d : detectors_) {
    if (d->name() == name) return d.get();
  }
  return nullptr;
}

std::vector<std::string> DetectorSet::names() const {
  std::vector<std::string> out;
  for (const auto& d : detectors_) out.push_back(d->name());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json DetectionsToJson(const std::vector<Detection>& detections) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Detection& d : detections) {
    arr.push_back({{"label", d.label},
                   {"score", std::round(double(d.score) * 10000.0) / 10000.0},
                   {"box", {d.box[0], d.box[1], d.box[2], d.box[3]}}});
  }
  return arr;
}

absl::StatusOr<nlohmann::json> DetectJson(const DetectorSet& set, std::string_view model_name,
                                          ByteSpan image, bool draw_boxes) {
  const Detector* detector = set.Find(model_name);
  if (detector == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("vision: unknown model; available: ", absl::StrJoin(set.names(), ", ")));
  }
  ASSIGN_OR_RETURN(Image decoded, DecodeImage(image));
  ASSIGN_OR_RETURN(std::vector<Detection> detections, detector->Detect(decoded));
  nlohmann::json out = {{"model", detector->name()},
                        {"width", decoded.width()},
                        {"height", decoded.height()},
                        {"detections", DetectionsToJson(detections)}};
  if (draw_boxes) {
    ASSIGN_OR_RETURN(Bytes jpeg, DrawDetections(decoded, detections));
    out["image"] = base::Base64Encode(jpeg);
  }
  return out;
}

}  // namespace confide::vision
