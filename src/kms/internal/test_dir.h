// Test-only helper shared by the kms tests that start a real server: a temporary data directory
// holding two identities (admin and parent) and a simulation root to trust for Recipient.
#ifndef CONFIDE_KMS_INTERNAL_TEST_DIR_H_
#define CONFIDE_KMS_INTERNAL_TEST_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "attest/emulated_nsm.h"

namespace confide::kms::internal {

inline constexpr char kTestAdminArn[] = "arn:aws:iam::111122223333:role/admin";
inline constexpr char kTestParentArn[] = "arn:aws:iam::111122223333:role/parent";

// TestKmsDir is a data directory with DIR/ids.toml and DIR/root.pem (the CA's root).
struct TestKmsDir {
  std::string dir;
  std::shared_ptr<attest::SimulationCa> ca;
};

// MakeTestKmsDir creates it under the system temp directory with `prefix`; an empty `dir` when
// the directory or the CA cannot be made.
inline TestKmsDir MakeTestKmsDir(const std::string& prefix) {
  TestKmsDir out;
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) return out;
  auto ca = attest::SimulationCa::Create(absl::Now());
  if (!ca.ok()) return out;
  out.ca = std::make_shared<attest::SimulationCa>(*std::move(ca));
  std::ofstream(tmpl + "/ids.toml") << "[[identity]]\n"
                                       "access_key_id = \"AKIAADMIN00000000001\"\n"
                                       "secret_access_key = \"admin-secret\"\n"
                                       "principal_arn = \""
                                    << kTestAdminArn
                                    << "\"\n"
                                       "[[identity]]\n"
                                       "access_key_id = \"AKIAPARENT0000000001\"\n"
                                       "secret_access_key = \"parent-secret\"\n"
                                       "principal_arn = \""
                                    << kTestParentArn << "\"\n";
  std::ofstream(tmpl + "/root.pem") << out.ca->RootPem();
  out.dir = tmpl;
  return out;
}

}  // namespace confide::kms::internal

#endif  // CONFIDE_KMS_INTERNAL_TEST_DIR_H_
