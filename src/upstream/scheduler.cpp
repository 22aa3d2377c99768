#include "upstream/scheduler.h"

#include <algorithm>

namespace pb::upstream {

Scheduler::Scheduler(std::size_t threads) : threads_count_(std::max<std::size_t>(threads, 1)) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (std::size_t i = 0; i < threads_count_; ++i) threads_.emplace_back([this] { run(); });
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // A slow upstream must not hold the shutdown for its whole timeout.
    for (auto& [p, e] : entries_) {
      if (e->state == State::kRunning) p->cancel();
    }
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Scheduler::add(Poller* poller) {
  auto e = std::make_unique<Entry>();
  e->poller = poller;
  auto now = SteadyClock::now();
  auto window = std::min<std::chrono::milliseconds>(poller->config().interval, kFirstPollSpread);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::uniform_int_distribution<long long> spread(0, std::max<long long>(window.count() - 1, 0));
    e->due = now + std::chrono::milliseconds(spread(rng_));
    e->last_listened = now;
    entries_[poller] = std::move(e);
  }
  cv_.notify_one();
}

void Scheduler::remove(Poller* poller) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(poller);
  if (it == entries_.end()) return;
  it->second->removed = true;
  done_cv_.wait(lock, [&] { return it->second->state != State::kRunning; });
  entries_.erase(it);
}

std::uint64_t Scheduler::trigger(Poller* poller) {
  std::uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(poller);
    if (it == entries_.end()) return 0;
    Entry& e = *it->second;
    // The next poll to begin is the one that sees the change.
    ticket = e.started + 1;
    if (e.state == State::kRunning) {
      e.again = true;
      return ticket;
    }
    e.state = State::kWaiting;
    e.due = SteadyClock::now();
    e.last_listened = e.due;
  }
  cv_.notify_all();
  return ticket;
}

bool Scheduler::wait_polled(Poller* poller, std::uint64_t ticket,
                            std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return done_cv_.wait_for(lock, timeout, [&] {
    auto it = entries_.find(poller);
    return stopping_ || it == entries_.end() || it->second->finished >= ticket;
  });
}

void Scheduler::wake(Poller* poller) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(poller);
    if (it == entries_.end()) return;
    Entry& e = *it->second;
    e.last_listened = SteadyClock::now();
    if (e.state != State::kIdle) return;
    e.state = State::kWaiting;
    e.due = e.last_listened;
  }
  cv_.notify_one();
}

bool Scheduler::is_idle(Poller* poller) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(poller);
  return it != entries_.end() && it->second->state == State::kIdle;
}

bool Scheduler::should_park(Entry& e, SteadyClock::time_point now) const {
  const auto& cfg = e.poller->config();
  if (cfg.idle != config::IdlePolicy::kStop) return false;
  if (e.poller->stream().client_count() > 0) {
    e.last_listened = now;
    return false;
  }
  return now - e.last_listened >= cfg.linger;
}

void Scheduler::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto now = SteadyClock::now();
    Entry* next = nullptr;
    for (auto& [p, e] : entries_) {
      if (e->state != State::kWaiting || e->removed) continue;
      if (!next || e->due < next->due) next = e.get();
    }
    if (!next) {
      cv_.wait(lock);
      continue;
    }
    if (next->due > now) {
      // A copy: the entry may be removed while this thread waits.
      const auto due = next->due;
      cv_.wait_until(lock, due);
      continue;
    }
    if (should_park(*next, now)) {
      next->state = State::kIdle;
      continue;
    }
    Entry& e = *next;
    e.state = State::kRunning;
    e.again = false;
    ++e.started;
    auto started = now;
    lock.unlock();
    Duration delay = e.poller->poll_once();
    lock.lock();
    auto finished = SteadyClock::now();
    e.finished = e.started;
    e.state = State::kWaiting;
    if (e.again) {
      e.due = finished;
    } else {
      // Fixed rate from the start of this poll, but never closer than a
      // quarter interval to its end: a slow backend is not polled back to back.
      e.due = std::max(started + delay, finished + delay / 4);
    }
    done_cv_.notify_all();
    cv_.notify_one();
  }
}

}  // namespace pb::upstream
