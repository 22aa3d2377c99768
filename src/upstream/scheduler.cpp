#include "upstream/scheduler.h"

#include <algorithm>

namespace pb::upstream {

Scheduler::Scheduler(std::size_t processing_threads, Clock& clock)
    : clock_(clock), pool_(processing_threads), loop_(*this, clock) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::start() {
  {
    MutexLock lock(mu_);
    stopping_ = false;
    loop_stopped_ = false;
  }
  pool_.start();
  loop_.start();
}

void Scheduler::stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // The loop abandons whatever is in flight when it ends: no wait on an
  // upstream, however stuck.
  loop_.stop();
  {
    MutexLock lock(mu_);
    loop_stopped_ = true;
  }
  done_cv_.notify_all();
  pool_.stop();
  done_cv_.notify_all();
}

Scheduler::Entry* Scheduler::find_locked(const void* key, std::uint64_t id) const {
  auto it = entries_.find(static_cast<Poller*>(const_cast<void*>(key)));
  if (it == entries_.end() || it->second->id != id) return nullptr;
  return it->second.get();
}

bool Scheduler::current_locked(const DueQueue::Item& item) const {
  auto it = entries_.find(static_cast<Poller*>(const_cast<void*>(item.key)));
  return it != entries_.end() && it->second->state == State::kWaiting &&
         it->second->due_token == item.token;
}

void Scheduler::schedule_locked(Entry& e, SteadyClock::time_point due) {
  e.state = State::kWaiting;
  e.due = due;
  e.due_token = next_token_++;
  due_.push(due, e.poller, e.due_token);
}

void Scheduler::add(Poller* poller) {
  auto e = std::make_unique<Entry>();
  e->poller = poller;
  e->origin = poller->fetcher().origin();
  e->cap = poller->config().max_connections_per_host;
  auto now = clock_.now();
  auto window = std::min<std::chrono::milliseconds>(poller->config().interval, kFirstPollSpread);
  {
    MutexLock lock(mu_);
    e->id = next_id_++;
    e->last_listened = now;
    std::uniform_int_distribution<long long> spread(0, std::max<long long>(window.count() - 1, 0));
    schedule_locked(*e, now + std::chrono::milliseconds(spread(rng_)));
    slots_.add_user(e->origin, e->cap);
    entries_[poller] = std::move(e);
  }
  loop_.wake();
}

void Scheduler::remove(Poller* poller) {
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiting;
  {
    MutexLock lock(mu_);
    remove_locked(poller, waiting);
  }
  for (auto& [ticket, f] : waiting) f();
}

void Scheduler::remove_locked(
    Poller* poller, std::vector<std::pair<std::uint64_t, std::function<void()>>>& waiting) {
  auto it = entries_.find(poller);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  if (!e.removed) {
    e.removed = true;
    slots_.remove_user(e.origin, e.cap);
  }
  if (e.state == State::kInFlight && !loop_stopped_) {
    // Only the loop thread may touch curl: it abandons the request at its
    // next turn, which the wake makes immediate.
    cancels_.push_back(poller);
    loop_.wake();
    while (e.state == State::kInFlight && !loop_stopped_) done_cv_.wait(mu_);
  }
  // A body being processed is finished (bounded by the diff's limits); a
  // result not yet picked up by a processing thread is dropped.
  // A queued one leaves a stale place in its host's queue, skipped when it
  // comes up.
  while (e.state == State::kProcessing) done_cv_.wait(mu_);
  cancels_.erase(std::remove(cancels_.begin(), cancels_.end(), poller), cancels_.end());
  if (!stopping_) waiting.swap(e.on_polled);
  entries_.erase(it);
  done_cv_.notify_all();
}

std::uint64_t Scheduler::trigger(Poller* poller) {
  std::uint64_t ticket;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(poller);
    if (it == entries_.end() || it->second->removed) return 0;
    Entry& e = *it->second;
    if (e.continuing || e.recheck) {
      // A poll of several requests is under way: once more after it.
      e.again = true;
      return e.started + 1;
    }
    switch (e.state) {
      case State::kQueued:
        // Not sent yet: that request sees the change.
        return e.started;
      case State::kInFlight:
      case State::kPending:
      case State::kProcessing:
        e.again = true;
        return e.started + 1;
      case State::kDone:
        return 0;
      case State::kWaiting:
      case State::kIdle:
        break;
    }
    // The next poll to begin is the one that sees the change.
    ticket = e.started + 1;
    e.last_listened = clock_.now();
    schedule_locked(e, e.last_listened);
  }
  loop_.wake();
  return ticket;
}

void Scheduler::trigger(Poller* poller, std::function<void()> on_polled) {
  const std::uint64_t ticket = trigger(poller);
  {
    MutexLock lock(mu_);
    auto it = entries_.find(poller);
    if (ticket != 0 && !stopping_ && it != entries_.end() && !it->second->removed &&
        it->second->finished < ticket) {
      it->second->on_polled.emplace_back(ticket, std::move(on_polled));
      return;
    }
  }
  on_polled();
}

bool Scheduler::wait_polled(Poller* poller, std::uint64_t ticket,
                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;  // real time
  MutexLock lock(mu_);
  for (;;) {
    auto it = entries_.find(poller);
    if (stopping_ || it == entries_.end() || it->second->finished >= ticket) return true;
    if (!done_cv_.wait_until(mu_, deadline)) {
      it = entries_.find(poller);
      return stopping_ || it == entries_.end() || it->second->finished >= ticket;
    }
  }
}

void Scheduler::wake(Poller* poller) {
  {
    MutexLock lock(mu_);
    auto it = entries_.find(poller);
    if (it == entries_.end()) return;
    Entry& e = *it->second;
    e.last_listened = clock_.now();
    if (e.state != State::kIdle || e.removed) return;
    schedule_locked(e, e.last_listened);
  }
  loop_.wake();
}

bool Scheduler::is_idle(Poller* poller) const {
  MutexLock lock(mu_);
  auto it = entries_.find(poller);
  return it != entries_.end() && it->second->state == State::kIdle;
}

std::optional<Scheduler::SteadyClock::time_point> Scheduler::next_due(Poller* poller) const {
  MutexLock lock(mu_);
  auto it = entries_.find(poller);
  if (it == entries_.end() || it->second->state != State::kWaiting) return std::nullopt;
  return it->second->due;
}

bool Scheduler::should_park_locked(Entry& e, SteadyClock::time_point now) const {
  const auto& cfg = e.poller->config();
  if (cfg.idle != config::IdlePolicy::kStop) return false;
  if (e.poller->sink().listened()) {
    e.last_listened = now;
    return false;
  }
  return now - e.last_listened >= cfg.linger;
}

void Scheduler::submit_locked(Entry& e, std::optional<FetchResult> result) {
  e.state = State::kPending;
  Poller* poller = e.poller;
  const std::uint64_t id = e.id;
  pool_.submit(
      [this, poller, id, r = std::move(result)]() mutable { process(poller, id, std::move(r)); });
}

void Scheduler::send_locked(Entry& e, SteadyClock::time_point now) {
  if (!e.continuing) e.sent = now;
  e.continuing = false;
  if (!e.poller->begin()) {
    // Nothing to send yet: the poller looks again after its delay.
    slots_.release(e.origin);
    e.recheck = true;
    schedule_locked(e, now + e.poller->recheck_delay());
    return;
  }
  e.state = State::kInFlight;
  CURL* easy = e.poller->fetcher().handle();
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &e);
  loop_.begin(easy);
}

void Scheduler::admit_locked(const std::string& origin, SteadyClock::time_point now) {
  while (auto ticket = slots_.next_waiting(origin)) {
    Entry* e = find_locked(ticket->first, ticket->second);
    if (e == nullptr || e->removed || e->state != State::kQueued) {
      slots_.release(origin);  // a stale place in the queue
      continue;
    }
    send_locked(*e, now);
  }
}

std::optional<Scheduler::SteadyClock::time_point> Scheduler::on_turn(SteadyClock::time_point now) {
  MutexLock lock(mu_);
  bool cancelled = false;
  for (Poller* p : cancels_) {
    auto it = entries_.find(p);
    if (it == entries_.end() || it->second->state != State::kInFlight) continue;
    Entry& e = *it->second;
    loop_.abort(e.poller->fetcher().handle());
    e.state = State::kDone;
    slots_.release(e.origin);
    admit_locked(e.origin, now);
    cancelled = true;
  }
  cancels_.clear();
  if (cancelled) done_cv_.notify_all();
  if (stopping_) return std::nullopt;

  // Called inside due_'s methods, with mu_ held; the analysis cannot see
  // through std::function.
  auto current = [this](const DueQueue::Item& i)
                     PB_NO_THREAD_SAFETY_ANALYSIS { return current_locked(i); };
  for (const std::string& origin : resumed_) admit_locked(origin, now);
  resumed_.clear();
  while (auto item = due_.pop_due(now, current)) {
    Entry& e = *entries_.at(static_cast<Poller*>(const_cast<void*>(item->key)));
    if (e.recheck) {
      e.recheck = false;
      submit_locked(e, std::nullopt);
      continue;
    }
    if (should_park_locked(e, now)) {
      e.state = State::kIdle;
      continue;
    }
    if (!e.poller->sink().may_poll()) {
      // A shared store (Redis): another process holds the poll lease. Look
      // again soon, so that a lease won is used promptly.
      schedule_locked(
          e, now + std::min<std::chrono::milliseconds>(e.poller->config().interval, kLeaseRecheck));
      continue;
    }
    e.again = false;
    ++e.started;
    e.state = State::kQueued;
    slots_.enqueue(e.origin, {e.poller, e.id});
    admit_locked(e.origin, now);
  }
  due_.compact(entries_.size(), current);
  return due_.next_due(current);
}

void Scheduler::on_done(CURL* easy, CURLcode code) {
  void* priv = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  auto* e = static_cast<Entry*>(priv);
  // The entry stays while its request is in flight (remove() waits), and
  // only this thread changes that state: reading the poller is safe here.
  FetchResult result = e->poller->finish(code);
  const auto now = clock_.now();
  MutexLock lock(mu_);
  slots_.release(e->origin);
  if (e->removed || stopping_) {
    e->state = State::kDone;
    done_cv_.notify_all();
  } else {
    submit_locked(*e, std::move(result));
  }
  admit_locked(e->origin, now);
}

void Scheduler::process(Poller* poller, std::uint64_t id, std::optional<FetchResult> result) {
  {
    MutexLock lock(mu_);
    Entry* e = find_locked(poller, id);
    if (e == nullptr || e->removed || e->state != State::kPending) return;
    e->state = State::kProcessing;
  }
  const Poller::Outcome outcome = poller->process(std::move(result));
  const Duration delay = outcome.delay;
  std::vector<std::function<void()>> polled;
  {
    MutexLock lock(mu_);
    Entry* e = find_locked(poller, id);
    if (e == nullptr) return;  // cannot happen: remove() waits for this
    if (outcome.kind != Poller::Outcome::kDone && !e->removed && !stopping_) {
      // The poll goes on.
      if (outcome.kind == Poller::Outcome::kSend) {
        e->state = State::kQueued;
        e->continuing = true;
        slots_.enqueue(e->origin, {e->poller, e->id});
        resumed_.push_back(e->origin);
      } else {
        e->recheck = true;
        schedule_locked(*e, clock_.now() + delay);
      }
      done_cv_.notify_all();
      loop_.wake();
      return;
    }
    e->finished = e->started;
    if (!stopping_) {
      auto& w = e->on_polled;
      auto done = std::stable_partition(w.begin(), w.end(),
                                        [&](const auto& p) { return p.first > e->finished; });
      for (auto it = done; it != w.end(); ++it) polled.push_back(std::move(it->second));
      w.erase(done, w.end());
    }
    const auto finished = clock_.now();
    if (e->removed || stopping_) {
      e->state = State::kDone;
    } else if (e->again) {
      schedule_locked(*e, finished);
    } else {
      // Fixed rate from the moment this request was sent, but never closer
      // than a quarter interval to its end: a slow backend is not polled back
      // to back.
      schedule_locked(*e, std::max(e->sent + delay, finished + delay / 4));
    }
  }
  done_cv_.notify_all();
  loop_.wake();
  for (auto& f : polled) f();
}

}  // namespace pb::upstream
