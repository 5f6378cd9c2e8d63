// confide::llm model catalogue: the models `confide model pull` may download, each pinned by
// URL, size and SHA-256. Data only: nothing here touches the network.
#ifndef CONFIDE_LLM_CATALOG_H_
#define CONFIDE_LLM_CATALOG_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace confide::llm {

// CatalogEntry pins one downloadable model file. A download is accepted only if it is exactly
// `size` bytes long and its SHA-256 is `sha256_hex`.
struct CatalogEntry {
  std::string_view name;         // the NAME of `confide model pull NAME`; file NAME.gguf
  std::string_view url;          // https:// URL of the file
  uint64_t size = 0;             // bytes; also the hard cap of the download
  std::string_view sha256_hex;   // lower-case hex SHA-256 of the file
  std::string_view description;  // one line for `--list`
};

// ModelCatalog returns the built-in catalogue (every digest was verified against a copy of the
// file; the shared data's models/SOURCES.md records where each copy came from).
std::span<const CatalogEntry> ModelCatalog();

// FindCatalogEntry returns the entry named `name`, or nullptr when there is none.
const CatalogEntry* FindCatalogEntry(std::string_view name);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_CATALOG_H_
