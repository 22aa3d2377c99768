#include "config/listen.h"

#include <cctype>

#include "config/field_reader.h"
#include "config/url.h"

namespace pb::config {

bool parse_listen(std::string_view text, std::string& host, int& port, std::string& why) {
  if (text.empty()) {
    why = "is empty (expected host:port, like 127.0.0.1:8080)";
    return false;
  }
  std::string_view host_part;
  std::string_view port_part;
  if (text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      why = "has an IPv6 address without its closing \"]\"";
      return false;
    }
    host_part = text.substr(1, close - 1);
    if (host_part.empty() || host_part.find(':') == std::string_view::npos) {
      why = "has an empty or malformed IPv6 address in [...]";
      return false;
    }
    for (char c : host_part) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        why = "has an IPv6 address with \"" + std::string(1, c) + "\" in it";
        return false;
      }
    }
    if (!is_ipv6_address(host_part)) {
      why = "has \"" + std::string(host_part) + "\" in [...], which is not an IPv6 address";
      return false;
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      why = "needs a port after the address, like [::1]:8080";
      return false;
    }
    port_part = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = "needs a port (host:port, like 127.0.0.1:8080)";
      return false;
    }
    host_part = text.substr(0, colon);
    port_part = text.substr(colon + 1);
    if (host_part.find(':') != std::string_view::npos) {
      why = "needs brackets around an IPv6 address, like [::1]:8080";
      return false;
    }
    if (host_part.empty()) {
      why = "needs a host (0.0.0.0:PORT listens on every IPv4 interface)";
      return false;
    }
    for (char c : host_part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        why = "has a host with \"" + std::string(1, c) + "\" in it";
        return false;
      }
    }
  }
  long long value = 0;
  bool overflow = false;
  if (port_part.empty() || port_part[0] == '+' || port_part[0] == '-' ||
      !parse_integer(port_part, value, overflow) || overflow || value > 65535) {
    why = "has port " + quote(port_part) + "; expected a number from 0 to 65535";
    return false;
  }
  host = std::string(host_part);
  port = static_cast<int>(value);
  return true;
}

}  // namespace pb::config
