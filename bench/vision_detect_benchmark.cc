// Vision pipeline cost: what confide adds around OpenCV's DNN forward pass.
//
// For each model, "pipeline" is the whole POST /v1/detect path on the encoded image bytes
// (vision::DetectJson: JPEG header check, cv::imdecode, blobFromImage, forward, NMS, JSON);
// "bare_forward" is only cv::dnn::Net::forward on the same, already preprocessed blob, with a
// Net loaded directly through OpenCV. main prints pipeline / bare_forward per model, and the
// header check alone on the 13 MP air-show.jpg (it walks every JPEG marker).
//
// Threads: CONFIDE_VISION_THREADS (default 1, for figures that a shared machine can repeat).
// Needs ../shared/models/vision (or CONFIDE_SHARED_DIR); benchmarks skip with an error if absent.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "vision/detect.h"

namespace {

namespace fs = std::filesystem;
using namespace confide;

fs::path SharedDir() {
  const char* env = std::getenv("CONFIDE_SHARED_DIR");
  return env != nullptr ? fs::path(env) : fs::path(CONFIDE_SHARED_DIR);
}
fs::path ModelsDir() { return SharedDir() / "models" / "vision"; }

Bytes ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Case {
  const char* model;
  const char* image;  // under models/vision/images, or testdata/images
};
const Case kCases[] = {{vision::kYoloFastestXl, "images/dog.jpg"},
                       {vision::kYoloFastest, "images/dog.jpg"},
                       {vision::kUltraFace, "images/faces_crowd.jpg"},
                       {vision::kYoloFastestXl, "../../testdata/images/air-show.jpg"}};

vision::DetectorSet* Set() {
  static vision::DetectorSet* set = [] {
    auto s = vision::DetectorSet::FromDirectory(ModelsDir());
    return s.ok() ? new vision::DetectorSet(*std::move(s)) : nullptr;
  }();
  return set;
}

void BM_Pipeline(benchmark::State& state, Case c) {
  Bytes image = ReadAll(ModelsDir() / c.image);
  if (Set() == nullptr || image.empty()) {
    state.SkipWithError("shared models or image absent");
    return;
  }
  for (auto _ : state) {
    auto j = vision::DetectJson(*Set(), c.model, image, false);
    if (!j.ok()) {
      state.SkipWithError("detect failed");
      return;
    }
    benchmark::DoNotOptimize(j->size());
  }
}

void BM_BareForward(benchmark::State& state, Case c) {
  const fs::path dir = ModelsDir();
  cv::Mat img = cv::imread((dir / c.image).string());
  if (img.empty() || !fs::exists(dir / "ultraface")) {
    state.SkipWithError("shared models or image absent");
    return;
  }
  cv::dnn::Net net;
  cv::Mat blob;
  std::vector<std::string> outs_names;
  std::string model = c.model;
  if (model == vision::kUltraFace) {
    net = cv::dnn::readNetFromONNX((dir / "ultraface" / "version-RFB-320.onnx").string());
    blob = cv::dnn::blobFromImage(img, 1.0 / 128, cv::Size(320, 240), cv::Scalar(127, 127, 127),
                                  true, false);
    outs_names = {"scores", "boxes"};
  } else {
    fs::path y = dir / "yolo-fastest";
    net = cv::dnn::readNetFromDarknet((y / (model + ".cfg")).string(),
                                      (y / (model + ".weights")).string());
    blob = cv::dnn::blobFromImage(img, 1.0 / 255, cv::Size(320, 320), cv::Scalar(), true, false);
    outs_names = net.getUnconnectedOutLayersNames();
  }
  std::vector<cv::Mat> outs;
  for (auto _ : state) {
    net.setInput(blob);
    net.forward(outs, outs_names);
    benchmark::DoNotOptimize(outs.data());
  }
}

void BM_HeaderCheck(benchmark::State& state) {
  Bytes image = ReadAll(SharedDir() / "testdata" / "images" / "air-show.jpg");
  if (image.empty()) {
    state.SkipWithError("air-show.jpg absent");
    return;
  }
  for (auto _ : state) {
    auto info = vision::ParseImageHeader(image);
    if (!info.ok()) {
      state.SkipWithError("header check failed");
      return;
    }
    benchmark::DoNotOptimize(info->width);
  }
}

void BM_DecodeOnly(benchmark::State& state) {
  Bytes image = ReadAll(SharedDir() / "testdata" / "images" / "air-show.jpg");
  if (image.empty()) {
    state.SkipWithError("air-show.jpg absent");
    return;
  }
  for (auto _ : state) {
    cv::Mat m =
        cv::imdecode(cv::Mat(1, int(image.size()), CV_8UC1, image.data()), cv::IMREAD_COLOR);
    benchmark::DoNotOptimize(m.data);
  }
}

std::string CaseName(const Case& c) {
  return std::string(c.model) + "/" + fs::path(c.image).filename().string();
}

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      std::string name = r.benchmark_name();
      name = name.substr(0, name.find("/min_time"));
      ms_[name] = r.GetAdjustedRealTime();  // unit set to ms below
      cpu_ms_[name] = r.GetAdjustedCPUTime();
    }
  }
  std::map<std::string, double> ms_;
  std::map<std::string, double> cpu_ms_;
};

}  // namespace

int main(int argc, char** argv) {
  const char* t = std::getenv("CONFIDE_VISION_THREADS");
  vision::SetVisionThreads(t != nullptr ? std::atoi(t) : 1);
  for (const Case& c : kCases) {
    std::string name = CaseName(c);
    benchmark::RegisterBenchmark(("pipeline/" + name).c_str(), BM_Pipeline, c)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
    benchmark::RegisterBenchmark(("bare_forward/" + name).c_str(), BM_BareForward, c)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
  }
  benchmark::RegisterBenchmark("header_check/air-show.jpg", BM_HeaderCheck)
      ->Unit(benchmark::kMillisecond)
      ->MinTime(1.0);
  benchmark::RegisterBenchmark("imdecode_only/air-show.jpg", BM_DecodeOnly)
      ->Unit(benchmark::kMillisecond)
      ->MinTime(1.0);
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  // On a shared machine wall time includes waiting for a core; with one OpenCV thread the CPU
  // time of the benchmark thread is the work done, so both are printed.
  for (auto* table : {&reporter.ms_, &reporter.cpu_ms_}) {
    const auto& ms = *table;
    std::printf("\n%s, threads %d\n%-42s %10s %10s %8s\n",
                table == &reporter.ms_ ? "wall time" : "CPU time", vision::VisionThreads(),
                "model/image", "pipeline", "forward", "ratio");
    for (const Case& c : kCases) {
      std::string name = CaseName(c);
      auto p = ms.find("pipeline/" + name);
      auto f = ms.find("bare_forward/" + name);
      if (p == ms.end() || f == ms.end()) continue;
      std::printf("%-42s %7.2f ms %7.2f ms %7.2fx\n", name.c_str(), p->second, f->second,
                  p->second / f->second);
    }
  }
  const auto& ms = reporter.cpu_ms_;
  auto h = ms.find("header_check/air-show.jpg");
  auto d = ms.find("imdecode_only/air-show.jpg");
  if (h != ms.end() && d != ms.end()) {
    std::printf("CPU time: ");
    std::printf(
        "header check on air-show.jpg (13 MP, 678 KB): %.3f ms = %.2f%% of its decode "
        "(%.1f ms)\n",
        h->second, 100 * h->second / d->second, d->second);
  }
  return 0;
}
