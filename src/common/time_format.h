// Time conversions shared by the modules. Pure; callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace pb {

using SystemClock = std::chrono::system_clock;

std::int64_t unix_ms(SystemClock::time_point t);
SystemClock::time_point from_unix_ms(std::int64_t ms);

// RFC 3339 UTC with milliseconds: 2026-11-22T10:00:00.123Z
std::string iso8601(SystemClock::time_point t);

// RFC 9110 IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
std::string http_date(SystemClock::time_point t);
// http_date() of now, for a response's Date field (RFC 9110 6.6.1): made
// once a second per thread, so that every answer can carry it cheaply.
const std::string& http_date_now();
// Parses IMF-fixdate and the two obsolete forms RFC 9110 requires recipients
// to accept (RFC 850, asctime). nullopt if none matches.
std::optional<SystemClock::time_point> parse_http_date(const std::string& text);

}  // namespace pb
