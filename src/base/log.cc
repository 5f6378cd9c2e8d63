#include "base/log.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace confide::log {
namespace {

constexpr size_t kMaxIdentifierLen = 256;
constexpr size_t kMaxStatusMessageLen = 512;

struct State {
  std::mutex mu;
  Sink sink;
  Level level = Level::kInfo;
  bool level_from_env_done = false;
};

State& GetState() {
  static State* state = new State();  // never destroyed: logging works during shutdown
  return *state;
}

Level LevelFromEnv() {
  const char* env = std::getenv("CONFIDE_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  std::string_view v(env);
  if (v == "debug") return Level::kDebug;
  if (v == "warning") return Level::kWarning;
  if (v == "error") return Level::kError;
  return Level::kInfo;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "unknown";
}

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '@' || c == '+' || c == '=' || c == ',' ||
         c == '-';
}

}  // namespace

SafeText SafeText::Identifier(std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxIdentifierLen;
  for (char c : id) {
    ok = ok && IsIdentifierChar(c);
  }
  if (!ok) {
    return SafeText(absl::StrCat("<rejected-identifier len=", id.size(), ">"));
  }
  return SafeText(std::string(id));
}

std::string_view SafeText::view() const {
  if (const auto* sv = std::get_if<std::string_view>(&text_)) return *sv;
  return std::get<std::string>(text_);
}

Field::Field(Literal key, const absl::Status& status) : key_(key) {
  std::string rendered(absl::StatusCodeToString(status.code()));
  if (!status.ok()) {
    std::string msg(status.message());
    if (msg.size() > kMaxStatusMessageLen) msg.resize(kMaxStatusMessageLen);
    absl::StrAppend(&rendered, ": ", msg);
  }
  value_ = std::move(rendered);
}

void JsonEscape(std::string_view s, std::string& out) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
}

void Field::AppendJson(std::string& out) const {
  out.push_back('"');
  JsonEscape(key(), out);
  out += "\":";
  std::visit(
      [&out](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, uint64_t>) {
          absl::StrAppend(&out, v);
        } else if constexpr (std::is_same_v<V, double>) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.6g", v);
          out += buf;
        } else if constexpr (std::is_same_v<V, SafeText>) {
          out.push_back('"');
          JsonEscape(v.view(), out);
          out.push_back('"');
        } else {
          out.push_back('"');
          JsonEscape(v, out);
          out.push_back('"');
        }
      },
      value_);
}

void SetSink(Sink sink) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.sink = std::move(sink);
}

void SetLevel(Level level) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.level = level;
  s.level_from_env_done = true;
}

bool Enabled(Level level) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.level_from_env_done) {
    s.level = LevelFromEnv();
    s.level_from_env_done = true;
  }
  return level >= s.level;
}

void Emit(Level level, Literal event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string line =
      absl::StrCat("{\"ts_ms\":", ms, ",\"level\":\"", LevelName(level), "\",\"event\":\"");
  JsonEscape(event.view(), line);
  line.push_back('"');
  for (const Field& f : fields) {
    line.push_back(',');
    f.AppendJson(line);
  }
  line.push_back('}');

  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.sink) {
    s.sink(line);
  } else {
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace confide::log
