#include "guard/validators.h"

#include <algorithm>
#include <array>
#include <string>

namespace confide::guard {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// IBAN lengths by country (SWIFT IBAN registry).
struct IbanLen {
  char cc[3];
  int len;
};
constexpr IbanLen kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

// ISO 3166-1 alpha-2 codes (for BIC country fields).
constexpr std::string_view kCountries =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCHCI"
    "CKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQ"
    "GRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLS"
    "LTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPG"
    "PHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTK"
    "TLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSXKYEYTZAZMZW";

bool IsCountry(char a, char b) {
  for (size_t i = 0; i + 1 < kCountries.size(); i += 2) {
    if (kCountries[i] == a && kCountries[i + 1] == b) return true;
  }
  return false;
}

}  // namespace

bool LuhnValid(std::string_view digits) {
  if (!AllDigits(digits)) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool CardNumberValid(std::string_view digits) {
  if (digits.size() < 13 || digits.size() > 19 || !AllDigits(digits)) return false;
  if (digits[0] < '1' || digits[0] > '6') return false;
  return LuhnValid(digits);
}

bool IbanValid(std::string_view iban) {
  if (iban.size() < 15 || iban.size() > 34) return false;
  if (!IsUpper(iban[0]) || !IsUpper(iban[1]) || !IsDigit(iban[2]) || !IsDigit(iban[3])) {
    return false;
  }
  int want = 0;
  for (const auto& e : kIbanLengths) {
    if (e.cc[0] == iban[0] && e.cc[1] == iban[1]) want = e.len;
  }
  if (want != static_cast<int>(iban.size())) return false;
  //= ISO 13616-1: move the first four characters to the end, replace letters by 10..35, and
  //= the number mod 97 must be 1.
  int rem = 0;
  for (size_t k = 0; k < iban.size(); ++k) {
    char c = iban[(k + 4) % iban.size()];
    if (IsDigit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (IsUpper(c)) {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

bool AbaRoutingValid(std::string_view d) {
  if (d.size() != 9 || !AllDigits(d)) return false;
  auto v = [&](int i) { return d[i] - '0'; };
  int sum = 3 * (v(0) + v(3) + v(6)) + 7 * (v(1) + v(4) + v(7)) + (v(2) + v(5) + v(8));
  return sum % 10 == 0 && d != "000000000";
}

bool SsnValid(std::string_view d) {
  if (d.size() != 9 || !AllDigits(d)) return false;
  int area = Num(d.substr(0, 3)), group = Num(d.substr(3, 2)), serial = Num(d.substr(5, 4));
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool ItinValid(std::string_view d) {
  if (d.size() != 9 || !AllDigits(d) || d[0] != '9') return false;
  int group = Num(d.substr(3, 2));
  return (group >= 50 && group <= 65) || (group >= 70 && group <= 88) ||
         (group >= 90 && group <= 92) || (group >= 94 && group <= 99);
}

bool NhsNumberValid(std::string_view d) {
  if (d.size() != 10 || !AllDigits(d)) return false;
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (d[i] - '0') * (10 - i);
  int check = 11 - sum % 11;
  if (check == 11) check = 0;
  if (check == 10) return false;
  return check == d[9] - '0';
}

bool VinValid(std::string_view v) {
  if (v.size() != 17) return false;
  static constexpr std::array<int, 17> kWeights = {8, 7, 6, 5, 4, 3, 2, 10, 0,
                                                   9, 8, 7, 6, 5, 4, 3, 2};
  // 49 CFR 565.15: transliteration of letters (I, O, Q are not allowed).
  static constexpr std::string_view kLetterValues = "12345678-12345-7-923456789";
  int sum = 0;
  bool has_letter = false, has_digit = false;
  for (int i = 0; i < 17; ++i) {
    char c = v[i];
    int val;
    if (IsDigit(c)) {
      val = c - '0';
      has_digit = true;
    } else if (IsUpper(c) && kLetterValues[c - 'A'] != '-') {
      val = kLetterValues[c - 'A'] - '0';
      has_letter = true;
    } else {
      return false;
    }
    sum += val * kWeights[i];
  }
  if (!has_letter || !has_digit) return false;
  int check = sum % 11;
  char want = check == 10 ? 'X' : static_cast<char>('0' + check);
  return v[8] == want;
}

bool NinoValid(std::string_view n) {
  if (n.size() != 9) return false;
  char a = n[0], b = n[1];
  if (!IsUpper(a) || !IsUpper(b)) return false;
  for (int i = 2; i < 8; ++i) {
    if (!IsDigit(n[i])) return false;
  }
  if (n[8] < 'A' || n[8] > 'D') return false;
  // HMRC: first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; some prefixes
  // are never allocated.
  if (std::string_view("DFIQUV").find(a) != std::string_view::npos) return false;
  if (std::string_view("DFIOQUV").find(b) != std::string_view::npos) return false;
  std::string_view prefix = n.substr(0, 2);
  for (std::string_view bad : {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}) {
    if (prefix == bad) return false;
  }
  return true;
}

bool SwiftValid(std::string_view b) {
  if (b.size() != 8 && b.size() != 11) return false;
  for (int i = 0; i < 6; ++i) {
    if (!IsUpper(b[i])) return false;
  }
  for (size_t i = 6; i < b.size(); ++i) {
    if (!IsUpper(b[i]) && !IsDigit(b[i])) return false;
  }
  return IsCountry(b[4], b[5]);
}

}  // namespace confide::guard
