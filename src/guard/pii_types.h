// confide::guard PII entity types: the 31 types of Bedrock Guardrails' piiEntitiesConfig.
#ifndef CONFIDE_GUARD_PII_TYPES_H_
#define CONFIDE_GUARD_PII_TYPES_H_

#include <array>
#include <optional>
#include <string_view>

namespace confide::guard {

// PiiType enumerates Bedrock's GuardrailPiiEntityType values, in Bedrock's (alphabetical) order.
enum class PiiType : int {
  kAddress,
  kAge,
  kAwsAccessKey,
  kAwsSecretKey,
  kCaHealthNumber,
  kCaSocialInsuranceNumber,
  kCreditDebitCardCvv,
  kCreditDebitCardExpiry,
  kCreditDebitCardNumber,
  kDriverId,
  kEmail,
  kInternationalBankAccountNumber,
  kIpAddress,
  kLicensePlate,
  kMacAddress,
  kName,
  kPassword,
  kPhone,
  kPin,
  kSwiftCode,
  kUkNationalHealthServiceNumber,
  kUkNationalInsuranceNumber,
  kUkUniqueTaxpayerReferenceNumber,
  kUrl,
  kUsBankAccountNumber,
  kUsBankRoutingNumber,
  kUsIndividualTaxIdentificationNumber,
  kUsPassportNumber,
  kUsSocialSecurityNumber,
  kUsername,
  kVehicleIdentificationNumber,
};

// kNumPiiTypes is the number of PiiType values (31).
inline constexpr int kNumPiiTypes = 31;

// kPiiTypeNames holds Bedrock's spelling of each PiiType, indexed by its value.
inline constexpr std::array<std::string_view, kNumPiiTypes> kPiiTypeNames = {
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "USERNAME",
    "VEHICLE_IDENTIFICATION_NUMBER",
};

// PiiTypeName returns Bedrock's name of `type` (e.g. "EMAIL").
inline std::string_view PiiTypeName(PiiType type) { return kPiiTypeNames[static_cast<int>(type)]; }

// ParsePiiType returns the PiiType named `name` (exact, upper case), or nullopt.
inline std::optional<PiiType> ParsePiiType(std::string_view name) {
  for (int i = 0; i < kNumPiiTypes; ++i) {
    if (kPiiTypeNames[i] == name) return static_cast<PiiType>(i);
  }
  return std::nullopt;
}

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_PII_TYPES_H_
