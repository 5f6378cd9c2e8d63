#include "kms/sigv4.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/ct.h"
#include "base/encoding.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/hmac.h"
#include "crypto/sha.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr size_t kMaxSignedHeaders = 64;

absl::Status Incomplete(std::string_view message) {
  return AwsError(absl::StatusCode::kUnauthenticated, "IncompleteSignatureException", message);
}
absl::Status InvalidSignature(std::string_view message) {
  return AwsError(absl::StatusCode::kUnauthenticated, "InvalidSignatureException", message);
}
absl::Status Unrecognized() {
  return AwsError(absl::StatusCode::kUnauthenticated, "UnrecognizedClientException",
                  "The security token included in the request is invalid.");
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// PercentDecode decodes %XX; a '%' not followed by two hex digits is kept as is.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// NormalizePath removes empty, "." and ".." segments (RFC 3986 §5.2.4 plus collapsing repeated
// slashes, as the SigV4 suite's *-normalized cases expect).
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string_view seg =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
      trailing_slash = last;
    } else if (seg == "." || seg.empty()) {
      trailing_slash = last ? (trailing_slash || seg.empty() || seg == ".") : trailing_slash;
    } else {
      segments.push_back(seg);
      trailing_slash = false;
    }
    if (last) {
      break;
    }
    pos = slash + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) {
      out.push_back('/');
    }
    out.append(segments[i]);
  }
  if (!segments.empty() && trailing_slash) {
    out.push_back('/');
  }
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    size_t amp = query.find('&', pos);
    std::string_view piece =
        query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!piece.empty()) {
      size_t eq = piece.find('=');
      std::string_view key = piece.substr(0, eq);
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
      params.emplace_back(UriEncode(PercentDecode(key), false),
                          UriEncode(PercentDecode(value), false));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    pos = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) {
      out.push_back('&');
    }
    out.append(params[i].first).append("=").append(params[i].second);
  }
  return out;
}

// CanonicalHeaderValue trims the value and collapses runs of spaces into one space.
void AppendCanonicalValue(std::string_view value, std::string& out) {
  bool in_space = false;
  size_t start = out.size();
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && out.size() > start) {
      out.push_back(' ');
    }
    in_space = false;
    out.push_back(c);
  }
}

std::string HexSha256(ByteSpan data) { return base::HexEncode(crypto::Sha256(data)); }

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  return absl::StrCat(kAlgorithm, "\n", std::string(amz_date), "\n", std::string(scope), "\n",
                      HexSha256(AsBytes(canonical_request)));
}

// SigningKeyCache remembers the last few derived signing keys of one thread. The derivation is
// four HMACs that give the same key all day for one secret, region and service, so a server
// verifying (or a client signing) request after request recomputes nothing. Entries hold a copy
// of the secret (SecretBytes: zeroised when replaced or when the thread exits) and are matched
// on the public scope first, then on the secret in constant time.
class SigningKeyCache {
 public:
  const SecretBytes& Get(ByteSpan secret, std::string_view date, std::string_view region,
                         std::string_view service) {
    for (Entry& e : entries_) {
      if (e.used && e.date == date && e.region == region && e.service == service &&
          e.secret.size() == secret.size() && ConstantTimeEquals(e.secret.ExposeSecret(), secret)) {
        return e.key;
      }
    }
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % entries_.size();
    e.used = true;
    e.secret = SecretBytes::CopyFrom(secret);
    e.date = std::string(date);
    e.region = std::string(region);
    e.service = std::string(service);
    e.key = DeriveSigningKey(secret, date, region, service);
    return e.key;
  }

 private:
  struct Entry {
    bool used = false;
    SecretBytes secret;
    std::string date, region, service;
    SecretBytes key;
  };
  std::array<Entry, 4> entries_;
  size_t next_ = 0;
};

std::string ComputeSignature(ByteSpan secret, std::string_view date, std::string_view region,
                             std::string_view service, std::string_view string_to_sign) {
  thread_local SigningKeyCache cache;
  const SecretBytes& key = cache.Get(secret, date, region, service);
  return base::HexEncode(
      crypto::Hmac(crypto::HashAlg::kSha256, key.ExposeSecret(), AsBytes(string_to_sign)));
}

std::vector<std::string> SplitOn(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t next = s.find(sep, pos);
    out.emplace_back(s.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) {
      return out;
    }
    pos = next + 1;
  }
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};

absl::StatusOr<ParsedAuthorization> ParseAuthorization(std::string_view header) {
  constexpr std::string_view kPrefix = "AWS4-HMAC-SHA256 ";
  if (header.substr(0, kPrefix.size()) != kPrefix) {
    return Incomplete("Authorization header must use the AWS4-HMAC-SHA256 algorithm.");
  }
  std::optional<std::string> credential, signed_headers, signature;
  for (const std::string& part : SplitOn(header.substr(kPrefix.size()), ',')) {
    std::string_view item = TrimSpaces(part);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Incomplete("Authorization header has a component without '='.");
    }
    std::string_view name = item.substr(0, eq);
    std::string value(item.substr(eq + 1));
    std::optional<std::string>* slot = nullptr;
    if (name == "Credential") {
      slot = &credential;
    } else if (name == "SignedHeaders") {
      slot = &signed_headers;
    } else if (name == "Signature") {
      slot = &signature;
    } else {
      return Incomplete("Authorization header has an unknown component.");
    }
    if (slot->has_value()) {
      return Incomplete("Authorization header repeats a component.");
    }
    *slot = std::move(value);
  }
  std::string missing;
  if (!credential.has_value()) {
    missing += "Authorization header requires 'Credential' parameter. ";
  }
  if (!signed_headers.has_value()) {
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  if (!signature.has_value()) {
    missing += "Authorization header requires 'Signature' parameter. ";
  }
  if (!missing.empty()) {
    return Incomplete(missing);
  }
  ParsedAuthorization out;
  std::vector<std::string> cred = SplitOn(*credential, '/');
  if (cred.size() != 5 || cred[0].empty() || cred[4] != "aws4_request") {
    return Incomplete(
        "Credential must have the form <access key>/<date>/<region>/<service>/aws4_request.");
  }
  out.access_key_id = cred[0];
  out.date = cred[1];
  out.region = cred[2];
  out.service = cred[3];
  out.signed_headers = SplitOn(*signed_headers, ';');
  if (out.signed_headers.size() > kMaxSignedHeaders) {
    return Incomplete("SignedHeaders lists too many headers.");
  }
  for (size_t i = 0; i < out.signed_headers.size(); ++i) {
    const std::string& h = out.signed_headers[i];
    if (h.empty() || h != ToLowerAscii(h) || (i > 0 && !(out.signed_headers[i - 1] < h))) {
      return Incomplete("SignedHeaders must be lowercase, sorted and without duplicates.");
    }
  }
  out.signature = *signature;
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string FormatAmzDate(absl::Time t) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
    return absl::InvalidArgumentError("X-Amz-Date must be YYYYMMDDTHHMMSSZ");
  }
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && (text[i] < '0' || text[i] > '9')) {
      return absl::InvalidArgumentError("X-Amz-Date must be YYYYMMDDTHHMMSSZ");
    }
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  absl::CivilSecond cs(num(0, 4), num(4, 2), num(6, 2), num(9, 2), num(11, 2), num(13, 2));
  // CivilSecond normalises out-of-range fields; reject them instead.
  if (cs.year() != num(0, 4) || cs.month() != num(4, 2) || cs.day() != num(6, 2) ||
      cs.hour() != num(9, 2) || cs.minute() != num(11, 2) || cs.second() != num(13, 2)) {
    return absl::InvalidArgumentError("X-Amz-Date is not a valid date");
  }
  return absl::FromCivil(cs, absl::UTCTimeZone());
}

SecretBytes DeriveSigningKey(ByteSpan secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service) {
  SecretBytes k0(4 + secret_access_key.size());
  std::span<uint8_t> k0m = k0.MutableSecret();
  std::copy_n(reinterpret_cast<const uint8_t*>("AWS4"), 4, k0m.begin());
  std::copy(secret_access_key.begin(), secret_access_key.end(), k0m.begin() + 4);
  auto step = [](const SecretBytes& key, std::string_view data) {
    Bytes mac = crypto::Hmac(crypto::HashAlg::kSha256, key.ExposeSecret(), AsBytes(data));
    SecretBytes out = SecretBytes::CopyFrom(mac);
    SecureZero(mac);
    return out;
  };
  SecretBytes k_date = step(k0, date);
  SecretBytes k_region = step(k_date, region);
  SecretBytes k_service = step(k_region, service);
  return step(k_service, "aws4_request");
}

absl::StatusOr<std::string> CanonicalRequest(const HttpRequest& request,
                                             const std::vector<std::string>& signed_headers,
                                             std::string_view payload_hash, bool normalize_path) {
  std::string path(request.Path());
  if (normalize_path) {
    path = NormalizePath(path);
  }
  std::string out;
  out.append(request.method).append("\n");
  out.append(UriEncode(path, /*keep_slash=*/true)).append("\n");
  out.append(CanonicalQuery(request.Query())).append("\n");
  for (const std::string& name : signed_headers) {
    out.append(name).append(":");
    bool found = false;
    for (const HttpHeader& h : request.headers) {
      if (EqualsIgnoreAsciiCase(h.name, name)) {
        if (found) {
          out.push_back(',');
        }
        found = true;
        AppendCanonicalValue(h.value, out);
      }
    }
    if (!found) {
      return absl::InvalidArgumentError("a signed header is absent from the request");
    }
    out.append("\n");
  }
  out.append("\n");
  for (size_t i = 0; i < signed_headers.size(); ++i) {
    if (i > 0) {
      out.push_back(';');
    }
    out.append(signed_headers[i]);
  }
  out.append("\n").append(payload_hash);
  return out;
}

absl::StatusOr<SigV4Trace> SignSigV4(HttpRequest& request, const SigV4Credentials& credentials,
                                     const SigV4SignOptions& options) {
  if (request.FindHeader("host") == nullptr) {
    return absl::InvalidArgumentError("SigV4 signing needs a Host header");
  }
  if (request.FindHeader("authorization") != nullptr ||
      request.FindHeader("x-amz-date") != nullptr) {
    return absl::InvalidArgumentError("request is already signed");
  }
  std::string amz_date = FormatAmzDate(options.time);
  std::string date = amz_date.substr(0, 8);
  bool has_token = !credentials.session_token.empty();
  if (has_token && options.sign_session_token) {
    request.headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  }
  request.headers.push_back({"X-Amz-Date", amz_date});
  std::string payload_hash = HexSha256(request.body);
  if (options.add_content_sha256) {
    request.headers.push_back({"x-amz-content-sha256", payload_hash});
  }
  std::vector<std::string> names;
  for (const HttpHeader& h : request.headers) {
    names.push_back(ToLowerAscii(h.name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  SigV4Trace trace;
  ASSIGN_OR_RETURN(trace.canonical_request,
                   CanonicalRequest(request, names, payload_hash, options.normalize_path));
  std::string scope =
      absl::StrCat(date, "/", options.region, "/", options.service, "/aws4_request");
  trace.string_to_sign = StringToSign(amz_date, scope, trace.canonical_request);
  trace.signature = ComputeSignature(credentials.secret_access_key.ExposeSecret(), date,
                                     options.region, options.service, trace.string_to_sign);
  std::string signed_list;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      signed_list.push_back(';');
    }
    signed_list.append(names[i]);
  }
  trace.authorization =
      absl::StrCat(kAlgorithm, " Credential=", credentials.access_key_id, "/", scope,
                   ", SignedHeaders=", signed_list, ", Signature=", trace.signature);
  if (has_token && !options.sign_session_token) {
    request.headers.push_back({"X-Amz-Security-Token", credentials.session_token});
  }
  request.headers.push_back({"Authorization", trace.authorization});
  return trace;
}

absl::StatusOr<const Identity*> VerifySigV4(const HttpRequest& request,
                                            const IdentityStore& identities,
                                            const SigV4VerifyOptions& options) {
  size_t num_auth = request.CountHeader("authorization");
  if (num_auth == 0) {
    return AwsError(absl::StatusCode::kUnauthenticated, "MissingAuthenticationTokenException",
                    "Missing Authentication Token");
  }
  if (num_auth > 1) {
    return Incomplete("Only one Authorization header is allowed.");
  }
  ASSIGN_OR_RETURN(ParsedAuthorization auth,
                   ParseAuthorization(*request.FindHeader("authorization")));
  if (request.CountHeader("x-amz-date") != 1) {
    return Incomplete("Authorization header requires existence of exactly one X-Amz-Date header.");
  }
  const std::string& amz_date = *request.FindHeader("x-amz-date");
  absl::StatusOr<absl::Time> when = ParseAmzDate(amz_date);
  if (!when.ok()) {
    return Incomplete("X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z'.");
  }
  if (*when < options.now - options.max_skew) {
    return InvalidSignature(absl::StrCat("Signature expired: ", amz_date, " is now earlier than ",
                                         FormatAmzDate(options.now - options.max_skew), " (",
                                         FormatAmzDate(options.now), " - 5 min.)"));
  }
  if (*when > options.now + options.max_skew) {
    return InvalidSignature(absl::StrCat("Signature not yet current: ", amz_date,
                                         " is still later than ",
                                         FormatAmzDate(options.now + options.max_skew), " (",
                                         FormatAmzDate(options.now), " + 5 min.)"));
  }
  if (auth.date != amz_date.substr(0, 8)) {
    return InvalidSignature(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
        "version of date from HTTP.");
  }
  if (!options.region.empty() && auth.region != options.region) {
    return InvalidSignature("Credential should be scoped to a valid region.");
  }
  if (auth.service != options.service) {
    return InvalidSignature(
        absl::StrCat("Credential should be scoped to correct service: '", options.service, "'."));
  }
  if (!std::binary_search(auth.signed_headers.begin(), auth.signed_headers.end(), "host")) {
    return Incomplete("'Host' must be a signed header.");
  }
  for (const std::string& name : options.required_signed_headers) {
    if (!std::binary_search(auth.signed_headers.begin(), auth.signed_headers.end(), name)) {
      return Incomplete("A header that must be signed is not in SignedHeaders.");
    }
  }
  for (const std::string& name : auth.signed_headers) {
    if (request.FindHeader(name) == nullptr) {
      return Incomplete("A header listed in SignedHeaders is absent from the request.");
    }
  }
  std::string body_hash = HexSha256(request.body);
  std::string payload_hash = body_hash;
  size_t num_content_sha = request.CountHeader("x-amz-content-sha256");
  if (num_content_sha > 1) {
    return Incomplete("Only one x-amz-content-sha256 header is allowed.");
  }
  if (num_content_sha == 1) {
    const std::string& claimed = *request.FindHeader("x-amz-content-sha256");
    if (!ConstantTimeEquals(AsBytes(ToLowerAscii(claimed)), AsBytes(body_hash))) {
      return AwsError(absl::StatusCode::kUnauthenticated, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was "
                      "computed.");
    }
    payload_hash = claimed;
  }
  const Identity* identity = identities.Find(auth.access_key_id);
  if (identity == nullptr) {
    return Unrecognized();
  }
  size_t num_token = request.CountHeader("x-amz-security-token");
  if (num_token > 1) {
    return Unrecognized();
  }
  if (identity->session_token.empty() != (num_token == 0)) {
    return Unrecognized();
  }
  if (num_token == 1 && !ConstantTimeEquals(AsBytes(*request.FindHeader("x-amz-security-token")),
                                            AsBytes(identity->session_token))) {
    return Unrecognized();
  }
  absl::StatusOr<std::string> canonical =
      CanonicalRequest(request, auth.signed_headers, payload_hash, options.normalize_path);
  if (!canonical.ok()) {
    return Incomplete("A header listed in SignedHeaders is absent from the request.");
  }
  std::string scope = absl::StrCat(auth.date, "/", auth.region, "/", auth.service, "/aws4_request");
  std::string expected =
      ComputeSignature(identity->secret_access_key.ExposeSecret(), auth.date, auth.region,
                       auth.service, StringToSign(amz_date, scope, *canonical));
  // Both sides are 64 lowercase hex characters when well formed; ConstantTimeEquals treats the
  // lengths as public, and a wrong length can only be a malformed signature.
  if (!ConstantTimeEquals(AsBytes(expected), AsBytes(auth.signature))) {
    return InvalidSignature(
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.");
  }
  return identity;
}

}  // namespace confide::kms
