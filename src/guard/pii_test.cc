#include "guard/pii.h"

#include <string>

#include "gtest/gtest.h"
#include "guard/validators.h"

namespace confide::guard {
namespace {

std::vector<std::pair<std::string, std::string>> Found(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : PiiDetector::Default().Detect(text)) {
    out.emplace_back(std::string(PiiTypeName(m.type)),
                     std::string(text.substr(m.begin, m.end - m.begin)));
  }
  return out;
}

using P = std::vector<std::pair<std::string, std::string>>;

TEST(Validators, CheckDigits) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_FALSE(IbanValid("GB82WEST12345698765433"));
  EXPECT_FALSE(IbanValid("GB82WEST1234569876543"));  // wrong length for GB
  EXPECT_TRUE(AbaRoutingValid("011000015"));
  EXPECT_FALSE(AbaRoutingValid("011000016"));
  EXPECT_TRUE(SsnValid("123456789"));
  for (const char* bad : {"000123456", "666123456", "900123456", "123006789", "123450000"}) {
    EXPECT_FALSE(SsnValid(bad)) << bad;
  }
  EXPECT_TRUE(ItinValid("912701234"));
  EXPECT_FALSE(ItinValid("912931234"));
  EXPECT_TRUE(NhsNumberValid("9434765919"));
  EXPECT_FALSE(NhsNumberValid("9434765918"));
  EXPECT_TRUE(VinValid("1M8GDM9AXKP042788"));
  EXPECT_FALSE(VinValid("1M8GDM9A1KP042788"));
  EXPECT_TRUE(NinoValid("AB123456C"));
  EXPECT_FALSE(NinoValid("GB123456C"));
  EXPECT_FALSE(NinoValid("DA123456C"));
  EXPECT_TRUE(SwiftValid("DEUTDEFF"));
  EXPECT_TRUE(SwiftValid("DEUTDEFF500"));
  EXPECT_FALSE(SwiftValid("DEUTXXFF"));
}

TEST(Pii, StructuredTypes) {
  EXPECT_EQ(Found("mail bob.smith+x@mail.example.co.uk now"),
            (P{{"EMAIL", "bob.smith+x@mail.example.co.uk"}}));
  EXPECT_EQ(Found("card 4111 1111 1111 1111."),
            (P{{"CREDIT_DEBIT_CARD_NUMBER", "4111 1111 1111 1111"}}));
  EXPECT_EQ(Found("SSN 123-45-6789"), (P{{"US_SOCIAL_SECURITY_NUMBER", "123-45-6789"}}));
  EXPECT_EQ(Found("from 192.168.1.20 and fe80::1ff:fe23:4567:890a"),
            (P{{"IP_ADDRESS", "192.168.1.20"}, {"IP_ADDRESS", "fe80::1ff:fe23:4567:890a"}}));
  EXPECT_EQ(Found("IBAN GB82 WEST 1234 5698 7654 32 please"),
            (P{{"INTERNATIONAL_BANK_ACCOUNT_NUMBER", "GB82 WEST 1234 5698 7654 32"}}));
  EXPECT_EQ(Found("iban: fr1420041010050500013m02606"),
            (P{{"INTERNATIONAL_BANK_ACCOUNT_NUMBER", "fr1420041010050500013m02606"}}));
  EXPECT_EQ(Found("Amex 3782 822463 10005"),
            (P{{"CREDIT_DEBIT_CARD_NUMBER", "3782 822463 10005"}}));
  EXPECT_EQ(
      Found("(555) 123-4567 or +44 20 7946 0958 or 020 7946 0958"),
      (P{{"PHONE", "(555) 123-4567"}, {"PHONE", "+44 20 7946 0958"}, {"PHONE", "020 7946 0958"}}));
  EXPECT_EQ(Found("mac 00:1a:2b:3c:4d:5e"), (P{{"MAC_ADDRESS", "00:1a:2b:3c:4d:5e"}}));
  EXPECT_EQ(Found("key AKIAIOSFODNN7EXAMPLE"), (P{{"AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"}}));
  EXPECT_EQ(Found("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            (P{{"AWS_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}));
  EXPECT_EQ(Found("call +1 (415) 555-0132 today"), (P{{"PHONE", "+1 (415) 555-0132"}}));
  EXPECT_EQ(Found("Routing number 011000015"), (P{{"US_BANK_ROUTING_NUMBER", "011000015"}}));
  EXPECT_EQ(Found("NHS number 943 476 5919"),
            (P{{"UK_NATIONAL_HEALTH_SERVICE_NUMBER", "943 476 5919"}}));
  EXPECT_EQ(Found("vin 1M8GDM9AXKP042788"),
            (P{{"VEHICLE_IDENTIFICATION_NUMBER", "1M8GDM9AXKP042788"}}));
  EXPECT_EQ(Found("He is 42 years old"), (P{{"AGE", "42"}}));
  EXPECT_EQ(Found("password: hunter22!"), (P{{"PASSWORD", "hunter22!"}}));
}

TEST(Pii, HardNegativesStayClean) {
  for (const char* text : {
           "See ticket 54a25ef4-6366-413f-9394-f736938dd100.",
           "Hash: bdd1b658d24bfc4ec94cc1282bc3764d0fd93581",
           "Build 7.27.25 passed all tests.",
           "Total: $69,168.86",
           "Gift card code 4111 1111 1111 1112",
           "The sample SSN 666-92-9581 is reserved.",
           "The sample SSN 433-70-0000 is reserved.",
           "Invoice 865197659522 is overdue.",
           "Please translate 'good morning' into French.",
           "std::string and a::b::c",
           "version 1.2.3.4 released on 2023-10-05 at 10:30:45",
           "ISBN 978-3-16-148410-0, price 1,234.56 EUR",
           "Build 4111-1111-1111-1112 failed",
       }) {
    EXPECT_EQ(Found(text), P{}) << text;
  }
}

TEST(Pii, LinearOnAdversarialInput) {
  // Many '@' and digits: each candidate is bounded, so this finishes quickly.
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "a@1.2-3 ";
  auto m = PiiDetector::Default().Detect(s);
  (void)m;
  std::string digits(100000, '1');
  EXPECT_TRUE(PiiDetector::Default().Detect(digits).empty());
}

}  // namespace
}  // namespace confide::guard
