// pollbridge's log: one line per event on stderr, as text for a terminal or
// as one JSON object per line for a collector, with fields rather than
// interpolated text.
//
//   log::info("stream went stale", {{"stream", name}, {"reason", why}, {"status", 503}});
//
// text:  2026-12-01T20:01:34.123Z INFO stream went stale stream=orders reason="cannot connect"
// json:  {"ts":"2026-12-01T20:01:34.123Z","level":"info","msg":"stream went stale",...}
//
// Each line is written with one write(2) under a mutex, unbuffered, so that
// journald and `kubectl logs` get it at once and lines never interleave.
// Values are escaped (control characters, quotes, invalid UTF-8), so nothing a
// client or an upstream sends can forge a line or a field.
//
// Why not spdlog (Debian has libspdlog-dev): pollbridge needs exactly two
// fixed formats with typed fields and escaping of hostile bytes; spdlog's
// pattern formatting would still need the field encoding written here.
//
// Threads: every function may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace pb::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

// A field's value: text, an integer, a number or a flag.
class Value {
 public:
  enum class Kind { kString, kInt, kDouble, kBool };

  Value(const char* s) : kind_(Kind::kString), text_(s ? s : "") {}
  Value(std::string_view s) : kind_(Kind::kString), text_(s) {}
  Value(const std::string& s) : kind_(Kind::kString), text_(s) {}
  Value(bool b) : kind_(Kind::kBool), int_(b) {}
  Value(double d) : kind_(Kind::kDouble), double_(d) {}
  template <typename T,
            typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  Value(T i) : kind_(Kind::kInt), int_(static_cast<std::int64_t>(i)) {}

  Kind kind() const { return kind_; }
  std::string_view text() const { return text_; }
  std::int64_t integer() const { return int_; }
  double number() const { return double_; }

 private:
  Kind kind_;
  std::string_view text_;
  std::int64_t int_ = 0;
  double double_ = 0;
};

struct Field {
  std::string_view key;
  Value value;
};

using Fields = std::initializer_list<Field>;

// Sets the format and the least level written. Default: text, info.
void configure(Format format, Level level);
Format format();
Level level();
bool enabled(Level level);

// The SSE access log (a line per connect and disconnect, at info): on
// unless log.access is false.
void set_access(bool on);
bool access_enabled();

// Parses "text"/"json" and "debug"/"info"/"warn"/"error"; false if unknown.
bool parse_format(std::string_view text, Format& out);
bool parse_level(std::string_view text, Level& out);

void write(Level level, std::string_view msg, Fields fields = {});
inline void debug(std::string_view msg, Fields fields = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, msg, fields);
}
inline void info(std::string_view msg, Fields fields = {}) {
  write(Level::kInfo, msg, fields);
}
inline void warn(std::string_view msg, Fields fields = {}) {
  write(Level::kWarn, msg, fields);
}
inline void error(std::string_view msg, Fields fields = {}) {
  write(Level::kError, msg, fields);
}

// A line on stdout, for whoever reads it (scripts and tests read the
// "listening on" lines there): `text` with the text format; with the JSON
// format the same as a log line of `msg` and `fields` at info, so that every
// line pollbridge writes is one JSON object.
void announce(std::string_view text, std::string_view msg, Fields fields = {});

// The line a call would write (without the trailing newline), for tests.
std::string format_line(Format format, Level level, std::string_view ts, std::string_view msg,
                        Fields fields);

// Replaces where lines go (tests); an empty function restores stderr.
void set_sink(std::function<void(std::string_view line)> sink);

}  // namespace pb::log
