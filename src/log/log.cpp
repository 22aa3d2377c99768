#include "log/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>

#include "common/mutex.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace pb::log {
namespace {

std::atomic<int> g_format{static_cast<int>(Format::kText)};
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_access{true};

// Where lines go (set_sink), and one line at a time: the lock is held while
// a line is written, so that lines of different threads never interleave.
struct Sink {
  Mutex mu;
  std::function<void(std::string_view)> fn PB_GUARDED_BY(mu);
};
Sink& sink() {
  static Sink s;
  return s;
}

const char* level_name(Level l, bool upper) {
  switch (l) {
    case Level::kDebug:
      return upper ? "DEBUG" : "debug";
    case Level::kInfo:
      return upper ? "INFO" : "info";
    case Level::kWarn:
      return upper ? "WARN" : "warn";
    case Level::kError:
      return upper ? "ERROR" : "error";
  }
  return "?";
}

// Escapes for a JSON string body (also used, quoted, in text format):
// control characters as \u00XX, invalid UTF-8 as U+FFFD.
void escape_into(std::string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (std::size_t n = utf8_sequence_length(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

void value_into(std::string& out, const Value& v, bool json) {
  switch (v.kind()) {
    case Value::Kind::kString:
      if (json || needs_quotes(v.text())) {
        out += '"';
        escape_into(out, v.text());
        out += '"';
      } else {
        out.append(v.text());
      }
      break;
    case Value::Kind::kInt:
      out += std::to_string(v.integer());
      break;
    case Value::Kind::kDouble: {
      if (!std::isfinite(v.number())) {
        out += json ? "null" : "NaN";
        break;
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", v.number());
      out += buf;
      break;
    }
    case Value::Kind::kBool:
      out += v.integer() ? "true" : "false";
      break;
  }
}

// Field keys are pollbridge's own names; escaped all the same.
void key_into(std::string& out, std::string_view key, bool json) {
  if (json) {
    out += '"';
    escape_into(out, key);
    out += '"';
    return;
  }
  for (char c : key) {
    out += (static_cast<unsigned char>(c) <= 0x20 || c == '=' || c == '"') ? '_' : c;
  }
}

}  // namespace

void configure(Format f, Level l) {
  g_format.store(static_cast<int>(f));
  g_level.store(static_cast<int>(l));
}

Format format() {
  return static_cast<Format>(g_format.load());
}

Level level() {
  return static_cast<Level>(g_level.load());
}

bool enabled(Level l) {
  return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed);
}

void set_access(bool on) {
  g_access.store(on);
}

bool access_enabled() {
  return g_access.load(std::memory_order_relaxed) && enabled(Level::kInfo);
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "text") {
    out = Format::kText;
  } else if (text == "json") {
    out = Format::kJson;
  } else {
    return false;
  }
  return true;
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") {
    out = Level::kDebug;
  } else if (text == "info") {
    out = Level::kInfo;
  } else if (text == "warn" || text == "warning") {
    out = Level::kWarn;
  } else if (text == "error") {
    out = Level::kError;
  } else {
    return false;
  }
  return true;
}

std::string format_line(Format f, Level l, std::string_view ts, std::string_view msg,
                        Fields fields) {
  std::string out;
  out.reserve(96 + msg.size());
  if (f == Format::kJson) {
    out += "{\"ts\":\"";
    out.append(ts);
    out += "\",\"level\":\"";
    out += level_name(l, false);
    out += "\",\"msg\":\"";
    escape_into(out, msg);
    out += '"';
    for (const Field& fl : fields) {
      out += ',';
      key_into(out, fl.key, true);
      out += ':';
      value_into(out, fl.value, true);
    }
    out += '}';
    return out;
  }
  out.append(ts);
  out += ' ';
  out += level_name(l, true);
  out += ' ';
  // The message is pollbridge's own text, but keep it on one line whatever.
  std::string m;
  escape_into(m, msg);
  out += m;
  for (const Field& fl : fields) {
    out += ' ';
    key_into(out, fl.key, false);
    out += '=';
    value_into(out, fl.value, false);
  }
  return out;
}

void write(Level l, std::string_view msg, Fields fields) {
  if (!enabled(l)) return;
  std::string line = format_line(format(), l, iso8601(SystemClock::now()), msg, fields);
  line += '\n';
  Sink& out = sink();
  MutexLock lock(out.mu);
  if (out.fn) {
    line.pop_back();
    out.fn(line);
    return;
  }
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(STDERR_FILENO, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report it
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
}

void announce(std::string_view text, std::string_view msg, Fields fields) {
  std::string line =
      format() == Format::kJson
          ? format_line(Format::kJson, Level::kInfo, iso8601(SystemClock::now()), msg, fields)
          : std::string(text);
  line += '\n';
  MutexLock lock(sink().mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void set_sink(std::function<void(std::string_view)> s) {
  Sink& out = sink();
  MutexLock lock(out.mu);
  out.fn = std::move(s);
}

}  // namespace pb::log
