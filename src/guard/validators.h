// confide::guard check-digit and structure validators for identifiers. Each takes the
// identifier with separators already removed (digits / upper-case letters only) unless noted.
#ifndef CONFIDE_GUARD_VALIDATORS_H_
#define CONFIDE_GUARD_VALIDATORS_H_

#include <string_view>

namespace confide::guard {

// LuhnValid returns whether the digit string passes the Luhn mod-10 check (ISO/IEC 7812-1
// annex B). False for non-digits or an empty string.
bool LuhnValid(std::string_view digits);

// CardNumberValid returns whether `digits` is 13-19 digits, starts with an issuer digit (1-6)
// and passes Luhn.
bool CardNumberValid(std::string_view digits);

// IbanValid returns whether `iban` (no spaces) has a known country's length (ISO 13616
// registry) and its mod-97 remainder is 1 (ISO 7064 MOD 97-10).
bool IbanValid(std::string_view iban);

// AbaRoutingValid returns whether 9 digits pass the ABA checksum
// 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) = 0 mod 10.
bool AbaRoutingValid(std::string_view digits);

// SsnValid returns whether 9 digits are a possible SSN: area not 000, 666 or 900-999; group
// not 00; serial not 0000 (SSA's rules for issued numbers).
bool SsnValid(std::string_view digits);

// ItinValid returns whether 9 digits have the ITIN shape: area 9xx and group 50-65, 70-88,
// 90-92 or 94-99 (IRS).
bool ItinValid(std::string_view digits);

// NhsNumberValid returns whether 10 digits pass the NHS modulus-11 check (weights 10..2; a
// check value of 10 is invalid).
bool NhsNumberValid(std::string_view digits);

// VinValid returns whether 17 characters (A-Z minus I, O, Q; digits) carry a correct
// ISO 3779 / 49 CFR 565 check digit in position 9.
bool VinValid(std::string_view vin);

// NinoValid returns whether 9 characters (2 letters, 6 digits, 1 letter A-D) are a UK National
// Insurance number under HMRC's prefix rules.
bool NinoValid(std::string_view nino);

// SwiftValid returns whether 8 or 11 characters have the BIC shape (ISO 9362): 4 letters bank,
// 2 letters ISO 3166 country, 2 alphanumerics location, optional 3 alphanumerics branch.
bool SwiftValid(std::string_view bic);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_VALIDATORS_H_
