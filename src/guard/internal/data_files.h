// Readers for the labelled guardrail data files (JSON lines and RFC 4180 CSV), shared by the
// evaluation and the content-model trainer. Private to src/guard.
#ifndef CONFIDE_GUARD_INTERNAL_DATA_FILES_H_
#define CONFIDE_GUARD_INTERNAL_DATA_FILES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "nlohmann/json.hpp"

namespace confide::guard::internal {

// kMaxDataFileBytes caps one data file.
inline constexpr size_t kMaxDataFileBytes = 64 * 1024 * 1024;

// ReadText returns the file's bytes as a string (NotFound/ResourceExhausted from
// base::ReadFileBounded).
absl::StatusOr<std::string> ReadText(const std::filesystem::path& p);

// ReadJsonl returns one JSON object per non-empty line; InvalidArgument naming the file for a
// line that is not a JSON object.
absl::StatusOr<std::vector<nlohmann::json>> ReadJsonl(const std::filesystem::path& p);

// ParseCsv parses RFC 4180 CSV (quoted fields, "" escapes, newlines inside quotes).
std::vector<std::vector<std::string>> ParseCsv(const std::string& s);

// CsvTable is a CSV file with its header row split off; Col returns a column's index or -1.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int Col(const std::string& name) const;
};

// ReadCsv reads and parses a CSV file; InvalidArgument when it is empty.
absl::StatusOr<CsvTable> ReadCsv(const std::filesystem::path& p);

// FilesIn returns the regular files under `dir` whose name starts with `prefix` and ends with
// `suffix`, sorted (empty when the directory is absent).
std::vector<std::filesystem::path> FilesIn(const std::filesystem::path& dir,
                                           const std::string& prefix, const std::string& suffix);

// Str returns j[key] when it is a string, else "".
std::string Str(const nlohmann::json& j, const char* key);

}  // namespace confide::guard::internal

#endif  // CONFIDE_GUARD_INTERNAL_DATA_FILES_H_
