#include "config/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "config/path_template.h"

namespace pb::config {
namespace {

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// Characters allowed as they are in a URL's path and query (RFC 3986
// unreserved, gen-delims except '#', sub-delims); '%' and braces are checked
// separately.
bool is_url_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case ':':
    case '/':
    case '?':
    case '[':
    case ']':
    case '@':
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
      return true;
    default:
      return false;
  }
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool parse_port(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return false;
  port = value;
  return true;
}

}  // namespace

bool parse_url(std::string_view text, UrlParts& out, std::string& why) {
  if (text.empty()) {
    why = "is empty (expected http://host[:port]/path)";
    return false;
  }
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ') {
      why = "must not contain spaces (percent-encode them as %20)";
      return false;
    }
    if (byte < 0x20 || byte == 0x7f) {
      why = "must not contain control characters";
      return false;
    }
    if (byte > 0x7f) {
      why = "must not contain non-ASCII characters (percent-encode them)";
      return false;
    }
  }
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    why = "must start with http:// or https://";
    return false;
  }
  UrlParts parts;
  parts.scheme = lowercase(text.substr(0, sep));
  if (parts.scheme != "http" && parts.scheme != "https") {
    why = "has scheme \"" + std::string(text.substr(0, sep)) +
          "\"; only http:// and https:// are supported";
    return false;
  }
  const std::string_view rest = text.substr(sep + 3);
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find_first_of("{}") != std::string_view::npos) {
    why = "may hold placeholders only in its path and query, not in the host or port";
    return false;
  }
  if (authority.find('@') != std::string_view::npos) {
    why =
        "must not contain user info (user:password@); send credentials in headers "
        "(Authorization)";
    return false;
  }
  if (authority.empty()) {
    why = "has no host";
    return false;
  }
  std::string_view port_text;
  bool has_port = false;
  if (authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "has an IPv6 address without its closing \"]\"";
      return false;
    }
    const std::string_view host = authority.substr(1, close - 1);
    if (host.empty() || host.find(':') == std::string_view::npos) {
      why = "has an empty or malformed IPv6 address in [...]";
      return false;
    }
    for (char c : host) {
      if (!is_hex(c) && c != ':' && c != '.') {
        why = "has an IPv6 address with \"" + std::string(1, c) + "\" in it";
        return false;
      }
    }
    if (!is_ipv6_address(host)) {
      why = "has \"" + std::string(host) + "\" in [...], which is not an IPv6 address";
      return false;
    }
    parts.host = std::string(host);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        why = "has text after the IPv6 address that is not a :port";
        return false;
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      why = "needs brackets around an IPv6 address (http://[::1]:8080/)";
      return false;
    }
    const std::string_view host = authority.substr(0, colon);
    if (host.empty()) {
      why = "has no host";
      return false;
    }
    for (char c : host) {
      if (!is_host_char(c)) {
        why = "has a host with \"" + std::string(1, c) + "\" in it";
        return false;
      }
    }
    parts.host = std::string(host);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
  }
  if (has_port && !parse_port(port_text, parts.port)) {
    why = "has port \"" + std::string(port_text) + "\"; expected a number from 1 to 65535";
    return false;
  }

  const std::string_view target = rest.substr(authority_end);
  if (target.find('#') != std::string_view::npos) {
    why = "must not contain a fragment (#...); it is never sent to the server";
    return false;
  }
  for (std::size_t i = 0; i < target.size(); ++i) {
    const char c = target[i];
    if (c == '{') {
      const std::size_t close = target.find('}', i);
      const std::string_view name =
          target.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
      if (close == std::string_view::npos || !is_param_name(name)) {
        why =
            "has a \"{\" that does not start a placeholder like {customer} (percent-encode "
            "it as %7B)";
        return false;
      }
      parts.placeholders.emplace_back(name);
      i = close;
      continue;
    }
    if (c == '}') {
      why = "has a \"}\" without a matching \"{\" (percent-encode it as %7D)";
      return false;
    }
    if (c == '%') {
      if (i + 2 >= target.size() || !is_hex(target[i + 1]) || !is_hex(target[i + 2])) {
        why = "has a \"%\" that is not followed by two hex digits";
        return false;
      }
      i += 2;
      continue;
    }
    if (!is_url_char(c)) {
      why = "contains \"" + std::string(1, c) + "\", which must be percent-encoded";
      return false;
    }
  }
  parts.target =
      target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  out = std::move(parts);
  return true;
}

bool is_ipv6_address(std::string_view host) {
  // Longest textual IPv6 address: 8 groups of 4 hex digits and 7 colons, or
  // 6 groups with an embedded IPv4 address (45 characters).
  constexpr std::size_t kMaxText = 45;
  if (host.size() > kMaxText) return false;
  const std::string text(host);
  unsigned char address[16];
  return inet_pton(AF_INET6, text.c_str(), address) == 1;
}

}  // namespace pb::config
