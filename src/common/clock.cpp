#include "common/clock.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace pb {

Clock::Subscription& Clock::Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    reset();
    clock_ = o.clock_;
    id_ = o.id_;
    o.clock_ = nullptr;
  }
  return *this;
}

void Clock::Subscription::reset() {
  if (clock_ != nullptr) clock_->unsubscribe(id_);
  clock_ = nullptr;
}

std::optional<Clock::Steady::duration> RealClock::wait_bound(Steady::time_point t) const {
  return std::max(t - Steady::now(), Steady::duration::zero());
}

void RealClock::sleep_until(Steady::time_point t) {
  std::this_thread::sleep_until(t);
}

Clock& real_clock() {
  static RealClock clock;
  return clock;
}

ManualClock::ManualClock(Steady::time_point steady, System::time_point system)
    : steady_(steady.time_since_epoch().count()), system_(system.time_since_epoch().count()) {}

Clock::Steady::time_point ManualClock::now() const {
  return Steady::time_point(Steady::duration(steady_.load()));
}

Clock::System::time_point ManualClock::system_now() const {
  return System::time_point(System::duration(system_.load()));
}

std::optional<Clock::Steady::duration> ManualClock::wait_bound(Steady::time_point t) const {
  if (t <= now()) return Steady::duration::zero();
  return std::nullopt;
}

Clock::Subscription ManualClock::on_advance(std::function<void()> wake) {
  MutexLock lock(wakers_mu_);
  const std::uint64_t id = next_id_++;
  wakers_.emplace(id, std::move(wake));
  return Subscription(this, id);
}

void ManualClock::unsubscribe(std::uint64_t id) {
  MutexLock lock(wakers_mu_);
  wakers_.erase(id);
}

void ManualClock::sleep_until(Steady::time_point t) {
  MutexLock lock(mu_);
  while (now() < t) moved_.wait(mu_);
}

void ManualClock::advance(Steady::duration d) {
  if (d < Steady::duration::zero()) d = Steady::duration::zero();
  {
    // A sleeper looks at the time under mu_: it either sees the new time or
    // is waiting when moved_ is notified.
    MutexLock lock(mu_);
    steady_.fetch_add(d.count());
    system_.fetch_add(std::chrono::duration_cast<System::duration>(d).count());
  }
  moved_.notify_all();
  MutexLock lock(wakers_mu_);
  for (auto& [id, wake] : wakers_) wake();
}

}  // namespace pb
