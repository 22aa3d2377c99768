// Runs every stream's polls on a fixed pool of threads: one poll loop per
// stream whatever the number of clients, first polls spread so streams do not
// hit their backends in the same instant, immediate polls on request
// (coalesced), and streams with `idle: stop` parked while nobody listens.
//
// Threads: all public methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "upstream/poller.h"

namespace pb::upstream {

class Scheduler {
 public:
  using SteadyClock = std::chrono::steady_clock;

  explicit Scheduler(std::size_t threads);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  // Aborts in-flight polls, waits for them, then joins the threads.
  void stop();

  // Adds a poller (not owned; it must stay alive until remove() returns).
  // Its first poll happens within min(interval, kFirstPollSpread).
  void add(Poller* poller);
  // Removes a poller, waiting for its in-flight poll to finish.
  void remove(Poller* poller);

  // Polls as soon as a thread is free; if a poll is in flight, once more
  // right after it (so a change signalled during a poll is never missed).
  // Returns a ticket for wait_polled(), 0 if the poller is unknown.
  std::uint64_t trigger(Poller* poller);
  // Blocks until the poll that trigger() asked for has finished (true), or
  // `timeout` passed (false).
  bool wait_polled(Poller* poller, std::uint64_t ticket, std::chrono::milliseconds timeout);
  // A client arrived: a parked (idle) poller resumes at once.
  void wake(Poller* poller);

  bool is_idle(Poller* poller) const;

 private:
  enum class State { kWaiting, kRunning, kIdle };
  struct Entry {
    Poller* poller;
    State state = State::kWaiting;
    SteadyClock::time_point due;
    SteadyClock::time_point last_listened;  // last time it had a client
    bool again = false;                     // poll again right after the running poll
    std::uint64_t started = 0;              // polls begun
    std::uint64_t finished = 0;             // polls ended
    bool removed = false;
  };

  void run();
  // True if the entry should be parked instead of polled now.
  bool should_park(Entry& e, SteadyClock::time_point now) const;

  std::size_t threads_count_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // work may be due
  std::condition_variable done_cv_;  // a poll finished
  std::unordered_map<Poller*, std::unique_ptr<Entry>> entries_;
  bool stopping_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
};

// The first poll of each stream lands at a random point within this window
// (or within its interval, if shorter), so that many streams do not poll
// their backends in the same millisecond.
constexpr std::chrono::milliseconds kFirstPollSpread{1000};

}  // namespace pb::upstream
