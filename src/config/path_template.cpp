#include "config/path_template.h"

#include <cctype>
#include <set>

namespace pb::config {
namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// RFC 3986 pchar without '%' (checked separately): unreserved / sub-delims /
// ':' / '@'.
bool is_pchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool is_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool parse_path_template(std::string_view path, std::vector<PathSegment>& out, std::string& why) {
  if (path.substr(0, kEventsPrefix.size()) != kEventsPrefix) {
    why = "must start with \"/events/\"";
    return false;
  }
  if (path.size() == kEventsPrefix.size()) {
    why = "needs at least one segment after \"/events/\"";
    return false;
  }
  std::vector<PathSegment> segments;
  std::set<std::string> seen;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view seg = path.substr(start, end - start);
    start = end + 1;
    if (seg.empty()) {
      why = "must not contain an empty segment (\"//\") or end with \"/\"";
      return false;
    }
    if (seg == "." || seg == "..") {
      why = "must not contain \".\" or \"..\" segments";
      return false;
    }
    if (seg.front() == '{' && seg.back() == '}' && seg.size() >= 2 &&
        seg.find_first_of("{}", 1) == seg.size() - 1) {
      const std::string name(seg.substr(1, seg.size() - 2));
      if (!is_param_name(name)) {
        why = "has a placeholder \"" + std::string(seg) +
              "\" whose name is not [A-Za-z_][A-Za-z0-9_]*";
        return false;
      }
      if (!seen.insert(name).second) {
        why = "uses {" + name + "} twice";
        return false;
      }
      segments.push_back({name, true});
      continue;
    }
    for (std::size_t i = 0; i < seg.size(); ++i) {
      const char c = seg[i];
      if (c == '{' || c == '}') {
        why =
            "has a placeholder that does not fill a whole segment (write "
            "/events/orders/{customer}, not /events/orders-{customer})";
        return false;
      }
      if (c == '?' || c == '#') {
        why = "must not contain a query or fragment";
        return false;
      }
      if (c == '%') {
        if (i + 2 >= seg.size() || !is_hex(seg[i + 1]) || !is_hex(seg[i + 2])) {
          why = "has a \"%\" that is not followed by two hex digits";
          return false;
        }
        i += 2;
        continue;
      }
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x21 || byte >= 0x7f) {
        why = "contains a space, control or non-ASCII character (percent-encode it)";
        return false;
      }
      if (!is_pchar(c)) {
        why = "contains \"" + std::string(1, c) + "\", which is not allowed in a URL path";
        return false;
      }
    }
    segments.push_back({std::string(seg), false});
  }
  out = std::move(segments);
  return true;
}

}  // namespace pb::config
