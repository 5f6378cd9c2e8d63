#include "cli/model_bench_commands.h"

#include <string>

#include "gtest/gtest.h"

namespace confide::cli {
namespace {

// Two tests as llama.cpp's llama-bench (commit c392e509) prints them with `-o json`, fields
// trimmed to those the parser reads plus a few others.
constexpr char kLlamaBenchJson[] = R"([
  {
    "build_commit": "unknown",
    "build_number": 0,
    "model_filename": "/work/shared/models/stories260K.gguf",
    "n_threads": 2,
    "type_k": "f16",
    "n_prompt": 16,
    "n_gen": 0,
    "avg_ns": 500372,
    "avg_ts": 31989.063081,
    "stddev_ts": 906.827020,
    "samples_ts": [ 31347.8, 32630.3 ]
  },
  {
    "build_commit": "unknown",
    "build_number": 0,
    "n_threads": 2,
    "n_prompt": 0,
    "n_gen": 32,
    "avg_ts": 6295.903325,
    "stddev_ts": 6690.651559
  }
]
)";

TEST(LlamaBenchJsonTest, ReadsPromptAndGenerationTests) {
  auto f = ParseLlamaBenchJson(kLlamaBenchJson);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_DOUBLE_EQ(f->pp_tps, 31989.063081);
  EXPECT_DOUBLE_EQ(f->pp_stddev, 906.827020);
  EXPECT_EQ(f->pp_tokens, 16);
  EXPECT_DOUBLE_EQ(f->tg_tps, 6295.903325);
  EXPECT_EQ(f->tg_tokens, 32);
  EXPECT_EQ(f->threads, 2);
  EXPECT_EQ(f->build, "unknown (0)");
}

TEST(LlamaBenchJsonTest, RejectsOtherOutput) {
  EXPECT_FALSE(ParseLlamaBenchJson("").ok());
  EXPECT_FALSE(ParseLlamaBenchJson("| model | size |").ok());  // the markdown table
  EXPECT_FALSE(ParseLlamaBenchJson("{}").ok());
  EXPECT_FALSE(ParseLlamaBenchJson("[]").ok());
  EXPECT_FALSE(ParseLlamaBenchJson("[1]").ok());
  EXPECT_FALSE(ParseLlamaBenchJson(R"([{"n_prompt": 16, "n_gen": 0}])").ok());
  // Only a prompt test: the generation test is required.
  EXPECT_FALSE(
      ParseLlamaBenchJson(R"([{"n_prompt": 16, "n_gen": 0, "avg_ts": 1, "stddev_ts": 0}])").ok());
  // Only a generation test: fine, no prompt figures.
  auto tg = ParseLlamaBenchJson(R"([{"n_prompt": 0, "n_gen": 8, "avg_ts": 5, "stddev_ts": 1}])");
  ASSERT_TRUE(tg.ok()) << tg.status();
  EXPECT_EQ(tg->pp_tokens, 0);
  EXPECT_DOUBLE_EQ(tg->tg_tps, 5);
}

}  // namespace
}  // namespace confide::cli
