#include "common/time_format.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace pb {

std::int64_t unix_ms(SystemClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemClock::time_point from_unix_ms(std::int64_t ms) {
  return SystemClock::time_point(std::chrono::milliseconds(ms));
}

std::string iso8601(SystemClock::time_point t) {
  std::int64_t ms = unix_ms(t);
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string http_date(SystemClock::time_point t) {
  std::time_t secs = SystemClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<SystemClock::time_point> parse_http_date(const std::string& text) {
  // strptime's %a/%b are locale-dependent; pollbridge never changes the
  // C locale, where they are the English names HTTP uses.
  static const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %e %H:%M:%S %Y",       // asctime
  };
  for (const char* fmt : kFormats) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), fmt, &tm);
    if (end != nullptr && *end == '\0') {
      std::time_t t = timegm(&tm);
      if (t == static_cast<std::time_t>(-1)) continue;
      return SystemClock::from_time_t(t);
    }
  }
  return std::nullopt;
}

const std::string& http_date_now() {
  thread_local std::int64_t second = -1;
  thread_local std::string text;
  const auto now = SystemClock::now();
  const std::int64_t s = unix_ms(now) / 1000;
  if (s != second) {
    second = s;
    text = http_date(now);
  }
  return text;
}

}  // namespace pb
