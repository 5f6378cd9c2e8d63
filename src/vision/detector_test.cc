#include "vision/detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "testing/testdata.h"
#include "vision/detect.h"

namespace confide::vision {
namespace {

constexpr char kModels[] = "models/vision";

struct Expected {
  std::string label;
  float score;
  std::array<int, 4> box;
};

struct ExpectedRun {
  std::string model;  // our name (lower case)
  std::string image;
  int count = -1;  // -1: exactly expected.size()
  std::vector<Expected> expected;
};

// ParseExpected reads expected_detections_opencv46.txt: tab-separated YOLO lines
// (model, image, label, score, [x, y, w, h]) and UltraFace lines (model, image, faces=N,
// top=[(score, [x, y, w, h]), ...]). Returns the runs in file order and the line count.
std::vector<ExpectedRun> ParseExpected(const std::filesystem::path& path, int* lines) {
  std::ifstream in(path);
  std::string line;
  std::vector<ExpectedRun> runs;
  const std::regex box_re(R"(\[(-?\d+), (-?\d+), (-?\d+), (-?\d+)\])");
  const std::regex top_re(R"(\(([\d.]+), \[(-?\d+), (-?\d+), (-?\d+), (-?\d+)\]\))");
  *lines = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++*lines;
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    EXPECT_GE(f.size(), 4u) << line;
    if (f.size() < 4) continue;
    std::string model = absl::AsciiStrToLower(f[0]);
    if (runs.empty() || runs.back().model != model || runs.back().image != f[1] ||
        runs.back().count >= 0) {
      runs.push_back({model, f[1], -1, {}});
    }
    ExpectedRun& run = runs.back();
    if (absl::StartsWith(f[2], "faces=")) {
      run.count = std::stoi(f[2].substr(6));
      for (std::sregex_iterator it(f[3].begin(), f[3].end(), top_re), end; it != end; ++it) {
        const std::smatch& m = *it;
        run.expected.push_back(
            {"face",
             std::stof(m[1]),
             {std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5])}});
      }
      EXPECT_FALSE(run.expected.empty()) << line;
    } else {
      std::smatch m;
      EXPECT_EQ(f.size(), 5u) << line;
      EXPECT_TRUE(std::regex_search(f[4], m, box_re)) << line;
      run.expected.push_back(
          {f[2],
           std::stof(f[3]),
           {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4])}});
    }
  }
  return runs;
}

// Largest deviations seen among matched detections (printed by the reference test).
float max_score_diff = 0;
int max_box_diff = 0;

bool Matches(const Expected& e, const Detection& d) {
  if (e.label != d.label || std::fabs(e.score - d.score) > 0.002f) return false;
  int box_diff = 0;
  for (int i = 0; i < 4; ++i) box_diff = std::max(box_diff, std::abs(e.box[i] - d.box[i]));
  if (box_diff > 2) return false;
  max_score_diff = std::max(max_score_diff, std::fabs(e.score - d.score));
  max_box_diff = std::max(max_box_diff, box_diff);
  return true;
}

std::string Describe(const std::vector<Detection>& ds) {
  std::ostringstream os;
  for (const Detection& d : ds) {
    os << "  " << d.label << " " << d.score << " [" << d.box[0] << ", " << d.box[1] << ", "
       << d.box[2] << ", " << d.box[3] << "]\n";
  }
  return os.str();
}

class VisionModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = confide::testing::SharedPath(kModels);
    if (!std::filesystem::exists(dir_ / "expected_detections_opencv46.txt")) return;
    auto set = DetectorSet::FromDirectory(dir_);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new DetectorSet(*std::move(set));
  }
  static void TearDownTestSuite() {
    delete set_;
    set_ = nullptr;
  }
  void SetUp() override {
    if (set_ == nullptr) {
      GTEST_SKIP() << "shared models not found: " << dir_.string()
                   << " (set CONFIDE_SHARED_DIR or place ../shared beside the repository)";
    }
  }
  static Image Load(const std::filesystem::path& path) {
    auto bytes = confide::testing::ReadFile(path);
    EXPECT_TRUE(bytes.has_value()) << path;
    auto img = DecodeImage(bytes.value_or(Bytes{}));
    EXPECT_TRUE(img.ok()) << img.status();
    return img.ok() ? *std::move(img) : Image();
  }

  static inline std::filesystem::path dir_;
  static inline DetectorSet* set_ = nullptr;
};

TEST_F(VisionModels, LoadsAllThreeModels) {
  EXPECT_EQ(set_->names(), (std::vector<std::string>{kUltraFace, kYoloFastest, kYoloFastestXl}));
  const Detector* face = set_->Find(kUltraFace);
  ASSERT_NE(face, nullptr);
  EXPECT_EQ(face->kind(), DetectorKind::kUltraFace);
  EXPECT_EQ(face->input_width(), 320);
  EXPECT_EQ(face->input_height(), 240);
  EXPECT_EQ(set_->Find("yolo"), nullptr);
}

// Every line of expected_detections_opencv46.txt: same labels and counts, scores within
// 0.002, boxes within 2 px.
TEST_F(VisionModels, ReproducesOpenCv46Reference) {
  int lines = 0;
  std::vector<ExpectedRun> runs = ParseExpected(dir_ / "expected_detections_opencv46.txt", &lines);
  EXPECT_EQ(lines, 16);  // 14 YOLO detections + 2 UltraFace summaries
  EXPECT_EQ(runs.size(), 6u);
  int checked = 0;
  for (const ExpectedRun& run : runs) {
    SCOPED_TRACE(run.model + " " + run.image);
    const Detector* d = set_->Find(run.model);
    ASSERT_NE(d, nullptr);
    Image img = Load(dir_ / "images" / run.image);
    auto got = d->Detect(img);
    ASSERT_TRUE(got.ok()) << got.status();
    if (run.count < 0) {
      // YOLO: the full list, in order.
      ASSERT_EQ(got->size(), run.expected.size()) << Describe(*got);
      for (size_t i = 0; i < run.expected.size(); ++i) {
        EXPECT_TRUE(Matches(run.expected[i], (*got)[i]))
            << "detection " << i << " expected " << run.expected[i].label << " "
            << run.expected[i].score << "\n"
            << Describe(*got);
        ++checked;
      }
    } else {
      // UltraFace: the count, and each listed top box among the highest-scored detections.
      EXPECT_EQ(static_cast<int>(got->size()), run.count) << Describe(*got);
      for (const Expected& e : run.expected) {
        bool found = false;
        for (size_t i = 0; i < got->size() && i < run.expected.size() + 3; ++i) {
          found = found || Matches(e, (*got)[i]);
        }
        EXPECT_TRUE(found) << "face " << e.score << " [" << e.box[0] << ", " << e.box[1] << "]\n"
                           << Describe(*got);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16);
  std::cout << "reference: " << checked << " lines reproduced; largest score difference "
            << max_score_diff << ", largest box difference " << max_box_diff << " px\n";
}

TEST_F(VisionModels, AirShowYieldsDetections) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/images/air-show.jpg");
  auto bytes = confide::testing::ReadFile(path);
  ASSERT_TRUE(bytes.has_value());
  auto info = ParseImageHeader(*bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, 3994u);
  EXPECT_EQ(info->height, 3235u);
  for (const char* model : {kYoloFastestXl, kYoloFastest}) {
    auto j = DetectJson(*set_, model, *bytes, false);
    ASSERT_TRUE(j.ok()) << j.status();
    std::cout << "air-show.jpg " << model << ": " << (*j)["detections"].dump() << "\n";
    if (std::string(model) == kYoloFastestXl) {
      EXPECT_GE((*j)["detections"].size(), 1u);
    }
  }
}

TEST_F(VisionModels, DetectJsonShapeAndDrawnImage) {
  auto bytes = confide::testing::ReadFile(dir_ / "images" / "dog.jpg");
  ASSERT_TRUE(bytes.has_value());
  auto j = DetectJson(*set_, kYoloFastestXl, *bytes, true);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["model"], kYoloFastestXl);
  EXPECT_EQ((*j)["width"], 768);
  EXPECT_EQ((*j)["height"], 576);
  ASSERT_EQ((*j)["detections"].size(), 3u);
  const auto& first = (*j)["detections"][0];
  EXPECT_EQ(first["label"], "dog");
  EXPECT_NEAR(first["score"].get<double>(), 0.958, 0.002);
  ASSERT_EQ(first["box"].size(), 4u);
  ASSERT_TRUE(j->contains("image"));
  auto jpeg = base::Base64Decode((*j)["image"].get<std::string>());
  ASSERT_TRUE(jpeg.ok());
  auto drawn = DecodeImage(*jpeg);
  ASSERT_TRUE(drawn.ok()) << drawn.status();
  EXPECT_EQ(drawn->width(), 768);
  EXPECT_EQ(drawn->height(), 576);

  auto no_image = DetectJson(*set_, kUltraFace, *bytes, false);
  ASSERT_TRUE(no_image.ok());
  EXPECT_FALSE(no_image->contains("image"));

  auto unknown = DetectJson(*set_, "yolov8-secret-name", *bytes, false);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(absl::StrContains(unknown.status().message(), "secret"));
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), kYoloFastestXl));

  Bytes truncated(bytes->begin(), bytes->begin() + long(bytes->size() / 2));
  EXPECT_EQ(DetectJson(*set_, kYoloFastestXl, truncated, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DetectJson(*set_, kYoloFastestXl, AsBytes("not an image"), false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VisionModels, ConcurrentDetectIsSerialisedAndConsistent) {
  const Detector* d = set_->Find(kYoloFastest);
  ASSERT_NE(d, nullptr);
  Image img = Load(dir_ / "images" / "person.jpg");
  auto want = d->Detect(img);
  ASSERT_TRUE(want.ok());
  std::vector<std::vector<Detection>> got(3);
  std::vector<std::thread> threads;
  for (auto& g : got) {
    threads.emplace_back([&, out = &g] {
      auto r = d->Detect(img);
      if (r.ok()) *out = *std::move(r);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), want->size());
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_EQ(g[i].label, (*want)[i].label);
      EXPECT_EQ(g[i].box, (*want)[i].box);
    }
  }
}

TEST_F(VisionModels, ThreadsAreConfigurable) {
  int before = VisionThreads();
  SetVisionThreads(1);
  EXPECT_EQ(VisionThreads(), 1);
  const Detector* d = set_->Find(kUltraFace);
  ASSERT_NE(d, nullptr);
  auto r = d->Detect(Load(dir_ / "images" / "faces_two.jpg"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 2u);
  SetVisionThreads(before);
  EXPECT_EQ(VisionThreads(), before);
}

TEST_F(VisionModels, RefusesBrokenModels) {
  auto cfg = confide::testing::ReadFile(dir_ / "yolo-fastest" / "yolo-fastest-1.1.cfg");
  auto weights = confide::testing::ReadFile(dir_ / "yolo-fastest" / "yolo-fastest-1.1.weights");
  auto names = confide::testing::ReadFile(dir_ / "yolo-fastest" / "coco.names");
  auto onnx = confide::testing::ReadFile(dir_ / "ultraface" / "version-RFB-320.onnx");
  ASSERT_TRUE(cfg && weights && names && onnx);

  // Loads from memory buffers.
  auto ok = Detector::LoadYoloFastest("mem", *cfg, *weights, *names);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->name(), "mem");

  // 79 names for an 80-class network.
  std::string n(names->begin(), names->end());
  std::string fewer = n.substr(0, n.rfind('\n', n.size() - 2) + 1);
  auto mismatch = Detector::LoadYoloFastest("x", *cfg, *weights, AsBytes(fewer));
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(mismatch.status().message(), "80 classes")) << mismatch.status();

  EXPECT_EQ(Detector::LoadYoloFastest("x", AsBytes("garbage"), *weights, *names).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Detector::LoadYoloFastest("x", *cfg, {}, *names).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Detector::LoadYoloFastest("x", *cfg, *weights, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  Bytes half_onnx(onnx->begin(), onnx->begin() + long(onnx->size() / 2));
  EXPECT_EQ(Detector::LoadUltraFace("x", half_onnx).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Detector::LoadUltraFace("x", AsBytes("garbage")).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A YOLO network given to the face detector fails the output-shape check.
  EXPECT_FALSE(Detector::LoadUltraFace("x", *weights).ok());
}

TEST_F(VisionModels, ConfigLoadsNamedFiles) {
  nlohmann::json j = {{"yolo_cfg", "yolo-fastest/yolo-fastest-1.1.cfg"},
                      {"yolo_weights", "yolo-fastest/yolo-fastest-1.1.weights"},
                      {"coco_names", "yolo-fastest/coco.names"},
                      {"ultraface_onnx", (dir_ / "ultraface" / "version-RFB-320.onnx").string()}};
  auto c = ParseVisionConfig(j, dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->yolo_cfg, (dir_ / "yolo-fastest/yolo-fastest-1.1.cfg").string());
  auto set = DetectorSet::FromConfig(*c);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->names(), (std::vector<std::string>{kUltraFace, kYoloFastest}));

  auto only = DetectorSet::FromDirectory(dir_, {kUltraFace});
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->names(), std::vector<std::string>{kUltraFace});
  EXPECT_EQ(DetectorSet::FromDirectory(dir_, {"nope"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DetectorSet::FromDirectory(dir_ / "images").status().code(),
            absl::StatusCode::kNotFound);
  VisionConfig missing = *c;
  missing.yolo_weights = (dir_ / "absent.weights").string();
  EXPECT_EQ(DetectorSet::FromConfig(missing).status().code(), absl::StatusCode::kNotFound);
}

TEST(VisionConfig, Validation) {
  EXPECT_FALSE(ParseVisionConfig(nlohmann::json::array(), "/app").ok());
  EXPECT_EQ(ParseVisionConfig({{"yolo_cfg", "a.cfg"}, {"extra", "x"}}, "/app").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseVisionConfig({{"yolo_cfg", "a.cfg"}}, "/app").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseVisionConfig({{"ultraface_onnx", 3}}, "/app").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto c = ParseVisionConfig({{"ultraface_onnx", "u.onnx"}}, "/app");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ultraface_onnx, "/app/u.onnx");
  EXPECT_TRUE(c->yolo_cfg.empty());
  EXPECT_EQ(DetectorSet::FromConfig(VisionConfig{}).status().code(), absl::StatusCode::kNotFound);
}

TEST(DetectionsToJson, RoundsScores) {
  auto j = DetectionsToJson({{"dog", 0.95812345f, {1, 2, 3, 4}}});
  EXPECT_EQ(j.dump(), R"([{"box":[1,2,3,4],"label":"dog","score":0.9581}])");
}

}  // namespace
}  // namespace confide::vision
