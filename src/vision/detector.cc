#include "vision/detector.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "vision/internal/image_impl.h"

namespace confide::vision {

struct Detector::Impl {
  std::string name;
  DetectorKind kind = DetectorKind::kYoloFastest;
  std::vector<std::string> labels;  // YOLO class names; {"face"} for UltraFace
  float score_threshold = 0;
  float nms_threshold = 0;
  int input_width = 0;
  int input_height = 0;
  double scale = 1;
  cv::Scalar mean;
  std::vector<std::string> output_names;
  // An OpenCV Net keeps per-forward state (input blob, layer buffers): one forward at a time.
  mutable std::mutex mu;
  mutable cv::dnn::Net net;
};

namespace {

// Caps on the class-names file: COCO has 80 names.
constexpr size_t kMaxLabels = 10000;
constexpr size_t kMaxLabelBytes = 256;

absl::StatusOr<std::vector<std::string>> ParseLabels(ByteSpan names) {
  std::vector<std::string> labels;
  std::string_view text = AsStringView(names);
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.size() > kMaxLabelBytes) return absl::InvalidArgumentError("vision: label too long");
    labels.emplace_back(line);
    if (labels.size() > kMaxLabels) return absl::InvalidArgumentError("vision: too many labels");
  }
  // A trailing newline leaves no empty last label; drop trailing empty lines.
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (labels.empty()) return absl::InvalidArgumentError("vision: class names file is empty");
  return labels;
}

// RunForward runs one forward pass on `blob`; the caller holds impl.mu.
absl::Status RunForward(const Detector::Impl& impl, const cv::Mat& blob,
                        std::vector<cv::Mat>* outs) {
  // OpenCV reports failures by throwing cv::Exception; this is the boundary.
  try {
    impl.net.setInput(blob);
    impl.net.forward(*outs, impl.output_names);
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        absl::StrCat("vision: forward pass failed (OpenCV error ", e.code, ")"));
  }
  return absl::OkStatus();
}

cv::Mat MakeBlob(const Detector::Impl& impl, const cv::Mat& bgr) {
  return cv::dnn::blobFromImage(bgr, impl.scale, cv::Size(impl.input_width, impl.input_height),
                                impl.mean, /*swapRB=*/true, /*crop=*/false, CV_32F);
}

// CheckOutputs checks the shapes of a forward pass's outputs against what post-processing
// reads, so that Detect never indexes out of bounds.
absl::Status CheckOutputs(const Detector::Impl& impl, const std::vector<cv::Mat>& outs) {
  if (impl.kind == DetectorKind::kYoloFastest) {
    if (outs.empty()) return absl::InvalidArgumentError("vision: YOLO network has no outputs");
    for (const cv::Mat& o : outs) {
      if (o.dims != 2 || o.type() != CV_32F || o.cols < 6) {
        return absl::InvalidArgumentError("vision: YOLO output is not rows of [box, obj, classes]");
      }
      if (static_cast<size_t>(o.cols - 5) != impl.labels.size()) {
        return absl::InvalidArgumentError(absl::StrCat("vision: network has ", o.cols - 5,
                                                       " classes but the names file lists ",
                                                       impl.labels.size()));
      }
    }
    return absl::OkStatus();
  }
  // UltraFace: scores [1, N, 2], boxes [1, N, 4].
  if (outs.size() != 2 || outs[0].dims != 3 || outs[1].dims != 3 || outs[0].type() != CV_32F ||
      outs[1].type() != CV_32F || outs[0].size[0] != 1 || outs[1].size[0] != 1 ||
      outs[0].size[1] != outs[1].size[1] || outs[0].size[2] != 2 || outs[1].size[2] != 4 ||
      !outs[0].isContinuous() || !outs[1].isContinuous()) {
    return absl::InvalidArgumentError(
        "vision: UltraFace outputs are not scores[1,N,2], boxes[1,N,4]");
  }
  return absl::OkStatus();
}

absl::Status WarmUp(Detector::Impl& impl) {
  cv::Mat zeros(impl.input_height, impl.input_width, CV_8UC3, cv::Scalar(0, 0, 0));
  std::vector<cv::Mat> outs;
  std::lock_guard<std::mutex> lock(impl.mu);
  absl::Status s = RunForward(impl, MakeBlob(impl, zeros), &outs);
  if (!s.ok()) return absl::InvalidArgumentError("vision: the network fails its warm-up forward");
  return CheckOutputs(impl, outs);
}

int ToInt(float v) {
  // Python's int() (the reference) truncates toward zero; keep to a sane range first.
  v = std::clamp(v, -1e7f, 1e7f);
  return static_cast<int>(v);
}

void PostprocessYolo(const Detector::Impl& impl, const std::vector<cv::Mat>& outs, int width,
                     int height, std::vector<cv::Rect>* boxes, std::vector<float>* scores,
                     std::vector<int>* classes) {
  for (const cv::Mat& o : outs) {
    for (int r = 0; r < o.rows; ++r) {
      const float* row = o.ptr<float>(r);
      const float* cls = row + 5;
      const float* best = std::max_element(cls, row + o.cols);
      float score = *best;
      if (!(score > impl.score_threshold)) continue;
      int cx = ToInt(row[0] * width);
      int cy = ToInt(row[1] * height);
      int w = ToInt(row[2] * width);
      int h = ToInt(row[3] * height);
      boxes->emplace_back(ToInt(cx - w / 2.0f), ToInt(cy - h / 2.0f), w, h);
      scores->push_back(score);
      classes->push_back(static_cast<int>(best - cls));
    }
  }
}

void PostprocessUltraFace(const Detector::Impl& impl, const std::vector<cv::Mat>& outs, int width,
                          int height, std::vector<cv::Rect>* boxes, std::vector<float>* scores,
                          std::vector<int>* classes) {
  const int n = outs[0].size[1];
  const float* sc = outs[0].ptr<float>();
  const float* bx = outs[1].ptr<float>();
  for (int i = 0; i < n; ++i) {
    float score = sc[2 * i + 1];
    if (!(score > impl.score_threshold)) continue;
    int x0 = ToInt(bx[4 * i] * width);
    int y0 = ToInt(bx[4 * i + 1] * height);
    int x1 = ToInt(bx[4 * i + 2] * width);
    int y1 = ToInt(bx[4 * i + 3] * height);
    boxes->emplace_back(x0, y0, x1 - x0, y1 - y0);
    scores->push_back(score);
    classes->push_back(0);
  }
}

// Clip returns `r` intersected with the image, as {x, y, w, h}.
std::array<int, 4> Clip(const cv::Rect& r, int width, int height) {
  int x0 = std::clamp(r.x, 0, width);
  int y0 = std::clamp(r.y, 0, height);
  int x1 = std::clamp(r.x + r.width, 0, width);
  int y1 = std::clamp(r.y + r.height, 0, height);
  return {x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0)};
}

absl::StatusOr<std::unique_ptr<Detector::Impl>> NewImpl(std::string name, DetectorKind kind,
                                                        const DetectorOptions& options) {
  if (name.empty()) return absl::InvalidArgumentError("vision: model name is empty");
  auto impl = std::make_unique<Detector::Impl>();
  impl->name = std::move(name);
  impl->kind = kind;
  bool yolo = kind == DetectorKind::kYoloFastest;
  impl->score_threshold = options.score_threshold >= 0 ? options.score_threshold
                          : yolo                       ? 0.30f
                                                       : 0.7f;
  impl->nms_threshold = options.nms_threshold >= 0 ? options.nms_threshold : yolo ? 0.45f : 0.3f;
  if (impl->score_threshold > 1 || impl->nms_threshold > 1) {
    return absl::InvalidArgumentError("vision: thresholds must be in [0, 1]");
  }
  impl->input_width = 320;
  impl->input_height = yolo ? 320 : 240;
  impl->scale = yolo ? 1.0 / 255 : 1.0 / 128;
  impl->mean = yolo ? cv::Scalar() : cv::Scalar(127, 127, 127);
  return impl;
}

}  // namespace

Detector::Detector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Detector::~Detector() = default;

absl::StatusOr<std::unique_ptr<Detector>> Detector::LoadYoloFastest(std::string name, ByteSpan cfg,
                                                                    ByteSpan weights,
                                                                    ByteSpan names,
                                                                    DetectorOptions options) {
  if (cfg.empty() || weights.empty()) {
    return absl::InvalidArgumentError("vision: YOLO cfg or weights are empty");
  }
  ASSIGN_OR_RETURN(auto impl, NewImpl(std::move(name), DetectorKind::kYoloFastest, options));
  ASSIGN_OR_RETURN(impl->labels, ParseLabels(names));
  try {
    impl->net =
        cv::dnn::readNetFromDarknet(reinterpret_cast<const char*>(cfg.data()), cfg.size(),
                                    reinterpret_cast<const char*>(weights.data()), weights.size());
    impl->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    impl->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    impl->output_names = impl->net.getUnconnectedOutLayersNames();
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("vision: Darknet model does not load (OpenCV error ", e.code, ")"));
  }
  if (impl->net.empty()) return absl::InvalidArgumentError("vision: Darknet model is empty");
  RETURN_IF_ERROR(WarmUp(*impl));
  return std::unique_ptr<Detector>(new Detector(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Detector>> Detector::LoadUltraFace(std::string name, ByteSpan onnx,
                                                                  DetectorOptions options) {
  if (onnx.empty()) return absl::InvalidArgumentError("vision: ONNX model is empty");
  ASSIGN_OR_RETURN(auto impl, NewImpl(std::move(name), DetectorKind::kUltraFace, options));
  impl->labels = {"face"};
  impl->output_names = {"scores", "boxes"};
  try {
    impl->net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(onnx.data()), onnx.size());
    impl->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    impl->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("vision: ONNX model does not load (OpenCV error ", e.code, ")"));
  }
  if (impl->net.empty()) return absl::InvalidArgumentError("vision: ONNX model is empty");
  RETURN_IF_ERROR(WarmUp(*impl));
  return std::unique_ptr<Detector>(new Detector(std::move(impl)));
}

absl::StatusOr<std::vector<Detection>> Detector::Detect(const Image& image) const {
  const cv::Mat& bgr = image.impl().mat;
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    return absl::InvalidArgumentError("vision: image is empty or not BGR");
  }
  const int width = bgr.cols;
  const int height = bgr.rows;
  cv::Mat blob;
  try {
    blob = MakeBlob(*impl_, bgr);
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        absl::StrCat("vision: preprocessing failed (OpenCV error ", e.code, ")"));
  }
  std::vector<cv::Mat> outs;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    RETURN_IF_ERROR(RunForward(*impl_, blob, &outs));
    // Outputs alias the network's buffers until the next forward: post-process under the lock.
    RETURN_IF_ERROR(CheckOutputs(*impl_, outs));
    std::vector<cv::Rect> boxes;
    std::vector<float> scores;
    std::vector<int> classes;
    if (impl_->kind == DetectorKind::kYoloFastest) {
      PostprocessYolo(*impl_, outs, width, height, &boxes, &scores, &classes);
    } else {
      PostprocessUltraFace(*impl_, outs, width, height, &boxes, &scores, &classes);
    }
    std::vector<int> keep;
    try {
      cv::dnn::NMSBoxes(boxes, scores, impl_->score_threshold, impl_->nms_threshold, keep);
    } catch (const cv::Exception& e) {
      return absl::InternalError(absl::StrCat("vision: NMS failed (OpenCV error ", e.code, ")"));
    }
    std::vector<Detection> result;
    result.reserve(keep.size());
    for (int i : keep) {
      Detection d;
      d.label = impl_->labels[static_cast<size_t>(classes[i])];
      d.score = scores[i];
      d.box = Clip(boxes[i], width, height);
      result.push_back(std::move(d));
    }
    std::stable_sort(result.begin(), result.end(),
                     [](const Detection& a, const Detection& b) { return a.score > b.score; });
    return result;
  }
}

const std::string& Detector::name() const { return impl_->name; }
DetectorKind Detector::kind() const { return impl_->kind; }
int Detector::input_width() const { return impl_->input_width; }
int Detector::input_height() const { return impl_->input_height; }

void SetVisionThreads(int threads) { cv::setNumThreads(threads <= 0 ? -1 : threads); }

int VisionThreads() { return cv::getNumThreads(); }

absl::StatusOr<Bytes> DrawDetections(const Image& image, const std::vector<Detection>& detections) {
  const cv::Mat& src = image.impl().mat;
  if (src.empty()) return absl::InvalidArgumentError("vision: image is empty");
  cv::Mat canvas = src.clone();
  const int thickness = std::max(2, std::min(canvas.cols, canvas.rows) / 300);
  const double font_scale = std::max(0.5, std::min(canvas.cols, canvas.rows) / 800.0);
  const cv::Scalar color(0, 255, 0);
  std::vector<uchar> out;
  try {
    for (const Detection& d : detections) {
      cv::Rect r(d.box[0], d.box[1], d.box[2], d.box[3]);
      cv::rectangle(canvas, r, color, thickness);
      std::string text =
          absl::StrCat(d.label, " ", static_cast<int>(std::lround(d.score * 100)), "%");
      int baseline = 0;
      cv::Size ts =
          cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness / 2 + 1, &baseline);
      int ty = std::max(r.y, ts.height + baseline);
      cv::rectangle(canvas, cv::Point(r.x, ty - ts.height - baseline),
                    cv::Point(r.x + ts.width, ty), color, cv::FILLED);
      cv::putText(canvas, text, cv::Point(r.x, ty - baseline), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                  cv::Scalar(0, 0, 0), thickness / 2 + 1);
    }
    if (!cv::imencode(".jpg", canvas, out, {cv::IMWRITE_JPEG_QUALITY, 90})) {
      return absl::InternalError("vision: JPEG encoding failed");
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("vision: drawing failed (OpenCV error ", e.code, ")"));
  }
  return Bytes(out.begin(), out.end());
}

}  // namespace confide::vision
