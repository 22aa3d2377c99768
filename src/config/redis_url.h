// The `state.redis` URL: redis://[[user]:password@]host[:port][/db].
// Debian's hiredis 0.14 has no TLS, so rediss:// is refused with a pointer
// to docs/cluster.md (stunnel).
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>

namespace pb::config {

struct RedisUrl {
  std::string host;  // IPv6 literals without their brackets
  int port = 6379;
  std::string user;      // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;  // secret: never logged
  int db = 0;

  // For logs: redis://host:port/db, the credentials shown as ***.
  std::string redacted() const;
};

// Splits and checks `text`. On failure returns false and sets `why` to a
// phrase that never contains the password (e.g. "has no host").
bool parse_redis_url(std::string_view text, RedisUrl& out, std::string& why);

// The largest database index accepted (Redis' default `databases 16` allows
// 0..15; a server configured with more is allowed up to this).
constexpr int kMaxRedisDb = 1 << 20;

}  // namespace pb::config
