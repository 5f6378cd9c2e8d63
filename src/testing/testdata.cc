#include "testing/testdata.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "base/encoding.h"

namespace confide::testing {

std::filesystem::path SharedDir() {
  if (const char* env = std::getenv("CONFIDE_SHARED_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef CONFIDE_SHARED_DIR
  return CONFIDE_SHARED_DIR;
#else
  return "../shared";
#endif
}

std::filesystem::path SharedPath(const std::string& relative) { return SharedDir() / relative; }

std::optional<Bytes> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<nlohmann::json> ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

Bytes HexToBytes(const std::string& hex) {
  auto b = base::HexDecode(hex);
  if (!b.ok()) {
    ADD_FAILURE() << "bad hex in test vector: " << b.status();
    return {};
  }
  return *std::move(b);
}

}  // namespace confide::testing
