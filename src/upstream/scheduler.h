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
// (its result waits for a processing thread) -> processing -> waiting.
//
// Threads: every public method may be called from any thread except the
// loop and processing threads themselves (remove() and stop() wait for
// them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

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

  explicit Scheduler(std::size_t processing_threads);
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
  // Blocks until the poll that trigger() asked for has finished (true), or
  // `timeout` passed (false).
  bool wait_polled(Poller* poller, std::uint64_t ticket, std::chrono::milliseconds timeout);
  // A client arrived: a parked (idle) poller resumes at once.
  void wake(Poller* poller);

  bool is_idle(Poller* poller) const;

 private:
  enum class State { kWaiting, kIdle, kQueued, kInFlight, kPending, kProcessing, kDone };
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
    std::uint64_t started = 0;              // polls begun
    std::uint64_t finished = 0;             // polls ended
    bool removed = false;
  };

  // TransferLoop::Driver (loop thread).
  std::optional<SteadyClock::time_point> on_turn(SteadyClock::time_point now) override;
  void on_done(CURL* easy, CURLcode result) override;

  // The rest with mu_ held.
  Entry* find_locked(const void* key, std::uint64_t id) const;
  void schedule_locked(Entry& e, SteadyClock::time_point due);
  bool should_park_locked(Entry& e, SteadyClock::time_point now) const;
  // Sends what may be sent to `origin` (loop thread).
  void admit_locked(const std::string& origin, SteadyClock::time_point now);
  void send_locked(Entry& e, SteadyClock::time_point now);
  bool current_locked(const DueQueue::Item& item) const;

  // Processing thread.
  void process(Poller* poller, std::uint64_t id, FetchResult result);

  ProcessingPool pool_;
  TransferLoop loop_;
  mutable std::mutex mu_;
  std::condition_variable done_cv_;  // a poll or a removal finished
  std::unordered_map<Poller*, std::unique_ptr<Entry>> entries_;
  DueQueue due_;
  HostSlots slots_;
  std::vector<Poller*> cancels_;  // in flight, to be abandoned by the loop
  std::uint64_t next_id_ = 1;
  std::uint64_t next_token_ = 1;
  bool stopping_ = false;
  bool loop_stopped_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
};

// The first poll of each stream lands at a random point within this window
// (or within its interval, if shorter), so that many streams do not poll
// their backends in the same millisecond.
constexpr std::chrono::milliseconds kFirstPollSpread{1000};

}  // namespace pb::upstream
