#include "config/duration.h"
#include "common/ascii.h"

#include <cctype>
#include <limits>

namespace pb::config {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads the decimal integer at text[i...]; false on overflow of uint64.
bool read_number(std::string_view text, std::size_t& i, std::uint64_t& value) {
  value = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  return true;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

constexpr char kDurationExamples[] = "is not a duration (examples: 250ms, 2s, 1m30s, 1h)";

}  // namespace

bool parse_duration(std::string_view text, Duration& out, std::string& why) {
  if (text.empty()) {
    why = "is empty";
    return false;
  }
  if (text[0] == '-') {
    why = "must not be negative";
    return false;
  }
  if (all_digits(text)) {
    why = "needs a unit: ms, s, m or h";
    return false;
  }
  // Units from largest to smallest; `rank` enforces that order.
  struct Unit {
    std::string_view name;
    std::int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
  constexpr auto kMax = std::numeric_limits<Duration::rep>::max();

  Duration::rep total = 0;
  int next_rank = 0;  // units with a smaller index are no longer allowed
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      why = kDurationExamples;
      return false;
    }
    std::uint64_t number = 0;
    if (!read_number(text, i, number)) {
      why = "is too large";
      return false;
    }
    if (i < text.size() && text[i] == '.') {
      why = "has a fraction; use a smaller unit instead (1500ms, not 1.5s)";
      return false;
    }
    const std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      why = i == text.size() ? "needs a unit: ms, s, m or h" : kDurationExamples;
      return false;
    }
    int rank = -1;
    for (int r = 0; r < 4; ++r) {
      if (kUnits[r].name == unit) rank = r;
    }
    if (rank < 0) {
      why = "has an unknown unit \"" + std::string(unit) + "\" (use ms, s, m or h)";
      return false;
    }
    if (rank < next_rank) {
      why = "lists its units out of order; write the largest first, each once (1h30m)";
      return false;
    }
    next_rank = rank + 1;
    const auto per = static_cast<std::uint64_t>(kUnits[rank].ms);
    if (number > static_cast<std::uint64_t>(kMax) / per) {
      why = "is too large";
      return false;
    }
    const auto part = static_cast<Duration::rep>(number * per);
    if (total > kMax - part) {
      why = "is too large";
      return false;
    }
    total += part;
  }
  out = Duration(total);
  return true;
}

bool parse_duration(const std::string& text, Duration& out) {
  std::string why;
  return parse_duration(std::string_view(text), out, why);
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out = ms < 0 ? "-" : "";
  // Unsigned negation so that the minimum value formats too.
  std::uint64_t rest = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  const std::uint64_t h = rest / 3600000;
  rest %= 3600000;
  const std::uint64_t m = rest / 60000;
  rest %= 60000;
  const std::uint64_t s = rest / 1000;
  rest %= 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (rest) out += std::to_string(rest) + "ms";
  return out;
}

bool parse_size(std::string_view text, std::uint64_t& out, std::string& why) {
  if (text.empty()) {
    why = "is empty";
    return false;
  }
  if (text[0] == '-') {
    why = "must not be negative";
    return false;
  }
  std::size_t i = 0;
  std::uint64_t number = 0;
  if (!is_digit(text[0])) {
    why = "is not a size (examples: 65536, 512KiB, 8MiB, 1GB)";
    return false;
  }
  if (!read_number(text, i, number)) {
    why = "is too large";
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    why = "has a fraction; use a smaller unit instead (1536KiB, not 1.5MiB)";
    return false;
  }
  std::string_view unit = text.substr(i);
  // One space may separate the number from its unit; a space alone is not a
  // unit ("1 " is refused like "1x").
  if (unit.size() > 1 && unit[0] == ' ') unit.remove_prefix(1);
  struct Unit {
    std::string_view name;
    std::uint64_t bytes;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"b", 1},
      {"kb", 1000},
      {"mb", 1000 * 1000},
      {"gb", 1000 * 1000 * 1000},
      {"kib", 1ull << 10},
      {"mib", 1ull << 20},
      {"gib", 1ull << 30},
  };
  const std::string name = lowercase(unit);
  for (const auto& u : kUnits) {
    if (u.name != name) continue;
    if (number > std::numeric_limits<std::uint64_t>::max() / u.bytes) {
      why = "is too large";
      return false;
    }
    out = number * u.bytes;
    return true;
  }
  why = "has an unknown unit \"" + std::string(unit) + "\" (use B, KiB, MiB, GiB, KB, MB or GB)";
  return false;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::pair<const char*, std::uint64_t> kUnits[] = {
      {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
  for (const auto& [name, size] : kUnits) {
    if (bytes != 0 && bytes % size == 0) return std::to_string(bytes / size) + name;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace pb::config
