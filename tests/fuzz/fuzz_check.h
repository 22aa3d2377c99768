// What the fuzz targets share: a check that reports the violated property
// with the bytes involved and aborts (libFuzzer then saves the input as a
// crash artifact), a printable rendering of arbitrary bytes, and a UTF-8
// check written from Unicode's table (independent of the code under test).
//
// Threads: libFuzzer calls a target from one thread.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace pb::fuzz {

// `text` with every byte outside printable ASCII, and '\\' and '"', escaped,
// in quotes.
inline std::string printable(std::string_view text) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out + "\"";
}

// Well-formed UTF-8 byte sequences (Unicode 15, table 3-7), without NUL.
inline bool is_utf8_without_nul(std::string_view s) {
  auto in = [](unsigned char b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    auto next = [&](std::size_t k) -> unsigned char {
      return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
    };
    std::size_t len = 0;
    if (b == 0) return false;
    if (b <= 0x7f) {
      len = 1;
    } else if (in(b, 0xc2, 0xdf)) {
      len = in(next(1), 0x80, 0xbf) ? 2 : 0;
    } else if (b == 0xe0) {
      len = in(next(1), 0xa0, 0xbf) && in(next(2), 0x80, 0xbf) ? 3 : 0;
    } else if (in(b, 0xe1, 0xec) || in(b, 0xee, 0xef)) {
      len = in(next(1), 0x80, 0xbf) && in(next(2), 0x80, 0xbf) ? 3 : 0;
    } else if (b == 0xed) {
      len = in(next(1), 0x80, 0x9f) && in(next(2), 0x80, 0xbf) ? 3 : 0;
    } else if (b == 0xf0) {
      len = in(next(1), 0x90, 0xbf) && in(next(2), 0x80, 0xbf) && in(next(3), 0x80, 0xbf) ? 4 : 0;
    } else if (in(b, 0xf1, 0xf3)) {
      len = in(next(1), 0x80, 0xbf) && in(next(2), 0x80, 0xbf) && in(next(3), 0x80, 0xbf) ? 4 : 0;
    } else if (b == 0xf4) {
      len = in(next(1), 0x80, 0x8f) && in(next(2), 0x80, 0xbf) && in(next(3), 0x80, 0xbf) ? 4 : 0;
    }
    if (len == 0) return false;
    i += len;
  }
  return true;
}

[[noreturn]] inline void fail(const char* condition, const char* file, int line,
                              const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: property violated: %s\n%s\n", file, line, condition,
               detail.c_str());
  std::abort();
}

}  // namespace pb::fuzz

// Checks a property; `detail` (a std::string expression) is evaluated only
// when it fails.
#define PB_FUZZ_CHECK(condition, detail)                                          \
  do {                                                                            \
    if (!(condition)) ::pb::fuzz::fail(#condition, __FILE__, __LINE__, (detail)); \
  } while (false)
