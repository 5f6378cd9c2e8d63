// confide::llm::internal Unicode helpers for the tokenizers: lenient UTF-8 decoding and the
// general-category classes that the pre-tokenizer patterns use (\p{L}, \p{N}, \s, ...).
#ifndef CONFIDE_LLM_INTERNAL_UNICODE_H_
#define CONFIDE_LLM_INTERNAL_UNICODE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace confide::llm::internal {

// Category flags (one per code point, from the major general category). Values must match
// scripts/gen_unicode_tables.py.
inline constexpr uint8_t kCatNumber = 0x01;     // \p{N}
inline constexpr uint8_t kCatLetter = 0x02;     // \p{L}
inline constexpr uint8_t kCatSeparator = 0x04;  // \p{Z}
inline constexpr uint8_t kCatMark = 0x08;       // \p{M}
inline constexpr uint8_t kCatPunct = 0x10;      // \p{P}
inline constexpr uint8_t kCatSymbol = 0x20;     // \p{S}
inline constexpr uint8_t kCatControl = 0x40;    // \p{C} except unassigned
inline constexpr uint8_t kCatUndefined = 0x80;  // Cn (unassigned)

// kInvalidCodepoint marks a byte that does not start a valid UTF-8 sequence; it is classified
// like U+FFFD (a symbol) and always spans one byte.
inline constexpr uint32_t kInvalidCodepoint = 0xFFFFFFFFu;

// CategoryOf returns the category flag of `cp` (kCatSymbol for kInvalidCodepoint, kCatUndefined
// beyond U+10FFFF).
uint8_t CategoryOf(uint32_t cp);

// IsWhitespace returns true for the Unicode White_Space code points (what \s matches in the
// Rust/Oniguruma regex engines used by Hugging Face tokenizers).
bool IsWhitespace(uint32_t cp);

// Codepoint is one decoded character with the byte range it occupies.
struct Codepoint {
  uint32_t cp;      // the scalar value, or kInvalidCodepoint
  uint32_t offset;  // byte offset in the text
  uint32_t length;  // bytes (1..4)
};

// DecodeUtf8 splits `text` into code points. Invalid, overlong, surrogate or truncated
// sequences yield one kInvalidCodepoint per byte, so the byte ranges always tile the text.
std::vector<Codepoint> DecodeUtf8(std::string_view text);

// IsValidUtf8 returns true when `text` is well-formed UTF-8 (no surrogates, no overlongs).
bool IsValidUtf8(std::string_view text);

// AppendUtf8 appends the UTF-8 encoding of `cp` (which must be a scalar value) to `out`.
void AppendUtf8(uint32_t cp, std::string* out);

}  // namespace confide::llm::internal

#endif  // CONFIDE_LLM_INTERNAL_UNICODE_H_
