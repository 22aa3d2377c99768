// Parameter values from request paths: config::valid_param_value(),
// config::ParamPattern and core::match_template() (src/config/
// param_pattern.h, src/core/stream_template.h), and the upstream URL an
// accepted value is substituted into (src/upstream/url.h).
//
// Properties:
//  - valid_param_value() accepts exactly the well-formed UTF-8 of Unicode's
//    table 3-7 without NUL (an independent, table-driven check below) that
//    is one path segment (not empty, "." or "..") without '@', and says why
//    otherwise.
//  - match_template() against a parameterized template answers what the
//    template's route says: kNone for another route; kInvalid when a value
//    is refused by the rule above or does not fully match its pattern, with
//    a reason made of fixed text and the pattern (none of the request's
//    bytes); otherwise kValues with exactly the request's values, each valid
//    UTF-8 without NUL and matching its pattern (checked with an RE2 of its
//    own).
//  - An accepted value substituted into the upstream URL leaves a URL that
//    parse_url() accepts, with the value percent-encoded: only unreserved
//    characters and %XX in its place, which decode to the value.
//  - A plain template matches its own address and nothing else.
#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "config/param_pattern.h"
#include "config/url.h"
#include "core/stream_template.h"
#include "fuzz_check.h"
#include "upstream/url.h"

namespace {

using pb::core::TemplateMatch;
using pb::fuzz::printable;

// What valid_param_value() must accept, said independently: well-formed
// UTF-8 without NUL that is one path segment (not empty, "." or "..") and
// holds no '@' (the per-user key separator).
bool acceptable(std::string_view value) {
  return pb::fuzz::is_utf8_without_nul(value) && !value.empty() && value != "." && value != ".." &&
         value.find('@') == std::string_view::npos;
}

void check_value(std::string_view value) {
  std::string why;
  const bool ok = pb::config::valid_param_value(value, why);
  PB_FUZZ_CHECK(ok == acceptable(value), printable(value) + (ok ? " accepted" : " refused"));
  PB_FUZZ_CHECK(ok || !why.empty(), printable(value));
}

// Patterns an operator might write, some of which let anything through.
constexpr const char* kPatterns[] = {
    "^[0-9]+$",
    ".*",
    "(?s).*",
    "\\C*",
    "[^/]*",
    "[a-z]{1,8}",
    "\\pL+",
    "\\x00?.*",
    "[[:print:]]*",
    "(?i)abc|ABC|é",
    "[\\x{80}-\\x{10FFFF}]*",
};
constexpr std::size_t kPatternCount = sizeof kPatterns / sizeof kPatterns[0];

std::string pattern_from(FuzzedDataProvider& in) {
  const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, kPatternCount);
  if (pick < kPatternCount) return kPatterns[pick];
  return in.ConsumeRandomLengthString(24);  // any pattern RE2 compiles
}

// Templates are cached by their patterns: compiling RE2s per input would
// spend the run in RE2's compiler rather than in the code under test.
std::shared_ptr<const pb::core::StreamTemplate> template_for(bool two, const std::string& a,
                                                             const std::string& b) {
  static std::map<std::string, std::shared_ptr<const pb::core::StreamTemplate>> cache;
  const std::string key = std::string(two ? "2" : "1") + '\0' + a + '\0' + b;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::string why;
  if (!pb::config::ParamPattern::compile(a, why) ||
      (two && !pb::config::ParamPattern::compile(b, why))) {
    return nullptr;  // the loader refuses such a config
  }
  pb::config::StreamConfig cfg;
  cfg.name = "t";
  if (two) {
    cfg.path = "/events/t/{a}/x/{b}";
    cfg.url = "http://upstream.example/api/{a}/items?b={b}&c=1";
    cfg.params = {{"a", a}, {"b", b}};
  } else {
    cfg.path = "/events/{a}";
    cfg.url = "http://upstream.example/{a}";
    cfg.params = {{"a", a}};
  }
  auto t = pb::core::make_template(cfg);
  if (cache.size() < 256) cache.emplace(key, t);
  return t;
}

bool unreserved(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads one percent-encoded value at text[i...] up to the first character
// that cannot be part of one; false if an escape is malformed.
bool decode_at(std::string_view text, std::size_t& i, std::string& out) {
  while (i < text.size()) {
    if (unreserved(text[i])) {
      out.push_back(text[i++]);
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
    } else {
      break;
    }
  }
  return true;
}

void check_upstream_url(const pb::core::StreamTemplate& t,
                        const std::map<std::string, std::string>& values,
                        const std::string& detail) {
  const std::string url = pb::upstream::expand_template(t.cfg.url, values);
  pb::config::UrlParts parts;
  std::string why;
  PB_FUZZ_CHECK(pb::config::parse_url(url, parts, why), detail + " url " + printable(url));
  // Walk the template and the expansion side by side: literal text stays,
  // each placeholder became an encoding of its value.
  const std::string& tmpl = t.cfg.url;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      const std::size_t close = tmpl.find('}', i);
      const std::string name = tmpl.substr(i + 1, close - i - 1);
      std::string decoded;
      PB_FUZZ_CHECK(decode_at(url, j, decoded) && decoded == values.at(name),
                    detail + " url " + printable(url) + " value of " + name);
      i = close + 1;
    } else {
      PB_FUZZ_CHECK(j < url.size() && url[j] == tmpl[i], detail + " url " + printable(url));
      ++i;
      ++j;
    }
  }
  PB_FUZZ_CHECK(j == url.size(), detail + " url " + printable(url));
}

void check_match(FuzzedDataProvider& in) {
  const bool two = in.ConsumeBool();
  const std::string pa = pattern_from(in);
  const std::string pb_text = two ? pattern_from(in) : "";
  const auto t = template_for(two, pa, pb_text);
  const std::string address = in.ConsumeRemainingBytesAsString();
  if (!t) return;
  const auto segments = pb::core::split_segments(address);
  const TemplateMatch m = pb::core::match_template(*t, segments, address);
  const std::string detail =
      "patterns " + printable(pa) + " " + printable(pb_text) + " address " + printable(address);

  // What the route says, worked out here.
  const std::vector<std::string> route =
      two ? std::vector<std::string>{"t", "{a}", "x", "{b}"} : std::vector<std::string>{"{a}"};
  bool same_route = segments.size() == route.size();
  std::map<std::string, std::string> values;
  for (std::size_t i = 0; same_route && i < route.size(); ++i) {
    if (route[i][0] == '{') {
      values[route[i].substr(1, route[i].size() - 2)] = segments[i];
    } else {
      same_route = route[i] == segments[i];
    }
  }
  if (!same_route) {
    PB_FUZZ_CHECK(m.kind == TemplateMatch::kNone, detail);
    return;
  }
  bool all_good = true;
  for (const auto& [name, value] : values) {
    const RE2 own(name == "a" ? pa : pb_text);
    all_good = all_good && acceptable(value) && RE2::FullMatch(value, own);
  }
  if (!all_good) {
    PB_FUZZ_CHECK(m.kind == TemplateMatch::kInvalid, detail);
    // The reason is fixed text and the operator's pattern, never the bytes
    // of the request.
    bool expected_why = false;
    for (const auto& [name, value] : values) {
      const std::string head = "parameter " + name + " of stream t ";
      const std::string& pattern = name == "a" ? pa : pb_text;
      for (const std::string& tail :
           {std::string("is not valid UTF-8"), std::string("contains a NUL byte"),
            std::string("is empty"),
            std::string("is a dot segment (\".\" and \"..\" are never parameter values)"),
            std::string("contains '@' (reserved: it separates per-user instance keys)"),
            "does not match its pattern " + pattern}) {
        expected_why = expected_why || m.why == head + tail;
      }
    }
    PB_FUZZ_CHECK(expected_why, detail + " why " + printable(m.why));
    return;
  }
  PB_FUZZ_CHECK(m.kind == TemplateMatch::kValues, detail + " why " + printable(m.why));
  PB_FUZZ_CHECK(m.values == values, detail);
  check_upstream_url(*t, m.values, detail);
}

void check_plain(std::string_view text) {
  static const auto t = [] {
    pb::config::StreamConfig cfg;
    cfg.name = "orders";
    cfg.path = "/events/orders/v2";
    cfg.url = "http://upstream.example/orders";
    return pb::core::make_template(cfg);
  }();
  const std::string address(text);
  const auto m = pb::core::match_template(*t, pb::core::split_segments(address), address);
  PB_FUZZ_CHECK((m.kind == TemplateMatch::kPlain) == (address == "orders/v2"), printable(text));
  PB_FUZZ_CHECK(m.kind == TemplateMatch::kPlain || m.kind == TemplateMatch::kNone, printable(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_value(text);
  check_plain(text);
  FuzzedDataProvider in(data, size);
  check_match(in);
  return 0;
}
