#include "proxy/allowlist.h"

#include <cctype>
#include <optional>

#include "absl/strings/str_cat.h"

namespace confide::proxy {
namespace {

struct Line {
  size_t number = 0;
  size_t indent = 0;
  std::string text;  // without indent, comment and trailing spaces
};

absl::Status LineError(size_t number, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("allowlist line ", number, ": ", what));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

absl::StatusOr<std::vector<Line>> SplitLines(std::string_view yaml) {
  std::vector<Line> out;
  size_t number = 0;
  while (!yaml.empty()) {
    ++number;
    size_t nl = yaml.find('\n');
    std::string_view raw = yaml.substr(0, nl);
    yaml = nl == std::string_view::npos ? std::string_view() : yaml.substr(nl + 1);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    for (char c : raw) {
      if (c == '\t') return LineError(number, "tabs are not allowed");
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        return LineError(number, "only printable ASCII is allowed");
      }
    }
    // A comment starts at '#' at the line's start or after a space, outside quotes.
    char quote = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '#' && (i == 0 || raw[i - 1] == ' ')) {
        raw = raw.substr(0, i);
        break;
      }
    }
    size_t indent = 0;
    while (indent < raw.size() && raw[indent] == ' ') ++indent;
    std::string_view text = Trim(raw);
    if (text.empty()) continue;
    out.push_back({number, indent, std::string(text)});
  }
  return out;
}

absl::StatusOr<std::string> Scalar(size_t number, std::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
    if (v.back() != v.front()) return LineError(number, "unterminated quoted value");
    v = v.substr(1, v.size() - 2);
    if (v.find('"') != std::string_view::npos || v.find('\'') != std::string_view::npos) {
      return LineError(number, "quotes inside a value are not allowed");
    }
  }
  if (v.empty()) return LineError(number, "empty value");
  return std::string(v);
}

struct Item {
  std::optional<std::string> address;
  std::optional<uint16_t> port;
};

absl::Status SetKey(size_t number, std::string_view pair, Item& item) {
  size_t colon = pair.find(": ");
  if (colon == std::string_view::npos) {
    return LineError(number, "expected `key: value`");
  }
  std::string_view key = Trim(pair.substr(0, colon));
  ASSIGN_OR_RETURN(std::string value, Scalar(number, pair.substr(colon + 2)));
  if (key == "address") {
    if (item.address) return LineError(number, "duplicate key `address`");
    if (value.size() > kMaxAddressLen) return LineError(number, "address too long");
    for (char c : value) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != ':' && c != '_' &&
          c != '-') {
        return LineError(number, "address has a character outside [A-Za-z0-9.:_-]");
      }
    }
    item.address = value;
  } else if (key == "port") {
    if (item.port) return LineError(number, "duplicate key `port`");
    if (value.size() > 5) return LineError(number, "port out of range");
    uint32_t p = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return LineError(number, "port is not a decimal number");
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return LineError(number, "port out of range");
    item.port = static_cast<uint16_t>(p);
  } else {
    return LineError(number, "unknown key (only `address` and `port`)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<AllowlistEntry>> ParseAllowlist(std::string_view yaml) {
  if (yaml.size() > kMaxAllowlistBytes) {
    return absl::InvalidArgumentError("allowlist: file too large");
  }
  ASSIGN_OR_RETURN(std::vector<Line> lines, SplitLines(yaml));
  if (lines.empty()) return absl::InvalidArgumentError("allowlist: empty file");
  if (lines[0].indent != 0 || (lines[0].text != "allowlist:" && lines[0].text != "allowlist: []")) {
    return LineError(lines[0].number, "expected `allowlist:` as the only top-level key");
  }
  std::vector<AllowlistEntry> out;
  if (lines[0].text == "allowlist: []") {
    if (lines.size() > 1) return LineError(lines[1].number, "unexpected content after the list");
    return out;
  }
  size_t i = 1;
  std::optional<size_t> item_indent;
  while (i < lines.size()) {
    const Line& l = lines[i];
    if (l.text.rfind("- ", 0) != 0 && l.text != "-") {
      return LineError(l.number, "expected a list item (`- ...`)");
    }
    if (item_indent && *item_indent != l.indent) {
      return LineError(l.number, "list items must share one indentation");
    }
    item_indent = l.indent;
    if (out.size() >= kMaxAllowlistEntries) return LineError(l.number, "too many entries");
    std::string_view body =
        l.text == "-" ? std::string_view() : Trim(std::string_view(l.text).substr(2));
    Item item;
    ++i;
    if (!body.empty() && body.front() == '{') {
      if (body.back() != '}') return LineError(l.number, "unterminated flow mapping");
      std::string_view inner = body.substr(1, body.size() - 2);
      while (!Trim(inner).empty()) {
        size_t comma = inner.find(',');
        RETURN_IF_ERROR(SetKey(l.number, inner.substr(0, comma), item));
        if (comma == std::string_view::npos) break;
        inner = inner.substr(comma + 1);
        if (Trim(inner).empty()) return LineError(l.number, "trailing comma");
      }
    } else {
      // Block mapping: the first pair after "- ", the rest on lines indented to its column.
      size_t column = l.indent + 2;
      if (!body.empty()) RETURN_IF_ERROR(SetKey(l.number, body, item));
      while (i < lines.size() && lines[i].indent > l.indent) {
        if (lines[i].indent != column) {
          return LineError(lines[i].number, "mapping keys must line up");
        }
        RETURN_IF_ERROR(SetKey(lines[i].number, lines[i].text, item));
        ++i;
      }
    }
    if (!item.address || !item.port) {
      return LineError(l.number, "an entry needs both `address` and `port`");
    }
    out.push_back({*item.address, *item.port});
  }
  return out;
}

std::string EncodeAllowlist(const std::vector<AllowlistEntry>& entries) {
  if (entries.empty()) return "allowlist: []\n";
  std::string out = "allowlist:\n";
  for (const AllowlistEntry& e : entries) {
    absl::StrAppend(&out, "- {address: ", e.address, ", port: ", e.port, "}\n");
  }
  return out;
}

absl::Status IsAllowed(const std::vector<AllowlistEntry>& entries, std::string_view address,
                       uint16_t port) {
  for (const AllowlistEntry& e : entries) {
    if (e.port != port || e.address.size() != address.size()) continue;
    bool same = true;
    for (size_t k = 0; k < address.size() && same; ++k) {
      same = std::tolower(static_cast<unsigned char>(address[k])) ==
             std::tolower(static_cast<unsigned char>(e.address[k]));
    }
    if (same) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("destination ", std::string(address), ":", port, " is not on the allowlist"));
}

}  // namespace confide::proxy
