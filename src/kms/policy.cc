#include "kms/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/encoding.h"
#include "base/status.h"
#include "kms/errors.h"
#include "kms/http_request.h"
#include "kms/identity.h"
#include "nlohmann/json.hpp"

namespace confide::kms {

// ---------------------------------------------------------------------------------------------
// Request context.

void RequestContext::Set(std::string_view key, std::string value) {
  values_[ToLowerAscii(key)] = {std::move(value)};
}

void RequestContext::SetMulti(std::string_view key, std::vector<std::string> values) {
  values_[ToLowerAscii(key)] = std::move(values);
}

const std::vector<std::string>* RequestContext::Find(std::string_view key) const {
  auto it = values_.find(ToLowerAscii(key));
  if (it == values_.end() || it->second.empty()) {
    return nullptr;
  }
  return &it->second;
}

RequestContext BuildKmsRequestContext(const KmsRequestFacts& facts) {
  RequestContext ctx;
  auto set_if = [&](const char* key, const std::string& value) {
    if (!value.empty()) {
      ctx.Set(key, value);
    }
  };
  set_if(kKeyPrincipalArn, facts.principal_arn);
  set_if(kKeyCallerAccount, facts.caller_account);
  set_if(kKeyKeySpec, facts.key_spec);
  set_if(kKeyViaService, facts.via_service);
  set_if(kKeySourceIp, facts.source_ip);
  std::vector<std::string> ec_keys;
  for (const auto& [k, v] : facts.encryption_context) {
    ctx.Set(std::string(kKeyEncryptionContextPrefix) + k, v);
    ec_keys.push_back(k);
  }
  if (!ec_keys.empty()) {
    ctx.SetMulti(kKeyEncryptionContextKeys, std::move(ec_keys));
  }
  if (facts.attested_pcrs != nullptr) {
    for (const auto& [index, value] : *facts.attested_pcrs) {
      if (index <= 31) {
        ctx.Set(absl::StrCat(kKeyRecipientPcrPrefix, index), base::HexEncode(value));
      }
    }
    auto pcr0 = facts.attested_pcrs->find(0);
    if (pcr0 != facts.attested_pcrs->end()) {
      ctx.Set(kKeyRecipientImageSha384, base::HexEncode(pcr0->second));
    }
  }
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Matching helpers.

bool GlobMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto eq = [ignore_case](char a, char b) {
    if (ignore_case) {
      if (a >= 'A' && a <= 'Z') {
        a = static_cast<char>(a - 'A' + 'a');
      }
      if (b >= 'A' && b <= 'Z') {
        b = static_cast<char>(b - 'A' + 'a');
      }
    }
    return a == b;
  };
  // Iterative matcher with single-star backtracking: O(|pattern| * |text|) worst case.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

namespace {

constexpr std::string_view kMalformedPrefix = "The key policy is malformed: ";

absl::Status Malformed(std::string_view what) {
  return AwsError(absl::StatusCode::kInvalidArgument, "MalformedPolicyDocumentException",
                  absl::StrCat(std::string(kMalformedPrefix), std::string(what)));
}

// Detail returns the message of a Malformed status without its prefix (to nest it).
std::string Detail(const absl::Status& s) {
  std::string m(s.message());
  if (m.rfind(kMalformedPrefix, 0) == 0) {
    m.erase(0, kMalformedPrefix.size());
  }
  return m;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return std::nullopt;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == '.' || c == '+' || c == 'e' || c == 'E')) {
      return std::nullopt;
    }
  }
  double v = 0;
  const char* begin = s.data();
  if (*begin == '+') {
    ++begin;
  }
  auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<absl::Time> ParseDate(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return std::nullopt;
  }
  bool all_digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits) {
    if (s.size() > 12) {
      return std::nullopt;
    }
    int64_t secs = 0;
    std::from_chars(s.data(), s.data() + s.size(), secs);
    return absl::FromUnixSeconds(secs);
  }
  std::string text(s);
  for (const char* fmt : {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*SZ", "%Y-%m-%dT%H:%MZ",
                          "%Y-%m-%dT%H:%M%Ez", "%Y-%m-%d"}) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(fmt, text, absl::UTCTimeZone(), &t, &err)) {
      return t;
    }
  }
  return std::nullopt;
}

struct Cidr {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};
  int prefix = 0;
};

std::optional<Cidr> ParseCidr(std::string_view s, bool allow_prefix) {
  if (s.empty() || s.size() > 64) {
    return std::nullopt;
  }
  std::string text(s);
  std::optional<int> prefix;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    if (!allow_prefix) {
      return std::nullopt;
    }
    std::string_view digits = std::string_view(text).substr(slash + 1);
    int p = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
      return std::nullopt;
    }
    prefix = p;
    text.resize(slash);
  }
  Cidr out;
  if (inet_pton(AF_INET, text.c_str(), out.addr.data()) == 1) {
    out.family = AF_INET;
    out.prefix = prefix.value_or(32);
    if (out.prefix < 0 || out.prefix > 32) {
      return std::nullopt;
    }
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.addr.data()) == 1) {
    out.family = AF_INET6;
    out.prefix = prefix.value_or(128);
    if (out.prefix < 0 || out.prefix > 128) {
      return std::nullopt;
    }
    return out;
  }
  return std::nullopt;
}

bool CidrContains(const Cidr& net, const Cidr& ip) {
  if (net.family != ip.family) {
    return false;
  }
  int bits = net.prefix;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((net.addr[i] & mask) != (ip.addr[i] & mask)) {
      return false;
    }
  }
  return true;
}

// SplitArn splits an ARN into its six parts (the resource part may contain ':').
std::optional<std::array<std::string_view, 6>> SplitArn(std::string_view arn) {
  std::array<std::string_view, 6> parts;
  for (size_t i = 0; i < 5; ++i) {
    size_t colon = arn.find(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    parts[i] = arn.substr(0, colon);
    arn.remove_prefix(colon + 1);
  }
  parts[5] = arn;
  if (parts[0] != "arn") {
    return std::nullopt;
  }
  return parts;
}

bool ArnMatch(std::string_view pattern, std::string_view value) {
  auto p = SplitArn(pattern);
  auto v = SplitArn(value);
  if (!p.has_value() || !v.has_value()) {
    return false;
  }
  for (size_t i = 0; i < 6; ++i) {
    if (!GlobMatch((*p)[i], (*v)[i], /*ignore_case=*/false)) {
      return false;
    }
  }
  return true;
}

bool IsRootArn(std::string_view arn) {
  return arn.substr(0, 13) == "arn:aws:iam::" && arn.size() == 13 + 12 + 5 &&
         arn.substr(25) == ":root";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The parsed document.

namespace internal {

enum class BaseOp {
  kStringEquals,
  kStringEqualsIgnoreCase,
  kStringLike,
  kNumericEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kIpAddress,
  kArnLike,  // ArnEquals and ArnLike behave the same (both take wildcards)
  kNull,
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

struct Condition {
  std::string op_name;  // as written, for lint messages
  BaseOp base = BaseOp::kStringEquals;
  bool negated = false;
  bool if_exists = false;
  SetQualifier set = SetQualifier::kNone;
  std::string key;  // lowercased
  std::vector<std::string> values;
  std::vector<double> numbers;
  std::vector<absl::Time> dates;
  std::vector<Cidr> cidrs;
  bool null_means_absent = false;  // Null: "true"
};

struct Statement {
  std::string sid;
  bool allow = true;
  std::vector<std::string> principals;  // "*" or AWS ARNs (account ids normalised to root ARNs)
  bool not_action = false;
  std::vector<std::string> actions;
  bool not_resource = false;
  std::vector<std::string> resources;
  std::vector<Condition> conditions;
};

struct PolicyDoc {
  std::string text;
  std::vector<Statement> statements;
};

}  // namespace internal

namespace {

using internal::BaseOp;
using internal::Condition;
using internal::SetQualifier;
using internal::Statement;
using Json = nlohmann::json;

struct OpInfo {
  const char* name;
  BaseOp base;
  bool negated;
};

constexpr OpInfo kOps[] = {
    {"StringEquals", BaseOp::kStringEquals, false},
    {"StringNotEquals", BaseOp::kStringEquals, true},
    {"StringEqualsIgnoreCase", BaseOp::kStringEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", BaseOp::kStringEqualsIgnoreCase, true},
    {"StringLike", BaseOp::kStringLike, false},
    {"StringNotLike", BaseOp::kStringLike, true},
    {"NumericEquals", BaseOp::kNumericEquals, false},
    {"NumericNotEquals", BaseOp::kNumericEquals, true},
    {"NumericLessThan", BaseOp::kNumericLessThan, false},
    {"NumericLessThanEquals", BaseOp::kNumericLessThanEquals, false},
    {"NumericGreaterThan", BaseOp::kNumericGreaterThan, false},
    {"NumericGreaterThanEquals", BaseOp::kNumericGreaterThanEquals, false},
    {"DateEquals", BaseOp::kDateEquals, false},
    {"DateNotEquals", BaseOp::kDateEquals, true},
    {"DateLessThan", BaseOp::kDateLessThan, false},
    {"DateLessThanEquals", BaseOp::kDateLessThanEquals, false},
    {"DateGreaterThan", BaseOp::kDateGreaterThan, false},
    {"DateGreaterThanEquals", BaseOp::kDateGreaterThanEquals, false},
    {"Bool", BaseOp::kBool, false},
    {"IpAddress", BaseOp::kIpAddress, false},
    {"NotIpAddress", BaseOp::kIpAddress, true},
    {"ArnEquals", BaseOp::kArnLike, false},
    {"ArnLike", BaseOp::kArnLike, false},
    {"ArnNotEquals", BaseOp::kArnLike, true},
    {"ArnNotLike", BaseOp::kArnLike, true},
    {"Null", BaseOp::kNull, false},
};

constexpr size_t kMaxJsonDepth = 16;
constexpr size_t kMaxStatements = 256;

std::string StatementName(const Statement& st, size_t index) {
  if (!st.sid.empty()) {
    return absl::StrCat("statement '", st.sid, "'");
  }
  return absl::StrCat("statement ", index + 1);
}

// StringList reads a string or a non-empty array of strings.
absl::StatusOr<std::vector<std::string>> StringList(const Json& j, std::string_view what) {
  std::vector<std::string> out;
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
    return out;
  }
  if (j.is_array() && !j.empty()) {
    for (const Json& e : j) {
      if (!e.is_string()) {
        return Malformed(absl::StrCat(std::string(what), " must hold strings"));
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  return Malformed(absl::StrCat(std::string(what), " must be a string or a non-empty array"));
}

// ScalarText renders a condition value (string, bool or number) as text.
std::optional<std::string> ScalarText(const Json& j) {
  if (j.is_string()) {
    return j.get<std::string>();
  }
  if (j.is_boolean()) {
    return j.get<bool>() ? "true" : "false";
  }
  if (j.is_number_integer() || j.is_number_unsigned()) {
    return j.dump();
  }
  if (j.is_number_float()) {
    return j.dump();
  }
  return std::nullopt;
}

absl::Status ParsePrincipal(const Json& j, Statement& st) {
  if (j.is_string()) {
    if (j.get<std::string>() != "*") {
      return Malformed("Principal must be \"*\" or an object such as {\"AWS\": [...]}");
    }
    st.principals.push_back("*");
    return absl::OkStatus();
  }
  if (!j.is_object() || j.empty()) {
    return Malformed("Principal must be \"*\" or a non-empty object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    ASSIGN_OR_RETURN(std::vector<std::string> values, StringList(it.value(), "Principal"));
    if (it.key() == "AWS") {
      for (std::string& v : values) {
        if (v == "*") {
          st.principals.push_back("*");
        } else if (v.size() == 12 &&
                   std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          st.principals.push_back(absl::StrCat("arn:aws:iam::", v, ":root"));
        } else if (v.substr(0, 4) == "arn:" && SplitArn(v).has_value() &&
                   v.find_first_of("*?") == std::string::npos) {
          st.principals.push_back(std::move(v));
        } else {
          return Malformed(
              "Principal AWS values must be \"*\", an account id or an ARN without "
              "wildcards");
        }
      }
    } else if (it.key() == "Service" || it.key() == "Federated" || it.key() == "CanonicalUser") {
      // Accepted for compatibility with AWS policies; confide has no such callers, so these
      // never match.
    } else {
      return Malformed("Principal has an unknown principal type");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Condition> ParseCondition(const std::string& op_text, const std::string& key,
                                         const Json& value) {
  Condition c;
  c.op_name = op_text;
  std::string_view op = op_text;
  if (op.substr(0, 12) == "ForAnyValue:") {
    c.set = SetQualifier::kForAnyValue;
    op.remove_prefix(12);
  } else if (op.substr(0, 13) == "ForAllValues:") {
    c.set = SetQualifier::kForAllValues;
    op.remove_prefix(13);
  }
  constexpr std::string_view kIfExists = "IfExists";
  if (op.size() > kIfExists.size() && op.substr(op.size() - kIfExists.size()) == kIfExists) {
    c.if_exists = true;
    op.remove_suffix(kIfExists.size());
  }
  const OpInfo* info = nullptr;
  for (const OpInfo& o : kOps) {
    if (op == o.name) {
      info = &o;
    }
  }
  if (info == nullptr) {
    return Malformed("unknown condition operator");
  }
  c.base = info->base;
  c.negated = info->negated;
  if (c.base == BaseOp::kNull && (c.if_exists || c.set != SetQualifier::kNone)) {
    return Malformed("Null cannot take IfExists or a set qualifier");
  }
  if (key.empty() || key.size() > 256) {
    return Malformed("condition key must be 1-256 characters");
  }
  c.key = ToLowerAscii(key);
  std::vector<Json> items;
  if (value.is_array()) {
    if (value.empty()) {
      return Malformed("condition value list is empty");
    }
    items.assign(value.begin(), value.end());
  } else {
    items.push_back(value);
  }
  for (const Json& item : items) {
    std::optional<std::string> text = ScalarText(item);
    if (!text.has_value()) {
      return Malformed("condition values must be strings, numbers or booleans");
    }
    switch (c.base) {
      case BaseOp::kNumericEquals:
      case BaseOp::kNumericLessThan:
      case BaseOp::kNumericLessThanEquals:
      case BaseOp::kNumericGreaterThan:
      case BaseOp::kNumericGreaterThanEquals: {
        std::optional<double> n = ParseNumber(*text);
        if (!n.has_value()) {
          return Malformed("a Numeric condition value is not a number");
        }
        c.numbers.push_back(*n);
        break;
      }
      case BaseOp::kDateEquals:
      case BaseOp::kDateLessThan:
      case BaseOp::kDateLessThanEquals:
      case BaseOp::kDateGreaterThan:
      case BaseOp::kDateGreaterThanEquals: {
        std::optional<absl::Time> t = ParseDate(*text);
        if (!t.has_value()) {
          return Malformed("a Date condition value is not an ISO 8601 date or epoch seconds");
        }
        c.dates.push_back(*t);
        break;
      }
      case BaseOp::kIpAddress: {
        std::optional<Cidr> cidr = ParseCidr(*text, /*allow_prefix=*/true);
        if (!cidr.has_value()) {
          return Malformed("an IpAddress condition value is not an IP address or CIDR");
        }
        c.cidrs.push_back(*cidr);
        break;
      }
      case BaseOp::kBool:
      case BaseOp::kNull: {
        std::string lower = ToLowerAscii(*text);
        if (lower != "true" && lower != "false") {
          return Malformed("a Bool or Null condition value must be true or false");
        }
        if (c.base == BaseOp::kNull) {
          if (items.size() != 1) {
            return Malformed("a Null condition takes one value");
          }
          c.null_means_absent = lower == "true";
        }
        *text = lower;
        break;
      }
      default:
        break;
    }
    c.values.push_back(std::move(*text));
  }
  return c;
}

absl::StatusOr<Statement> ParseStatement(const Json& j, size_t index) {
  if (!j.is_object()) {
    return Malformed(absl::StrCat("statement ", index + 1, " is not an object"));
  }
  Statement st;
  if (j.contains("Sid")) {
    if (!j["Sid"].is_string()) {
      return Malformed(absl::StrCat("statement ", index + 1, ": Sid must be a string"));
    }
    st.sid = j["Sid"].get<std::string>();
  }
  std::string name = StatementName(st, index);
  auto fail = [&](std::string_view what) {
    return Malformed(absl::StrCat(name, ": ", std::string(what)));
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    static constexpr const char* kKnown[] = {"Sid",          "Effect",      "Principal",
                                             "NotPrincipal", "Action",      "NotAction",
                                             "Resource",     "NotResource", "Condition"};
    if (std::none_of(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return it.key() == k; })) {
      return fail("unknown element");
    }
  }
  if (!j.contains("Effect") || !j["Effect"].is_string() ||
      (j["Effect"] != "Allow" && j["Effect"] != "Deny")) {
    return fail("Effect must be \"Allow\" or \"Deny\"");
  }
  st.allow = j["Effect"] == "Allow";
  if (j.contains("NotPrincipal")) {
    return fail("NotPrincipal is not supported in key policies");
  }
  if (!j.contains("Principal")) {
    return fail("a key policy statement must have a Principal");
  }
  absl::Status ps = ParsePrincipal(j["Principal"], st);
  if (!ps.ok()) {
    return fail(Detail(ps));
  }
  if (j.contains("Action") == j.contains("NotAction")) {
    return fail("exactly one of Action and NotAction is required");
  }
  st.not_action = j.contains("NotAction");
  absl::StatusOr<std::vector<std::string>> actions =
      StringList(st.not_action ? j["NotAction"] : j["Action"], "Action");
  if (!actions.ok()) {
    return fail(Detail(actions.status()));
  }
  for (const std::string& a : *actions) {
    bool ok = a == "*" || (a.size() > 4 && EqualsIgnoreAsciiCase(a.substr(0, 4), "kms:"));
    for (char ch : a) {
      ok = ok && ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '*' || ch == '?' ||
                  ch == ':');
    }
    if (!ok) {
      return fail("actions must be \"*\" or \"kms:<Operation>\" (wildcards * and ? allowed)");
    }
  }
  st.actions = std::move(*actions);
  if (j.contains("Resource") == j.contains("NotResource")) {
    return fail("exactly one of Resource and NotResource is required");
  }
  st.not_resource = j.contains("NotResource");
  absl::StatusOr<std::vector<std::string>> resources =
      StringList(st.not_resource ? j["NotResource"] : j["Resource"], "Resource");
  if (!resources.ok()) {
    return fail(Detail(resources.status()));
  }
  for (const std::string& r : *resources) {
    if (r != "*" && !SplitArn(r).has_value()) {
      return fail("resources must be \"*\" or an ARN");
    }
  }
  st.resources = std::move(*resources);
  if (j.contains("Condition")) {
    const Json& cond = j["Condition"];
    if (!cond.is_object()) {
      return fail("Condition must be an object");
    }
    for (auto op = cond.begin(); op != cond.end(); ++op) {
      if (!op.value().is_object() || op.value().empty()) {
        return fail("each condition operator must map to a non-empty object");
      }
      for (auto kv = op.value().begin(); kv != op.value().end(); ++kv) {
        absl::StatusOr<Condition> c = ParseCondition(op.key(), kv.key(), kv.value());
        if (!c.ok()) {
          return fail(Detail(c.status()));
        }
        st.conditions.push_back(std::move(*c));
      }
    }
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

bool PositiveMatch(const Condition& c, const std::string& v, size_t i) {
  switch (c.base) {
    case BaseOp::kStringEquals:
      return v == c.values[i];
    case BaseOp::kStringEqualsIgnoreCase:
      return EqualsIgnoreAsciiCase(v, c.values[i]);
    case BaseOp::kStringLike:
      return GlobMatch(c.values[i], v, /*ignore_case=*/false);
    case BaseOp::kNumericEquals:
    case BaseOp::kNumericLessThan:
    case BaseOp::kNumericLessThanEquals:
    case BaseOp::kNumericGreaterThan:
    case BaseOp::kNumericGreaterThanEquals: {
      std::optional<double> n = ParseNumber(v);
      if (!n.has_value()) {
        return false;
      }
      double p = c.numbers[i];
      switch (c.base) {
        case BaseOp::kNumericEquals:
          return *n == p;
        case BaseOp::kNumericLessThan:
          return *n < p;
        case BaseOp::kNumericLessThanEquals:
          return *n <= p;
        case BaseOp::kNumericGreaterThan:
          return *n > p;
        default:
          return *n >= p;
      }
    }
    case BaseOp::kDateEquals:
    case BaseOp::kDateLessThan:
    case BaseOp::kDateLessThanEquals:
    case BaseOp::kDateGreaterThan:
    case BaseOp::kDateGreaterThanEquals: {
      std::optional<absl::Time> t = ParseDate(v);
      if (!t.has_value()) {
        return false;
      }
      absl::Time p = c.dates[i];
      switch (c.base) {
        case BaseOp::kDateEquals:
          return *t == p;
        case BaseOp::kDateLessThan:
          return *t < p;
        case BaseOp::kDateLessThanEquals:
          return *t <= p;
        case BaseOp::kDateGreaterThan:
          return *t > p;
        default:
          return *t >= p;
      }
    }
    case BaseOp::kBool:
      return EqualsIgnoreAsciiCase(v, c.values[i]);
    case BaseOp::kIpAddress: {
      std::optional<Cidr> ip = ParseCidr(v, /*allow_prefix=*/false);
      return ip.has_value() && CidrContains(c.cidrs[i], *ip);
    }
    case BaseOp::kArnLike:
      return ArnMatch(c.values[i], v);
    case BaseOp::kNull:
      return false;  // handled by the caller
  }
  return false;
}

// MatchesAnyPolicyValue: the values of one key are ORed.
bool MatchesAnyPolicyValue(const Condition& c, const std::string& v) {
  for (size_t i = 0; i < c.values.size(); ++i) {
    if (PositiveMatch(c, v, i)) {
      return true;
    }
  }
  return false;
}

bool ConditionHolds(const Condition& c, const RequestContext& ctx) {
  const std::vector<std::string>* values = ctx.Find(c.key);
  if (c.base == BaseOp::kNull) {
    return c.null_means_absent == (values == nullptr);
  }
  if (values == nullptr) {
    if (c.if_exists) {
      return true;
    }
    switch (c.set) {
      case SetQualifier::kForAllValues:
        return true;  // vacuously: every one of no values matches
      case SetQualifier::kForAnyValue:
        return false;  // no value can match
      case SetQualifier::kNone:
        return c.negated;  // AWS: a negated operator on a missing key is true
    }
  }
  switch (c.set) {
    case SetQualifier::kForAnyValue:
      return std::any_of(values->begin(), values->end(), [&](const std::string& v) {
        return MatchesAnyPolicyValue(c, v) != c.negated;
      });
    case SetQualifier::kForAllValues:
      return std::all_of(values->begin(), values->end(), [&](const std::string& v) {
        return MatchesAnyPolicyValue(c, v) != c.negated;
      });
    case SetQualifier::kNone:
      break;
  }
  bool any = std::any_of(values->begin(), values->end(),
                         [&](const std::string& v) { return MatchesAnyPolicyValue(c, v); });
  return any != c.negated;
}

bool PrincipalMatches(const Statement& st, std::string_view caller_arn) {
  std::string caller_account = AccountFromArn(caller_arn);
  for (const std::string& p : st.principals) {
    if (p == "*" || p == caller_arn) {
      return true;
    }
    if (IsRootArn(p) && !caller_account.empty() && AccountFromArn(p) == caller_account) {
      return true;
    }
  }
  return false;
}

bool ActionMatches(const Statement& st, std::string_view action) {
  bool any = std::any_of(st.actions.begin(), st.actions.end(), [&](const std::string& a) {
    return GlobMatch(a, action, /*ignore_case=*/true);
  });
  return any != st.not_action;
}

bool ResourceMatches(const Statement& st, std::string_view resource) {
  bool any = std::any_of(st.resources.begin(), st.resources.end(), [&](const std::string& r) {
    return GlobMatch(r, resource, /*ignore_case=*/false);
  });
  return any != st.not_resource;
}

// ---------------------------------------------------------------------------------------------
// Lint.

bool IsAttestationKey(const std::string& lowered_key) {
  return lowered_key.rfind("kms:recipientattestation:", 0) == 0;
}

// WeakAttestationCondition: true when the condition holds for a request without a Recipient.
bool WeakAttestationCondition(const Condition& c) {
  return c.if_exists || c.set == SetQualifier::kForAllValues || c.negated ||
         (c.base == BaseOp::kNull && c.null_means_absent);
}

bool PrincipalsOverlap(const Statement& a, const Statement& b) {
  for (const std::string& pa : a.principals) {
    for (const std::string& pb : b.principals) {
      if (pa == "*" || pb == "*" || pa == pb) {
        return true;
      }
      if ((IsRootArn(pa) && AccountFromArn(pa) == AccountFromArn(pb)) ||
          (IsRootArn(pb) && AccountFromArn(pb) == AccountFromArn(pa))) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

KeyPolicy::KeyPolicy(std::unique_ptr<internal::PolicyDoc> doc) : doc_(std::move(doc)) {}
KeyPolicy::KeyPolicy(KeyPolicy&&) noexcept = default;
KeyPolicy& KeyPolicy::operator=(KeyPolicy&&) noexcept = default;
KeyPolicy::~KeyPolicy() = default;

const std::string& KeyPolicy::text() const { return doc_->text; }

absl::StatusOr<KeyPolicy> KeyPolicy::Parse(std::string_view json) {
  if (json.size() > kMaxKeyPolicyBytes) {
    return Malformed("the policy is larger than 32 KB");
  }
  // Reject duplicate object keys and deep nesting while parsing (nlohmann would keep the last
  // duplicate silently).
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  bool too_deep = false;
  Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event,
                                         Json& parsed) -> bool {
    if (depth > static_cast<int>(kMaxJsonDepth)) {
      too_deep = true;
    }
    switch (event) {
      case Json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) {
          keys.pop_back();
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json doc = Json::parse(json.begin(), json.end(), callback, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Malformed("the policy is not valid JSON");
  }
  if (too_deep) {
    return Malformed("the policy is nested too deeply");
  }
  if (duplicate) {
    return Malformed("the policy repeats a key in an object");
  }
  if (!doc.is_object()) {
    return Malformed("the policy must be a JSON object");
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() != "Version" && it.key() != "Id" && it.key() != "Statement") {
      return Malformed("unknown top-level element");
    }
  }
  if (doc.contains("Version") &&
      (!doc["Version"].is_string() ||
       (doc["Version"] != "2012-10-17" && doc["Version"] != "2008-10-17"))) {
    return Malformed("Version must be \"2012-10-17\" or \"2008-10-17\"");
  }
  if (doc.contains("Id") && !doc["Id"].is_string()) {
    return Malformed("Id must be a string");
  }
  if (!doc.contains("Statement")) {
    return Malformed("Statement is required");
  }
  std::vector<Json> raw;
  if (doc["Statement"].is_object()) {
    raw.push_back(doc["Statement"]);
  } else if (doc["Statement"].is_array() && !doc["Statement"].empty()) {
    raw.assign(doc["Statement"].begin(), doc["Statement"].end());
  } else {
    return Malformed("Statement must be an object or a non-empty array");
  }
  if (raw.size() > kMaxStatements) {
    return Malformed("too many statements");
  }
  auto out = std::make_unique<internal::PolicyDoc>();
  out->text = std::string(json);
  std::set<std::string> sids;
  for (size_t i = 0; i < raw.size(); ++i) {
    ASSIGN_OR_RETURN(Statement st, ParseStatement(raw[i], i));
    if (!st.sid.empty() && !sids.insert(st.sid).second) {
      return Malformed(absl::StrCat("duplicate Sid '", st.sid, "'"));
    }
    out->statements.push_back(std::move(st));
  }
  return KeyPolicy(std::move(out));
}

Decision KeyPolicy::Evaluate(const AuthzRequest& request) const {
  bool allowed = false;
  for (const Statement& st : doc_->statements) {
    if (!PrincipalMatches(st, request.principal_arn) || !ActionMatches(st, request.action) ||
        !ResourceMatches(st, request.resource)) {
      continue;
    }
    bool holds = std::all_of(st.conditions.begin(), st.conditions.end(), [&](const Condition& c) {
      return ConditionHolds(c, request.context);
    });
    if (!holds) {
      continue;
    }
    if (!st.allow) {
      return Decision::kExplicitDeny;  // explicit deny wins
    }
    allowed = true;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

std::vector<std::string> KeyPolicy::Lint() const {
  std::vector<std::string> warnings;
  const std::vector<Statement>& sts = doc_->statements;
  auto allows_decrypt = [](const Statement& st) {
    return st.allow && ActionMatches(st, "kms:Decrypt");
  };
  auto attestation = [](const Statement& st, bool* weak) {
    bool any = false;
    *weak = false;
    for (const Condition& c : st.conditions) {
      if (IsAttestationKey(c.key)) {
        any = true;
        *weak = *weak || WeakAttestationCondition(c);
      }
    }
    return any;
  };
  for (size_t i = 0; i < sts.size(); ++i) {
    bool weak = false;
    if (allows_decrypt(sts[i]) && attestation(sts[i], &weak) && weak) {
      warnings.push_back(absl::StrCat(
          StatementName(sts[i], i),
          " allows kms:Decrypt with a kms:RecipientAttestation condition that also holds when "
          "the request carries no Recipient (IfExists, ForAllValues: or a negated operator)"));
    }
  }
  for (size_t i = 0; i < sts.size(); ++i) {
    for (const Condition& c : sts[i].conditions) {
      // PCR values in the request context are lowercase hex; a case-sensitive comparison with
      // uppercase hex never matches (harmless in an Allow, but a Deny then always applies or
      // never does, and either way the author meant something else).
      bool case_sensitive = c.base == BaseOp::kStringEquals || c.base == BaseOp::kStringLike;
      if (!IsAttestationKey(c.key) || !case_sensitive) {
        continue;
      }
      bool upper = std::any_of(c.values.begin(), c.values.end(), [](const std::string& v) {
        return std::any_of(v.begin(), v.end(), [](char ch) { return ch >= 'A' && ch <= 'F'; });
      });
      if (upper) {
        warnings.push_back(absl::StrCat(
            StatementName(sts[i], i),
            " compares a kms:RecipientAttestation value containing uppercase hex case-sensitively;"
            " PCR values are lowercase hex, so use lowercase or StringEqualsIgnoreCase"));
      }
    }
  }
  for (size_t i = 0; i < sts.size(); ++i) {
    bool weak_i = false;
    if (!allows_decrypt(sts[i]) || !attestation(sts[i], &weak_i) || weak_i) {
      continue;
    }
    for (size_t j = 0; j < sts.size(); ++j) {
      bool weak_j = false;
      if (j == i || !allows_decrypt(sts[j]) || attestation(sts[j], &weak_j) ||
          !PrincipalsOverlap(sts[i], sts[j])) {
        continue;
      }
      // A Deny of kms:Decrypt conditioned on attestation, covering the same principals, closes
      // the bypass.
      bool closed = std::any_of(sts.begin(), sts.end(), [&](const Statement& d) {
        bool w = false;
        return !d.allow && ActionMatches(d, "kms:Decrypt") && attestation(d, &w) &&
               PrincipalsOverlap(d, sts[j]);
      });
      if (closed) {
        continue;
      }
      warnings.push_back(absl::StrCat(
          StatementName(sts[j], j),
          " allows kms:Decrypt without a kms:RecipientAttestation "
          "condition to principals that ",
          StatementName(sts[i], i),
          " allows only with attestation; Allow statements are ORed, so this bypasses the "
          "attestation requirement"));
    }
  }
  return warnings;
}

std::string DefaultKeyPolicy(std::string_view account) {
  return absl::StrCat(
      "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n"
      "    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n"
      "    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::",
      std::string(account),
      ":root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}");
}

}  // namespace confide::kms
