#include "guard/internal/data_files.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/file.h"

namespace confide::guard::internal {

absl::StatusOr<std::string> ReadText(const std::filesystem::path& p) {
  ASSIGN_OR_RETURN(Bytes b, base::ReadFileBounded(p.string(), kMaxDataFileBytes));
  return std::string(b.begin(), b.end());
}

absl::StatusOr<std::vector<nlohmann::json>> ReadJsonl(const std::filesystem::path& p) {
  ASSIGN_OR_RETURN(std::string text, ReadText(p));
  std::vector<nlohmann::json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("guard data: malformed JSON line in ", p.filename().string()));
    }
    rows.push_back(std::move(j));
  }
  return rows;
}

std::vector<std::vector<std::string>> ParseCsv(const std::string& s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field.push_back(c);
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

int CsvTable::Col(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<CsvTable> ReadCsv(const std::filesystem::path& p) {
  ASSIGN_OR_RETURN(std::string text, ReadText(p));
  auto rows = ParseCsv(text);
  if (rows.empty()) return absl::InvalidArgumentError("guard data: empty CSV");
  CsvTable t;
  t.header = rows[0];
  rows.erase(rows.begin());
  t.rows = std::move(rows);
  return t;
}

std::vector<std::filesystem::path> FilesIn(const std::filesystem::path& dir,
                                           const std::string& prefix, const std::string& suffix) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() >= prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace confide::guard::internal
