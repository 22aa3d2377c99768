// The follower: one connection of its own that waits on XREAD BLOCK for new
// entries of every followed instance's Redis Stream, then reads each
// instance's state after its position (the `read` script: events plus the
// document when it changed) and hands it over. The process holding an
// instance's lease is not told its own events (it published them already).
// The same XREAD waits on the deployment's poll requests (`P:polls`, see
// docs/cluster.md): each new entry's fields are handed over, after the
// events of the same round, so that a "polled" answer is never ahead of the
// events that poll made.
//
// Threads: its own ("pb-redis-follow"); start() and the destructor from the
// owner's.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/keys.h"
#include "cluster/sentinel.h"
#include "config/redis_url.h"
#include "stream/coordinator.h"
#include "stream/store.h"

namespace pb::cluster {

class EventFollower {
 public:
  struct Target {
    std::string address;
    InstanceKeys keys;
    stream::Follower::Position position;
    std::size_t history = 1000;
  };
  using Targets = std::function<std::vector<Target>()>;
  using Deliver = std::function<void(const std::string& address, const stream::PersistedState&)>;
  using Fields = std::map<std::string, std::string>;
  using PollEntry = std::function<void(const Fields& fields)>;

  // `sentinel`: the store's, for a redis+sentinel:// URL (else null).
  EventFollower(config::RedisUrl url, std::chrono::milliseconds timeout, Targets targets,
                Deliver deliver, std::string polls_key, PollEntry on_poll_entry,
                std::shared_ptr<Sentinel> sentinel = nullptr);
  ~EventFollower();  // stops and joins
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;

 private:
  void run();

  config::RedisUrl url_;
  std::chrono::milliseconds timeout_;
  Targets targets_;
  Deliver deliver_;
  std::string polls_key_;
  PollEntry on_poll_entry_;
  std::shared_ptr<Sentinel> sentinel_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// How long one XREAD waits for new entries: bounds how late a newly
// followed instance is included and how long stopping takes (events
// themselves arrive at once).
constexpr std::chrono::milliseconds kFollowBlock{500};
// Entries read per instance per round (the rest follow in the next).
constexpr std::size_t kFollowBatch = 1000;
// Longest wait before following again after an error; shorter through
// Sentinel, where a lost master is usually a failover in progress.
constexpr std::chrono::milliseconds kFollowBackoffMax{2000};
constexpr std::chrono::milliseconds kSentinelBackoffMax{300};

}  // namespace pb::cluster
