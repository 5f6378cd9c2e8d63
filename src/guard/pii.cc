#include "guard/pii.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <span>
#include <string>

#include "guard/validators.h"

namespace confide::guard {
namespace {

using T = PiiType;

inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
inline bool IsAlpha(unsigned char c) { return IsUpper(c) || IsLower(c); }
inline bool IsAlnum(unsigned char c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// IsWord: characters that continue a token (ASCII alphanumerics, '_', any non-ASCII byte).
inline bool IsWord(unsigned char c) { return IsAlnum(c) || c == '_' || c >= 0x80; }
inline unsigned char At(std::string_view t, size_t i) {
  return i < t.size() ? static_cast<unsigned char>(t[i]) : 0;
}

// LeftBoundary: a value may start at `b` if it does not continue a word, including a word
// joined by '-' or '.' (so nothing is found inside UUIDs, hashes or dotted versions).
bool LeftBoundary(std::string_view t, size_t b) {
  if (b == 0) return true;
  unsigned char p = At(t, b - 1);
  if (IsWord(p)) return false;
  if ((p == '-' || p == '.') && b >= 2 && IsWord(At(t, b - 2))) return false;
  return true;
}
bool RightBoundary(std::string_view t, size_t e) {
  if (e >= t.size()) return true;
  unsigned char c = At(t, e);
  if (IsWord(c)) return false;
  if ((c == '-' || c == '.' || c == '/' || c == ':') && IsWord(At(t, e + 1))) {
    return false;
  }
  return true;
}

// Candidate ranks: lower wins an overlap. Validated identifiers first, context-only values
// next, the fuzzy types last.
int Rank(T t) {
  switch (t) {
    case T::kAwsAccessKey:
      return 0;
    case T::kAwsSecretKey:
      return 1;
    case T::kUrl:
      return 2;
    case T::kEmail:
      return 3;
    case T::kInternationalBankAccountNumber:
      return 4;
    case T::kUkNationalHealthServiceNumber:
      return 5;
    case T::kCaSocialInsuranceNumber:
      return 6;
    case T::kUsBankRoutingNumber:
      return 7;
    case T::kCaHealthNumber:
      return 8;
    case T::kUkUniqueTaxpayerReferenceNumber:
      return 9;
    case T::kCreditDebitCardNumber:
      return 10;
    case T::kUsSocialSecurityNumber:
      return 11;
    case T::kUsIndividualTaxIdentificationNumber:
      return 12;
    case T::kUkNationalInsuranceNumber:
      return 13;
    case T::kVehicleIdentificationNumber:
      return 14;
    case T::kMacAddress:
      return 15;
    case T::kIpAddress:
      return 16;
    case T::kSwiftCode:
      return 17;
    case T::kUsPassportNumber:
      return 18;
    case T::kDriverId:
      return 19;
    case T::kCreditDebitCardCvv:
      return 20;
    case T::kCreditDebitCardExpiry:
      return 21;
    case T::kPin:
      return 22;
    case T::kPassword:
      return 23;
    case T::kUsername:
      return 24;
    case T::kUsBankAccountNumber:
      return 9;
    case T::kLicensePlate:
      return 26;
    case T::kPhone:
      return 27;
    case T::kAge:
      return 28;
    case T::kAddress:
      return 29;
    case T::kName:
      return 30;
  }
  return 31;
}

enum class Ctx : uint32_t {
  kSsn,
  kItin,
  kSin,
  kNhs,
  kUtr,
  kCaHealth,
  kRouting,
  kAccount,
  kPassport,
  kDriver,
  kPlate,
  kCvv,
  kExpiry,
  kPin,
  kPassword,
  kUsername,
  kAwsSecret,
  kSwift,
  kPhone,
  kAge,
  kName,
  kNameStrict,
  kUrl,
  kCard,
  kVersion,
};

struct Keyword {
  const char* text;
  Ctx ctx;
};

// Context keywords, lower case. A keyword must start and end on word boundaries.
constexpr Keyword kKeywords[] = {
    {"ssn", Ctx::kSsn},
    {"ss#", Ctx::kSsn},
    {"social security", Ctx::kSsn},
    {"social sec", Ctx::kSsn},
    {"itin", Ctx::kItin},
    {"taxpayer identification", Ctx::kItin},
    {"sin", Ctx::kSin},
    {"social insurance", Ctx::kSin},
    {"nhs", Ctx::kNhs},
    {"health service", Ctx::kNhs},
    {"utr", Ctx::kUtr},
    {"taxpayer reference", Ctx::kUtr},
    {"tax reference", Ctx::kUtr},
    {"health card", Ctx::kCaHealth},
    {"health number", Ctx::kCaHealth},
    {"health insurance", Ctx::kCaHealth},
    {"ohip", Ctx::kCaHealth},
    {"ramq", Ctx::kCaHealth},
    {"phn", Ctx::kCaHealth},
    {"routing", Ctx::kRouting},
    {"aba", Ctx::kRouting},
    {"rtn", Ctx::kRouting},
    {"transit number", Ctx::kRouting},
    {"account", Ctx::kAccount},
    {"acct", Ctx::kAccount},
    {"acc", Ctx::kAccount},
    {"a/c", Ctx::kAccount},
    {"passport", Ctx::kPassport},
    {"driver's license", Ctx::kDriver},
    {"drivers license", Ctx::kDriver},
    {"driver license", Ctx::kDriver},
    {"driver's licence", Ctx::kDriver},
    {"driving licence", Ctx::kDriver},
    {"driving license", Ctx::kDriver},
    {"driver licence", Ctx::kDriver},
    {"dl", Ctx::kDriver},
    {"dl#", Ctx::kDriver},
    {"license number", Ctx::kDriver},
    {"licence number", Ctx::kDriver},
    {"license plate", Ctx::kPlate},
    {"licence plate", Ctx::kPlate},
    {"number plate", Ctx::kPlate},
    {"plate", Ctx::kPlate},
    {"registration", Ctx::kPlate},
    {"cvv", Ctx::kCvv},
    {"cvv2", Ctx::kCvv},
    {"cvc", Ctx::kCvv},
    {"cvc2", Ctx::kCvv},
    {"security code", Ctx::kCvv},
    {"card verification", Ctx::kCvv},
    {"exp", Ctx::kExpiry},
    {"expires", Ctx::kExpiry},
    {"expiring", Ctx::kExpiry},
    {"expiry", Ctx::kExpiry},
    {"expiration", Ctx::kExpiry},
    {"expiry date", Ctx::kExpiry},
    {"valid thru", Ctx::kExpiry},
    {"valid through", Ctx::kExpiry},
    {"good thru", Ctx::kExpiry},
    {"exp date", Ctx::kExpiry},
    {"pin", Ctx::kPin},
    {"pin code", Ctx::kPin},
    {"pin number", Ctx::kPin},
    {"password", Ctx::kPassword},
    {"passwd", Ctx::kPassword},
    {"pwd", Ctx::kPassword},
    {"pass", Ctx::kPassword},
    {"passcode", Ctx::kPassword},
    {"passphrase", Ctx::kPassword},
    {"pw", Ctx::kPassword},
    {"username", Ctx::kUsername},
    {"user name", Ctx::kUsername},
    {"user", Ctx::kUsername},
    {"login", Ctx::kUsername},
    {"user id", Ctx::kUsername},
    {"userid", Ctx::kUsername},
    {"handle", Ctx::kUsername},
    {"screen name", Ctx::kUsername},
    {"aws_secret_access_key", Ctx::kAwsSecret},
    {"secret_access_key", Ctx::kAwsSecret},
    {"secret access key", Ctx::kAwsSecret},
    {"aws secret", Ctx::kAwsSecret},
    {"secretaccesskey", Ctx::kAwsSecret},
    {"secret key", Ctx::kAwsSecret},
    {"aws_secret_key", Ctx::kAwsSecret},
    {"swift", Ctx::kSwift},
    {"bic", Ctx::kSwift},
    {"phone", Ctx::kPhone},
    {"tel", Ctx::kPhone},
    {"telephone", Ctx::kPhone},
    {"mobile", Ctx::kPhone},
    {"cell", Ctx::kPhone},
    {"cellphone", Ctx::kPhone},
    {"call", Ctx::kPhone},
    {"calling", Ctx::kPhone},
    {"fax", Ctx::kPhone},
    {"contact", Ctx::kPhone},
    {"reach", Ctx::kPhone},
    {"answering", Ctx::kPhone},
    {"whatsapp", Ctx::kPhone},
    {"text me", Ctx::kPhone},
    {"sms", Ctx::kPhone},
    {"dial", Ctx::kPhone},
    {"ring", Ctx::kPhone},
    {"hotline", Ctx::kPhone},
    {"aged", Ctx::kAge},
    {"age", Ctx::kAge},
    {"turned", Ctx::kAge},
    {"turning", Ctx::kAge},
    {"turns", Ctx::kAge},
    {"my name is", Ctx::kName},
    {"name is", Ctx::kName},
    {"name", Ctx::kName},
    {"named", Ctx::kName},
    {"called", Ctx::kName},
    {"dear", Ctx::kName},
    {"mr", Ctx::kName},
    {"mrs", Ctx::kName},
    {"ms", Ctx::kName},
    {"miss", Ctx::kName},
    {"dr", Ctx::kName},
    {"prof", Ctx::kName},
    {"sincerely", Ctx::kName},
    {"regards", Ctx::kName},
    {"i'm", Ctx::kNameStrict},
    {"i am", Ctx::kNameStrict},
    {"this is", Ctx::kNameStrict},
    {"hi", Ctx::kNameStrict},
    {"hello", Ctx::kNameStrict},
    {"http://", Ctx::kUrl},
    {"https://", Ctx::kUrl},
    {"ftp://", Ctx::kUrl},
    {"www.", Ctx::kUrl},
    {"card", Ctx::kCard},
    {"cc", Ctx::kCard},
    {"credit", Ctx::kCard},
    {"debit", Ctx::kCard},
    {"visa", Ctx::kCard},
    {"mastercard", Ctx::kCard},
    {"maestro", Ctx::kCard},
    {"amex", Ctx::kCard},
    {"version", Ctx::kVersion},
    {"ver", Ctx::kVersion},
    {"build", Ctx::kVersion},
    {"release", Ctx::kVersion},
    {"firmware", Ctx::kVersion},
};

struct Cand {
  T type;
  size_t b, e;
};

struct Gap {
  size_t pos;
  bool assign;  // saw ':' or '=' or "is"
};

constexpr std::string_view kFillers[] = {
    "number", "numbers", "num",       "no",     "nr",      "is",     "was", "are", "code",
    "id",     "of",      "my",        "the",    "your",    "his",    "her", "our", "their",
    "on",     "file",    "with",      "be",     "will",    "ending", "in",  "for", "new",
    "old",    "current", "temporary", "set",    "to",      "as",     "a",   "an",  "at",
    "card",   "date",    "key",       "access", "address", "value",  "me",  "us"};

Gap SkipGap(std::string_view t, std::string_view lower, size_t pos) {
  size_t p = pos;
  int words = 0;
  bool assign = false;
  while (p < t.size() && p - pos <= 40) {
    unsigned char c = At(t, p);
    if (c == ' ' || c == '\t' || c == '#' || c == '"' || c == '\'' || c == '(' || c == '[' ||
        c == '\n' || c == '\r' || c == '-' || c == '.' || c == ',') {
      ++p;
      continue;
    }
    if (c == ':' || c == '=') {
      assign = true;
      ++p;
      continue;
    }
    if (IsAlpha(c) && words < 4) {
      size_t q = p;
      while (q < t.size() && IsAlpha(At(t, q))) ++q;
      std::string_view w = lower.substr(p, q - p);
      bool filler = std::find(std::begin(kFillers), std::end(kFillers), w) != std::end(kFillers);
      if (filler && (q >= t.size() || !IsWord(At(t, q)))) {
        if (w == "is" || w == "was" || w == "are") assign = true;
        ++words;
        p = q;
        continue;
      }
    }
    break;
  }
  return {p, assign};
}

// Digits reads digit groups separated by one ' ' or '-' from `p`; returns the end offset and
// the digits. Stops after `max_digits`.
size_t Digits(std::string_view t, size_t p, std::string* digits, size_t max_digits = 24,
              bool allow_seps = true) {
  digits->clear();
  size_t e = p;
  size_t i = p;
  while (i < t.size() && digits->size() <= max_digits) {
    if (IsDigit(At(t, i))) {
      digits->push_back(t[i]);
      ++i;
      e = i;
    } else if (allow_seps && (t[i] == ' ' || t[i] == '-') && IsDigit(At(t, i + 1)) &&
               !digits->empty()) {
      ++i;
    } else {
      break;
    }
  }
  return e;
}

// AlnumToken reads [A-Za-z0-9] with single '-' joins.
size_t AlnumToken(std::string_view t, size_t p, size_t max_len) {
  size_t i = p;
  while (i < t.size() && i - p < max_len) {
    if (IsAlnum(At(t, i))) {
      ++i;
    } else if (t[i] == '-' && IsAlnum(At(t, i + 1)) && i > p) {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

size_t CountIf(std::string_view s, bool (*f)(unsigned char)) {
  size_t n = 0;
  for (unsigned char c : s) n += f(c);
  return n;
}

// Capitalized reads one capitalized word (ASCII upper or any non-ASCII letter start) followed
// by letters, apostrophes or hyphens; returns its end or `p` if none.
size_t Capitalized(std::string_view t, size_t p) {
  unsigned char c = At(t, p);
  if (!(IsUpper(c) || c >= 0xC0)) return p;
  size_t i = p + (c >= 0xC0 ? 1 : 1);
  while (i < t.size()) {
    unsigned char d = At(t, i);
    if (IsLower(d) || d >= 0x80 || ((d == '\'' || d == '-') && IsAlpha(At(t, i + 1)))) {
      ++i;
    } else {
      break;
    }
  }
  // A single letter followed by '.' is an initial.
  if (i == p + 1 && At(t, i) == '.') return i + 1;
  if (i - p < 2) return p;
  return i;
}

constexpr std::string_view kNotNames[] = {
    "Sorry",     "Not",        "Just",       "So",        "Happy",     "Here",    "Going",
    "Calling",   "Looking",    "The",        "A",         "An",        "In",      "At",
    "On",        "From",       "With",       "Very",      "Really",    "Still",   "Also",
    "Glad",      "Writing",    "Interested", "Available", "Fine",      "Good",    "Great",
    "Okay",      "Ready",      "Sure",       "Back",      "Done",      "New",     "Your",
    "Our",       "My",         "This",       "That",      "It",        "There",   "All",
    "Thank",     "Thanks",     "Please",     "Hello",     "Hi",        "Dear",    "Team",
    "Everyone",  "Sir",        "Madam",      "I",         "We",        "You",     "He",
    "She",       "They",       "What",       "How",       "Why",       "When",    "Where",
    "Who",       "Is",         "Are",        "Do",        "Does",      "Can",     "Could",
    "Would",     "Should",     "Will",       "Trying",    "Having",    "Working", "Afraid",
    "Unable",    "Able",       "Concerned",  "Curious",   "Wondering", "Using",   "Reaching",
    "Following", "Contacting", "Hoping",     "Planning",  "Moving",    "Tired",   "Sick",
    "Confused"};

bool NotAName(std::string_view w) {
  return std::find(std::begin(kNotNames), std::end(kNotNames), w) != std::end(kNotNames);
}

// NameAfter reads 1-3 capitalized words starting at `p` (single spaces between them).
// `strict`: the first word must be followed by another capitalized word or by ',', '.', '!'.
bool NameAfter(std::string_view t, size_t p, bool strict, Cand* out) {
  size_t e = Capitalized(t, p);
  if (e == p || NotAName(t.substr(p, e - p))) return false;
  int words = 1;
  size_t end = e;
  while (words < 3 && At(t, end) == ' ') {
    size_t e2 = Capitalized(t, end + 1);
    if (e2 == end + 1 || NotAName(t.substr(end + 1, e2 - end - 1))) break;
    end = e2;
    ++words;
  }
  if (strict && words == 1) {
    unsigned char c = At(t, end);
    if (!(c == ',' || c == '.' || c == '!' || c == 0 || c == '\n')) return false;
  }
  if (!RightBoundary(t, end) && At(t, end) != '.') return false;
  *out = Cand{T::kName, p, end};
  return true;
}

void FromContext(std::string_view t, std::string_view lower, Ctx ctx, size_t kw_begin,
                 size_t kw_end, std::vector<Cand>* out) {
  Gap g = SkipGap(t, lower, kw_end);
  size_t p = g.pos;
  if (p >= t.size() || !LeftBoundary(t, p)) {
    // A value glued to the keyword with '-' ("DL#V58...") is still a value.
    if (p >= t.size() || !(At(t, p - 1) == '#' || At(t, p - 1) == '-' || At(t, p - 1) == ':')) {
      return;
    }
  }
  std::string d;
  auto add = [&](T type, size_t b, size_t e) {
    if (e > b && RightBoundary(t, e)) out->push_back(Cand{type, b, e});
  };
  switch (ctx) {
    case Ctx::kSsn:
    case Ctx::kItin: {
      size_t e = Digits(t, p, &d, 9);
      if (d.size() == 9 && ItinValid(d)) {
        add(T::kUsIndividualTaxIdentificationNumber, p, e);
      } else if (d.size() == 9 && SsnValid(d)) {
        add(T::kUsSocialSecurityNumber, p, e);
      }
      break;
    }
    case Ctx::kSin: {
      size_t e = Digits(t, p, &d, 9);
      if (d.size() == 9 && LuhnValid(d) && d[0] != '0' && d[0] != '8') {
        add(T::kCaSocialInsuranceNumber, p, e);
      }
      break;
    }
    case Ctx::kNhs: {
      size_t e = Digits(t, p, &d, 10);
      if (d.size() == 10 && NhsNumberValid(d)) add(T::kUkNationalHealthServiceNumber, p, e);
      break;
    }
    case Ctx::kUtr: {
      size_t b = p;
      if (At(t, b) == 'K' && IsDigit(At(t, b + 1))) ++b;
      size_t e = Digits(t, b, &d, 10);
      if (d.size() == 10) {
        if (At(t, e) == 'K') ++e;
        add(T::kUkUniqueTaxpayerReferenceNumber, p, e);
      }
      break;
    }
    case Ctx::kCaHealth: {
      size_t e = Digits(t, p, &d, 12);
      if (d.size() >= 9 && d.size() <= 12) {
        // Optional two-letter version code or province ("1020-574-875-QC").
        if ((At(t, e) == '-' || At(t, e) == ' ') && IsUpper(At(t, e + 1)) &&
            IsUpper(At(t, e + 2)) && !IsAlnum(At(t, e + 3))) {
          e += 3;
        }
        add(T::kCaHealthNumber, p, e);
      }
      break;
    }
    case Ctx::kRouting: {
      size_t e = Digits(t, p, &d, 9, false);
      if (d.size() == 9 && AbaRoutingValid(d)) add(T::kUsBankRoutingNumber, p, e);
      break;
    }
    case Ctx::kAccount: {
      size_t e = Digits(t, p, &d, 17);
      if (d.size() >= 6 && d.size() <= 17) add(T::kUsBankAccountNumber, p, e);
      break;
    }
    case Ctx::kPassport: {
      size_t e = AlnumToken(t, p, 12);
      std::string_view v = t.substr(p, e - p);
      size_t letters = CountIf(v, IsAlpha), digits = CountIf(v, IsDigit);
      if (v.size() >= 6 && v.size() <= 10 && letters <= 2 && digits >= 6 &&
          letters + digits == v.size()) {
        add(T::kUsPassportNumber, p, e);
      }
      break;
    }
    case Ctx::kDriver: {
      size_t e = AlnumToken(t, p, 20);
      std::string_view v = t.substr(p, e - p);
      if (v.size() >= 5 && CountIf(v, IsDigit) >= 4) add(T::kDriverId, p, e);
      break;
    }
    case Ctx::kPlate: {
      size_t e = AlnumToken(t, p, 10);
      if ((At(t, e) == ' ') && IsAlnum(At(t, e + 1))) {
        size_t e2 = AlnumToken(t, e + 1, 10);
        if (e2 - p <= 9 && CountIf(t.substr(e + 1, e2 - e - 1), IsDigit) > 0 &&
            CountIf(t.substr(p, e - p), IsDigit) == 0) {
          e = e2;
        }
      }
      std::string_view v = t.substr(p, e - p);
      if (v.size() >= 4 && v.size() <= 10 && CountIf(v, IsDigit) >= 1 && CountIf(v, IsLower) == 0) {
        add(T::kLicensePlate, p, e);
      }
      break;
    }
    case Ctx::kCvv: {
      size_t e = Digits(t, p, &d, 4, false);
      if (d.size() == 3 || d.size() == 4) add(T::kCreditDebitCardCvv, p, e);
      break;
    }
    case Ctx::kExpiry: {
      // MM/YY, MM/YYYY, MM-YY, MM-YYYY.
      size_t i = p;
      if (IsDigit(At(t, i)) && IsDigit(At(t, i + 1)) &&
          (At(t, i + 2) == '/' || At(t, i + 2) == '-')) {
        int month = (t[i] - '0') * 10 + (t[i + 1] - '0');
        size_t j = i + 3;
        size_t y = 0;
        while (IsDigit(At(t, j + y)) && y < 5) ++y;
        if (month >= 1 && month <= 12 && (y == 2 || y == 4))
          add(T::kCreditDebitCardExpiry, p, j + y);
      }
      break;
    }
    case Ctx::kPin: {
      if (kw_end - kw_begin == 3 && At(t, kw_begin) == 'p' && !g.assign) {
        // lower-case "pin" without ':' or "is" is usually the verb/noun, not a PIN.
        break;
      }
      size_t e = Digits(t, p, &d, 8, false);
      if (d.size() >= 4 && d.size() <= 8) add(T::kPin, p, e);
      break;
    }
    case Ctx::kPassword: {
      if (!g.assign) break;
      size_t e = p;
      while (e < t.size() && e - p < 128 && !std::isspace(At(t, e)) && At(t, e) != '"' &&
             At(t, e) != '\'') {
        ++e;
      }
      while (e > p && std::string_view(".,;)]}").find(t[e - 1]) != std::string_view::npos) --e;
      if (e - p >= 4) out->push_back(Cand{T::kPassword, p, e});
      break;
    }
    case Ctx::kUsername: {
      if (!g.assign) break;
      size_t e = p;
      while (
          e < t.size() && e - p < 64 &&
          (IsAlnum(At(t, e)) || std::string_view("._-@+").find(t[e]) != std::string_view::npos)) {
        ++e;
      }
      while (e > p && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
      std::string_view v = t.substr(p, e - p);
      if (v.size() >= 3 && CountIf(v, IsAlpha) > 0) out->push_back(Cand{T::kUsername, p, e});
      break;
    }
    case Ctx::kAwsSecret: {
      size_t e = p;
      while (e < t.size() && e - p <= 40 &&
             (IsAlnum(At(t, e)) || t[e] == '/' || t[e] == '+' || t[e] == '=')) {
        ++e;
      }
      std::string_view v = t.substr(p, e - p);
      if (v.size() == 40 && CountIf(v, IsUpper) > 0 && CountIf(v, IsLower) > 0) {
        add(T::kAwsSecretKey, p, e);
      }
      break;
    }
    case Ctx::kAge: {
      size_t e = Digits(t, p, &d, 3, false);
      if (!d.empty() && d.size() <= 3 && std::stoi(d) <= 130 && At(t, e) != '%' &&
          At(t, e) != '.' && At(t, e) != ',') {
        add(T::kAge, p, e);
      } else if (!d.empty() && d.size() <= 3 && std::stoi(d) <= 130 &&
                 (At(t, e) == '.' || At(t, e) == ',') && !IsDigit(At(t, e + 1))) {
        add(T::kAge, p, e);
      }
      break;
    }
    case Ctx::kName:
    case Ctx::kNameStrict: {
      // Honorifics may carry a '.'; "name" needs ':' or "is".
      std::string_view kw = lower.substr(kw_begin, kw_end - kw_begin);
      if (kw == "name" && !g.assign) break;
      Cand c;
      if (NameAfter(t, p, ctx == Ctx::kNameStrict, &c)) out->push_back(c);
      break;
    }
    case Ctx::kSwift:
    case Ctx::kPhone:
    case Ctx::kUrl:
    case Ctx::kCard:
    case Ctx::kVersion:
      break;  // handled by the scanners
  }
}

bool HasRecentKeyword(const std::vector<size_t>& ends, size_t pos, size_t window) {
  // `ends` is sorted: is there an end in [pos - window, pos]?
  auto it = std::upper_bound(ends.begin(), ends.end(), pos);
  if (it == ends.begin()) return false;
  --it;
  return pos - *it <= window;
}

void ScanEmails(std::string_view t, std::vector<Cand>* out) {
  auto local = [](unsigned char c) {
    return IsAlnum(c) ||
           std::string_view("._%+-'").find(static_cast<char>(c)) != std::string_view::npos;
  };
  // memchr finds the rare '@' at memory speed.
  for (const char* at = static_cast<const char*>(std::memchr(t.data(), '@', t.size()));
       at != nullptr; at = static_cast<const char*>(std::memchr(
                          at + 1, '@', t.size() - static_cast<size_t>(at + 1 - t.data())))) {
    const size_t i = static_cast<size_t>(at - t.data());
    size_t b = i;
    while (b > 0 && i - b < 64 && local(At(t, b - 1))) --b;
    if (b > 0 && local(At(t, b - 1))) continue;  // local part too long
    while (b < i && (t[b] == '.' || t[b] == '\'')) ++b;
    if (b == i) continue;
    size_t e = i + 1;
    while (e < t.size() && e - i < 255 && (IsAlnum(At(t, e)) || t[e] == '-' || t[e] == '.')) ++e;
    while (e > i + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
    std::string_view domain = t.substr(i + 1, e - i - 1);
    size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0) continue;
    std::string_view tld = domain.substr(dot + 1);
    if (tld.size() < 2 || CountIf(tld, IsAlpha) != tld.size()) continue;
    if (domain.find("..") != std::string_view::npos) continue;
    out->push_back(Cand{T::kEmail, b, e});
  }
}

void ScanUrl(std::string_view t, size_t b, std::vector<Cand>* out) {
  size_t e = b;
  while (e < t.size() && e - b < 2048) {
    unsigned char c = At(t, e);
    if (c <= ' ' ||
        std::string_view("<>\"`{}|\\^").find(static_cast<char>(c)) != std::string_view::npos) {
      break;
    }
    ++e;
  }
  while (e > b && std::string_view(".,;:!?)]'").find(t[e - 1]) != std::string_view::npos) --e;
  std::string_view v = t.substr(b, e - b);
  size_t host = v.find("://");
  host = host == std::string_view::npos ? 0 : host + 3;
  std::string_view rest = v.substr(host);
  size_t dot = rest.find('.');
  if (rest.size() < 4 || dot == std::string_view::npos || dot == 0) return;
  out->push_back(Cand{T::kUrl, b, e});
}

bool ParseIpv4(std::string_view t, size_t p, size_t* end) {
  size_t i = p;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (At(t, i) != '.') return false;
      ++i;
    }
    size_t s = i;
    int v = 0;
    while (IsDigit(At(t, i)) && i - s < 3) v = v * 10 + (t[i++] - '0');
    if (i == s || v > 255 || (i - s > 1 && t[s] == '0') || IsDigit(At(t, i))) return false;
  }
  *end = i;
  return true;
}

bool ValidIpv6(std::string_view v) {
  // RFC 4291 section 2.2: eight 16-bit groups, "::" once for a run of zero groups, an IPv4
  // dotted quad may end the address.
  if (v.size() < 3 || CountIf(v, IsDigit) == 0) return false;
  size_t dc = v.find("::");
  if (dc != std::string_view::npos && v.find("::", dc + 1) != std::string_view::npos) {
    return false;
  }
  int groups = 0;
  bool v4 = false;
  size_t i = 0;
  while (i < v.size()) {
    if (v[i] == ':') {
      if (i + 1 < v.size() && v[i + 1] == ':') {
        i += 2;
        continue;
      }
      if (i == 0 || i + 1 == v.size()) return false;
      ++i;
      continue;
    }
    size_t s = i;
    while (i < v.size() && IsHex(static_cast<unsigned char>(v[i]))) ++i;
    if (i < v.size() && v[i] == '.') {
      size_t e;
      if (!ParseIpv4(v, s, &e) || e != v.size()) return false;
      v4 = true;
      groups += 2;
      break;
    }
    if (i - s < 1 || i - s > 4) return false;
    ++groups;
  }
  if (dc == std::string_view::npos) return groups == 8;
  (void)v4;
  return groups >= 2 && groups <= 7;
}

void ScanTokens(std::string_view t, const std::vector<size_t>& swift_ends,
                const std::vector<size_t>& phone_ends, const std::vector<size_t>& card_ends,
                const std::vector<size_t>& version_ends, std::vector<Cand>* out) {
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = At(t, i);
    if (!(IsAlnum(c) || c == '+' || c == '(' || c == ':')) continue;
    // Alphanumeric run from i.
    size_t run = i;
    while (run < n && IsAlnum(At(t, run))) ++run;
    // A run that cannot start a value is skipped whole: no position inside it is on a left
    // boundary either (its predecessor is alphanumeric). Fast path for prose: a word that starts
    // with a lower-case letter after 'f' can only begin a (lower-case) IBAN; every other scanner
    // needs a digit, '+', '(', ':', a hex digit or an upper-case letter (AWS keys, VIN, SWIFT,
    // NINO) as its first character.
    bool skip =
        (c >= 'g' && c <= 'z' &&
         !(IsAlpha(At(t, i + 1)) && IsDigit(At(t, i + 2)) && IsDigit(At(t, i + 3)))) ||
        !LeftBoundary(t, i) ||
        (i > 0 && (t[i - 1] == '$' || t[i - 1] == ':' || t[i - 1] == '.' || t[i - 1] == '/'));
    if (skip) {
      if (run > i + 1) i = run - 1;
      continue;
    }
    std::string_view word = t.substr(i, run - i);
    bool word_end = RightBoundary(t, run);

    // AWS access key id.
    if (word.size() == 20 && word_end && CountIf(word, IsLower) == 0) {
      for (std::string_view pre :
           {"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA"}) {
        if (word.substr(0, 4) == pre) out->push_back(Cand{T::kAwsAccessKey, i, run});
      }
    }
    // VIN.
    if (word.size() == 17 && word_end && VinValid(word)) {
      out->push_back(Cand{T::kVehicleIdentificationNumber, i, run});
    }
    // SWIFT / BIC: needs a nearby keyword unless it has a branch code with a digit.
    if ((word.size() == 8 || word.size() == 11) && word_end && SwiftValid(word) &&
        (HasRecentKeyword(swift_ends, i, 40) ||
         (word.size() == 11 && CountIf(word, IsDigit) > 0))) {
      out->push_back(Cand{T::kSwiftCode, i, run});
    }
    // IBAN, possibly in groups of four separated by single spaces.
    if (word.size() >= 4 && IsAlpha(c) && IsAlpha(At(t, i + 1)) && IsDigit(At(t, i + 2)) &&
        IsDigit(At(t, i + 3))) {
      std::string compact;
      size_t j = i;
      while (j < n && compact.size() < 34) {
        unsigned char x = At(t, j);
        if (IsAlpha(x) || IsDigit(x)) {  // IBANs are case-insensitive
          compact.push_back(static_cast<char>(IsLower(x) ? x - 'a' + 'A' : x));
          ++j;
          if (IbanValid(compact) && RightBoundary(t, j)) {
            out->push_back(Cand{T::kInternationalBankAccountNumber, i, j});
            break;
          }
        } else if (x == ' ' && (IsAlpha(At(t, j + 1)) || IsDigit(At(t, j + 1)))) {
          ++j;
        } else {
          break;
        }
      }
    }
    // UK National Insurance number: AB 12 34 56 C or AB123456C.
    if (IsUpper(c) && IsUpper(At(t, i + 1))) {
      std::string nino;
      size_t j = i;
      nino.push_back(t[j++]);
      nino.push_back(t[j++]);
      for (int k = 0; k < 3; ++k) {
        if (At(t, j) == ' ') ++j;
        if (IsDigit(At(t, j)) && IsDigit(At(t, j + 1))) {
          nino.push_back(t[j]);
          nino.push_back(t[j + 1]);
          j += 2;
        }
      }
      if (At(t, j) == ' ') ++j;
      if (nino.size() == 8 && At(t, j) >= 'A' && At(t, j) <= 'D') {
        nino.push_back(t[j++]);
        if (RightBoundary(t, j) && NinoValid(nino)) {
          out->push_back(Cand{T::kUkNationalInsuranceNumber, i, j});
        }
      }
    }
    // MAC address: six hex pairs joined by ':' or '-', or three dotted quads.
    if (IsHex(c)) {
      bool ok = true;
      char sep = At(t, i + 2);
      if (sep == ':' || sep == '-') {
        for (int k = 0; k < 6 && ok; ++k) {
          size_t q = i + 3 * k;
          ok = IsHex(At(t, q)) && IsHex(At(t, q + 1)) && (k == 5 || At(t, q + 2) == sep);
        }
        std::string_view v = t.substr(i, 17);
        if (ok && RightBoundary(t, i + 17) && (sep == ':' || CountIf(v, IsAlpha) > 0)) {
          out->push_back(Cand{T::kMacAddress, i, i + 17});
        }
      } else if (At(t, i + 4) == '.') {
        for (int k = 0; k < 3 && ok; ++k) {
          size_t q = i + 5 * k;
          ok = IsHex(At(t, q)) && IsHex(At(t, q + 1)) && IsHex(At(t, q + 2)) &&
               IsHex(At(t, q + 3)) && (k == 2 || At(t, q + 4) == '.');
        }
        if (ok && RightBoundary(t, i + 14)) out->push_back(Cand{T::kMacAddress, i, i + 14});
      }
    }
    // IPv6 (a run of hex digits, ':' and '.').
    if (IsHex(c) || c == ':') {
      size_t j = i;
      while (j < n && j - i < 45 && (IsHex(At(t, j)) || t[j] == ':' || t[j] == '.')) ++j;
      while (j > i && t[j - 1] == '.') --j;
      std::string_view v = t.substr(i, j - i);
      if (CountIf(v, [](unsigned char x) { return x == ':'; }) >= 2 && RightBoundary(t, j) &&
          ValidIpv6(v)) {
        out->push_back(Cand{T::kIpAddress, i, j});
      }
    }
    if (c == ':') continue;
    // IPv4.
    size_t ip_end;
    if (IsDigit(c) && ParseIpv4(t, i, &ip_end) && RightBoundary(t, ip_end) &&
        !HasRecentKeyword(version_ends, i, 12)) {
      out->push_back(Cand{T::kIpAddress, i, ip_end});
    }
    // SSN / ITIN: 3-2-4 with '-' or ' ' separators.
    if (IsDigit(c) && word.size() == 3 && (At(t, i + 3) == '-' || At(t, i + 3) == ' ')) {
      char sep = t[i + 3];
      if (IsDigit(At(t, i + 4)) && IsDigit(At(t, i + 5)) && At(t, i + 6) == sep &&
          IsDigit(At(t, i + 7)) && IsDigit(At(t, i + 8)) && IsDigit(At(t, i + 9)) &&
          IsDigit(At(t, i + 10)) && RightBoundary(t, i + 11)) {
        std::string v = std::string(t.substr(i, 3)) + std::string(t.substr(i + 4, 2)) +
                        std::string(t.substr(i + 7, 4));
        if (ItinValid(v)) {
          out->push_back(Cand{T::kUsIndividualTaxIdentificationNumber, i, i + 11});
        } else if (SsnValid(v)) {
          out->push_back(Cand{T::kUsSocialSecurityNumber, i, i + 11});
        }
      }
    }
    // Card numbers: digit groups joined by one consistent ' ' or '-'.
    if (IsDigit(c)) {
      // Only the number of groups, the first group's end and the last one's are needed.
      size_t num_groups = 0, first_group_end = 0, last_group_end = 0;
      size_t num_digits = 0;
      size_t j = i;
      char sep = 0;
      while (j < n && num_digits <= 19) {
        size_t s = j;
        while (IsDigit(At(t, j)) && num_digits <= 19) {
          ++num_digits;
          ++j;
        }
        if (j == s) break;
        if (num_groups++ == 0) first_group_end = j;
        last_group_end = j;
        unsigned char x = At(t, j);
        if ((x == ' ' || x == '-') && IsDigit(At(t, j + 1)) && (sep == 0 || sep == x)) {
          sep = static_cast<char>(x);
          ++j;
        } else {
          break;
        }
      }
      if (num_digits <= 19 && num_digits >= 12) {
        // The whole run of groups must be the number: a valid prefix of a longer run (an
        // invalid card followed by more digits) is not a card.
        if (num_groups > 0) {
          size_t end = last_group_end;
          char ds_buf[20];
          size_t ds_len = 0;
          for (size_t q = i; q < end; ++q) {
            if (IsDigit(At(t, q))) ds_buf[ds_len++] = t[q];
          }
          std::string_view ds(ds_buf, ds_len);
          bool grouped_ok = num_groups == 1 || first_group_end - i >= 4;
          // Maestro numbers may have 12 digits; without a card keyword nearby twelve digits
          // are more often an order or invoice number.
          bool maestro12 = ds.size() == 12 && (ds[0] == '5' || ds[0] == '6') && LuhnValid(ds) &&
                           HasRecentKeyword(card_ends, i, 24);
          if (grouped_ok && RightBoundary(t, end) && (maestro12 || CardNumberValid(ds))) {
            out->push_back(Cand{T::kCreditDebitCardNumber, i, end});
          }
        }
      }
    }
    // Phone numbers (not the tail of a longer run of digit groups).
    bool continues_number = i >= 2 && (t[i - 1] == ' ' || t[i - 1] == '-') && IsDigit(At(t, i - 2));
    if ((IsDigit(c) || c == '+' || c == '(') && !continues_number) {
      size_t j = i;
      bool plus = false, paren = false;
      if (At(t, j) == '+') {
        plus = true;
        ++j;
      }
      // At most 16 groups: each has a digit and the loop stops past 15 digits.
      int groups_buf[16];
      size_t num_groups = 0;
      bool dots = false;
      int total = 0;
      while (j < n && total <= 15) {
        size_t s = j;
        bool in_paren = false;
        if (At(t, j) == '(') {
          in_paren = true;
          ++j;
        }
        size_t ds = j;
        while (IsDigit(At(t, j)) && j - ds < 15) ++j;
        int len = static_cast<int>(j - ds);
        if (len == 0) {
          j = s;
          break;
        }
        if (in_paren) {
          if (At(t, j) != ')' || len > 5) {
            j = s;
            break;
          }
          ++j;
          paren = true;
        }
        groups_buf[num_groups++] = len;
        total += len;
        size_t k = j;
        while (k < n && k - j < 2 && (t[k] == ' ' || t[k] == '-' || t[k] == '.')) ++k;
        if (k > j && (IsDigit(At(t, k)) || At(t, k) == '(')) {
          dots |= t.substr(j, k - j).find('.') != std::string_view::npos;
          j = k;
        } else {
          break;
        }
      }
      // Trailing separators were not consumed; j is the end of the last group.
      if (num_groups > 0 && total >= 7 && total <= 15 && RightBoundary(t, j)) {
        std::span<const int> groups(groups_buf, num_groups);
        bool nanp = groups.size() == 3 && groups[0] == 3 && groups[1] == 3 && groups[2] == 4;
        bool nanp1 = groups.size() == 4 && groups[0] == 1 && groups[1] == 3 && groups[2] == 3 &&
                     groups[3] == 4 && c == '1';
        bool trunk0 = c == '0' && groups.size() >= 2 && total >= 9 && total <= 12;
        bool context = HasRecentKeyword(phone_ends, i, 32);
        bool ssn_shape = groups.size() == 3 && groups[0] == 3 && groups[1] == 2 && groups[2] == 4;
        bool phone = false;
        if (plus && total >= 8) phone = true;
        if (paren && total >= 9) phone = true;
        if (nanp || nanp1) phone = true;
        if (trunk0 && !dots) phone = true;
        if (context && (groups.size() > 1 || total >= 7)) phone = true;
        if (dots && !(nanp || nanp1 || context)) phone = false;
        if (ssn_shape) phone = false;
        if (phone) out->push_back(Cand{T::kPhone, i, j});
      }
    }
    // Age: "<n> years old", "<n>-year-old", "<n> yo".
    if (IsDigit(c) && word.size() <= 3 && word_end) {
      size_t j = run;
      if (At(t, j) == ' ' || At(t, j) == '-') ++j;
      std::string rest;
      for (size_t q = j; q < n && q - j < 14; ++q)
        rest.push_back(static_cast<char>(std::tolower(At(t, q))));
      bool age = false;
      for (std::string_view s : {"years old", "year old", "years-old", "year-old", "yrs old",
                                 "yr old", "yo ", "y/o", "years of age"}) {
        if (rest.compare(0, s.size(), s) == 0) age = true;
      }
      if (age && std::stoi(std::string(word)) <= 130) out->push_back(Cand{T::kAge, i, run});
    }
    // Street addresses: "<number> <Capitalized words> <suffix>[, Apt n][, City, ST 12345]".
    if (IsDigit(c) && word.size() <= 6 && At(t, run) == ' ') {
      static constexpr std::string_view kSuffixes[] = {
          "street",  "st",    "road",    "rd",    "avenue",    "ave",     "av",       "way",
          "lane",    "ln",    "drive",   "dr",    "boulevard", "blvd",    "court",    "ct",
          "place",   "pl",    "terrace", "ter",   "circle",    "cir",     "parkway",  "pkwy",
          "highway", "hwy",   "square",  "sq",    "trail",     "trl",     "crescent", "close",
          "row",     "loop",  "alley",   "plaza", "walk",      "gardens", "grove",    "strasse",
          "straße",  "gasse", "weg",     "platz", "rue",       "via",     "calle",    "avenida"};
      size_t j = run + 1;
      size_t end = 0;
      for (int w = 0; w < 5 && j < n; ++w) {
        size_t we = j;
        while (we < n && (IsAlpha(At(t, we)) || At(t, we) >= 0x80)) ++we;
        if (we == j) break;
        if (w == 0 && !IsUpper(At(t, j))) break;
        std::string lw;
        for (size_t q = j; q < we; ++q) lw.push_back(static_cast<char>(std::tolower(At(t, q))));
        bool suffix =
            std::find(std::begin(kSuffixes), std::end(kSuffixes), lw) != std::end(kSuffixes);
        if (suffix && w > 0) {
          end = we;
          if (At(t, end) == '.') ++end;
          break;
        }
        if (At(t, we) != ' ') break;
        j = we + 1;
      }
      if (end > 0) {
        // Optional unit.
        size_t k = end;
        if (At(t, k) == ',') ++k;
        if (At(t, k) == ' ') {
          size_t u = k + 1;
          for (std::string_view unit : {"Apt", "Apartment", "Suite", "Ste", "Unit", "#", "Floor"}) {
            if (t.substr(u, unit.size()) == unit) {
              size_t v = u + unit.size();
              if (At(t, v) == '.') ++v;
              if (At(t, v) == ' ') ++v;
              size_t ve = v;
              while (IsAlnum(At(t, ve))) ++ve;
              if (ve > v) end = ve;
              break;
            }
          }
        }
        // Optional ", City, ST 12345".
        k = end;
        if (At(t, k) == ',' && At(t, k + 1) == ' ') {
          size_t city = k + 2;
          size_t ce = city;
          for (int w = 0; w < 3; ++w) {
            size_t we = Capitalized(t, ce);
            if (we == ce) break;
            ce = we;
            if (At(t, ce) == ' ' && IsUpper(At(t, ce + 1)) && At(t, ce + 2) != ' ') {
              ++ce;
            } else {
              break;
            }
          }
          if (ce > city && At(t, ce) == ',' && At(t, ce + 1) == ' ' && IsUpper(At(t, ce + 2)) &&
              IsUpper(At(t, ce + 3))) {
            size_t z = ce + 4;
            if (At(t, z) == ' ') {
              size_t ze = z + 1;
              while (IsDigit(At(t, ze)) && ze - z <= 5) ++ze;
              end = ze - z == 6 ? ze : ce + 4;
            } else {
              end = ce + 4;
            }
          } else if (ce > city) {
            end = ce;
          }
        }
        out->push_back(Cand{T::kAddress, i, end});
      }
    }
    // Skip the rest of this alphanumeric run: values start on boundaries only.
    if (run > i + 1) i = run - 1;
  }
}

}  // namespace

PiiDetector::PiiDetector() {
  for (const auto& k : kKeywords) context_.Add(k.text, static_cast<uint32_t>(k.ctx));
  context_.Build(/*ascii_case_insensitive=*/true);
}

const PiiDetector& PiiDetector::Default() {
  static const PiiDetector* detector = new PiiDetector();
  return *detector;
}

std::vector<PiiMatch> PiiDetector::Detect(std::string_view text) const {
  PiiTypeSet all;
  all.set();
  return Detect(text, all);
}

std::vector<PiiMatch> PiiDetector::Detect(std::string_view text, const PiiTypeSet& enabled) const {
  // The keyword automaton folds ASCII case itself; the lower-cased copy that FromContext reads
  // is made only once a keyword is found, in a per-thread buffer (no allocation in the steady
  // state).
  thread_local std::string lower_buf;
  std::string_view lower;
  // Candidate and keyword-position buffers are per thread too.
  thread_local std::vector<Cand> cands;
  thread_local std::vector<size_t> swift_ends, phone_ends, card_ends, version_ends;
  cands.clear();
  swift_ends.clear();
  phone_ends.clear();
  card_ends.clear();
  version_ends.clear();
  context_.ForEachMatch(text, [&](size_t end, size_t len, uint32_t id) {
    size_t begin = end - len;
    Ctx ctx = static_cast<Ctx>(id);
    // Keywords sit on word boundaries (URL prefixes only need the left one).
    if (begin > 0 && IsAlnum(At(text, begin - 1))) return true;
    if (ctx != Ctx::kUrl && IsAlnum(At(text, end - 1)) && IsAlnum(At(text, end))) {
      return true;
    }
    if (lower.data() == nullptr) {
      lower_buf.assign(text.data(), text.size());
      for (char& ch : lower_buf) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
      lower = lower_buf;
    }
    if (ctx == Ctx::kSwift) {
      swift_ends.push_back(end);
    } else if (ctx == Ctx::kPhone) {
      phone_ends.push_back(end);
    } else if (ctx == Ctx::kCard) {
      card_ends.push_back(end);
    } else if (ctx == Ctx::kVersion) {
      version_ends.push_back(end);
    } else if (ctx == Ctx::kUrl) {
      ScanUrl(text, begin, &cands);
    } else {
      FromContext(text, lower, ctx, begin, end, &cands);
    }
    return true;
  });
  ScanEmails(text, &cands);
  ScanTokens(text, swift_ends, phone_ends, card_ends, version_ends, &cands);

  // Resolve overlaps: better rank first, then longer.
  std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
    int ra = Rank(a.type), rb = Rank(b.type);
    if (ra != rb) return ra < rb;
    return a.e - a.b > b.e - b.b;
  });
  std::map<size_t, size_t> taken;  // begin -> end, disjoint
  std::vector<PiiMatch> out;
  for (const Cand& c : cands) {
    if (c.e <= c.b) continue;
    auto it = taken.lower_bound(c.b);
    if (it != taken.end() && it->first < c.e) continue;
    if (it != taken.begin() && std::prev(it)->second > c.b) continue;
    taken.emplace(c.b, c.e);
    out.push_back(PiiMatch{c.type, c.b, c.e});
  }
  std::vector<PiiMatch> result;
  for (const auto& m : out) {
    if (enabled.test(static_cast<int>(m.type))) result.push_back(m);
  }
  std::sort(result.begin(), result.end(),
            [](const PiiMatch& a, const PiiMatch& b) { return a.begin < b.begin; });
  return result;
}

}  // namespace confide::guard
