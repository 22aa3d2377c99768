// The JSON document reader (src/json/document.h): upstream bodies, stored
// documents.
//
// Properties:
//  - parse() throws nothing but ParseError, with an offset inside the text
//    (1-based; one past the end when the text ends too early).
//  - A parsed document dumps to valid UTF-8 without CR, LF or NUL, which
//    parses back to a document that dumps to the same text (dump is a fixed
//    point after one parse) and is json::equal to the first, with the same
//    identity().
//  - Number tokens keep their text: the numbers in the dump are, in order,
//    the number tokens of the input (found by a scanner of its own below);
//    when the input repeats a member name (the last one wins) they are
//    still tokens of the input.
//  - json::equal on numbers is their decimal value: a number equals its
//    canonical_number() read back, and its own text with a zero appended to
//    the fraction (or ".0" added) or "e0" added; it differs from its text
//    with the last significant digit changed or the exponent raised by 1.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "fuzz_check.h"
#include "json/document.h"

namespace {

using pb::fuzz::printable;
using pb::json::Json;

// The number tokens of JSON text and its count of object members, read
// without a parser: strings are skipped, every ':' outside one is a member.
struct Scan {
  std::vector<std::string> numbers;
  std::size_t members = 0;
};

Scan scan(std::string_view t) {
  Scan out;
  for (std::size_t i = 0; i < t.size();) {
    const char c = t[i];
    if (c == '"') {
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\\') ++i;
      }
      ++i;
    } else if (c == ':') {
      ++out.members;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t start = i;
      while (i < t.size() && std::string_view("0123456789+-.eE").find(t[i]) != std::string::npos) {
        ++i;
      }
      out.numbers.emplace_back(t.substr(start, i - start));
    } else {
      ++i;
    }
  }
  return out;
}

std::size_t members_of(const Json& v) {
  std::size_t n = v.is_object() ? v.size() : 0;
  if (v.is_object() || v.is_array()) {
    for (const auto& e : v) n += members_of(e);
  }
  return n;
}

void numbers_of(const Json& v, std::vector<const Json*>& out) {
  if (pb::json::is_number(v)) out.push_back(&v);
  if (v.is_object() || v.is_array()) {
    for (const auto& e : v) numbers_of(e, out);
  }
}

Json parsed(const std::string& text, const std::string& detail) {
  try {
    return pb::json::parse(text);
  } catch (const pb::json::ParseError& e) {
    PB_FUZZ_CHECK(false, detail + ": " + printable(text) + " does not parse: " + e.what());
  }
  return Json();
}

// Where the mantissa of a number token ends (at 'e', 'E' or the end).
std::size_t mantissa_end(const std::string& t) {
  const std::size_t e = t.find_first_of("eE");
  return e == std::string::npos ? t.size() : e;
}

void check_number(const Json& n, const std::string& detail) {
  const std::string text = pb::json::dump(n);
  const std::string at = detail + "\nnumber " + text;
  const std::string canonical = pb::json::canonical_number(n);
  const Json back = parsed(canonical, at + " canonical");
  PB_FUZZ_CHECK(pb::json::equal(back, n), at + " canonical " + canonical);
  PB_FUZZ_CHECK(pb::json::canonical_number(back) == canonical, at + " canonical " + canonical);

  const std::size_t end = mantissa_end(text);
  const bool fraction = text.find('.') != std::string::npos && text.find('.') < end;
  std::string longer = text;
  longer.insert(end, fraction ? "0" : ".0");
  PB_FUZZ_CHECK(pb::json::equal(parsed(longer, at), n), at + " vs " + longer);
  if (end == text.size()) {
    PB_FUZZ_CHECK(pb::json::equal(parsed(text + "e0", at), n), at + " vs " + text + "e0");
  }

  // The last digit of the mantissa is significant unless it is a trailing
  // zero after the point, or the whole number is zero.
  std::string changed = text;
  const char last = changed[end - 1];
  const bool zero = canonical == "0";
  if (!zero && last >= '0' && last <= '8' && !(fraction && last == '0')) {
    changed[end - 1] = static_cast<char>(last + 1);
    PB_FUZZ_CHECK(!pb::json::equal(parsed(changed, at), n), at + " vs " + changed);
  }
  // A larger exponent, as long as it stays within what canonical_number()
  // tracks exactly (its exponents saturate past 10^12, far beyond any real
  // document; see docs/fuzzing.md).
  if (!zero && end < text.size()) {
    std::string raised = text;
    std::size_t digits = end + 1;
    if (digits < raised.size() && (raised[digits] == '+' || raised[digits] == '-')) ++digits;
    const bool negative = raised[end + 1] == '-';
    if (raised.size() - digits <= 11 && !negative && raised.back() != '9') {
      raised.back() = static_cast<char>(raised.back() + 1);
      PB_FUZZ_CHECK(!pb::json::equal(parsed(raised, at), n), at + " vs " + raised);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Json doc;
  try {
    doc = pb::json::parse(text);
  } catch (const pb::json::ParseError& e) {
    // nlohmann's 1-based count of the bytes read: size + 1 at the end.
    PB_FUZZ_CHECK(e.offset() <= text.size() + 1,
                  printable(text) + " offset " + std::to_string(e.offset()));
    return 0;
  } catch (const std::exception& e) {
    PB_FUZZ_CHECK(false, printable(text) + " threw " + typeid(e).name() + ": " + e.what());
  }
  const std::string dumped = pb::json::dump(doc);
  const std::string detail = printable(text) + "\ndump " + printable(dumped);
  PB_FUZZ_CHECK(dumped.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos, detail);
  PB_FUZZ_CHECK(pb::fuzz::is_utf8_without_nul(dumped), detail);

  const Json again = parsed(dumped, detail);
  PB_FUZZ_CHECK(pb::json::dump(again) == dumped, detail);
  PB_FUZZ_CHECK(pb::json::equal(doc, again) && pb::json::equal(again, doc), detail);
  PB_FUZZ_CHECK(pb::json::equal(doc, doc), detail);
  PB_FUZZ_CHECK(pb::json::identity(doc) == pb::json::identity(again), detail);

  const Scan in = scan(text);
  const Scan out = scan(dumped);
  if (in.members == members_of(doc)) {
    PB_FUZZ_CHECK(out.numbers == in.numbers, detail);
  } else {
    std::vector<std::string> have = in.numbers;
    std::vector<std::string> kept = out.numbers;
    std::sort(have.begin(), have.end());
    std::sort(kept.begin(), kept.end());
    PB_FUZZ_CHECK(std::includes(have.begin(), have.end(), kept.begin(), kept.end()), detail);
  }

  std::vector<const Json*> numbers;
  numbers_of(doc, numbers);
  constexpr std::size_t kMaxNumbersChecked = 16;  // each check parses a few texts
  for (std::size_t i = 0; i < numbers.size() && i < kMaxNumbersChecked; ++i) {
    check_number(*numbers[i], detail);
  }
  return 0;
}
