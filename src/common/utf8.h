// UTF-8 validation, one sequence at a time (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF). Used to keep log lines and status
// texts valid whatever bytes an upstream sent. Twenty lines do not justify
// a dependency (Debian's libutfcpp-dev would do the same).
//
// Pure; any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace pb {

// Length of the valid UTF-8 sequence at s[i] (1 to 4), or 0 if there is
// none there. Requires i < s.size().
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len;
  unsigned cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

}  // namespace pb
