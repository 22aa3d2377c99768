// ASCII helpers for protocol text (header field names, schemes): case is
// folded for ASCII letters only, never by locale.
//
// Pure; callable from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pb {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// `s` with its ASCII letters in lower case.
inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// RFC 9110 5.6.3 optional whitespace: space and horizontal tab.
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// `s` without optional whitespace at either end (list elements, parameter
// values, header field values).
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Case-insensitive ASCII comparison (header field names, RFC 9110 5.1).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// RFC 9110 5.6.2 token characters (tchar): methods, header names, media
// type parameters.
inline bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace pb
