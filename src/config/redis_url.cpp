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

// host[:port] or [v6][:port]; `port` keeps its default when none is given.
bool parse_host_port(std::string_view authority, std::string& host, int& port, std::string& why) {
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "has an unclosed [ in its host";
      return false;
    }
    host = std::string(authority.substr(1, close - 1));
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      why = "has characters after its IPv6 host";
      return false;
    }
  } else {
    std::size_t colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? "" : authority.substr(colon);
  }
  if (host.empty()) {
    why = "has no host";
    return false;
  }
  if (!authority.empty()) {  // ":port"
    std::string_view p = authority.substr(1);
    if (!all_digits(p) || std::stoi(std::string(p)) < 1 || std::stoi(std::string(p)) > 65535) {
      why = "has a port outside 1..65535";
      return false;
    }
    port = std::stoi(std::string(p));
  }
  return true;
}

bool parse_db(std::string_view path, int& db, std::string& why, const char* example) {
  if (!all_digits(path) || std::stoi(std::string(path)) > kMaxRedisDb) {
    why = std::string("expected a database number after the ") + example;
    return false;
  }
  db = std::stoi(std::string(path));
  return true;
}

bool valid_master_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string RedisEndpoint::text() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string RedisUrl::redacted() const {
  std::string creds = (user.empty() && password.empty()) ? "" : "***@";
  if (via_sentinel()) {
    std::string list;
    for (const auto& s : sentinels) list += (list.empty() ? "" : ",") + s.text();
    return "redis+sentinel://" + creds + list + "/" + master_name + "/" + std::to_string(db);
  }
  return "redis://" + creds + RedisEndpoint{host, port}.text() + "/" + std::to_string(db);
}

bool parse_redis_url(std::string_view text, RedisUrl& out, std::string& why) {
  RedisUrl url;
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      why = "must not contain spaces, control or non-ASCII characters";
      return false;
    }
  }
  if (text.rfind("rediss://", 0) == 0 || text.rfind("rediss+sentinel://", 0) == 0) {
    why =
        "rediss:// (TLS) is not supported by this build's hiredis; reach a TLS-only Redis "
        "through a local TLS proxy such as stunnel (docs/cluster.md)";
    return false;
  }
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kSentinelScheme = "redis+sentinel://";
  const bool sentinel = text.rfind(kSentinelScheme, 0) == 0;
  if (!sentinel && text.rfind(kScheme, 0) != 0) {
    why =
        "expected redis://[:password@]host[:port][/db] or "
        "redis+sentinel://[:password@]host:port[,host:port...]/MASTER_NAME[/db]";
    return false;
  }
  std::string_view rest = text.substr(sentinel ? kSentinelScheme.size() : kScheme.size());
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
  if (!sentinel) {
    if (!parse_host_port(authority, url.host, url.port, why)) return false;
    if (!path.empty() && !parse_db(path, url.db, why, "host (redis://host:6379/0)")) return false;
    out = std::move(url);
    return true;
  }
  // The sentinels, comma-separated.
  while (true) {
    std::size_t comma = authority.find(',');
    RedisEndpoint e;
    e.port = kSentinelPort;
    if (!parse_host_port(authority.substr(0, comma), e.host, e.port, why)) {
      why = "lists a sentinel that " + why;
      return false;
    }
    url.sentinels.push_back(std::move(e));
    if (url.sentinels.size() > kMaxSentinels) {
      why = "lists more than " + std::to_string(kMaxSentinels) + " sentinels";
      return false;
    }
    if (comma == std::string_view::npos) break;
    authority = authority.substr(comma + 1);
  }
  std::size_t slash2 = path.find('/');
  std::string_view name = path.substr(0, slash2);
  if (!valid_master_name(name)) {
    why =
        "expected the master's name after the sentinels "
        "(redis+sentinel://host:26379/mymaster[/db]; letters, digits, '-', '_', '.')";
    return false;
  }
  url.master_name = std::string(name);
  if (slash2 != std::string_view::npos &&
      !parse_db(path.substr(slash2 + 1), url.db, why, "master's name (/mymaster/0)")) {
    return false;
  }
  url.host = url.sentinels.front().host;  // until the sentinels name the master
  url.port = url.sentinels.front().port;
  out = std::move(url);
  return true;
}

}  // namespace pb::config
