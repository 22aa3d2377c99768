// The `state.redis` URL: redis://[[user]:password@]host[:port][/db], or
// through Sentinel
// redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/MASTER[/db]
// (the hosts are the sentinels, port 26379 by default; the credentials are
// the master's: the sentinels' password is state.sentinel_password).
// Debian's hiredis 0.14 has no TLS, so rediss:// is refused with a pointer
// to docs/cluster.md (stunnel).
//
// Pure; callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pb::config {

struct RedisEndpoint {
  std::string host;  // IPv6 literals without their brackets
  int port = 6379;
  // host:port, IPv6 literals in brackets (no credentials: for logs).
  std::string text() const;
};

struct RedisUrl {
  std::string host;  // IPv6 literals without their brackets (plain redis://)
  int port = 6379;
  // redis+sentinel://: the sentinels, in the URL's order, and the name
  // they know the master by. Empty for a plain redis:// URL.
  std::vector<RedisEndpoint> sentinels;
  std::string master_name;
  std::string sentinel_password;  // state.sentinel_password; secret
  std::string user;               // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;           // secret: never logged
  int db = 0;

  bool via_sentinel() const { return !sentinels.empty(); }
  // For logs: redis://host:port/db (redis+sentinel://h:p,h:p/MASTER/db),
  // the credentials shown as ***.
  std::string redacted() const;
};

// Splits and checks `text`. On failure returns false and sets `why` to a
// phrase that never contains the password (e.g. "has no host").
bool parse_redis_url(std::string_view text, RedisUrl& out, std::string& why);

// The largest database index accepted (Redis' default `databases 16` allows
// 0..15; a server configured with more is allowed up to this).
constexpr int kMaxRedisDb = 1 << 20;
// Sentinels' default port, and how many a URL may list.
constexpr int kSentinelPort = 26379;
constexpr std::size_t kMaxSentinels = 16;

}  // namespace pb::config
