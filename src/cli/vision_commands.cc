#include "cli/vision_commands.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "base/file.h"
#include "cli/io.h"
#include "vision/detect.h"

namespace confide::cli {
namespace {

struct DetectArgs {
  std::string model = vision::kYoloFastestXl;
  std::string models_dir = CONFIDE_DEFAULT_VISION_MODELS;
  std::string image;
  std::string out;
  bool json = false;
  int threads = 0;
};

int Fail(const std::string& what, const absl::Status& s) {
  std::cerr << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

int RunDetect(const DetectArgs& a) {
  if (a.threads > 0) vision::SetVisionThreads(a.threads);
  auto set = vision::DetectorSet::FromDirectory(a.models_dir, {a.model});
  if (!set.ok()) return Fail("models", set.status());
  auto image = ReadInput(a.image);
  if (!image.ok()) return Fail("image", image.status());
  auto result = vision::DetectJson(*set, a.model, *image, !a.out.empty());
  if (!result.ok()) return Fail("detect", result.status());
  if (!a.out.empty()) {
    auto jpeg = base::Base64Decode((*result)["image"].get<std::string>());
    if (!jpeg.ok()) return Fail("annotated image", jpeg.status());
    if (auto s = base::WriteFileAtomic(a.out, *jpeg, 0600); !s.ok()) return Fail("--out", s);
    result->erase("image");
  }
  if (a.json) {
    std::cout << result->dump(2) << "\n";
    return 0;
  }
  const auto& dets = (*result)["detections"];
  std::printf("%s: %d x %d, %zu detection(s)\n", a.model.c_str(), (*result)["width"].get<int>(),
              (*result)["height"].get<int>(), dets.size());
  for (const auto& d : dets) {
    const auto& b = d["box"];
    std::printf("  %-14s %.3f  [%d, %d, %d, %d]\n", d["label"].get<std::string>().c_str(),
                d["score"].get<double>(), b[0].get<int>(), b[1].get<int>(), b[2].get<int>(),
                b[3].get<int>());
  }
  if (!a.out.empty()) std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace

void AddVisionCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* vision =
      app.add_subcommand("vision", "Object and face detection (OpenCV DNN) on JPEG/PNG images");
  vision->require_subcommand(1);

  auto args = std::make_shared<DetectArgs>();
  CLI::App* detect = vision->add_subcommand(
      "detect",
      "Detect objects (Yolo-Fastest, COCO classes) or faces (UltraFace) in an image; print the "
      "detections (label, score, box x y w h in pixels)");
  detect->add_option("--model", args->model, "Model name")
      ->check(CLI::IsMember({std::string(vision::kYoloFastestXl), std::string(vision::kYoloFastest),
                             std::string(vision::kUltraFace)}))
      ->capture_default_str();
  detect
      ->add_option("--models-dir", args->models_dir,
                   "Directory with the model files (flat, or yolo-fastest/ and ultraface/)")
      ->capture_default_str();
  detect->add_option("--image", args->image, "JPEG or PNG file (- for stdin)")->required();
  detect->add_option("--out", args->out, "Write the image with the boxes drawn here (JPEG)");
  detect->add_flag("--json", args->json, "Print the /v1/detect JSON response instead");
  detect->add_option("--threads", args->threads, "OpenCV threads (default: all cores)")
      ->check(CLI::Range(0, 256));
  detect->callback([run, args] { *run = [args] { return RunDetect(*args); }; });
}

}  // namespace confide::cli
