#include "proxy/allowlist.h"

#include <string>

#include "gtest/gtest.h"

namespace confide::proxy {
namespace {

// The default file shipped with aws-nitro-enclaves-cli (bootstrap/vsock-proxy.yaml), trimmed to
// three regions: flow mappings under a top-level key, with a comment.
constexpr char kNitroDefault[] =
    "# List of allowed endpoints for the vsock-proxy\n"
    "allowlist:\n"
    "- {address: kms.us-east-1.amazonaws.com, port: 443}\n"
    "- {address: kms-fips.us-east-1.amazonaws.com, port: 443}\n"
    "- {address: kms.eu-west-1.amazonaws.com, port: 443}\n";

TEST(Allowlist, ParsesNitroDefaultFile) {
  auto l = ParseAllowlist(kNitroDefault);
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[1], (AllowlistEntry{"kms-fips.us-east-1.amazonaws.com", 443}));
  EXPECT_TRUE(IsAllowed(*l, "KMS.us-east-1.amazonaws.com", 443).ok());
  EXPECT_EQ(IsAllowed(*l, "kms.us-east-1.amazonaws.com", 80).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(IsAllowed(*l, "evil.example", 443).code(), absl::StatusCode::kPermissionDenied);
}

TEST(Allowlist, ParsesBlockMappingsQuotesAndComments) {
  auto l = ParseAllowlist(
      "allowlist:   # trailing comment\n"
      "  - address: \"127.0.0.1\"\n"
      "    port: 8443\n"
      "\n"
      "  - port: '443'\n"
      "    address: kms.local # why\n"
      "  - {port: 1, address: ::1}\r\n");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0], (AllowlistEntry{"127.0.0.1", 8443}));
  EXPECT_EQ((*l)[1], (AllowlistEntry{"kms.local", 443}));
  EXPECT_EQ((*l)[2], (AllowlistEntry{"::1", 1}));
  auto back = ParseAllowlist(EncodeAllowlist(*l));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *l);
}

TEST(Allowlist, EmptyListAllowsNothing) {
  auto l = ParseAllowlist("allowlist: []\n");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
  EXPECT_FALSE(IsAllowed(*l, "a", 1).ok());
  auto l2 = ParseAllowlist("allowlist:\n");
  ASSERT_TRUE(l2.ok());
  EXPECT_TRUE(l2->empty());
}

TEST(Allowlist, RefusesEverythingOutsideTheSubset) {
  const char* bad[] = {
      "",
      "# only a comment\n",
      "other: 1\n",
      "allowlist:\nother: 1\n",
      "---\nallowlist:\n",
      "allowlist:\n- {address: a, port: 443}\n---\n",
      "allowlist:\n\t- {address: a, port: 443}\n",
      "allowlist:\n- {address: a}\n",
      "allowlist:\n- {port: 443}\n",
      "allowlist:\n- {address: a, port: 443, extra: 1}\n",
      "allowlist:\n- {address: a, address: b, port: 443}\n",
      "allowlist:\n- {address: a, port: 443,}\n",
      "allowlist:\n- {address: a, port: 443\n",
      "allowlist:\n- {address: a, port: 0}\n",
      "allowlist:\n- {address: a, port: 65536}\n",
      "allowlist:\n- {address: a, port: -1}\n",
      "allowlist:\n- {address: a, port: 0x1bb}\n",
      "allowlist:\n- {address: a, port: 4430000}\n",
      "allowlist:\n- {address: a/b, port: 443}\n",
      "allowlist:\n- {address: 'a\"b', port: 443}\n",
      "allowlist:\n- {address: \"a, port: 443}\n",
      "allowlist:\n- {address: &x a, port: 443}\n",
      "allowlist:\n- {address: !!str a, port: 443}\n",
      "allowlist:\n- address: a\n   port: 443\n",
      "allowlist:\n- address: a\n  - port: 443\n",
      "allowlist:\n  - {address: a, port: 1}\n - {address: b, port: 2}\n",
      "allowlist:\n- address: a\n",
      "allowlist:\n-\n",
      "allowlist:\n- [a, 443]\n",
      "allowlist: []\n- {address: a, port: 1}\n",
      "allowlist:\n- {address: \xc3\xa9, port: 443}\n",
      " allowlist:\n",
  };
  int n = 0;
  for (const char* y : bad) {
    auto l = ParseAllowlist(y);
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument) << "accepted: " << y;
    ++n;
  }
  EXPECT_EQ(n, 32);
}

TEST(Allowlist, EnforcesCaps) {
  std::string big = "allowlist:\n";
  for (size_t i = 0; i <= kMaxAllowlistEntries; ++i) big += "- {address: a, port: 1}\n";
  EXPECT_FALSE(ParseAllowlist(big).ok());
  EXPECT_FALSE(ParseAllowlist(std::string(kMaxAllowlistBytes + 1, '#')).ok());
  std::string long_addr =
      "allowlist:\n- {address: " + std::string(kMaxAddressLen + 1, 'a') + ", port: 1}\n";
  EXPECT_FALSE(ParseAllowlist(long_addr).ok());
  std::string max_addr =
      "allowlist:\n- {address: " + std::string(kMaxAddressLen, 'a') + ", port: 65535}\n";
  EXPECT_TRUE(ParseAllowlist(max_addr).ok());
}

}  // namespace
}  // namespace confide::proxy
