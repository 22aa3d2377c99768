// The running proxy: a registry of stream instances by key (the address,
// plus a digest for a per-user instance), each with its poller and hub
// feed; parameterized and per-user instances made on demand; multiplexed
// channels; the attachment of client sockets; reload and reaping. The HTTP
// layer (server/) calls in here; App builds one from the config
// (App::open_state). docs/architecture.md draws the life of an instance.
//
// An instance's slot in the registry moves creating → live → retiring →
// gone, and its store key has one owner at a time:
//  * a lookup that finds a slot creating or retiring waits for it (up to
//    kLookupWait) or fails busy (kBusy, with a retry hint); it never builds
//    a twin;
//  * retiring cancels the poll in flight, retires the stream (its feed and
//    every multiplexed channel listening to it close), releases the store
//    key, and only then frees the slot;
//  * nothing slow (store I/O, pattern matching on request input, a poll)
//    runs under the runtime's lock;
//  * instances and channels are destroyed on the janitor thread (or by
//    stop()), never on a hub thread or inside a client's request.
//
// Threads: every public method may be called from any thread. The janitor
// runs on its own thread (or by hand: run_janitor_once(), for tests).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "config/config.h"
#include "core/instance.h"
#include "core/long_poll.h"
#include "core/lookup_error.h"
#include "core/stream_template.h"
#include "hub/hub.h"
#include "sse/content_coding.h"
#include "stream/coordinator.h"
#include "stream/local_coordinator.h"
#include "stream/state.h"
#include "stream/store.h"
#include "upstream/scheduler.h"

namespace pb::core {

class MuxChannel;

// What a config reload did, by stream name.
struct ReloadResult {
  std::vector<std::string> kept;     // unchanged: clients, ids and history untouched
  std::vector<std::string> changed;  // replaced: clients reconnect and resume
  std::vector<std::string> added;
  std::vector<std::string> removed;  // clients closed, saved state deleted
};

class Runtime {
 public:
  struct Options {
    // Run the janitor on its own thread; tests drive it by hand instead.
    bool janitor_thread = true;
    // Called at named points of the lifecycle, outside every lock, so that
    // a test can hold a thread exactly there (a latch) and reproduce a race
    // deterministically. Empty in production.
    std::function<void(std::string_view point)> test_point;
    // The time of the hub, the scheduler, the pollers and the janitor; must
    // outlive the runtime.
    Clock* clock = &real_clock();
  };

  // `state`: the store and coordinator opened from the config's `state`.
  Runtime(const config::Config& cfg, stream::State state);
  Runtime(const config::Config& cfg, stream::State state, Options options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void start();
  // Closes every client connection (after up to `drain` of pending writes)
  // and stops polling.
  void stop(std::chrono::milliseconds drain);

  // Finds the live instance for an address ("orders", "orders/42"). A
  // parameterized instance is made when `create` is set and the values are
  // valid (a plain stream's instance always is). Waits for an instance that
  // is being made or replaced, up to kLookupWait.
  std::shared_ptr<Instance> find(const std::string& address, bool create, LookupError* error);
  // The same for a request that may name a per-user instance and counts
  // against a client's max_instances_per_client (kClientOverLimit past it).
  std::shared_ptr<Instance> find(const InstanceRequest& request, LookupError* error);

  // The template serving `address` and its parameter values, without making
  // anything (for access checks before a lookup). Null when nothing serves
  // it; `invalid` set (with why) when a template matches but the values are
  // refused.
  struct Match {
    std::shared_ptr<const StreamTemplate> tmpl;
    std::map<std::string, std::string> values;
    bool invalid = false;
    std::string why;
  };
  Match match(const std::string& address) const;

  // The key that digests per-user instances' forwarded values (HMAC key).
  // Random per process unless App sets one (kept in the state directory, or
  // the cluster's shared one); set before start().
  void set_user_key(std::string secret) { user_key_ = std::move(secret); }
  // What attach() writes on a connection it cannot attach; set before the
  // first attach (server::Api does, when it is built). Unset, such a
  // connection is closed unanswered.
  void set_refusal(RefusalRenderer render) { refusal_ = render; }

  // Attaches a client connection (plain or TLS; ownership passes to the
  // hub) to one stream. `head` is the HTTP response head. If the instance is
  // being retired, the client goes to its successor. Returns false if it
  // could not be attached (the connection is closed; the refusal set by
  // set_refusal() was written to it if nothing else had been).
  // At `close_at` the connection ends (the client's credential expired).
  // `format` is the representation the client asked for (the caller has
  // checked that resolve_format() allows it for the stream's mode).
  // `revocable`: the admission a reload may revoke (hub::Hub::attach).
  // `coding`: gzip or deflate attaches the client to the instance's
  // compressed feed (core/compressed_feed.h); `head` then already names the
  // coding, and what follows its blank line is compressed with the replay.
  bool attach(std::shared_ptr<Instance> inst, hub::Transport io, std::string head,
              const std::optional<std::string>& last_id,
              hub::SteadyClock::time_point close_at = hub::SteadyClock::time_point::max(),
              stream::Format format = stream::Format::kNative,
              std::shared_ptr<const hub::Revocable> revocable = nullptr,
              sse::Coding coding = sse::Coding::kIdentity);
  // Attaches a client connection to several streams multiplexed on one
  // connection (composite ids).
  bool attach_mux(std::vector<std::shared_ptr<Instance>> insts, hub::Transport io, std::string head,
                  const std::optional<std::string>& last_id,
                  hub::SteadyClock::time_point close_at = hub::SteadyClock::time_point::max(),
                  stream::Format format = stream::Format::kNative,
                  std::shared_ptr<const hub::Revocable> revocable = nullptr,
                  sse::Coding coding = sse::Coding::kIdentity);

  // Answers a long-poll request (core/long_poll.h) on one instance, or
  // several multiplexed (in request order): the events after its position,
  // or what to wait on when there are none yet. Like attach(), an instance
  // being replaced is asked through its successor.
  LongPollResult long_poll(std::vector<std::shared_ptr<Instance>> insts,
                           const LongPollRequest& req);

  // Requests an immediate poll (from the process holding the poll lease,
  // with a shared store); with `wait`, returns once it has finished (false
  // if that took longer than `wait`, or the shared store is unreachable).
  bool trigger(const std::shared_ptr<Instance>& inst,
               std::optional<std::chrono::milliseconds> wait = std::nullopt);

  // Applies a new config's streams: unchanged streams keep their clients,
  // ids and history; changed ones are replaced (their clients are closed and
  // resume from history on the new instance, whose state continues from the
  // store); removed ones close their clients and their saved state is
  // deleted; added ones start. A change of only live keys (config/keys.h:
  // history) applies to the running instances, as do the top-level
  // history_bytes and server.heartbeat. Keys outside the streams are the
  // caller's (app/app.h, config::diff_config).
  ReloadResult reload(const config::Config& next);

  // Reaps idle parameterized instances and unused channels, deletes expired
  // saved state, and frees what was retired. The janitor thread calls it
  // every kJanitorPeriod of Options::clock.
  void run_janitor_once();

  // Live instances (not those being made or retired).
  std::vector<std::shared_ptr<Instance>> instances() const;
  const config::Config& config() const { return cfg_; }
  hub::Hub& hub() { return hub_; }
  upstream::Scheduler& scheduler() { return scheduler_; }
  stream::Store& store() { return *store_; }
  stream::Coordinator& coordinator() { return *coordinator_; }
  std::size_t client_limit() const { return cfg_.server.max_clients; }
  // Objects retired but not yet destroyed (tests: they go on the janitor).
  std::size_t graveyard_size() const;

 private:
  struct Slot {
    enum State { kCreating, kLive, kRetiring } state = kCreating;
    std::shared_ptr<Instance> inst;  // null while creating
    std::shared_ptr<const StreamTemplate> tmpl;
    std::string owner;  // counted in per_owner_ while `counted`
    // Counted against max_instances (per_template_) and the owner's cap
    // while creating or live; a retiring slot no longer is, so a value
    // gone from GET /streams frees its place at once, even while its
    // retirement (a cancelled poll, the store release) is still running.
    bool counted = true;
  };

  void test_point(std::string_view point) const;
  // Makes the instance for `address` in a slot marked creating (not under
  // mu_), then publishes it. Returns null with `error` if that failed, or
  // with `again` set if the slot or the template changed meanwhile (look
  // again).
  std::shared_ptr<Instance> create(const InstanceRequest& req, const std::string& key,
                                   const std::shared_ptr<const StreamTemplate>& tmpl,
                                   const std::map<std::string, std::string>& values,
                                   LookupError* error, bool* again) PB_EXCLUDES(mu_);
  std::shared_ptr<Instance> make_instance(const InstanceRequest& req, const std::string& key,
                                          const std::shared_ptr<const StreamTemplate>& tmpl,
                                          const std::map<std::string, std::string>& values);
  // Whether an instance's state goes to the in-process store (with a local
  // coordinator: nothing shared) rather than the configured ones: a
  // per-user stream that does not persist.
  static bool keeps_private_state(const config::StreamConfig& cfg, bool per_user);
  // Retires per-user instances of auth: upstream streams whose upstream now
  // refuses their credentials (401/403): their clients get the status event
  // and are closed.
  void retire_refused_users();
  // Another process asked for a poll of `key` (a shared store's thread).
  void poll_requested(const std::string& key, std::function<void()> done) PB_EXCLUDES(mu_);
  // Retires an instance whose slot is marked retiring (not under mu_): see
  // the class comment. The slot itself is left to the caller.
  void retire(const std::shared_ptr<Instance>& inst, std::int64_t expires_ms) PB_EXCLUDES(mu_);
  void stop_channel(const std::shared_ptr<MuxChannel>& ch) PB_EXCLUDES(mu_);
  // Marks a live slot retiring; false if a client holds the instance.
  bool mark_retiring_locked(Slot& slot, bool unless_used) PB_REQUIRES(mu_);
  void free_slot_locked(const std::string& address) PB_REQUIRES(mu_);
  void uncount_locked(Slot& slot) PB_REQUIRES(mu_);
  void janitor_loop();
  // When a reaped instance's saved state is deleted.
  std::int64_t expiry_for(const Instance& inst) const;

  config::Config cfg_;  // as started; reload does not change it
  const Options options_;
  // The top-level history_bytes as reloads change it (every instance's
  // stream reads it).
  const std::shared_ptr<std::atomic<std::size_t>> history_bytes_;
  const std::shared_ptr<stream::Store> store_;
  const std::shared_ptr<stream::Coordinator> coordinator_;
  // Per-user instances that do not persist (streams[].persist: false).
  std::unique_ptr<stream::Store> private_store_;
  stream::LocalCoordinator private_coordinator_;
  std::string user_key_;
  RefusalRenderer refusal_ = nullptr;
  hub::Hub hub_;
  upstream::Scheduler scheduler_;

  mutable Mutex mu_;
  CondVar slots_cv_;  // a slot changed state or went away
  std::vector<std::shared_ptr<const StreamTemplate>> templates_ PB_GUARDED_BY(mu_);
  std::map<std::string, Slot> slots_ PB_GUARDED_BY(mu_);
  std::map<const StreamTemplate*, std::size_t> per_template_ PB_GUARDED_BY(mu_);
  // Instances each client caused to exist, by (template, owner).
  std::map<std::pair<const StreamTemplate*, std::string>, std::size_t> per_owner_
      PB_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<MuxChannel>> channels_ PB_GUARDED_BY(mu_);
  // Retired instances and channels, destroyed by the janitor once nobody
  // else holds them.
  std::vector<std::shared_ptr<Instance>> dead_instances_ PB_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<MuxChannel>> dead_channels_ PB_GUARDED_BY(mu_);
  std::int64_t next_sweep_ms_ PB_GUARDED_BY(mu_) = 0;
  Mutex reload_mu_;  // one reload at a time; taken before mu_

  std::thread janitor_;
  Mutex janitor_mu_;
  CondVar janitor_cv_;
  bool stopping_ PB_GUARDED_BY(janitor_mu_) = false;
  Clock::Subscription janitor_waker_;  // a manual clock's advance() ends the wait
};

// Threads that turn upstream responses into events (parse, diff, store
// commit). Requests themselves are all driven by one event-loop thread, so
// no upstream, however slow, holds one of these.
constexpr std::size_t kProcessingThreads = 2;
// Most hub threads chosen automatically (server.hub_threads: 0): fan-out is
// write(2)-bound, and more threads than cores only add contention.
constexpr std::size_t kMaxAutoHubThreads = 4;
// How often the janitor looks for idle parameterized instances and unused
// multiplexed channels, and frees what was retired.
constexpr std::chrono::seconds kJanitorPeriod{1};
// How often expired saved state is deleted from the store (an indexed
// query: cheap when nothing has expired).
constexpr std::chrono::seconds kSweepPeriod{5};
// How long a lookup waits for an instance that is being made or replaced
// before failing busy (kBusy, retry after 1 s).
constexpr std::chrono::seconds kLookupWait{5};
// Bounds of the default `retention` (history × interval) of a reaped
// parameterized instance's saved state.
constexpr std::chrono::minutes kMinDefaultRetention{1};
constexpr std::chrono::hours kMaxDefaultRetention{24};

}  // namespace pb::core
