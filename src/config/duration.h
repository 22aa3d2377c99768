// Duration and byte-size text as written in the config file.
//
// Pure; callable from any thread. parse_duration(text, out) itself is
// declared in config.h; this header adds the variants that explain a failure
// and the inverse formatting used in messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

namespace pb::config {

// Grammar: one or more <digits><unit> groups, unit one of h, m, s, ms, the
// largest unit first and each unit at most once ("1h30m", "1m30s", "250ms").
// No sign, no fraction, no spaces. On failure returns false, leaves `out`
// alone and sets `why` to a phrase that reads after the quoted text, e.g.
// `needs a unit: ms, s, m or h`.
bool parse_duration(std::string_view text, Duration& out, std::string& why);

// The canonical text parse_duration() reads back as `d`: each non-zero unit
// once, largest first ("0s", "250ms", "1m30s", "1h"; 90 s is "1m30s", not
// "90s"). Negative durations are written with a leading '-'.
std::string format_duration(Duration d);

// Byte sizes: a plain integer (bytes) or an integer followed by B, KB, MB,
// GB (powers of 1000) or KiB, MiB, GiB (powers of 1024); units are
// case-insensitive and may be preceded by one space. On failure returns
// false and sets `why` like parse_duration().
bool parse_size(std::string_view text, std::uint64_t& out, std::string& why);

// "8MiB", "1500B"-style text for messages: the largest binary unit that
// divides `bytes` exactly.
std::string format_size(std::uint64_t bytes);

}  // namespace pb::config
