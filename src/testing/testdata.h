// confide::testing: access to ../shared/testdata and ../shared/models from tests.
//
// Tests that need shared data call CONFIDE_SHARED_FILE_OR_SKIP; when the file is absent the
// test is skipped with a message naming the missing path (CI always has the data).
#ifndef CONFIDE_TESTING_TESTDATA_H_
#define CONFIDE_TESTING_TESTDATA_H_

#include <filesystem>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace confide::testing {

// SharedDir returns the shared data directory: $CONFIDE_SHARED_DIR, else the path configured at
// build time (the repository's ../shared).
std::filesystem::path SharedDir();

// SharedPath returns SharedDir() / `relative`.
std::filesystem::path SharedPath(const std::string& relative);

// ReadFile returns the bytes of `path`, or nullopt if it cannot be read.
std::optional<Bytes> ReadFile(const std::filesystem::path& path);

// ReadJson parses the JSON file at `path`; nullopt if it is missing or malformed.
std::optional<nlohmann::json> ReadJson(const std::filesystem::path& path);

// HexToBytes decodes hex or aborts the test binary (test vectors are trusted input).
Bytes HexToBytes(const std::string& hex);

}  // namespace confide::testing

// CONFIDE_SHARED_FILE_OR_SKIP(var, "testdata/x/y.json") declares `var` as the path of the shared
// file, skipping the test with a clear message when it does not exist.
#define CONFIDE_SHARED_FILE_OR_SKIP(var, relative)                                        \
  const std::filesystem::path var = ::confide::testing::SharedPath(relative);             \
  if (!std::filesystem::exists(var)) {                                                    \
    GTEST_SKIP() << "shared test data not found: " << var.string()                        \
                 << " (set CONFIDE_SHARED_DIR or place ../shared beside the repository)"; \
  }

#endif  // CONFIDE_TESTING_TESTDATA_H_
