// Tokenizer conformance: llama.cpp's test-tokenizer-0 vectors (../shared/testdata/tokenizer,
// see its SOURCES.md), round trips, pre-tokenizer splits and adversarial inputs.
#include "llm/tokenizer.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llm/internal/gguf_meta_for_tests.h"
#include "llm/internal/pretokenize.h"
#include "llm/internal/unicode.h"
#include "testing/testdata.h"

namespace confide::llm {
namespace {

using internal::PreTokenizer;

constexpr size_t kInputsPerFile = 46;  // SOURCES.md: every .inp file holds 46 strings

std::string AsString(const Bytes& b) { return std::string(b.begin(), b.end()); }

// SplitInputs splits an .inp file on "\n__ggml_vocab_test__\n", dropping the empty tail.
std::vector<std::string> SplitInputs(const std::string& text) {
  static const std::string kSep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t next = text.find(kSep, pos);
    if (next == std::string::npos) break;
    out.push_back(text.substr(pos, next - pos));
    pos = next + kSep.size();
  }
  EXPECT_EQ(pos, text.size()) << "the file must end with the separator";
  return out;
}

// ParseOutputs parses an .out file: one line of space-prefixed ids per input.
std::vector<std::vector<TokenId>> ParseOutputs(const std::string& text) {
  std::vector<std::vector<TokenId>> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<TokenId> v;
    TokenId id;
    while (ids >> id) v.push_back(id);
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<Tokenizer> LoadVocab(const std::filesystem::path& path,
                                    std::string* chat_template = nullptr) {
  std::optional<Bytes> bytes = testing::ReadFile(path);
  if (!bytes) return absl::NotFoundError("cannot read vocab");
  ASSIGN_OR_RETURN(TokenizerVocab vocab, internal::VocabFromGgufForTests(*bytes, chat_template));
  return Tokenizer::Create(vocab);
}

std::string Ids(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += " " + std::to_string(id);
  return s;
}

struct VocabCase {
  const char* name;
  size_t expected_pass;  // lines of the .out file we reproduce exactly
  bool lossless;         // decode(encode(x)) == x for every input
};

class TokenizerVectors : public ::testing::TestWithParam<VocabCase> {};

TEST_P(TokenizerVectors, MatchesLlamaCppExpectedIds) {
  const VocabCase& c = GetParam();
  const std::string base = std::string("testdata/tokenizer/ggml-vocab-") + c.name + ".gguf";
  CONFIDE_SHARED_FILE_OR_SKIP(gguf, base);
  CONFIDE_SHARED_FILE_OR_SKIP(inp, base + ".inp");
  CONFIDE_SHARED_FILE_OR_SKIP(outp, base + ".out");
  absl::StatusOr<Tokenizer> tok = LoadVocab(gguf);
  ASSERT_TRUE(tok.ok()) << tok.status();
  const std::vector<std::string> inputs = SplitInputs(AsString(*testing::ReadFile(inp)));
  const std::vector<std::vector<TokenId>> expected =
      ParseOutputs(AsString(*testing::ReadFile(outp)));
  ASSERT_EQ(inputs.size(), kInputsPerFile);
  ASSERT_EQ(expected.size(), kInputsPerFile);
  size_t pass = 0;
  size_t round_trips = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<TokenId> got = tok->Encode(inputs[i]);
    if (got == expected[i]) {
      ++pass;
    } else {
      ADD_FAILURE() << c.name << " input " << i << " '" << inputs[i] << "'\n  want"
                    << Ids(expected[i]) << "\n  got " << Ids(got);
    }
    absl::StatusOr<std::string> back = tok->Decode(got);
    ASSERT_TRUE(back.ok()) << back.status();
    if (*back == inputs[i]) ++round_trips;
  }
  EXPECT_EQ(pass, c.expected_pass) << c.name;
  if (c.lossless) {
    EXPECT_EQ(round_trips, kInputsPerFile) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vocabs, TokenizerVectors,
    ::testing::Values(VocabCase{"llama-spm", 46, true}, VocabCase{"phi-3", 46, true},
                      VocabCase{"gpt-2", 46, true}, VocabCase{"starcoder", 46, true},
                      VocabCase{"refact", 46, true}, VocabCase{"mpt", 46, true},
                      VocabCase{"falcon", 46, true}, VocabCase{"deepseek-coder", 46, true}),
    [](const ::testing::TestParamInfo<VocabCase>& param_info) {
      std::string n = param_info.param.name;
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

}  // namespace
}  // namespace confide::llm
