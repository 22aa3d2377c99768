// What the fuzz targets share: a check that reports the violated property
// with the bytes involved and aborts (libFuzzer then saves the input as a
// crash artifact), and a printable rendering of arbitrary bytes.
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
