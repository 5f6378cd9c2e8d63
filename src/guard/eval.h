// confide::guard evaluation on labelled data laid out like ../shared/testdata/guardrails
// (pii/*.jsonl with spans, content/*.jsonl|csv, injection/*.jsonl, wordlists/surge*.csv).
#ifndef CONFIDE_GUARD_EVAL_H_
#define CONFIDE_GUARD_EVAL_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "guard/content.h"

namespace confide::guard {

// TypeScore counts span matches of one PII type. A gold span is found when a predicted span of
// the same type overlaps it; a predicted span is correct when it overlaps a gold span of its
// type.
struct TypeScore {
  int gold = 0, found = 0;         // recall = found / gold
  int predicted = 0, correct = 0;  // precision = correct / predicted
  double Precision() const { return predicted ? double(correct) / predicted : 1.0; }
  double Recall() const { return gold ? double(found) / gold : 1.0; }
  double F(double beta) const;
};

// Rate is flagged / total.
struct Rate {
  int flagged = 0, total = 0;
  double Value() const { return total ? double(flagged) / total : 0.0; }
};

// EvalReport holds every figure `confide guard eval` prints.
struct EvalReport {
  std::map<std::string, TypeScore> pii;  // by Bedrock type name
  int pii_rows = 0;
  Rate hard_negatives;           // rows of kind hard_negative with any entity found
  Rate negatives;                // rows of kind negative with any entity found
  Rate profanity_strong_severe;  // surge rows rated Strong/Severe flagged (recall, in-sample)
  Rate profanity_mild;
  // The same with every managed entry whose only source is surge-ai masked (out-of-sample: the
  // figure the profanity goal is checked on).
  Rate profanity_strong_severe_oos, profanity_mild_oos;
  Rate davidson[3];  // by class: 0 hate, 1 offensive, 2 neither
  Rate xstest_safe, xstest_unsafe;
  Rate benign_prompts;  // injection/ benign rows flagged by the word filter
  // Prompt-attack filter (built-in model) per INPUT strength, index 0 LOW, 1 MEDIUM, 2 HIGH:
  // attacks blocked (recall) and benign prompts blocked (false positives), on all injection/
  // rows, on the clusters `confide guard train` held out (IsHeldOut(cluster, 20)), and on
  // XSTest safe prompts.
  bool attack_model_loaded = false;
  Rate attack_recall[3], attack_benign[3];
  Rate attack_heldout_recall[3], attack_heldout_benign[3];
  Rate attack_xstest_safe[3];
  // Content categories (built-in model): all non-lexicon rows and the held-out split
  // (IsHeldOut(group, 20), as `confide guard train --model content`); XSTest safe prompts
  // flagged by any filter (managed words, prompt attack and content categories at that
  // strength), index 0 LOW, 1 MEDIUM, 2 HIGH.
  bool content_model_loaded = false;
  ContentSplitReport content_all, content_heldout;
  Rate xstest_safe_any_filter[3];
  // XSTest unsafe prompts flagged by any filter (the other side of the trade-off), per strength.
  Rate xstest_unsafe_any_filter[3];
  double content_mb_per_s = 0;
  double scanned_mb = 0, pii_mb_per_s = 0, words_mb_per_s = 0, all_mb_per_s = 0;
  double attack_mb_per_s = 0;     // prompt-attack scoring; all_mb_per_s includes it
  double pii_words_mb_per_s = 0;  // PII detectors and word filter together (one core)
  // all_mb_per_s: Guardrail::Apply(text, INPUT) under a policy with every filter that applies
  // to a lone text (PII ANONYMIZE for all types, managed profanity, all content categories and
  // PROMPT_ATTACK at HIGH). all_separate_mb_per_s: the same filters as separate calls
  // (PiiDetector::Detect, WordFilter::Find, PromptAttackModel::Score, ContentModel::Scores).
  double all_separate_mb_per_s = 0;
  std::vector<std::string> skipped;  // files that were absent
  std::vector<std::string> errors;   // with `verbose`: each miss and false positive
};

// RunEval evaluates the PII detectors and the managed profanity filter on the data in `dir`.
// NotFound if no data file at all is present; InvalidArgument for a malformed file.
// `throughput_seconds` bounds the time spent measuring throughput (0 skips it).
// `verbose` lists every miss and false positive in EvalReport::errors (dev data only: the
// lines quote the data).
absl::StatusOr<EvalReport> RunEval(const std::string& dir, double throughput_seconds,
                                   bool verbose = false);

// FormatEvalReport returns the report as a human-readable table.
std::string FormatEvalReport(const EvalReport& report);

// CheckEvalGoals returns the goals of issue 6 that the report misses (empty when all pass):
// EMAIL, US_SOCIAL_SECURITY_NUMBER, IP_ADDRESS, CREDIT_DEBIT_CARD_NUMBER and
// INTERNATIONAL_BANK_ACCOUNT_NUMBER recall >= 0.98 with precision >= 0.95; PHONE F2 >= 0.6;
// no hard negative flagged; profanity recall >= 0.9 on Strong/Severe (with the surge-ai
// entries of the managed list masked, since the surge rows are also the recall set); <= 5% of
// Davidson "neither" and <= 2% of XSTest safe prompts flagged; prompt attacks blocked at strength
// HIGH with recall >= 0.85 and <= 2% of benign injection/ prompts blocked. Each miss is "<key>:
// <figure> (<goal>)"; keys: pii-<TYPE>, phone-f2, hard-negatives, profanity-recall,
// davidson-neither, xstest-safe, prompt-attack, xstest-safe-all (XSTest safe prompts flagged by any
// filter <= 2% at each of LOW, MEDIUM and HIGH), content-model.
std::vector<std::string> CheckEvalGoals(const EvalReport& report);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_EVAL_H_
