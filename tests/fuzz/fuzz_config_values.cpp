// Config values as written in the YAML file (src/config/duration.h, url.h,
// env.h). Every input is tried as each kind of value.
//
// Properties:
//  - parse_duration() accepts exactly the documented grammar (one or more
//    <digits><unit> groups, units h, m, s, ms largest first and each once,
//    a total that fits), with the value the grammar gives; a refusal says why
//    and leaves the output alone. format_duration() of any non-negative
//    duration reads back as that duration, and is a fixed point.
//  - parse_size() likewise (an integer, then optionally one space and one of
//    B, KB, MB, GB, KiB, MiB, GiB in any case); format_size() of any size
//    reads back as that size, with the largest binary unit dividing it.
//  - parse_url(): an accepted URL has an http(s) scheme, a host of host
//    characters or a valid IPv6 address, a port in 1..65535 or none, a target
//    starting with '/' that holds only URL characters, well-formed
//    %-escapes and the {placeholders} it reports, no '#'; the URL rebuilt
//    from its parts parses to the same parts, and the input ends with the
//    target.
//  - expand_env(): built from pieces whose expansion is known (literal text
//    escaped with "$${", ${NAME}, ${NAME:-default}, unset and invalid
//    references), the output is exactly the expected text and there is one
//    problem per bad reference; a variable's value is never expanded again.
//    On arbitrary text: text without "${" comes back unchanged, and no
//    problem is empty.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "config/duration.h"
#include "config/env.h"
#include "config/url.h"
#include "fuzz_check.h"

namespace {

using pb::config::Duration;
using pb::fuzz::printable;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads [0-9]+ at t[i...]; the value saturates at 2^70 (too large for
// anything), so the caller needs no overflow check of its own.
std::optional<unsigned __int128> digits(std::string_view t, std::size_t& i) {
  constexpr unsigned __int128 kSaturated = static_cast<unsigned __int128>(1) << 70;
  const std::size_t start = i;
  unsigned __int128 v = 0;
  for (; i < t.size() && is_digit(t[i]); ++i) {
    v = v * 10 + static_cast<unsigned>(t[i] - '0');
    if (v > kSaturated) v = kSaturated;
  }
  if (i == start) return std::nullopt;
  return v;
}

// --- durations ------------------------------------------------------------

// The duration grammar of duration.h, written out independently.
std::optional<std::int64_t> reference_duration(std::string_view t) {
  static constexpr std::string_view kNames[] = {"h", "m", "s", "ms"};
  static constexpr std::int64_t kMs[] = {3600000, 60000, 1000, 1};
  if (t.empty()) return std::nullopt;
  unsigned __int128 total = 0;
  int next_rank = 0;
  std::size_t i = 0;
  while (i < t.size()) {
    auto n = digits(t, i);
    if (!n) return std::nullopt;
    int rank = -1;
    if (t.substr(i, 2) == "ms") {
      rank = 3;
    } else if (i < t.size()) {
      for (int r = 0; r < 3; ++r) {
        if (t[i] == kNames[r][0]) rank = r;
      }
    }
    if (rank < next_rank) return std::nullopt;  // no unit, unknown, or out of order
    i += kNames[rank].size();
    next_rank = rank + 1;
    total += *n * static_cast<unsigned __int128>(kMs[rank]);
    if (total > static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
  }
  return static_cast<std::int64_t>(total);
}

void check_duration(std::string_view text, FuzzedDataProvider& in) {
  Duration d{-12345};
  std::string why;
  const bool ok = pb::config::parse_duration(text, d, why);
  const auto want = reference_duration(text);
  PB_FUZZ_CHECK(ok == want.has_value(), printable(text) + (ok ? " accepted" : " refused: " + why));
  if (!ok) {
    PB_FUZZ_CHECK(!why.empty() && d == Duration{-12345}, printable(text));
  } else {
    PB_FUZZ_CHECK(d.count() == *want, printable(text) + " read as " + std::to_string(d.count()));
  }

  // Any duration the loader might print reads back.
  const Duration any{
      in.ConsumeIntegralInRange<std::int64_t>(0, std::numeric_limits<std::int64_t>::max())};
  const std::string formatted = pb::config::format_duration(any);
  Duration back{-1};
  PB_FUZZ_CHECK(pb::config::parse_duration(formatted, back, why) && back == any,
                std::to_string(any.count()) + " -> " + printable(formatted));
  PB_FUZZ_CHECK(pb::config::format_duration(back) == formatted, printable(formatted));
}

// --- sizes ----------------------------------------------------------------

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The size grammar of duration.h, written out independently.
std::optional<std::uint64_t> reference_size(std::string_view t) {
  std::size_t i = 0;
  auto n = digits(t, i);
  if (!n) return std::nullopt;
  std::string_view unit = t.substr(i);
  std::uint64_t per = 0;
  if (unit.empty()) {
    per = 1;
  } else {
    if (unit[0] == ' ') unit.remove_prefix(1);
    const std::string u = lowered(unit);
    if (u == "b") per = 1;
    if (u == "kb") per = 1000;
    if (u == "mb") per = 1000 * 1000;
    if (u == "gb") per = 1000 * 1000 * 1000;
    if (u == "kib") per = 1 << 10;
    if (u == "mib") per = 1 << 20;
    if (u == "gib") per = 1 << 30;
    if (per == 0) return std::nullopt;
  }
  const unsigned __int128 bytes = *n * per;
  if (bytes > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

void check_size(std::string_view text, FuzzedDataProvider& in) {
  std::uint64_t bytes = 12345;
  std::string why;
  const bool ok = pb::config::parse_size(text, bytes, why);
  const auto want = reference_size(text);
  PB_FUZZ_CHECK(ok == want.has_value(), printable(text) + (ok ? " accepted" : " refused: " + why));
  if (!ok) {
    PB_FUZZ_CHECK(!why.empty(), printable(text));
  } else {
    PB_FUZZ_CHECK(bytes == *want, printable(text) + " read as " + std::to_string(bytes));
  }

  const std::uint64_t any = in.ConsumeIntegral<std::uint64_t>();
  const std::string formatted = pb::config::format_size(any);
  std::uint64_t back = 0;
  PB_FUZZ_CHECK(pb::config::parse_size(formatted, back, why) && back == any,
                std::to_string(any) + " -> " + printable(formatted));
  std::uint64_t unit = 1;
  for (std::uint64_t u : {1ull << 30, 1ull << 20, 1ull << 10}) {
    if (any != 0 && any % u == 0) {
      unit = u;
      break;
    }
  }
  const std::string suffix = unit == 1           ? "B"
                             : unit == (1 << 10) ? "KiB"
                             : unit == (1 << 20) ? "MiB"
                                                 : "GiB";
  PB_FUZZ_CHECK(formatted == std::to_string(any / unit) + suffix,
                std::to_string(any) + " -> " + printable(formatted));
}

// --- URLs -----------------------------------------------------------------

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void check_url(std::string_view text) {
  pb::config::UrlParts parts;
  std::string why;
  if (!pb::config::parse_url(text, parts, why)) {
    PB_FUZZ_CHECK(!why.empty(), printable(text));
    return;
  }
  const std::string detail = printable(text);
  PB_FUZZ_CHECK(parts.scheme == "http" || parts.scheme == "https", detail);
  PB_FUZZ_CHECK(!parts.host.empty(), detail);
  const bool ipv6 = parts.host.find(':') != std::string::npos;
  if (ipv6) {
    unsigned char address[16];
    PB_FUZZ_CHECK(inet_pton(AF_INET6, parts.host.c_str(), address) == 1,
                  detail + ": host " + printable(parts.host) + " is not an IPv6 address");
  } else {
    for (char c : parts.host) {
      PB_FUZZ_CHECK(is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~', detail);
    }
  }
  PB_FUZZ_CHECK(parts.port >= 0 && parts.port <= 65535, detail);
  PB_FUZZ_CHECK(!parts.target.empty() && parts.target[0] == '/', detail);

  std::vector<std::string> placeholders;
  const std::string& t = parts.target;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '{') {
      const std::size_t close = t.find('}', i);
      PB_FUZZ_CHECK(close != std::string::npos, detail);
      placeholders.push_back(t.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '%') {
      PB_FUZZ_CHECK(i + 2 < t.size() && is_hex(t[i + 1]) && is_hex(t[i + 2]), detail);
    } else {
      PB_FUZZ_CHECK(is_alnum(c) ||
                        std::string_view("-._~:/?[]@!$&'()*+,;=").find(c) != std::string_view::npos,
                    detail + ": target holds " + printable(std::string(1, c)));
    }
  }
  PB_FUZZ_CHECK(placeholders == parts.placeholders, detail);
  PB_FUZZ_CHECK(text.size() >= t.size() - 1 &&
                    text.substr(text.size() - (t.size() - 1)) == std::string_view(t).substr(1),
                detail + ": target " + printable(t));

  // The parts say everything about the URL: rebuilt, it reads the same.
  std::string rebuilt = parts.scheme + "://" + (ipv6 ? "[" + parts.host + "]" : parts.host);
  if (parts.port != 0) rebuilt += ":" + std::to_string(parts.port);
  rebuilt += parts.target;
  pb::config::UrlParts again;
  PB_FUZZ_CHECK(pb::config::parse_url(rebuilt, again, why),
                detail + " rebuilt " + printable(rebuilt));
  PB_FUZZ_CHECK(again.scheme == parts.scheme && again.host == parts.host &&
                    again.port == parts.port && again.target == parts.target &&
                    again.placeholders == parts.placeholders,
                detail + " rebuilt " + printable(rebuilt));
}

// --- ${VAR} expansion -------------------------------------------------------

// The environment the expansions see: a name's first letter says what it is.
std::optional<std::string> environment(const std::string& name) {
  switch (name[0]) {
    case 'U':
      return std::nullopt;  // unset
    case 'E':
      return std::string();  // set and empty
    case 'R':
      return "${" + name + "}";  // a value that looks like a reference
    default:
      return "<" + name + ">";
  }
}

// "${" in literal text written as "$${".
std::string escaped(std::string_view literal) {
  std::string out;
  for (std::size_t i = 0; i < literal.size(); ++i) {
    if (literal.compare(i, 2, "${") == 0) out += '$';
    out += literal[i];
  }
  return out;
}

std::string name_from(FuzzedDataProvider& in) {
  static constexpr char kStart[] = "UERVabcXYZ_";
  static constexpr char kRest[] = "ABCXYZ_019abc";
  std::string name(1, kStart[in.ConsumeIntegralInRange<std::size_t>(0, sizeof kStart - 2)]);
  const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < n; ++i) {
    name += kRest[in.ConsumeIntegralInRange<std::size_t>(0, sizeof kRest - 2)];
  }
  return name;
}

void check_env_pieces(FuzzedDataProvider& in) {
  std::string text;
  std::string want;
  std::size_t bad = 0;
  const std::size_t pieces = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  for (std::size_t p = 0; p < pieces; ++p) {
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {  // literal text
        std::string literal = in.ConsumeRandomLengthString(12);
        // A '$' right before the next piece's "${" would make "$${", the
        // escape, instead; literal text never ends in '$' here.
        while (!literal.empty() && literal.back() == '$') literal.pop_back();
        text += escaped(literal);
        want += literal;
        break;
      }
      case 1: {  // ${NAME}
        const std::string name = name_from(in);
        text += "${" + name + "}";
        const auto value = environment(name);
        if (value) {
          want += *value;
        } else {
          ++bad;
        }
        break;
      }
      case 2: {  // ${NAME:-default}
        const std::string name = name_from(in);
        std::string fallback = in.ConsumeRandomLengthString(8);
        for (char& c : fallback) {
          if (c == '}') c = ')';
        }
        text += "${" + name + ":-" + fallback + "}";
        const auto value = environment(name);
        want += value && !value->empty() ? *value : fallback;
        break;
      }
      case 3: {  // a reference whose name is not a name
        std::string inside = in.ConsumeRandomLengthString(8);
        for (char& c : inside) {
          if (c == '}') c = ')';
        }
        const std::string name = inside.substr(0, inside.find(":-"));
        const bool valid = !name.empty() && !is_digit(name[0]) &&
                           name.find_first_not_of(
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                               "vwxyz0123456789_") == std::string::npos;
        if (valid) inside = "1" + inside;  // now it is not
        text += "${" + inside + "}";
        ++bad;
        break;
      }
      default:  // a '$' alone
        text += "$";
        want += "$";
        // Keep it from joining the next piece's "${" or "$${".
        text += "-";
        want += "-";
        break;
    }
  }
  std::vector<std::string> problems;
  const std::string got = pb::config::expand_env(text, environment, problems);
  PB_FUZZ_CHECK(problems.size() == bad,
                printable(text) + ": " + std::to_string(problems.size()) + " problems");
  for (const auto& p : problems) PB_FUZZ_CHECK(!p.empty(), printable(text));
  if (bad == 0) {
    PB_FUZZ_CHECK(got == want,
                  printable(text) + " -> " + printable(got) + ", not " + printable(want));
  }
}

void check_env_text(std::string_view text) {
  std::vector<std::string> problems;
  const std::string got = pb::config::expand_env(text, environment, problems);
  for (const auto& p : problems) PB_FUZZ_CHECK(!p.empty(), printable(text));
  if (text.find("${") == std::string_view::npos) {
    PB_FUZZ_CHECK(got == text && problems.empty(), printable(text) + " -> " + printable(got));
  }
  // A literal written with the escape comes back as it was.
  problems.clear();
  const std::string literal = pb::config::expand_env(escaped(text), environment, problems);
  PB_FUZZ_CHECK(literal == text && problems.empty(),
                printable(escaped(text)) + " -> " + printable(literal));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzedDataProvider in(data, size);
  check_duration(text, in);
  check_size(text, in);
  check_url(text);
  check_env_text(text);
  check_env_pieces(in);
  return 0;
}
