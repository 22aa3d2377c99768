// ASCII helpers for protocol text (header field names, schemes): case is
// folded for ASCII letters only, never by locale.
//
// Pure; callable from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace pb {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Case-insensitive ASCII comparison (header field names, RFC 9110 5.1).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace pb
