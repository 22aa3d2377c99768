// One synchronous hiredis connection, used by exactly one thread (its
// owner: the store's command thread or its follower thread). Every call is
// bounded by the socket timeout given at construction; an I/O error or a
// timeout closes the connection (the next call reconnects), so a reply is
// never read out of order.
//
// With a redis+sentinel:// URL the address is the master the sentinels name
// (cluster/sentinel.h), checked with ROLE at each connect: a replica is
// refused and the next sentinel asked. A -READONLY, -LOADING or
// -MASTERDOWN reply, or a failover the Sentinel object heard of, closes the
// connection, so the next call looks the master up again.
//
// Debian 12's hiredis is 0.14: RESP2 only, no TLS, no async timeouts (this
// is why the connection is synchronous with socket timeouts, driven from
// dedicated threads, instead of the async API on the hub's loops).
//
// Threads: one at a time (the owner).
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cluster/script.h"
#include "cluster/sentinel.h"
#include "config/redis_url.h"

namespace pb::cluster {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// The connection failed (connect, I/O, timeout) or Redis answered with an
// error where none was expected. Messages never hold the password.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RedisConnection {
 public:
  using Args = std::vector<std::string>;

  // `timeout` bounds the connect and every command (reading its reply).
  // `scripts` are loaded on every (re)connect (they must outlive this).
  // `sentinel` (shared by the store's connections) is required for a
  // redis+sentinel:// URL and unused otherwise.
  RedisConnection(config::RedisUrl url, std::chrono::milliseconds timeout,
                  std::vector<const Script*> scripts = {},
                  std::shared_ptr<Sentinel> sentinel = nullptr);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  bool connected() const { return ctx_ != nullptr; }
  // Connects (AUTH, SELECT) if not connected. Throws RedisError.
  void ensure();
  void close();

  // Sends one command and reads its reply (an error reply is returned, not
  // thrown). Throws RedisError on I/O failure, after closing.
  Reply command(const Args& args);
  // Pipelining: queue several commands, then read their replies in order.
  void append(const Args& args);
  Reply read();
  // Runs `script` (one of those given at construction) with EVALSHA.
  // Throws RedisError on I/O failure or an error reply.
  Reply eval(const Script& script, const Args& keys, const Args& args);
  // Queues an EVALSHA; read its reply with read_eval().
  void append_eval(const Script& script, const Args& keys, const Args& args);
  Reply read_eval(const Script& script);

  // The socket timeout of the commands from now on (XREAD BLOCK needs more
  // than its block time).
  void set_timeout(std::chrono::milliseconds timeout);

 private:
  [[noreturn]] void fail(const std::string& what);
  // Connects to host:port and authenticates (ctx_ set). Throws RedisError.
  void open(const std::string& host, int port, const std::string& shown);
  // Through the sentinels: the first master they name that ROLE confirms.
  void open_master();
  // Closes when `r` says this is no longer a writable master (sentinel
  // mode only).
  void check_role_error(const redisReply* r);

  config::RedisUrl url_;
  std::chrono::milliseconds timeout_;
  std::vector<const Script*> scripts_;
  redisContext* ctx_ = nullptr;
  std::shared_ptr<Sentinel> sentinel_;
  std::uint64_t generation_ = 0;  // the sentinel's, when connected
  std::size_t pending_ = 0;       // commands queued whose replies are not read yet
};

// The text of an error reply, or "" if `r` is not one.
std::string error_of(const redisReply* r);
// A bulk or status string, or "" (nil included).
std::string string_of(const redisReply* r);
long long integer_of(const redisReply* r);

}  // namespace pb::cluster
