// The time pollbridge's timers run on: when a poll is due, when an unlistened
// stream parks, per-origin admission times, backoff and Retry-After (system
// time), a hub session's heartbeat, stall and expiry, the janitor's rounds,
// a reaped instance's linger and the store sweep. Production uses the one
// real clock of the process (real_clock()); a test injects a ManualClock and
// moves time on with advance() instead of sleeping.
//
// A thread that waits for a time on its own primitive (epoll_wait, a
// CondVar) asks wait_bound(t) how long it may block, and subscribes with
// on_advance() so that a manual clock's advance() cuts the wait short; with
// the real clock the time passes by itself and nobody is ever called.
//
// Not on this clock: libcurl's request timeouts, waits for another thread's
// work (Scheduler::wait_polled, Hub::stop's drain) and a request's measured
// duration: those are real time whatever the clock.
//
// Threads: any. now(), system_now() and wait_bound() take no lock;
// ManualClock::advance() is called by a test thread and calls the
// subscribers on that thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "common/mutex.h"

namespace pb {

class Clock {
 public:
  using Steady = std::chrono::steady_clock;
  using System = std::chrono::system_clock;

  // Unsubscribes when destroyed or reset; after that the callback is not
  // running and is never called again.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Clock* clock, std::uint64_t id) : clock_(clock), id_(id) {}
    Subscription(Subscription&& o) noexcept : clock_(o.clock_), id_(o.id_) { o.clock_ = nullptr; }
    Subscription& operator=(Subscription&& o) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }
    void reset();

   private:
    Clock* clock_ = nullptr;
    std::uint64_t id_ = 0;
  };

  virtual ~Clock() = default;

  // Monotonic time, for due times, deadlines and durations.
  virtual Steady::time_point now() const = 0;
  // Wall-clock time, for what is said in dates (Retry-After, expiries).
  virtual System::time_point system_now() const = 0;
  // How long a thread waiting for `t` may block before looking again: zero
  // once t has come; nullopt when only the clock's subscribers' wake-up can
  // bring it (a manual clock).
  virtual std::optional<Steady::duration> wait_bound(Steady::time_point t) const = 0;
  // Calls `wake` each time the time jumps (never with the real clock). `wake`
  // must be quick and may not subscribe or unsubscribe; it runs on the
  // thread that moved the time.
  [[nodiscard]] virtual Subscription on_advance(std::function<void()> wake) = 0;
  // Blocks the calling thread until now() >= t.
  virtual void sleep_until(Steady::time_point t) = 0;

 protected:
  virtual void unsubscribe(std::uint64_t id) = 0;
};

// The steady and system clocks of the machine.
class RealClock final : public Clock {
 public:
  Steady::time_point now() const override { return Steady::now(); }
  System::time_point system_now() const override { return System::now(); }
  std::optional<Steady::duration> wait_bound(Steady::time_point t) const override;
  Subscription on_advance(std::function<void()>) override { return {}; }
  void sleep_until(Steady::time_point t) override;

 protected:
  void unsubscribe(std::uint64_t) override {}
};

// The process-wide real clock: the default of every Options that takes a
// clock.
Clock& real_clock();

// Time that moves only when advance() is called (tests). Both readings start
// at the real clocks' (so that a time computed from the real clocks is
// comparable), or at the given ones.
class ManualClock final : public Clock {
 public:
  ManualClock() : ManualClock(Steady::now(), System::now()) {}
  ManualClock(Steady::time_point steady, System::time_point system);

  Steady::time_point now() const override;
  System::time_point system_now() const override;
  std::optional<Steady::duration> wait_bound(Steady::time_point t) const override;
  Subscription on_advance(std::function<void()> wake) override PB_EXCLUDES(wakers_mu_);
  void sleep_until(Steady::time_point t) override PB_EXCLUDES(mu_);

  // Moves both readings on by `d` (not negative), then wakes every sleeper
  // and calls every subscriber.
  void advance(Steady::duration d) PB_EXCLUDES(mu_, wakers_mu_);

 protected:
  void unsubscribe(std::uint64_t id) override PB_EXCLUDES(wakers_mu_);

 private:
  std::atomic<Steady::rep> steady_;  // ticks since Steady's epoch
  std::atomic<System::rep> system_;  // ticks since System's epoch
  Mutex mu_;                         // orders advance() with sleep_until()'s look
  CondVar moved_;
  // Held while the subscribers are called, so that unsubscribing waits for
  // a call in progress.
  Mutex wakers_mu_;
  std::map<std::uint64_t, std::function<void()>> wakers_ PB_GUARDED_BY(wakers_mu_);
  std::uint64_t next_id_ PB_GUARDED_BY(wakers_mu_) = 1;
};

}  // namespace pb
