// confide::log: structured JSON-lines logging that is hard to misuse for payloads.
//
// An event is a compile-time string literal plus typed fields. A field value can be an
// integer, a bool, a Status (its code and our own message), or SafeText, which is either a
// string literal or an identifier that passed a strict character check (key ids, ARNs, module
// ids). There is no overload for std::string, string_view, const char* or byte spans, so a
// prompt, a document, a key or a token cannot be logged by accident: log sizes and ids.
//
//   log::Info("kms.decrypt", {{"key_id", log::SafeText::Identifier(key_id)},
//                             {"ciphertext_len", ciphertext.size()}});
//
// Output goes to stderr by default, one JSON object per line; SetSink redirects it (tests use
// this to search every line for planted canaries). The level threshold comes from
// CONFIDE_LOG_LEVEL (debug|info|warning|error; default info) or SetLevel. Thread-safe.
#ifndef CONFIDE_BASE_LOG_H_
#define CONFIDE_BASE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "absl/status/status.h"

namespace confide::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Literal is a string known at compile time. Its constructor is consteval, so only string
// literals (and other constant expressions) convert to it.
class Literal {
 public:
  template <size_t N>
  consteval Literal(const char (&s)[N]) : text_(s, N - 1) {}  // NOLINT: implicit on purpose
  std::string_view view() const { return text_; }

 private:
  std::string_view text_;
};

// SafeText is text that may appear in a log line.
class SafeText {
 public:
  // SafeText(literal) takes a compile-time string literal.
  template <size_t N>
  consteval SafeText(const char (&s)[N]) : text_(std::string_view(s, N - 1)) {}  // NOLINT
  // Identifier admits `id` if it is at most 256 characters of [A-Za-z0-9._:/@+=,-]; anything
  // else is logged as "<rejected-identifier len=N>", never verbatim.
  static SafeText Identifier(std::string_view id);

  std::string_view view() const;

 private:
  explicit SafeText(std::string owned) : text_(std::move(owned)) {}
  std::variant<std::string_view, std::string> text_;
};

// Field is one key/value of an event. Keys are literals; values are typed as above.
class Field {
 public:
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>)
      Field(Literal key, T value)
      : key_(key), value_(Widen(value)) {}
  template <typename T>
  requires std::is_same_v<T, bool> Field(Literal key, T value) : key_(key), value_(value) {}
  Field(Literal key, double value) : key_(key), value_(value) {}
  Field(Literal key, SafeText value) : key_(key), value_(std::move(value)) {}
  // A Status logs as its code name and its message. confide's own status messages never carry
  // payloads (CONVENTIONS.md); control characters are escaped and the message is capped.
  Field(Literal key, const absl::Status& status);

  std::string_view key() const { return key_.view(); }
  // AppendJson appends `"key":value` to `out`.
  void AppendJson(std::string& out) const;

 private:
  template <typename T>
  static std::variant<int64_t, uint64_t, bool, double, SafeText, std::string> Widen(T v) {
    if constexpr (std::is_signed_v<T>) {
      return static_cast<int64_t>(v);
    } else {
      return static_cast<uint64_t>(v);
    }
  }
  Literal key_;
  // std::string holds a pre-rendered status.
  std::variant<int64_t, uint64_t, bool, double, SafeText, std::string> value_;
};

using Sink = std::function<void(std::string_view line)>;

// SetSink routes every log line (without trailing newline) to `sink`; nullptr restores stderr.
void SetSink(Sink sink);
// SetLevel sets the minimum level that is emitted.
void SetLevel(Level level);
// Enabled returns whether an event at `level` would be emitted.
bool Enabled(Level level);

// Emit writes one event. Prefer the level helpers below.
void Emit(Level level, Literal event, std::initializer_list<Field> fields);

inline void Debug(Literal event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kDebug, event, fields);
}
inline void Info(Literal event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kInfo, event, fields);
}
inline void Warning(Literal event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kWarning, event, fields);
}
inline void Error(Literal event, std::initializer_list<Field> fields = {}) {
  Emit(Level::kError, event, fields);
}

// JsonEscape appends `s` to `out` as the body of a JSON string (no quotes).
void JsonEscape(std::string_view s, std::string& out);

}  // namespace confide::log

#endif  // CONFIDE_BASE_LOG_H_
