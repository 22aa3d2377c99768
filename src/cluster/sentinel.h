// Where the Redis master is, for a redis+sentinel:// state.redis
// (docs/cluster.md, "Failover with Sentinel"): the sentinels are asked in
// turn (SENTINEL get-master-addr-by-name), and a subscription to
// +switch-master on one of them hears of a failover as soon as Sentinel
// decides it. The connections (RedisConnection) ask ask() for a candidate,
// check it with ROLE themselves and report what they found to found(); a
// switch they or the subscription notice bumps generation(), which makes
// every connection to the old master reconnect.
//
// Debian 12's hiredis 0.14 has no Sentinel support of its own (redis-py,
// Jedis and go-redis have one; hiredis does not), hence this file.
//
// Threads: ask(), found(), generation(), master(), failovers() from any
// thread (the store's pb-redis and pb-redis-follow); its own
// "pb-sentinel" thread holds the subscription; the constructor and the
// destructor (which joins it) from the owner's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "config/redis_url.h"

namespace pb::cluster {

class Sentinel {
 public:
  // `on_switch` is called (from any thread, no lock held) when the master
  // changed: the owner reconnects without waiting for its backoff.
  Sentinel(config::RedisUrl url, std::chrono::milliseconds timeout,
           std::function<void()> on_switch = nullptr);
  ~Sentinel();
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;

  std::size_t count() const { return url_.sentinels.size(); }
  // Sentinel `i`'s answer: the master's address, or nullopt with `why`
  // (cannot connect, authentication refused, does not know the name).
  // Never holds a secret.
  std::optional<config::RedisEndpoint> ask(std::size_t i, std::string& why) const;
  // The sentinel to ask first: the last one that named a good master.
  std::size_t preferred() const;
  // A connection reached `master` and ROLE said master: records it (as
  // named by sentinel `from`); a change of master is a failover (counted,
  // logged once). Returns the generation the connection belongs to.
  std::uint64_t found(const config::RedisEndpoint& master, std::size_t from);
  // Changes each time the master changes: a connection made in an older
  // generation reconnects.
  std::uint64_t generation() const { return generation_.load(); }
  // host:port of the master last found ("" before any), for /metrics and
  // /streams (no credentials).
  std::string master() const;
  std::uint64_t failovers() const;

 private:
  void subscribe_loop();
  // Applies a switch the subscription heard of.
  void switched(const config::RedisEndpoint& to);

  config::RedisUrl url_;
  std::chrono::milliseconds timeout_;
  std::function<void()> on_switch_;
  mutable Mutex mu_;
  CondVar cv_;
  std::optional<config::RedisEndpoint> master_ PB_GUARDED_BY(mu_);
  std::size_t preferred_ PB_GUARDED_BY(mu_) = 0;
  std::uint64_t failovers_ PB_GUARDED_BY(mu_) = 0;
  bool stopping_ PB_GUARDED_BY(mu_) = false;
  std::atomic<std::uint64_t> generation_{1};
  std::thread thread_;
};

// How long the subscription waits before trying the next sentinel after
// one failed.
constexpr std::chrono::milliseconds kSentinelRetry{500};

}  // namespace pb::cluster
