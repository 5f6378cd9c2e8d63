#include "kms/identity.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "nlohmann/json.hpp"

namespace confide::kms {
namespace {

bool IsDigits(std::string_view s, size_t n) {
  if (s.size() != n) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

bool ValidAccessKeyId(std::string_view s) {
  if (s.size() < 4 || s.size() > 128) {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

bool ValidPrincipalArn(std::string_view arn) {
  // arn:aws:iam::123456789012:<resource>
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (arn.size() > 2048 || arn.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  std::string_view rest = arn.substr(kPrefix.size());
  if (rest.size() < 14 || !IsDigits(rest.substr(0, 12), 12) || rest[12] != ':') {
    return false;
  }
  std::string_view resource = rest.substr(13);
  if (resource == "root") {
    return true;
  }
  for (std::string_view kind : {"user/", "role/", "assumed-role/"}) {
    if (resource.size() > kind.size() && resource.substr(0, kind.size()) == kind) {
      for (unsigned char c : resource) {
        if (c <= 0x20 || c >= 0x7f || c == '*' || c == '?') {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

// RawEntry is one entry as read from the file, before validation.
struct RawEntry {
  std::map<std::string, std::string, std::less<>> fields;
};

absl::Status EntryError(size_t index, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("identities entry ", index + 1, ": ", std::string(what)));
}

absl::StatusOr<std::vector<RawEntry>> ParseJson(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("identities file is not a JSON object");
  }
  if (doc.size() != 1 || !doc.contains("identities") || !doc["identities"].is_array()) {
    return absl::InvalidArgumentError(
        "identities file must be {\"identities\": [...]} with no other members");
  }
  std::vector<RawEntry> out;
  for (const nlohmann::json& e : doc["identities"]) {
    size_t index = out.size();
    if (!e.is_object()) {
      return EntryError(index, "is not an object");
    }
    RawEntry raw;
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (!it.value().is_string()) {
        return EntryError(index, "every value must be a string");
      }
      raw.fields[it.key()] = it.value().get<std::string>();
    }
    out.push_back(std::move(raw));
  }
  return out;
}

// ParseTomlString parses a basic TOML string "..." (escapes \" \\ \n \t) at the start of `s`
// and returns it; `s` is advanced past the closing quote.
absl::StatusOr<std::string> ParseTomlString(std::string_view& s) {
  if (s.empty() || s.front() != '"') {
    return absl::InvalidArgumentError("value must be a double-quoted string");
  }
  std::string out;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      s.remove_prefix(i + 1);
      return out;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        break;
      }
      char e = s[++i];
      switch (e) {
        case '"':
        case '\\':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        default:
          return absl::InvalidArgumentError("unsupported escape in string");
      }
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      return absl::InvalidArgumentError("control character in string");
    }
    out.push_back(c);
  }
  return absl::InvalidArgumentError("unterminated string");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

absl::StatusOr<std::vector<RawEntry>> ParseToml(std::string_view text) {
  std::vector<RawEntry> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    line = Trim(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line == "[[identity]]") {
      out.emplace_back();
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("identities line ", line_no, ": expected [[identity]] or key = \"value\""));
    }
    if (out.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identities line ", line_no, ": key before the first [[identity]]"));
    }
    std::string key(Trim(line.substr(0, eq)));
    std::string_view rest = Trim(line.substr(eq + 1));
    absl::StatusOr<std::string> value = ParseTomlString(rest);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identities line ", line_no, ": ", std::string(value.status().message())));
    }
    rest = Trim(rest);
    if (!rest.empty() && rest.front() != '#') {
      return absl::InvalidArgumentError(
          absl::StrCat("identities line ", line_no, ": text after the value"));
    }
    if (!out.back().fields.emplace(key, std::move(*value)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("identities line ", line_no, ": duplicate key"));
    }
  }
  return out;
}

}  // namespace

std::string AccountFromArn(std::string_view arn) {
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) {
      return "";
    }
    ++pos;
  }
  size_t end = arn.find(':', pos);
  if (end == std::string_view::npos || arn.substr(0, 4) != "arn:") {
    return "";
  }
  return std::string(arn.substr(pos, end - pos));
}

absl::Status IdentityStore::Add(Identity identity) {
  if (!ValidAccessKeyId(identity.access_key_id)) {
    return absl::InvalidArgumentError("access_key_id must be 4-128 characters of [A-Z0-9]");
  }
  if (identity.secret_access_key.empty() || identity.secret_access_key.size() > 128) {
    return absl::InvalidArgumentError("secret_access_key must be 1-128 bytes");
  }
  if (!ValidPrincipalArn(identity.principal_arn)) {
    return absl::InvalidArgumentError(
        "principal_arn must be arn:aws:iam::<12 digits>:root|user/..|role/..|assumed-role/..");
  }
  std::string arn_account = AccountFromArn(identity.principal_arn);
  if (identity.account.empty()) {
    identity.account = arn_account;
  }
  if (identity.account != arn_account) {
    return absl::InvalidArgumentError("account does not match the account in principal_arn");
  }
  if (identity.session_token.size() > 4096) {
    return absl::InvalidArgumentError("session_token is longer than 4096 bytes");
  }
  std::string key = identity.access_key_id;
  if (!by_key_.emplace(std::move(key), std::move(identity)).second) {
    return absl::InvalidArgumentError("duplicate access_key_id");
  }
  return absl::OkStatus();
}

const Identity* IdentityStore::Find(std::string_view access_key_id) const {
  auto it = by_key_.find(access_key_id);
  return it == by_key_.end() ? nullptr : &it->second;
}

absl::StatusOr<IdentityStore> IdentityStore::Parse(std::string_view text) {
  if (text.size() > kMaxIdentitiesFileBytes) {
    return absl::InvalidArgumentError("identities file is too large");
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  bool is_json = first != std::string_view::npos && text[first] == '{';
  std::vector<RawEntry> entries;
  if (is_json) {
    ASSIGN_OR_RETURN(entries, ParseJson(text));
  } else {
    ASSIGN_OR_RETURN(entries, ParseToml(text));
  }
  IdentityStore store;
  for (size_t i = 0; i < entries.size(); ++i) {
    RawEntry& raw = entries[i];
    Identity id;
    for (auto& [key, value] : raw.fields) {
      if (key == "access_key_id") {
        id.access_key_id = value;
      } else if (key == "secret_access_key") {
        id.secret_access_key = SecretBytes::CopyFrom(AsBytes(value));
      } else if (key == "principal_arn") {
        id.principal_arn = value;
      } else if (key == "account") {
        id.account = value;
      } else if (key == "session_token") {
        id.session_token = value;
      } else {
        return EntryError(i,
                          "unknown key (allowed: access_key_id, secret_access_key, "
                          "principal_arn, account, session_token)");
      }
      // Wipe our copy of every value: it may be the secret.
      SecureZero(std::span<uint8_t>(reinterpret_cast<uint8_t*>(value.data()), value.size()));
    }
    if (id.access_key_id.empty() || id.secret_access_key.empty() || id.principal_arn.empty()) {
      return EntryError(i, "access_key_id, secret_access_key and principal_arn are required");
    }
    absl::Status s = store.Add(std::move(id));
    if (!s.ok()) {
      return EntryError(i, std::string(s.message()));
    }
  }
  return store;
}

absl::StatusOr<IdentityStore> IdentityStore::Load(const std::string& path) {
  ASSIGN_OR_RETURN(Bytes bytes, base::ReadFileBounded(path, kMaxIdentitiesFileBytes));
  absl::StatusOr<IdentityStore> store = Parse(AsStringView(bytes));
  SecureZero(bytes);
  if (!store.ok()) {
    log::Warning("kms.identities_rejected", {{"status", store.status()}});
    return store.status();
  }
  log::Info("kms.identities_loaded", {{"count", store->size()}});
  return store;
}

}  // namespace confide::kms
