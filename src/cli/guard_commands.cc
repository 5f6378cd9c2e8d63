#include "cli/guard_commands.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "base/file.h"
#include "cli/io.h"
#include "guard/benign_contrast.h"
#include "guard/content.h"
#include "guard/eval.h"
#include "guard/guardrail.h"
#include "guard/policy.h"
#include "guard/prompt_attack.h"
#include "nlohmann/json.hpp"

namespace confide::cli {
namespace {

struct ApplyArgs {
  std::string policy;
  std::string source = "INPUT";
  std::string input = "-";
  bool json = false;
};

struct EvalArgs {
  std::string data = CONFIDE_DEFAULT_GUARD_DATA;
  double throughput_seconds = 1.5;
  bool check = false;
  bool verbose = false;
  std::vector<std::string> allow_miss;
};

struct TrainArgs {
  std::string model = "prompt-attack";
  std::string data;  // default: <guard data>/injection (prompt-attack) or <guard data> (content)
  std::string out;
  // prompt-attack: guardrails directory for benign-contrast rows ("none": no contrast rows).
  std::string contrast = "none";
  bool calibrate = false;  // prompt-attack: thresholds from held-out benign false-positive budgets
  int holdout_percent = 20;
  int bits = guard::TrainOptions().bits;
  int epochs = guard::TrainOptions().epochs;
  double balance_power = -1;                  // default: TrainOptions (1, full balance)
  bool bits_set = false, epochs_set = false;  // content defaults differ (bits 16, 20 epochs)
};

int Fail(const std::string& what, const absl::Status& s) {
  std::cerr << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

absl::StatusOr<guard::Policy> LoadPolicy(const std::string& path) {
  ASSIGN_OR_RETURN(Bytes b, ReadInput(path));
  return guard::ParsePolicy(std::string(b.begin(), b.end()));
}

int RunApply(const ApplyArgs& a) {
  guard::Source source;
  if (a.source == "INPUT") {
    source = guard::Source::kInput;
  } else if (a.source == "OUTPUT") {
    source = guard::Source::kOutput;
  } else {
    std::cerr << "error: --source must be INPUT or OUTPUT\n";
    return 2;
  }
  auto policy = LoadPolicy(a.policy);
  if (!policy.ok()) return Fail("policy", policy.status());
  auto g = guard::Guardrail::Create(*std::move(policy));
  if (!g.ok()) return Fail("policy", g.status());
  auto text = ReadInput(a.input);
  if (!text.ok()) return Fail("input", text.status());
  std::string_view raw(reinterpret_cast<const char*>(text->data()), text->size());
  guard::GuardrailInput in;
  if (a.json) {
    // An ApplyGuardrail request body: {"content": [{"text": {"text", "qualifiers"}}], ...}.
    auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("content")) {
      std::cerr << "error: input: --json needs an object with a \"content\" array\n";
      return 1;
    }
    auto parsed = guard::ParseApplyGuardrailContent(j["content"]);
    if (!parsed.ok()) return Fail("input", parsed.status());
    in = *std::move(parsed);
  } else {
    in.guard_content = std::string(raw);
  }
  guard::GuardrailResult r = (*g)->Apply(in, source);
  auto j = guard::ToApplyGuardrailJson(r);
  j["policyDigest"] = base::HexEncode((*g)->digest());
  std::cout << j.dump(2) << "\n";
  return 0;
}

int RunDigest(const std::string& path) {
  auto policy = LoadPolicy(path);
  if (!policy.ok()) return Fail("policy", policy.status());
  std::cout << base::HexEncode(guard::PolicyDigest(*policy)) << "\n";
  return 0;
}

// kSkipped is the exit code of `eval --check` when the data directory is absent (ctest's
// SKIP_RETURN_CODE).
constexpr int kSkipped = 77;

int RunEval(const EvalArgs& a) {
  std::error_code ec;
  if (!std::filesystem::is_directory(a.data, ec)) {
    std::cout << "guard eval: data directory absent, skipped\n";
    return a.check ? kSkipped : 1;
  }
  auto report = guard::RunEval(a.data, a.throughput_seconds, a.verbose);
  if (!report.ok()) return Fail("eval", report.status());
  std::cout << guard::FormatEvalReport(*report);
  auto misses = guard::CheckEvalGoals(*report);
  if (misses.empty()) {
    std::cout << "goals: all met\n";
    return 0;
  }
  int failed = 0;
  for (const auto& m : misses) {
    std::string key = m.substr(0, m.find(':'));
    bool allowed = std::find(a.allow_miss.begin(), a.allow_miss.end(), key) != a.allow_miss.end();
    std::cout << (allowed ? "goal missed (allowed): " : "goal missed: ") << m << "\n";
    failed += !allowed;
  }
  return a.check && failed > 0 ? 1 : 0;
}

void PrintSplit(const char* name, const guard::PromptAttackModel& m,
                const std::vector<guard::AttackExample>& ex) {
  for (guard::Strength st :
       {guard::Strength::kLow, guard::Strength::kMedium, guard::Strength::kHigh}) {
    int pos = 0, tp = 0, neg = 0, fp = 0;
    for (const auto& e : ex) {
      bool b = m.Blocks(e.text, st);
      if (e.label == 1) {
        ++pos;
        tp += b;
      } else {
        ++neg;
        fp += b;
      }
    }
    std::printf("%-9s %-6s attack recall %.3f (%d/%d)  benign flagged %.3f (%d/%d)\n", name,
                std::string(guard::StrengthName(st)).c_str(), pos ? double(tp) / pos : 0.0, tp, pos,
                neg ? double(fp) / neg : 0.0, fp, neg);
  }
}

int RunTrainContent(const TrainArgs& a) {
  std::string dir = a.data.empty() ? std::string(CONFIDE_DEFAULT_GUARD_DATA) : a.data;
  auto all = guard::LoadContentExamples(dir);
  if (!all.ok()) return Fail("train", all.status());
  std::vector<guard::ContentExample> train;
  size_t held = 0;
  for (const auto& e : *all) {
    // XSTest safe prompts never train: they measure false positives on benign prompts with
    // alarming words, so they must stay unseen (the synthetic benign prompts below teach that).
    if (e.xstest_safe) continue;
    // Lexicon rows (single terms) always train; sentence rows split by group.
    if (!e.lexicon && guard::IsHeldOut(e.group, a.holdout_percent)) {
      ++held;
    } else {
      train.push_back(e);
    }
  }
  // Benign contrast: confide's synthetic prompts with alarming words in benign senses, negative
  // for every category (held-out groups left out, like the data rows).
  for (const auto& s : guard::SyntheticBenignPrompts()) {
    if (guard::IsHeldOut(s.group, a.holdout_percent)) continue;
    guard::ContentExample e;
    e.text = s.text;
    e.group = s.group;
    e.source = "synthetic_benign";
    e.labels = {0, 0, 0, 0, 0};
    train.push_back(std::move(e));
  }
  guard::TrainOptions o;
  o.bits = a.bits_set ? a.bits : guard::ContentModel::kDefaultBits;
  o.epochs = a.epochs_set ? a.epochs : 20;
  if (a.balance_power >= 0) o.balance_power = a.balance_power;
  guard::ContentModel m = guard::ContentModel::Train(train, o);
  std::printf("trained on %zu rows (lexicon terms included), %zu held out (%d%% of groups)\n",
              train.size(), held, a.holdout_percent);
  std::cout << guard::FormatContentReport(
      guard::EvaluateContent(m, train, false, a.holdout_percent), "train");
  if (held > 0) {
    std::cout << guard::FormatContentReport(
        guard::EvaluateContent(m, *all, true, a.holdout_percent), "held-out");
  }
  Bytes bytes = m.Serialize();
  if (auto back = guard::ContentModel::Parse(bytes); !back.ok()) {
    return Fail("train: model does not round-trip", back.status());
  }
  if (!a.out.empty()) {
    if (auto s = base::WriteFileAtomic(a.out, bytes); !s.ok()) return Fail("train: write", s);
    std::printf("wrote %s (%zu bytes)\n", a.out.c_str(), bytes.size());
  }
  return 0;
}

int RunTrain(const TrainArgs& a) {
  if (a.model == "content") return RunTrainContent(a);
  if (a.model != "prompt-attack") {
    std::cerr << "error: --model must be prompt-attack or content\n";
    return 2;
  }
  auto all = guard::LoadAttackExamples(
      a.data.empty() ? std::string(CONFIDE_DEFAULT_GUARD_DATA) + "/injection" : a.data);
  if (!all.ok()) return Fail("train", all.status());
  std::vector<guard::AttackExample> train, held, contrast_held;
  for (auto& e : *all) {
    (guard::IsHeldOut(e.group, a.holdout_percent) ? held : train).push_back(e);
  }
  size_t contrast_rows = 0;
  if (a.contrast != "none") {
    auto contrast = guard::LoadAttackContrast(a.contrast);
    if (!contrast.ok()) return Fail("train: contrast", contrast.status());
    contrast_rows = contrast->size();
    for (auto& e : *contrast) {
      (guard::IsHeldOut(e.group, a.holdout_percent) ? contrast_held : train).push_back(e);
    }
  }
  guard::TrainOptions o;
  o.bits = a.bits;
  if (a.balance_power >= 0) o.balance_power = a.balance_power;
  o.epochs = a.epochs;
  guard::PromptAttackModel m = guard::PromptAttackModel::Train(train, o);
  // Calibration: the strengths' thresholds come from the held-out benign rows (injection benign
  // clusters and contrast groups never trained on), as false-positive budgets: HIGH blocks at
  // most 2% of them, MEDIUM 0.5%, LOW none; never below the floors (0.5, 0.7, 0.9 x the
  // defaults' spacing) so that a tiny held-out set cannot push LOW/MEDIUM into noise. Attack
  // recall is not looked at, so the held-out attack figures stay honest.
  // Each benign source gets the budget on its own (the easy contrast rows must not hide false
  // positives on the injection set's benign prompts): a threshold is the highest over sources.
  std::vector<double> benign_scores[2];
  for (int k = 0; k < 2; ++k) {
    for (const auto& e : k == 0 ? held : contrast_held) {
      if (e.label == 0) benign_scores[k].push_back(m.Score(e.text));
    }
    std::sort(benign_scores[k].rbegin(), benign_scores[k].rend());
  }
  if (a.calibrate && benign_scores[0].size() >= 20) {
    auto budget = [&](double fpr) {
      double t = 0.0;
      for (const auto& v : benign_scores) {
        size_t k = static_cast<size_t>(fpr * v.size());
        if (k < v.size()) t = std::max(t, v[k] + 1e-4);
      }
      return t;
    };
    double high = std::clamp(budget(0.02), 0.3, 0.9);
    double medium = std::clamp(std::max(budget(0.005), high + 0.05), 0.5, 0.95);
    double low = std::clamp(std::max(budget(0.0), medium + 0.05), 0.7, 0.99);
    if (auto s = m.SetThresholds(low, medium, high); !s.ok()) return Fail("train: calibrate", s);
    std::printf("calibrated on %zu + %zu held-out benign rows: LOW %.4f MEDIUM %.4f HIGH %.4f\n",
                benign_scores[0].size(), benign_scores[1].size(), low, medium, high);
  }
  std::printf(
      "trained on %zu rows (%zu benign-contrast rows loaded), %zu held out (%d%% of "
      "clusters)\n",
      train.size(), contrast_rows, held.size(), a.holdout_percent);
  PrintSplit("train", m, train);
  if (!held.empty()) PrintSplit("held-out", m, held);
  if (!contrast_held.empty()) PrintSplit("contrast-held-out", m, contrast_held);
  Bytes bytes = m.Serialize();
  if (auto back = guard::PromptAttackModel::Parse(bytes); !back.ok()) {
    return Fail("train: model does not round-trip", back.status());
  }
  if (!a.out.empty()) {
    if (auto s = base::WriteFileAtomic(a.out, bytes); !s.ok()) return Fail("train: write", s);
    std::printf("wrote %s (%zu bytes)\n", a.out.c_str(), bytes.size());
  }
  return 0;
}

}  // namespace

void AddGuardCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* guard = app.add_subcommand("guard", "Guardrails: apply a policy, evaluate filters");
  guard->require_subcommand(1);

  auto apply_args = std::make_shared<ApplyArgs>();
  CLI::App* apply = guard->add_subcommand(
      "apply",
      "Apply a CreateGuardrail-shaped policy to text on stdin; print an ApplyGuardrail-shaped "
      "JSON result");
  apply->add_option("--policy", apply_args->policy, "Policy JSON file")->required();
  apply->add_option("--source", apply_args->source, "INPUT or OUTPUT");
  apply->add_option("--input", apply_args->input, "Text file (default: stdin)");
  apply->add_flag("--json", apply_args->json,
                  "Input is an ApplyGuardrail request body: {\"content\": [{\"text\": {\"text\": "
                  "..., \"qualifiers\": [\"grounding_source\"|\"query\"|\"guard_content\"]}}]}");
  apply->callback([run, apply_args] { *run = [apply_args] { return RunApply(*apply_args); }; });

  auto digest_path = std::make_shared<std::string>();
  CLI::App* digest = guard->add_subcommand(
      "digest", "Validate a policy and print its canonical SHA-256 digest (hex)");
  digest->add_option("policy", *digest_path, "Policy JSON file, or - for stdin")->required();
  digest->callback(
      [run, digest_path] { *run = [digest_path] { return RunDigest(*digest_path); }; });

  auto train_args = std::make_shared<TrainArgs>();
  CLI::App* train = guard->add_subcommand(
      "train",
      "Train the prompt-attack classifier (labelled prompts, *.jsonl: text, label, cluster) or "
      "the content-category classifier (--model content: the guardrails data directory); print "
      "train and held-out figures per strength; write the weights file");
  train->add_option("--model", train_args->model, "prompt-attack (default) or content")
      ->check(CLI::IsMember({"prompt-attack", "content"}));
  train->add_option("--data", train_args->data,
                    "prompt-attack: directory of *.jsonl rows (default <data>/injection); "
                    "content: the guardrails data directory");
  train->add_option("-o,--output", train_args->out, "Weights file to write");
  train->add_option("--contrast", train_args->contrast,
                    "prompt-attack: guardrails data directory whose Do-Not-Answer and Davidson "
                    "'neither' rows, with confide's synthetic benign prompts, train as benign "
                    "contrast (default none: the shipped model trains without them)");
  train->add_flag("--calibrate", train_args->calibrate,
                  "prompt-attack: set the thresholds from held-out benign false-positive budgets "
                  "(HIGH 2%, MEDIUM 0.5%, LOW 0 per source) instead of the defaults");
  train
      ->add_option("--holdout-percent", train_args->holdout_percent,
                   "Percent of clusters held out of training for validation (0..90)")
      ->check(CLI::Range(0, 90));
  CLI::Option* bits =
      train->add_option("--bits", train_args->bits, "log2 of the number of hashed features")
          ->check(
              CLI::Range(guard::PromptAttackModel::kMinBits, guard::PromptAttackModel::kMaxBits));
  train
      ->add_option("--balance-power", train_args->balance_power,
                   "Class balance exponent (0 none, 1 full: the default)")
      ->check(CLI::Range(0.0, 1.0));
  CLI::Option* epochs =
      train->add_option("--epochs", train_args->epochs, "SGD epochs")->check(CLI::Range(1, 1000));
  train->callback([run, train_args, bits, epochs] {
    train_args->bits_set = bits->count() > 0;
    train_args->epochs_set = epochs->count() > 0;
    *run = [train_args] { return RunTrain(*train_args); };
  });

  auto eval_args = std::make_shared<EvalArgs>();
  CLI::App* eval = guard->add_subcommand(
      "eval",
      "Evaluate the PII detectors and word filter on labelled data; print per-type precision, "
      "recall, F1, F2, filter rates and throughput");
  eval->add_option("--data", eval_args->data, "Data directory (layout of shared guardrails data)");
  eval->add_option("--throughput-seconds", eval_args->throughput_seconds,
                   "Time spent measuring throughput (0 skips)");
  eval->add_flag("--check", eval_args->check,
                 "Exit 1 when a goal of issue 6 is missed, 77 when the data is absent");
  eval->add_option("--allow-miss", eval_args->allow_miss,
                   "Goal key whose miss --check tolerates (repeat), e.g. profanity-recall");
  eval->add_flag("--verbose", eval_args->verbose,
                 "List every miss and false positive (quotes the data)");
  eval->callback([run, eval_args] { *run = [eval_args] { return RunEval(*eval_args); }; });
}

}  // namespace confide::cli
