#include "config/redis_url.h"

#include <cctype>

namespace pb::config {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes user info (a password may hold '@' or ':' written %40,
// %3A).
bool decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string RedisUrl::redacted() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string creds = (user.empty() && password.empty()) ? "" : "***@";
  return "redis://" + creds + h + ":" + std::to_string(port) + "/" + std::to_string(db);
}

bool parse_redis_url(std::string_view text, RedisUrl& out, std::string& why) {
  RedisUrl url;
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      why = "must not contain spaces, control or non-ASCII characters";
      return false;
    }
  }
  if (text.rfind("rediss://", 0) == 0) {
    why =
        "rediss:// (TLS) is not supported by this build's hiredis; reach a TLS-only Redis "
        "through a local TLS proxy such as stunnel (docs/cluster.md)";
    return false;
  }
  constexpr std::string_view kScheme = "redis://";
  if (text.rfind(kScheme, 0) != 0) {
    why = "expected redis://[:password@]host[:port][/db]";
    return false;
  }
  std::string_view rest = text.substr(kScheme.size());
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    why = "must not have a query or fragment";
    return false;
  }
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::size_t colon = info.find(':');
    std::string_view user = info.substr(0, colon);
    std::string_view pass = colon == std::string_view::npos ? "" : info.substr(colon + 1);
    if (colon == std::string_view::npos) {
      // redis://secret@host: the whole user info is the password (as
      // redis-cli reads it).
      pass = user;
      user = "";
    }
    if (!decode(user, url.user) || !decode(pass, url.password)) {
      why = "has a malformed percent-escape in its user info";
      return false;
    }
  }
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "has an unclosed [ in its host";
      return false;
    }
    url.host = std::string(authority.substr(1, close - 1));
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      why = "has characters after its IPv6 host";
      return false;
    }
  } else {
    std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? "" : authority.substr(colon);
  }
  if (url.host.empty()) {
    why = "has no host";
    return false;
  }
  if (!authority.empty()) {  // ":port"
    std::string_view port = authority.substr(1);
    if (!all_digits(port) || std::stoi(std::string(port)) < 1 ||
        std::stoi(std::string(port)) > 65535) {
      why = "has a port outside 1..65535";
      return false;
    }
    url.port = std::stoi(std::string(port));
  }
  if (!path.empty()) {
    if (!all_digits(path) || std::stoi(std::string(path)) > kMaxRedisDb) {
      why = "expected a database number after the host (redis://host:6379/0)";
      return false;
    }
    url.db = std::stoi(std::string(path));
  }
  out = std::move(url);
  return true;
}

}  // namespace pb::config
