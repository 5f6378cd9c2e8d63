#include "guard/eval.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "guard/content.h"
#include "guard/guardrail.h"
#include "guard/internal/data_files.h"
#include "guard/pii.h"
#include "guard/prompt_attack.h"
#include "guard/words.h"
#include "nlohmann/json.hpp"

namespace confide::guard {
namespace {

namespace fs = std::filesystem;
using internal::CsvTable;
using internal::ReadCsv;
using internal::ReadJsonl;
using internal::Str;

// AllFiltersPolicy returns the policy the "all" throughput figure applies: every filter that
// runs on a lone INPUT text (no denied topics: they are the policy's own; no grounding: it
// needs sources).
Policy AllFiltersPolicy(bool attack, bool content) {
  Policy p;
  p.name = "eval-all-filters";
  p.blocked_input_messaging = "blocked";
  p.blocked_outputs_messaging = "blocked";
  if (content) {
    for (int c = 0; c < kNumContentCategories; ++c) {
      p.content_filters.push_back(
          ContentFilter{static_cast<ContentFilterType>(c), Strength::kHigh, Strength::kHigh});
    }
  }
  if (attack) {
    p.content_filters.push_back(
        ContentFilter{ContentFilterType::kPromptAttack, Strength::kHigh, Strength::kNone});
  }
  p.managed_profanity = true;
  for (int t = 0; t < kNumPiiTypes; ++t) {
    PiiRule rule;
    rule.type = static_cast<PiiType>(t);
    rule.action = rule.input_action = rule.output_action = PiiAction::kAnonymize;
    p.pii_rules.push_back(rule);
  }
  return p;
}

bool Overlaps(size_t b1, size_t e1, size_t b2, size_t e2) { return b1 < e2 && b2 < e1; }

absl::Status EvalPiiFile(const fs::path& p, EvalReport* r, std::vector<std::string>* corpus,
                         bool verbose) {
  ASSIGN_OR_RETURN(auto rows, ReadJsonl(p));
  const PiiDetector& det = PiiDetector::Default();
  for (const auto& row : rows) {
    std::string text = Str(row, "text");
    corpus->push_back(text);
    struct Gold {
      std::string type;
      size_t b, e;
    };
    std::vector<Gold> gold;
    std::vector<std::pair<size_t, size_t>> unlabeled;  // spans with no Bedrock type
    if (auto it = row.find("spans"); it != row.end() && it->is_array()) {
      for (const auto& s : *it) {
        std::string type = s.contains("bedrock_type") ? (s["bedrock_type"].is_string()
                                                             ? s["bedrock_type"].get<std::string>()
                                                             : std::string())
                                                      : Str(s, "type");
        size_t b = s.value("start", size_t{0}), e = s.value("end", size_t{0});
        if (type.empty()) {
          unlabeled.emplace_back(b, e);
        } else {
          gold.push_back(Gold{type, b, e});
        }
      }
    }
    auto pred = det.Detect(text);
    ++r->pii_rows;
    std::string kind = Str(row, "kind");
    if (kind == "hard_negative") {
      ++r->hard_negatives.total;
      r->hard_negatives.flagged += !pred.empty();
      if (verbose && !pred.empty()) {
        r->errors.push_back(absl::StrCat("hard negative flagged as ",
                                         std::string(PiiTypeName(pred[0].type)), ": ", text));
      }
    } else if (kind == "negative") {
      ++r->negatives.total;
      r->negatives.flagged += !pred.empty();
    }
    for (const auto& g : gold) {
      TypeScore& ts = r->pii[g.type];
      ++ts.gold;
      for (const auto& m : pred) {
        if (std::string(PiiTypeName(m.type)) == g.type && Overlaps(m.begin, m.end, g.b, g.e)) {
          ++ts.found;
          goto found;
        }
      }
      if (verbose) {
        r->errors.push_back(
            absl::StrCat("missed ", g.type, " [", text.substr(g.b, g.e - g.b), "] in: ", text));
      }
    found:;
    }
    for (const auto& m : pred) {
      std::string type(PiiTypeName(m.type));
      TypeScore& ts = r->pii[type];
      ++ts.predicted;
      for (const auto& g : gold) {
        if (g.type == type && Overlaps(m.begin, m.end, g.b, g.e)) {
          ++ts.correct;
          goto correct;
        }
      }
      if (verbose) {
        r->errors.push_back(absl::StrCat("false ", type, " [",
                                         text.substr(m.begin, m.end - m.begin), "] in: ", text));
      }
    correct:;
    }
  }
  return absl::OkStatus();
}

}  // namespace

double TypeScore::F(double beta) const {
  double p = Precision(), rc = Recall();
  double b2 = beta * beta;
  return (p + rc) > 0 ? (1 + b2) * p * rc / (b2 * p + rc) : 0.0;
}

absl::StatusOr<EvalReport> RunEval(const std::string& dir, double throughput_seconds,
                                   bool verbose) {
  EvalReport r;
  fs::path root(dir);
  std::vector<std::string> corpus;
  int files = 0;
  // PII: every *.jsonl under pii/.
  std::error_code ec;
  std::vector<fs::path> pii_files;
  if (fs::is_directory(root / "pii", ec)) {
    for (const auto& e : fs::directory_iterator(root / "pii", ec)) {
      if (e.path().extension() == ".jsonl") pii_files.push_back(e.path());
    }
  }
  std::sort(pii_files.begin(), pii_files.end());
  for (const auto& p : pii_files) {
    ++files;
    RETURN_IF_ERROR(EvalPiiFile(p, &r, &corpus, verbose));
  }
  if (pii_files.empty()) r.skipped.push_back("pii/*.jsonl");

  ASSIGN_OR_RETURN(auto words, WordFilter::Create({}, /*managed_profanity=*/true));
  auto flagged = [&](const std::string& text) { return !words->Find(text).empty(); };
  // The managed list includes the surge-ai dev rows, so recall on them is in-sample; the
  // out-of-sample figure masks every entry whose only source is surge-ai.
  ASSIGN_OR_RETURN(auto words_oos,
                   WordFilter::Create({}, /*managed_profanity=*/true, kSourceSurge));

  // Profanity recall: surge-ai rows, in-sample and with the surge-only entries masked.
  std::vector<fs::path> surge;
  if (fs::is_directory(root / "wordlists", ec)) {
    for (const auto& e : fs::directory_iterator(root / "wordlists", ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind("surge_profanity", 0) == 0 && e.path().extension() == ".csv") {
        surge.push_back(e.path());
      }
    }
  }
  for (const auto& p : surge) {
    ++files;
    ASSIGN_OR_RETURN(CsvTable t, ReadCsv(p));
    int text = t.Col("text"), sev = t.Col("severity_description");
    if (text < 0 || sev < 0) return absl::InvalidArgumentError("guard eval: surge CSV columns");
    for (const auto& row : t.rows) {
      if (row.size() <= static_cast<size_t>(std::max(text, sev))) continue;
      bool strong = row[sev] == "Strong" || row[sev] == "Severe";
      Rate& rate = strong ? r.profanity_strong_severe : r.profanity_mild;
      Rate& oos = strong ? r.profanity_strong_severe_oos : r.profanity_mild_oos;
      ++rate.total;
      ++oos.total;
      bool f = flagged(row[text]);
      bool f_oos = !words_oos->Find(row[text]).empty();
      rate.flagged += f;
      oos.flagged += f_oos;
      if (verbose && !f)
        r.errors.push_back(absl::StrCat("profanity missed (", row[sev], "): ", row[text]));
      if (verbose && !f_oos)
        r.errors.push_back(
            absl::StrCat("profanity missed, surge entries masked (", row[sev], "): ", row[text]));
    }
  }
  if (surge.empty()) r.skipped.push_back("wordlists/surge_profanity*.csv");

  // Davidson tweets.
  std::vector<fs::path> davidson;
  if (fs::is_directory(root / "content", ec)) {
    for (const auto& e : fs::directory_iterator(root / "content", ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind("davidson", 0) == 0 && e.path().extension() == ".csv") {
        davidson.push_back(e.path());
      }
    }
  }
  for (const auto& p : davidson) {
    ++files;
    ASSIGN_OR_RETURN(CsvTable t, ReadCsv(p));
    int tweet = t.Col("tweet"), cls = t.Col("class");
    if (tweet < 0 || cls < 0) return absl::InvalidArgumentError("guard eval: Davidson columns");
    for (const auto& row : t.rows) {
      if (row.size() <= static_cast<size_t>(std::max(tweet, cls))) continue;
      int c = row[cls] == "0" ? 0 : row[cls] == "1" ? 1 : row[cls] == "2" ? 2 : -1;
      if (c < 0) continue;
      ++r.davidson[c].total;
      bool f = flagged(row[tweet]);
      r.davidson[c].flagged += f;
      if (verbose && f && c == 2) {
        for (const auto& m : words->Find(row[tweet])) {
          r.errors.push_back(absl::StrCat(
              "neither flagged [", row[tweet].substr(m.begin, m.end - m.begin), "]: ", row[tweet]));
        }
      }
      corpus.push_back(row[tweet]);
    }
  }
  if (davidson.empty()) r.skipped.push_back("content/davidson*.csv");

  // XSTest.
  std::vector<fs::path> xstest;
  std::vector<std::string> xstest_safe_texts, xstest_unsafe_texts;
  if (fs::is_directory(root / "content", ec)) {
    for (const auto& e : fs::directory_iterator(root / "content", ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind("xstest", 0) == 0 && e.path().extension() == ".jsonl") {
        xstest.push_back(e.path());
      }
    }
  }
  for (const auto& p : xstest) {
    ++files;
    ASSIGN_OR_RETURN(auto rows, ReadJsonl(p));
    for (const auto& row : rows) {
      std::string text = Str(row, "text");
      Rate& rate = Str(row, "label") == "safe" ? r.xstest_safe : r.xstest_unsafe;
      if (&rate == &r.xstest_safe) xstest_safe_texts.push_back(text);
      if (&rate == &r.xstest_unsafe) xstest_unsafe_texts.push_back(text);
      ++rate.total;
      bool f = flagged(text);
      rate.flagged += f;
      if (verbose && f && &rate == &r.xstest_safe)
        r.errors.push_back(absl::StrCat("xstest safe flagged: ", text));
      corpus.push_back(text);
    }
  }
  if (xstest.empty()) r.skipped.push_back("content/xstest*.jsonl");

  // Benign prompts of the injection set: word-filter false positives on ordinary prompts; all
  // rows: the prompt-attack filter per strength.
  const PromptAttackModel* attack = PromptAttackModel::Default();
  r.attack_model_loaded = attack != nullptr;
  const Strength kStrengths[3] = {Strength::kLow, Strength::kMedium, Strength::kHigh};
  if (attack) {
    for (const auto& t : xstest_safe_texts) {
      double sc = attack->Score(t);
      for (int k = 0; k < 3; ++k) {
        ++r.attack_xstest_safe[k].total;
        r.attack_xstest_safe[k].flagged += sc >= attack->Threshold(kStrengths[k]);
      }
    }
  }
  std::vector<fs::path> injection;
  if (fs::is_directory(root / "injection", ec)) {
    for (const auto& e : fs::directory_iterator(root / "injection", ec)) {
      if (e.path().extension() == ".jsonl") injection.push_back(e.path());
    }
  }
  for (const auto& p : injection) {
    ++files;
    ASSIGN_OR_RETURN(auto rows, ReadJsonl(p));
    for (const auto& row : rows) {
      std::string text = Str(row, "text");
      corpus.push_back(text);
      int label = row.value("label", -1);
      if (attack && (label == 0 || label == 1)) {
        double sc = attack->Score(text);
        std::string group = row.contains("cluster") && row["cluster"].is_string()
                                ? row["cluster"].get<std::string>()
                                : Str(row, "id");
        bool held = IsHeldOut(group, 20);
        for (int k = 0; k < 3; ++k) {
          bool b = sc >= attack->Threshold(kStrengths[k]);
          Rate& all = label ? r.attack_recall[k] : r.attack_benign[k];
          ++all.total;
          all.flagged += b;
          if (held) {
            Rate& h = label ? r.attack_heldout_recall[k] : r.attack_heldout_benign[k];
            ++h.total;
            h.flagged += b;
          }
          if (verbose && k == 2 && b != (label == 1)) {
            r.errors.push_back(absl::StrCat(label ? "attack missed" : "benign blocked",
                                            " (HIGH, score ", std::to_string(sc),
                                            "): ", text.substr(0, 120)));
          }
        }
      }
      if (label == 0) {
        ++r.benign_prompts.total;
        bool f = flagged(text);
        r.benign_prompts.flagged += f;
        if (verbose && f) {
          for (const auto& m : words->Find(text)) {
            r.errors.push_back(
                absl::StrCat("benign flagged [", text.substr(m.begin, m.end - m.begin), "]"));
          }
        }
      }
    }
  }
  if (files == 0) return absl::NotFoundError("guard eval: no data files under the directory");

  // Content categories.
  const ContentModel* content = ContentModel::Default();
  r.content_model_loaded = content != nullptr;
  if (content) {
    auto examples = LoadContentExamples(dir);
    if (examples.ok()) {
      r.content_all = EvaluateContent(*content, *examples, false, 20);
      r.content_heldout = EvaluateContent(*content, *examples, true, 20);
    } else if (examples.status().code() != absl::StatusCode::kNotFound) {
      return examples.status();
    }
  }
  for (const auto& t : xstest_unsafe_texts) {
    bool word = flagged(t);
    double pa = attack ? attack->Score(t) : 0;
    std::array<double, kNumContentCategories> cs{};
    if (content) cs = content->Scores(t);
    for (int k = 0; k < 3; ++k) {
      bool any = word || (attack && pa >= attack->Threshold(kStrengths[k]));
      for (int c = 0; c < kNumContentCategories && content; ++c) {
        any |= cs[c] >= content->Threshold(static_cast<ContentFilterType>(c), kStrengths[k]);
      }
      ++r.xstest_unsafe_any_filter[k].total;
      r.xstest_unsafe_any_filter[k].flagged += any;
    }
  }
  for (const auto& t : xstest_safe_texts) {
    bool word = flagged(t);
    double pa = attack ? attack->Score(t) : 0;
    std::array<double, kNumContentCategories> cs{};
    if (content) cs = content->Scores(t);
    for (int k = 0; k < 3; ++k) {
      bool any = word || (attack && pa >= attack->Threshold(kStrengths[k]));
      for (int c = 0; c < kNumContentCategories && content; ++c) {
        any |= cs[c] >= content->Threshold(static_cast<ContentFilterType>(c), kStrengths[k]);
      }
      ++r.xstest_safe_any_filter[k].total;
      r.xstest_safe_any_filter[k].flagged += any;
      if (verbose && any) {
        const char* names[3] = {"LOW", "MEDIUM", "HIGH"};
        std::string why;
        if (word) why += " words";
        if (attack && pa >= attack->Threshold(kStrengths[k])) {
          absl::StrAppend(&why, " prompt-attack ", std::to_string(pa));
        }
        for (int c = 0; c < kNumContentCategories && content; ++c) {
          if (cs[c] >= content->Threshold(static_cast<ContentFilterType>(c), kStrengths[k])) {
            absl::StrAppend(&why, " ",
                            std::string(ContentFilterTypeName(static_cast<ContentFilterType>(c))),
                            " ", std::to_string(cs[c]));
          }
        }
        r.errors.push_back(absl::StrCat("xstest safe flagged at ", names[k], " by", why, ": ", t));
      }
    }
  }

  // Throughput on one core over all texts seen.
  if (throughput_seconds > 0 && !corpus.empty()) {
    size_t bytes = 0;
    for (const auto& t : corpus) bytes += t.size();
    r.scanned_mb = bytes / 1e6;
    // CPU time of this thread, so that other processes on a shared machine do not count.
    auto cpu_seconds = [] {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    };
    auto measure = [&](auto&& fn) {
      double budget = throughput_seconds / 5;
      size_t passes = 0;
      double start = cpu_seconds();
      double elapsed = 0;
      size_t sink = 0;
      do {
        for (const auto& t : corpus) sink += fn(t);
        ++passes;
        elapsed = cpu_seconds() - start;
      } while (elapsed < budget);
      if (sink == 0xFFFFFFFF) std::fputc(' ', stderr);  // keep the work observable
      return passes * r.scanned_mb / elapsed;
    };
    const PiiDetector& det = PiiDetector::Default();
    r.pii_mb_per_s = measure([&](const std::string& t) { return det.Detect(t).size(); });
    r.words_mb_per_s = measure([&](const std::string& t) { return words->Find(t).size(); });
    r.pii_words_mb_per_s =
        measure([&](const std::string& t) { return det.Detect(t).size() + words->Find(t).size(); });
    if (attack) {
      r.attack_mb_per_s =
          measure([&](const std::string& t) { return size_t(attack->Score(t) >= 0.5); });
    }
    if (content) {
      r.content_mb_per_s =
          measure([&](const std::string& t) { return size_t(content->Scores(t)[0] >= 0.5); });
    }
    r.all_separate_mb_per_s = measure([&](const std::string& t) {
      return det.Detect(t).size() + words->Find(t).size() +
             (attack ? size_t(attack->Score(t) >= 0.5) : 0) +
             (content ? size_t(content->Scores(t)[0] >= 0.5) : 0);
    });
    ASSIGN_OR_RETURN(auto guardrail,
                     Guardrail::Create(AllFiltersPolicy(attack != nullptr, content != nullptr)));
    r.all_mb_per_s = measure([&](const std::string& t) {
      GuardrailResult g = guardrail->Apply(t, Source::kInput);
      return size_t(g.blocked) + g.pii.size() + g.words.size() + g.content.size();
    });
  }
  return r;
}

std::string FormatEvalReport(const EvalReport& r) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line),
                "PII (%d rows; a gold span counts as found when a predicted "
                "span of its type overlaps it)\n",
                r.pii_rows);
  out += line;
  std::snprintf(line, sizeof(line), "  %-40s %5s %5s %6s %6s %6s %6s\n", "type", "gold", "pred",
                "prec", "recall", "F1", "F2");
  out += line;
  for (const auto& [type, s] : r.pii) {
    std::snprintf(line, sizeof(line), "  %-40s %5d %5d %6.3f %6.3f %6.3f %6.3f\n", type.c_str(),
                  s.gold, s.predicted, s.Precision(), s.Recall(), s.F(1), s.F(2));
    out += line;
  }
  auto rate = [&](const char* name, const Rate& x) {
    std::snprintf(line, sizeof(line), "  %-52s %5d / %-5d = %6.3f\n", name, x.flagged, x.total,
                  x.Value());
    out += line;
  };
  rate("hard-negative rows flagged", r.hard_negatives);
  rate("negative rows flagged", r.negatives);
  out += "Word filter (managed PROFANITY list)\n";
  rate("surge Strong/Severe flagged (recall, in-sample)", r.profanity_strong_severe);
  rate("surge Mild flagged (in-sample)", r.profanity_mild);
  rate("surge Strong/Severe, surge entries masked (recall)", r.profanity_strong_severe_oos);
  rate("surge Mild, surge entries masked", r.profanity_mild_oos);
  rate("Davidson hate flagged", r.davidson[0]);
  rate("Davidson offensive flagged", r.davidson[1]);
  rate("Davidson neither flagged (false positives)", r.davidson[2]);
  rate("XSTest safe prompts flagged (false positives)", r.xstest_safe);
  rate("XSTest unsafe prompts flagged", r.xstest_unsafe);
  rate("benign prompts (injection set) flagged", r.benign_prompts);
  if (!r.attack_model_loaded) {
    out += "Prompt attacks: built-in model absent\n";
  } else if (r.attack_recall[0].total + r.attack_benign[0].total > 0) {
    out += "Prompt attacks (INPUT strength: attack recall / benign prompts blocked)\n";
    const char* names[3] = {"LOW", "MEDIUM", "HIGH"};
    for (int k = 0; k < 3; ++k) {
      std::snprintf(line, sizeof(line),
                    "  %-6s all: recall %.3f (%d/%d) benign %.3f (%d/%d) | held-out: recall %.3f "
                    "(%d/%d) benign %.3f (%d/%d) | XSTest safe %.3f\n",
                    names[k], r.attack_recall[k].Value(), r.attack_recall[k].flagged,
                    r.attack_recall[k].total, r.attack_benign[k].Value(),
                    r.attack_benign[k].flagged, r.attack_benign[k].total,
                    r.attack_heldout_recall[k].Value(), r.attack_heldout_recall[k].flagged,
                    r.attack_heldout_recall[k].total, r.attack_heldout_benign[k].Value(),
                    r.attack_heldout_benign[k].flagged, r.attack_heldout_benign[k].total,
                    r.attack_xstest_safe[k].Value());
      out += line;
    }
  }
  if (!r.content_model_loaded) {
    out += "Content categories: built-in model absent\n";
  } else if (r.content_all.rows > 0) {
    out += "Content categories (strength: precision / recall; lexicon rows excluded)\n";
    out += FormatContentReport(r.content_all, "all");
    out += FormatContentReport(r.content_heldout, "held-out");
  }
  if (r.xstest_safe_any_filter[0].total > 0) {
    out += "XSTest safe prompts flagged by any filter (words, prompt attack, content)\n";
    rate("at LOW", r.xstest_safe_any_filter[0]);
    rate("at MEDIUM", r.xstest_safe_any_filter[1]);
    rate("at HIGH", r.xstest_safe_any_filter[2]);
  }
  if (r.xstest_unsafe_any_filter[0].total > 0) {
    out += "XSTest unsafe prompts flagged by any filter (words, prompt attack, content)\n";
    rate("at LOW", r.xstest_unsafe_any_filter[0]);
    rate("at MEDIUM", r.xstest_unsafe_any_filter[1]);
    rate("at HIGH", r.xstest_unsafe_any_filter[2]);
  }
  if (r.scanned_mb > 0) {
    std::snprintf(line, sizeof(line),
                  "Throughput, one core (CPU time), %.2f MB corpus: PII %.1f MB/s, words %.1f "
                  "MB/s, PII+words %.1f MB/s, prompt attack %.1f MB/s, content %.1f MB/s, "
                  "all %.1f MB/s (one guardrail policy; as separate calls %.1f MB/s)\n",
                  r.scanned_mb, r.pii_mb_per_s, r.words_mb_per_s, r.pii_words_mb_per_s,
                  r.attack_mb_per_s, r.content_mb_per_s, r.all_mb_per_s, r.all_separate_mb_per_s);
    out += line;
  }
  for (const auto& s : r.skipped) absl::StrAppend(&out, "skipped (absent): ", s, "\n");
  for (const auto& e : r.errors) absl::StrAppend(&out, "  - ", e, "\n");
  return out;
}

std::vector<std::string> CheckEvalGoals(const EvalReport& r) {
  std::vector<std::string> misses;
  char line[256];
  for (const char* type : {"EMAIL", "US_SOCIAL_SECURITY_NUMBER", "IP_ADDRESS",
                           "CREDIT_DEBIT_CARD_NUMBER", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"}) {
    auto it = r.pii.find(type);
    if (it == r.pii.end() || it->second.gold == 0) continue;
    if (it->second.Recall() < 0.98 || it->second.Precision() < 0.95) {
      std::snprintf(line, sizeof(line), "%s recall %.3f (>= 0.98) precision %.3f (>= 0.95)", type,
                    it->second.Recall(), it->second.Precision());
      misses.push_back(line);
    }
  }
  if (auto it = r.pii.find("PHONE");
      it != r.pii.end() && it->second.gold > 0 && it->second.F(2) < 0.6) {
    std::snprintf(line, sizeof(line), "phone-f2: PHONE F2 %.3f (>= 0.6)", it->second.F(2));
    misses.push_back(line);
  }
  if (r.hard_negatives.flagged > 0) {
    misses.push_back(
        absl::StrCat("hard-negatives: ", std::to_string(r.hard_negatives.flagged), " flagged (0)"));
  }
  if (r.profanity_strong_severe_oos.total > 0 && r.profanity_strong_severe_oos.Value() < 0.9) {
    std::snprintf(line, sizeof(line),
                  "profanity-recall: Strong/Severe recall with the surge-ai entries masked %.3f "
                  "(>= 0.9)",
                  r.profanity_strong_severe_oos.Value());
    misses.push_back(line);
  }
  if (r.davidson[2].total > 0 && r.davidson[2].Value() > 0.05) {
    std::snprintf(line, sizeof(line), "davidson-neither: flagged %.3f (<= 0.05)",
                  r.davidson[2].Value());
    misses.push_back(line);
  }
  if (r.xstest_safe.total > 0 && r.xstest_safe.Value() > 0.02) {
    std::snprintf(line, sizeof(line), "xstest-safe: flagged %.3f (<= 0.02)", r.xstest_safe.Value());
    misses.push_back(line);
  }
  if (r.attack_recall[2].total > 0 &&
      (r.attack_recall[2].Value() < 0.85 || r.attack_benign[2].Value() > 0.02)) {
    std::snprintf(line, sizeof(line),
                  "prompt-attack: HIGH recall %.3f (>= 0.85) benign blocked %.3f (<= 0.02)",
                  r.attack_recall[2].Value(), r.attack_benign[2].Value());
    misses.push_back(line);
  }
  if (!r.attack_model_loaded) misses.push_back("prompt-attack: built-in model absent");
  if (!r.content_model_loaded) misses.push_back("content-model: built-in model absent");
  const char* names[3] = {"LOW", "MEDIUM", "HIGH"};
  for (int k = 0; k < 3; ++k) {
    if (r.xstest_safe_any_filter[k].total > 0 && r.xstest_safe_any_filter[k].Value() > 0.02) {
      std::snprintf(line, sizeof(line), "xstest-safe-all: flagged at %s %.3f (<= 0.02)", names[k],
                    r.xstest_safe_any_filter[k].Value());
      misses.push_back(line);
    }
  }
  return misses;
}

}  // namespace confide::guard
