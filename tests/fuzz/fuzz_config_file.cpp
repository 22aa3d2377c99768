// Whole config files through config::parse_config() (src/config/loader.h).
//
// Properties:
//  - The only exception is ConfigError. Its problems are not empty; each is
//    one line "fuzz.yaml:<line>:<col>: <text>" with a line inside the file
//    and a column from 1; they come in file order, each once, and what()
//    joins them with '\n'.
//  - No problem shows the value of a ${VAR} (secrets are kept out of logs
//    and error bodies), unless the file itself spells that value.
//  - A config that loads is one the rest of pollbridge can run: at least one
//    stream, unique valid names, every url accepted by parse_url with only
//    declared placeholders, every duration, size and count inside its
//    documented range, header values without CR, LF or NUL, every `key`
//    accepted by diff::KeySpec, every select/ignore an RFC 6901 pointer, and
//    core::make_template() accepts every stream (it throws on a pattern the
//    loader let through) and matches a plain stream's own address.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "config/limits.h"
#include "config/loader.h"
#include "config/url.h"
#include "core/stream_template.h"
#include "diff/differ.h"
#include "fuzz_check.h"
#include "json/pointer.h"

namespace {

using pb::fuzz::printable;
namespace limits = pb::config::limits;

constexpr char kFile[] = "fuzz.yaml";

// The environment the config sees. The values holding kSecretMark stand
// for secrets: each has a space, so it is valid in no name, path, URL,
// duration or address, and every attempt to use one ends in a problem.
// The others are ordinary values that let configs load.
constexpr std::string_view kSecretMark = "s3cr3t";

const std::map<std::string, std::string>& variables() {
  static const std::map<std::string, std::string> kVars = {
      {"TOKEN", "s3cr3t T0KEN"},
      {"KEY", "s3cr3t:99"},
      {"LINES", "s3cr3t\nline 2"},
      {"PB_ADMIN_TOKEN", "adm1n"},
      {"INTERVAL", "2s"},
      {"HOST", "127.0.0.1"},
      {"PORT", "9000"},
      {"EMPTY", ""},
  };
  return kVars;
}

std::optional<std::string> lookup(const std::string& name) {
  auto it = variables().find(name);
  if (it == variables().end()) return std::nullopt;
  return it->second;
}

struct Position {
  long line = 0;
  long column = 0;
};

// Reads "fuzz.yaml:<line>:<col>: <text>"; nullopt if the problem does not
// have that shape.
std::optional<Position> position_of(std::string_view problem) {
  const std::string_view prefix = std::string_view(kFile);
  if (problem.substr(0, prefix.size()) != prefix || problem.size() <= prefix.size() ||
      problem[prefix.size()] != ':') {
    return std::nullopt;
  }
  std::size_t i = prefix.size() + 1;
  auto number = [&](long& out) {
    const std::size_t start = i;
    out = 0;
    while (i < problem.size() && problem[i] >= '0' && problem[i] <= '9' && i - start < 9) {
      out = out * 10 + (problem[i] - '0');
      ++i;
    }
    return i > start;
  };
  Position pos;
  if (!number(pos.line) || i >= problem.size() || problem[i++] != ':') return std::nullopt;
  if (!number(pos.column) || problem.substr(i, 2) != ": " || i + 2 >= problem.size()) {
    return std::nullopt;
  }
  return pos;
}

void check_problems(const std::string& text, const pb::config::ConfigError& e) {
  const auto& problems = e.problems();
  PB_FUZZ_CHECK(!problems.empty(), printable(text));
  std::size_t lines = 1;
  for (char c : text) lines += c == '\n';
  std::string joined;
  Position last;
  std::set<std::string> seen;
  for (const auto& p : problems) {
    const std::string detail = printable(text) + "\nproblem " + printable(p);
    const auto pos = position_of(p);
    PB_FUZZ_CHECK(pos.has_value(), detail);
    PB_FUZZ_CHECK(pos->line >= 1 && static_cast<std::size_t>(pos->line) <= lines, detail);
    PB_FUZZ_CHECK(pos->column >= 1, detail);
    PB_FUZZ_CHECK(p.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos, detail);
    PB_FUZZ_CHECK(pos->line > last.line || (pos->line == last.line && pos->column >= last.column),
                  detail + "\nproblems out of file order");
    last = *pos;
    PB_FUZZ_CHECK(seen.insert(p).second, detail + "\nreported twice");
    // The mark alone counts: quote() may cut a value short, and the part it
    // keeps still gives the secret away.
    PB_FUZZ_CHECK(
        p.find(kSecretMark) == std::string::npos || text.find(kSecretMark) != std::string::npos,
        detail + "\nshows the value of a ${VAR}");
    if (!joined.empty()) joined += '\n';
    joined += p;
  }
  PB_FUZZ_CHECK(joined == e.what(), printable(text));
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void check_pointer(const std::string& text, const std::string& pointer, bool may_be_root) {
  PB_FUZZ_CHECK(may_be_root || !pointer.empty(), printable(text));
  try {
    pb::json::Pointer::parse(pointer);
  } catch (const std::invalid_argument&) {
    PB_FUZZ_CHECK(false, printable(text) + "\npointer " + printable(pointer));
  }
}

void check_config(const std::string& text, const pb::config::Config& c) {
  const std::string detail = printable(text);
  PB_FUZZ_CHECK(c.file == kFile, detail);
  PB_FUZZ_CHECK(!c.streams.empty(), detail);
  PB_FUZZ_CHECK(c.history >= 1 && c.history <= static_cast<std::size_t>(limits::kMaxHistory),
                detail);
  PB_FUZZ_CHECK(c.server.port >= 0 && c.server.port <= 65535, detail);
  PB_FUZZ_CHECK(
      c.server.heartbeat >= limits::kMinHeartbeat && c.server.heartbeat <= limits::kMaxHeartbeat,
      detail);
  PB_FUZZ_CHECK(c.server.retry.count() >= 0 && c.server.retry <= limits::kMaxRetry, detail);
  PB_FUZZ_CHECK(
      c.server.workers >= 1 && c.server.workers <= static_cast<std::size_t>(limits::kMaxWorkers),
      detail);
  PB_FUZZ_CHECK(c.server.admin_token.find_first_of(" \t\r\n") == std::string::npos, detail);
  std::set<std::string> names;
  for (const auto& s : c.streams) {
    const std::string at = detail + "\nstream " + printable(s.name);
    PB_FUZZ_CHECK(!s.name.empty() && s.name.size() <= limits::kMaxNameLength, at);
    PB_FUZZ_CHECK(names.insert(s.name).second, at + " defined twice");
    pb::config::UrlParts url;
    std::string why;
    PB_FUZZ_CHECK(pb::config::parse_url(s.url, url, why), at + " url " + printable(s.url));
    for (const auto& p : url.placeholders) PB_FUZZ_CHECK(s.params.count(p) == 1, at);
    PB_FUZZ_CHECK(s.interval >= limits::kMinInterval && s.interval <= limits::kMaxInterval, at);
    PB_FUZZ_CHECK(s.timeout >= limits::kMinTimeout && s.timeout <= limits::kMaxTimeout, at);
    PB_FUZZ_CHECK(s.backoff_max >= s.interval, at);
    PB_FUZZ_CHECK(s.history >= 1 && s.history <= static_cast<std::size_t>(limits::kMaxHistory), at);
    PB_FUZZ_CHECK(s.max_body >= limits::kMinMaxBody && s.max_body <= limits::kMaxMaxBody, at);
    PB_FUZZ_CHECK(s.method == "GET" || s.method == "POST", at + " method " + printable(s.method));
    for (const auto& [name, value] : s.headers) {
      PB_FUZZ_CHECK(!name.empty() && !has_line_break(name) && !has_line_break(value),
                    at + " header " + printable(name) + ": " + printable(value));
    }
    if (!s.select.empty()) check_pointer(text, s.select, false);
    for (const auto& p : s.ignore) check_pointer(text, p, false);
    try {
      pb::diff::KeySpec::parse(s.key);
    } catch (const std::invalid_argument&) {
      PB_FUZZ_CHECK(false, at + " key " + printable(s.key));
    }
    std::shared_ptr<const pb::core::StreamTemplate> t;
    try {
      t = pb::core::make_template(s);
    } catch (const std::exception& e) {
      PB_FUZZ_CHECK(false, at + ": make_template: " + e.what());
    }
    if (!t->parameterized()) {
      const std::string address = t->plain_address();
      const auto m = pb::core::match_template(*t, pb::core::split_segments(address), address);
      PB_FUZZ_CHECK(m.kind == pb::core::TemplateMatch::kPlain,
                    at + " address " + printable(address));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const pb::config::Config c = pb::config::parse_config(text, kFile, lookup);
    check_config(text, c);
  } catch (const pb::config::ConfigError& e) {
    check_problems(text, e);
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false, printable(text) + "\nthrew " + typeid(e).name() + ": " + e.what());
  } catch (...) {
    PB_FUZZ_CHECK(false, printable(text) + "\nthrew something that is not a std::exception");
  }
  return 0;
}
