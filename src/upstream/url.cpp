#include "upstream/url.h"

#include <cctype>

namespace pb::upstream {

std::string Url::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::optional<Url> parse_url(const std::string& text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Url> {
    if (error) *error = why;
    return std::nullopt;
  };
  Url u;
  std::size_t colon = text.find("://");
  if (colon == std::string::npos) return fail("not an absolute URL (expected http:// or https://)");
  u.scheme = text.substr(0, colon);
  for (auto& c : u.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme != "http" && u.scheme != "https") return fail("scheme must be http or https");
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7f) return fail("URL contains a space or control character");
  }
  std::size_t auth_start = colon + 3;
  std::size_t auth_end = text.find_first_of("/?#", auth_start);
  std::string authority = text.substr(
      auth_start, auth_end == std::string::npos ? std::string::npos : auth_end - auth_start);
  if (authority.find('@') != std::string::npos) {
    return fail("credentials in the URL are not supported; use headers");
  }
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string::npos) return fail("unterminated IPv6 address");
    u.host = authority.substr(1, close - 1);
    std::string rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return fail("junk after IPv6 address");
      port_text = rest.substr(1);
    }
  } else {
    std::size_t pc = authority.rfind(':');
    u.host = authority.substr(0, pc);
    if (pc != std::string::npos) port_text = authority.substr(pc + 1);
  }
  if (u.host.empty()) return fail("URL has no host");
  if (!port_text.empty()) {
    if (port_text.size() > 5) return fail("port out of range");
    int p = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return fail("port is not a number");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return fail("port out of range");
    u.port = p;
  } else {
    u.port = u.scheme == "https" ? 443 : 80;
  }
  u.target = auth_end == std::string::npos ? "/" : text.substr(auth_end);
  std::size_t hash = u.target.find('#');
  if (hash != std::string::npos) u.target.erase(hash);
  if (u.target.empty() || u.target[0] == '?') u.target = "/" + u.target;
  return u;
}

std::string percent_encode(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string expand_template(const std::string& tmpl,
                            const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      std::size_t close = tmpl.find('}', i);
      if (close != std::string::npos) {
        auto it = values.find(tmpl.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          out += percent_encode(it->second);
          i = close + 1;
          continue;
        }
      }
    }
    out.push_back(tmpl[i++]);
  }
  return out;
}

}  // namespace pb::upstream
