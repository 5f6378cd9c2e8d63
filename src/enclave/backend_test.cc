#include "enclave/backend.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace confide::enclave {
namespace {

TEST(EnclaveBackend, ProcessIsTheDefaultAndUnknownNamesAreRefused) {
  ::unsetenv("CONFIDE_ENCLAVE_BACKEND");
  EXPECT_EQ(DefaultBackendName(), "process");
  auto process = NewEnclaveBackend("process");
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ((*process)->name(), "process");
  auto unknown = NewEnclaveBackend("kvm");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("available: process"), absl::string_view::npos);
}

TEST(EnclaveBackend, AnEmptyRunDirectoryHasNothingRunningOrExited) {
  std::string dir = ::testing::TempDir() + "/backend-empty";
  auto backend = NewProcessBackend(dir + "/run", dir + "/vsock");
  auto running = backend->Describe();
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->empty());
  EXPECT_TRUE(backend->Exits().empty());
  EXPECT_EQ(backend->Terminate("i-confide-enc0000000000000000").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(backend->ConsolePath("i-confide-enc0000000000000000").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace confide::enclave
