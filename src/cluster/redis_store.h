// The state store shared by several pollbridge processes through Redis
// (state.redis; docs/cluster.md). Each stream instance has a meta hash, a
// Redis Stream of its events and a poll lease (cluster/keys.h); every
// change goes through one Lua script (cluster/lua_scripts.h).
//
//  * Owning a key (load/reset ... release) is local: one Stream per key per
//    process, as with the embedded stores. Polling it is the lease: the
//    process whose lease script won may_poll(); the others follow.
//  * append() is fenced: the script refuses unless the caller still holds
//    the lease and Redis is at the expected seq (StoreError kFenced: the
//    caller steps down and its events are dropped). An unreachable Redis is
//    kIo: no event is issued without the fence.
//  * Followers hear what the poller recorded from the EventFollower (XREAD
//    on a connection of its own) and from the lease turns (an epoch that
//    changed, a lease just won: catch up before polling).
//  * A poll asked of a process that does not hold the lease (a webhook
//    through the load balancer) goes to the holder as an entry of P:polls;
//    its answer comes back the same way (request_poll).
//  * Every lease/3 one turn renews or tries to acquire the lease of each
//    owned key (one pipelined round trip for all), records presence (this
//    process has clients) and reports whether other processes have some.
//
// One object is both the stream::Store and the stream::Coordinator of a
// cluster: append()'s fence is the lease that may_poll() reports, and the
// keys a lease turn competes for are those load() took; splitting them
// would share all of this state anyway. app hands it out as both halves
// of a stream::State (make_redis_state), so nothing needs its type.
//
// Threads: the Store and Coordinator methods from any thread, per store.h
// and coordinator.h. All hiredis contexts are driven by two dedicated
// threads ("pb-redis": commands and lease turns; "pb-redis-follow": XREAD),
// never by a hub, HTTP or upstream thread: callers of load()/append() wait
// for one round trip on pb-redis, bounded (call()).
//
// With a redis+sentinel:// URL both connections find the master through one
// shared Sentinel (cluster/sentinel.h), whose own thread ("pb-sentinel")
// listens for +switch-master and wakes pb-redis to reconnect. Lost writes
// (Redis behind what this process recorded, as after a failover to a
// replica that lagged) start a new epoch at a lease turn (lua_scripts.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "cluster/event_follower.h"
#include "cluster/keys.h"
#include "cluster/redis_connection.h"
#include "common/mutex.h"
#include "config/config.h"
#include "config/redis_url.h"
#include "stream/coordinator.h"
#include "stream/state.h"
#include "stream/store.h"

namespace pb::cluster {

class RedisStore : public stream::Store, public stream::Coordinator {
 public:
  struct Options {
    config::RedisUrl url;
    std::string prefix = "pollbridge:";
    std::chrono::milliseconds lease{3000};
    std::chrono::milliseconds timeout{1000};  // connect and each command
    std::string owner;  // this process in tokens and presence; "" = host:pid:random
  };

  // Starts the threads; does not wait for Redis (an unreachable Redis at
  // start is reported like an outage, and retried).
  explicit RedisStore(Options options);
  ~RedisStore() override;  // lets go of every lease held

  // stream::Store.
  std::optional<stream::PersistedState> load(const std::string& key, const std::string& stream,
                                             std::size_t history) override;
  void reset(const std::string& key, const std::string& stream, const std::string& epoch) override;
  void append(const std::string& key, const stream::Commit& commit) override;
  void touch(const std::string& key, std::int64_t fetched_ms) noexcept override;
  void release(const std::string& key, std::int64_t expires_ms) noexcept override;
  std::size_t sweep(std::int64_t) noexcept override { return 0; }  // Redis expires keys
  std::size_t forget_streams_except(const std::set<std::string>&) noexcept override { return 0; }
  bool persistent() const override { return true; }

  // stream::Coordinator.
  bool shared() const override { return true; }
  void follow(const std::string& key, stream::Follower* f) override;
  void unfollow(const std::string& key, stream::Follower* f) noexcept override;
  bool may_poll(const std::string& key) const override;
  bool listened_elsewhere(const std::string& key) const override;
  std::string unavailable() const override;
  bool request_poll(const std::string& key, std::chrono::milliseconds wait) override;
  void write_metrics(std::ostream& out) const override;
  void on_poll_requests(PollRequests poll) override;
  // Key P:<name>: SET NX, then GET.
  std::string shared_secret(const std::string& name, const std::string& fresh) override;

  const std::string& owner() const { return options_.owner; }
  // Leases held now (tests, /metrics).
  std::size_t leases_held() const;
  // Appends refused by the fence since start.
  std::uint64_t fenced() const;
  // Where Redis is now (the master, through Sentinel) and how often the
  // master changed.
  Location location() const override;

 private:
  struct Key {
    std::string stream;
    std::size_t history = 1000;
    stream::Follower* follower = nullptr;
    std::string token;  // the lease held, "" if none
    bool leader = false;
    std::chrono::steady_clock::time_point leader_until{};  // lease is safe to assume until
    std::int64_t others = 0;                               // other processes with clients
    std::int64_t touched_ms = 0;
    // An append was refused because Redis lost events this process
    // recorded: why, until a lease turn started the new epoch.
    std::string behind;
  };
  using Job = std::function<void(RedisConnection*)>;  // null: Redis is unreachable now

  // Runs `job` on pb-redis and waits for it (bounded). Throws StoreError
  // kIo when Redis cannot be reached or the wait ran out.
  void call(const std::function<void(RedisConnection&)>& job);
  void post(Job job) PB_EXCLUDES(mu_);
  // Lets go of `address`'s lease if `token` still holds it and leaves its
  // presence; its keys expire at `expires_ms` (unix ms; 0: kept). Best
  // effort.
  Job release_job(const std::string& address, const std::string& token,
                  std::int64_t expires_ms) const;
  void run();
  void turn(RedisConnection& c);
  // A lease was won: bring the follower to Redis' state first.
  void catch_up(RedisConnection& c, const std::string& address);
  void set_health(bool ok, const std::string& why);
  std::vector<EventFollower::Target> follow_targets() const PB_EXCLUDES(mu_);
  void deliver(const std::string& address, const stream::PersistedState& state) PB_EXCLUDES(mu_);
  // An entry of P:polls (follower thread): a request to poll a key this
  // process holds, or the answer to one of this process's requests.
  void on_poll_entry(const EventFollower::Fields& fields);
  void add_poll_entry(const RedisConnection::Args& fields);

  Options options_;
  std::chrono::milliseconds period_;  // lease turns
  mutable Mutex mu_;
  CondVar cv_;
  std::map<std::string, Key> keys_ PB_GUARDED_BY(mu_);
  std::deque<Job> jobs_ PB_GUARDED_BY(mu_);
  bool stopping_ PB_GUARDED_BY(mu_) = false;
  std::string unavailable_ PB_GUARDED_BY(mu_);
  std::uint64_t fenced_ PB_GUARDED_BY(mu_) = 0;
  // New epochs started because Redis lost writes (lease turns).
  std::uint64_t lost_writes_ PB_GUARDED_BY(mu_) = 0;
  // A lease turn is due now (an append found Redis behind).
  bool turn_now_ PB_GUARDED_BY(mu_) = false;
  std::uint64_t poll_requests_sent_ PB_GUARDED_BY(mu_) = 0;
  std::uint64_t poll_requests_served_ PB_GUARDED_BY(mu_) = 0;
  // This process's poll requests that wait for their answer: request id ->
  // answered.
  std::map<std::string, bool> poll_waits_ PB_GUARDED_BY(mu_);
  std::uint64_t next_request_ PB_GUARDED_BY(mu_) = 0;
  CondVar polled_cv_;
  std::string polls_key_;
  // Held while the poll handler runs, so that clearing it waits.
  Mutex handler_mu_;
  PollRequests poll_handler_ PB_GUARDED_BY(handler_mu_);
  // Held while a follower is called (by either thread), so that unfollow()
  // returns only once no call is in progress. Taken before mu_.
  mutable Mutex call_mu_;
  // For a redis+sentinel:// URL: finds the master for both connections.
  std::shared_ptr<Sentinel> sentinel_;
  // The master changed: pb-redis reconnects now, not after its backoff.
  bool reconnect_now_ PB_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::unique_ptr<EventFollower> follower_;
};

// The store and coordinator for `state` (state.redis set and valid:
// checked by the config loader): one RedisStore.
stream::State make_redis_state(const config::StateConfig& state);
// state.redis for logs: the credentials shown as ***.
std::string redacted_redis(const std::string& url);

// How long after a failed connect pb-redis tries again: doubling from the
// first to the last, so that an outage costs few attempts and a restart is
// noticed within seconds.
constexpr std::chrono::milliseconds kReconnectFirst{100};
constexpr std::chrono::milliseconds kReconnectMax{2000};
// How much of the lease a holder trusts without a renewal: it stops polling
// this long before the lease could have expired in Redis (clock drift, a
// slow reply).
constexpr double kLeaseSafety = 0.8;
// How long presence lasts without being renewed, in lease periods.
constexpr int kPresenceLeases = 3;
// Entries kept in P:polls (requests and answers; trimmed approximately).
constexpr std::size_t kPollsKept = 1000;
// How often an unchanged poll's time is written to Redis at most.
constexpr std::int64_t kRedisTouchEveryMs = 10000;

}  // namespace pb::cluster
