#include "image/manifest.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"

namespace confide::image {
namespace {

constexpr size_t kMaxStringLen = 4096;

bool IsBareKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Value is a manifest value: a string or an array of strings.
struct Value {
  bool is_array = false;
  std::string str;
  std::vector<std::string> items;
};

// Parser walks the text once; every error names the 1-based line it was found on.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest line ", line_, ": ", std::string(what)));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  void SkipSpaces() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++pos_;
  }
  void SkipComment() {
    if (Peek() == '#') {
      while (!AtEnd() && Peek() != '\n') ++pos_;
    }
  }
  // SkipBlank skips spaces, comments and newlines (between statements and inside arrays).
  void SkipBlank() {
    for (;;) {
      SkipSpaces();
      SkipComment();
      if (Peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
      if (Peek() == '\n') {
        ++pos_;
        ++line_;
        continue;
      }
      return;
    }
  }
  // EndOfLine requires only spaces and a comment before the newline (or the end).
  absl::Status EndOfLine() {
    SkipSpaces();
    SkipComment();
    if (Peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    if (AtEnd()) return absl::OkStatus();
    if (Peek() != '\n') return Error("unexpected text after the value");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> BareKey() {
    size_t start = pos_;
    while (!AtEnd() && IsBareKeyChar(Peek())) ++pos_;
    if (pos_ == start) return Error("expected a bare key");
    if (pos_ - start > 64) return Error("key too long");
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::string> String() {
    if (Peek() != '"') return Error("expected a \"basic string\"");
    ++pos_;
    std::string out;
    for (;;) {
      if (AtEnd()) return Error("unterminated string");
      char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\\') {
        if (AtEnd()) return Error("unterminated string");
        char e = text_[pos_++];
        switch (e) {
          case '"':
            out.push_back('"');
            break;
          case '\\':
            out.push_back('\\');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'r':
            out.push_back('\r');
            break;
          default:
            return Error("unsupported escape in string");
        }
      } else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return Error("control character in string");
      } else {
        out.push_back(c);
      }
      if (out.size() > kMaxStringLen) return Error("string too long");
    }
    return out;
  }

  absl::StatusOr<Value> ParseValue() {
    Value v;
    if (Peek() == '"') {
      ASSIGN_OR_RETURN(v.str, String());
      return v;
    }
    if (Peek() != '[') return Error("value must be a \"string\" or an array of strings");
    ++pos_;
    v.is_array = true;
    for (;;) {
      SkipBlank();
      if (Peek() == ']') {
        ++pos_;
        return v;
      }
      ASSIGN_OR_RETURN(std::string item, String());
      if (v.items.size() >= kMaxManifestFiles) return Error("array too long");
      v.items.push_back(std::move(item));
      SkipBlank();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return v;
      }
      return Error("expected ',' or ']' in array");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!IsBareKeyChar(c) && c != '.') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Manifest> ParseManifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes) {
    return absl::InvalidArgumentError("manifest larger than 64 KiB");
  }
  Parser p(text);
  Manifest m;
  std::string table;  // "" is the root table
  std::set<std::string> seen_tables;
  std::set<std::string> seen_keys;  // "table.key"
  bool has_signing = false;
  for (;;) {
    p.SkipBlank();
    if (p.AtEnd()) break;
    if (p.Peek() == '[') {
      ++p.pos_;
      p.SkipSpaces();
      ASSIGN_OR_RETURN(table, p.BareKey());
      p.SkipSpaces();
      if (p.Peek() != ']') return p.Error("expected ']' after the table name");
      ++p.pos_;
      if (table != "runtime" && table != "application" && table != "signing") {
        return p.Error("unknown table (expected [runtime], [application] or [signing])");
      }
      if (!seen_tables.insert(table).second) return p.Error("table defined twice");
      if (table == "signing") has_signing = true;
      RETURN_IF_ERROR(p.EndOfLine());
      continue;
    }
    ASSIGN_OR_RETURN(std::string key, p.BareKey());
    p.SkipSpaces();
    if (p.Peek() != '=') return p.Error("expected '=' after the key");
    ++p.pos_;
    p.SkipSpaces();
    size_t key_line = p.line_;
    ASSIGN_OR_RETURN(Value v, p.ParseValue());
    RETURN_IF_ERROR(p.EndOfLine());
    std::string full = table.empty() ? key : table + "." + key;
    auto error_at_key = [&](std::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("manifest line ", key_line, ": ", std::string(what)));
    };
    if (!seen_keys.insert(full).second) return error_at_key("key defined twice: " + full);
    auto want_string = [&]() -> absl::Status {
      if (v.is_array) return error_at_key(full + " must be a string");
      return absl::OkStatus();
    };
    auto want_array = [&]() -> absl::Status {
      if (!v.is_array) return error_at_key(full + " must be an array of strings");
      for (const std::string& f : v.items) {
        if (f.empty()) return error_at_key(full + " holds an empty path");
      }
      return absl::OkStatus();
    };
    if (full == "name") {
      RETURN_IF_ERROR(want_string());
      if (!ValidName(v.str)) return error_at_key("name must match [A-Za-z0-9._-]{1,64}");
      m.name = v.str;
    } else if (full == "runtime.files") {
      RETURN_IF_ERROR(want_array());
      m.runtime_files = std::move(v.items);
    } else if (full == "application.files") {
      RETURN_IF_ERROR(want_array());
      m.application_files = std::move(v.items);
    } else if (full == "application.model_sha256") {
      RETURN_IF_ERROR(want_string());
      auto digest = base::HexDecode(v.str);
      if (!digest.ok() || digest->size() != 32) {
        return error_at_key("application.model_sha256 must be 64 hex digits");
      }
      m.model_sha256 = *std::move(digest);
    } else if (full == "signing.key") {
      RETURN_IF_ERROR(want_string());
      if (v.str.empty()) return error_at_key("signing.key is empty");
      m.signing_key = v.str;
    } else if (full == "signing.certificate") {
      RETURN_IF_ERROR(want_string());
      if (v.str.empty()) return error_at_key("signing.certificate is empty");
      m.signing_certificate = v.str;
    } else {
      return error_at_key("unknown key: " + full);
    }
  }
  if (m.name.empty()) return absl::InvalidArgumentError("manifest: name is required");
  if (m.runtime_files.empty()) {
    return absl::InvalidArgumentError("manifest: [runtime] files must list at least one file");
  }
  if (has_signing && (!m.signing_key || !m.signing_certificate)) {
    return absl::InvalidArgumentError("manifest: [signing] needs both key and certificate");
  }
  return m;
}

Manifest ResolveManifestPaths(Manifest m, const std::string& base_dir) {
  auto resolve = [&](std::string& path) {
    if (!path.empty() && path[0] != '/' && !base_dir.empty()) path = base_dir + "/" + path;
  };
  for (std::string& f : m.runtime_files) resolve(f);
  for (std::string& f : m.application_files) resolve(f);
  if (m.signing_key) resolve(*m.signing_key);
  if (m.signing_certificate) resolve(*m.signing_certificate);
  return m;
}

}  // namespace confide::image
