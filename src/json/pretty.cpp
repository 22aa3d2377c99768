#include "json/pretty.h"

namespace pb::json {

std::string pretty(std::string_view text, int indent) {
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  int depth = 0;
  auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(depth * indent), ' ');
  };
  // Index of the next character that is not JSON whitespace.
  auto next_token = [&](std::size_t i) {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
    return i;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        break;
      case '"': {
        // Copied up to its closing quote; an escaped quote does not end it.
        std::size_t end = i + 1;
        while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
        out.append(text.substr(i, end + 1 - i));
        i = end;
        break;
      }
      case '{':
      case '[': {
        const std::size_t n = next_token(i + 1);
        if (n < text.size() && (text[n] == '}' || text[n] == ']')) {
          out.push_back(c);
          out.push_back(text[n]);
          i = n;
          break;
        }
        out.push_back(c);
        ++depth;
        newline();
        break;
      }
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(',');
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace pb::json
