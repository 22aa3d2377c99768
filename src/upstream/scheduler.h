// Runs every stream's polls: one poll loop per stream instance whatever the
// number of clients, first polls spread so streams do not hit their backends
// in the same instant, immediate polls on request (coalesced), streams with
// `idle: stop` parked while nobody listens, and at most
// max_connections_per_host requests in flight per upstream origin.
//
// Three parts, none of them per stream:
//  - the schedule, a heap of due times (DueQueue);
//  - one event loop thread, "pb-upstream" (TransferLoop), that sends every
//    request through one curl multi handle; a slow upstream holds a socket,
//    never a thread, and only until its deadline;
//  - a small fixed pool of processing threads, "pb-process"
//    (ProcessingPool), that turn finished responses into events (parse,
//    diff, stream update and store commit), at most one task per poller at a
//    time, so CPU work and commits never stall the loop.
// A poll moves waiting -> queued (for a host slot) -> in flight -> pending
// (its result waits for a processing thread) -> processing -> waiting; a
// poll of several requests (a login, a token, pages) goes from processing
// back to queued for each further request (it waits for a host slot like
// any request), or to waiting with `recheck` when its poller must look
// again later (a token another poll is fetching).
//
// Due times, parking and admission are on the injected clock (real by
// default): with a manual clock a poll becomes due only when a test
// advances the time. wait_polled()'s timeout is real time.
//
// Threads: every public method may be called from any thread except the
// loop and processing threads themselves (remove() and stop() wait for
// them).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "config/config.h"
#include "upstream/due_queue.h"
#include "upstream/host_slots.h"
#include "upstream/poller.h"
#include "upstream/processing_pool.h"
#include "upstream/transfer_loop.h"

namespace pb::upstream {

class Scheduler : private TransferLoop::Driver {
 public:
  using SteadyClock = std::chrono::steady_clock;

  // `clock` must outlive the scheduler.
  explicit Scheduler(std::size_t processing_threads, Clock& clock = real_clock());
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  // Abandons the requests in flight, waits for the processing tasks that are
  // running (bounded: see diff/json_patch.h), then joins the threads. Never
  // waits on the network.
  void stop();

  // Adds a poller (not owned; it must stay alive until remove() returns).
  // Its first poll happens within min(interval, kFirstPollSpread).
  void add(Poller* poller);
  // Removes a poller: its request in flight, if any, is abandoned at once.
  // Returns once nothing will call into the poller or its stream again; it
  // waits only for a processing task already running on a received body.
  void remove(Poller* poller);

  // Polls as soon as possible; if a poll is in flight, once more right
  // after it (so a change signalled during a poll is never missed).
  // Returns a ticket for wait_polled(), 0 if the poller is unknown.
  std::uint64_t trigger(Poller* poller);
  // The same, and `on_polled` is called once that poll has finished (from a
  // processing thread), or at once when there is nothing to wait for, or
  // from remove() when the poller goes first. Never called after stop():
  // callbacks still waiting then are dropped.
  void trigger(Poller* poller, std::function<void()> on_polled);
  // Blocks until the poll that trigger() asked for has finished (true), or
  // `timeout` passed (false).
  bool wait_polled(Poller* poller, std::uint64_t ticket, std::chrono::milliseconds timeout);
  // A client arrived: a parked (idle) poller resumes at once.
  void wake(Poller* poller);

  bool is_idle(Poller* poller) const;
  // When the poller's next poll is due (on the clock), if it is waiting for
  // one; nullopt while a poll is under way, parked or unknown.
  std::optional<SteadyClock::time_point> next_due(Poller* poller) const;

 private:
  enum class State { kWaiting, kIdle, kQueued, kInFlight, kPending, kProcessing, kDone };
  // Read and written with mu_ held (its poller and origin never change).
  struct Entry {
    Poller* poller = nullptr;
    std::uint64_t id = 0;  // unique per add(), so stale references are recognized
    State state = State::kWaiting;
    std::string origin;
    std::size_t cap = 0;
    SteadyClock::time_point due;
    std::uint64_t due_token = 0;            // the current DueQueue item
    SteadyClock::time_point last_listened;  // last time it had a client
    SteadyClock::time_point sent;           // when the current request was sent
    bool again = false;                     // poll again right after the current poll
    // The current poll goes on: its next request is queued (continuing),
    // or its poller wants process() again when due (recheck).
    bool continuing = false;
    bool recheck = false;
    std::uint64_t started = 0;   // polls begun
    std::uint64_t finished = 0;  // polls ended
    bool removed = false;
    // trigger() callbacks: the ticket each waits for.
    std::vector<std::pair<std::uint64_t, std::function<void()>>> on_polled;
  };

  // TransferLoop::Driver (loop thread).
  std::optional<SteadyClock::time_point> on_turn(SteadyClock::time_point now) override
      PB_EXCLUDES(mu_);
  void on_done(CURL* easy, CURLcode result) override PB_EXCLUDES(mu_);

  void remove_locked(Poller* poller,
                     std::vector<std::pair<std::uint64_t, std::function<void()>>>& waiting)
      PB_REQUIRES(mu_);
  Entry* find_locked(const void* key, std::uint64_t id) const PB_REQUIRES(mu_);
  void schedule_locked(Entry& e, SteadyClock::time_point due) PB_REQUIRES(mu_);
  bool should_park_locked(Entry& e, SteadyClock::time_point now) const PB_REQUIRES(mu_);
  // Sends what may be sent to `origin` (loop thread).
  void admit_locked(const std::string& origin, SteadyClock::time_point now) PB_REQUIRES(mu_);
  void send_locked(Entry& e, SteadyClock::time_point now) PB_REQUIRES(mu_);
  bool current_locked(const DueQueue::Item& item) const PB_REQUIRES(mu_);

  // Processing thread.
  void process(Poller* poller, std::uint64_t id, std::optional<FetchResult> result)
      PB_EXCLUDES(mu_);
  void submit_locked(Entry& e, std::optional<FetchResult> result) PB_REQUIRES(mu_);

  Clock& clock_;
  ProcessingPool pool_;
  TransferLoop loop_;
  mutable Mutex mu_;
  CondVar done_cv_;  // a poll or a removal finished
  std::unordered_map<Poller*, std::unique_ptr<Entry>> entries_ PB_GUARDED_BY(mu_);
  DueQueue due_ PB_GUARDED_BY(mu_);
  HostSlots slots_ PB_GUARDED_BY(mu_);
  std::vector<Poller*> cancels_ PB_GUARDED_BY(mu_);  // in flight, to be abandoned by the loop
  // Origins where a poll's next request was queued by a processing thread:
  // the loop admits what it can there at its next turn.
  std::vector<std::string> resumed_ PB_GUARDED_BY(mu_);
  std::uint64_t next_id_ PB_GUARDED_BY(mu_) = 1;
  std::uint64_t next_token_ PB_GUARDED_BY(mu_) = 1;
  bool stopping_ PB_GUARDED_BY(mu_) = false;
  bool loop_stopped_ PB_GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_ PB_GUARDED_BY(mu_){std::random_device{}()};
};

// The first poll of each stream lands at a random point within this window
// (or within its interval, if shorter), so that many streams do not poll
// their backends in the same millisecond.
constexpr std::chrono::milliseconds kFirstPollSpread{1000};
// How often a poller whose lease another process holds (state.redis) checks
// whether it may poll.
constexpr std::chrono::milliseconds kLeaseRecheck{200};

}  // namespace pb::upstream
