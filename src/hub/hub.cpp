#include "hub/hub.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <unordered_map>

#include "common/mutex.h"
#include "common/thread_owner.h"
#include "hub/worker_state.h"

namespace pb::hub {

using namespace detail;

class Worker {
 public:
  Worker(const Options& options, const std::atomic<std::int64_t>& heartbeat_ms,
         const Gauges& gauges, SharedStats& stats, metrics::Histogram& fanout,
         metrics::Histogram& connection)
      : options_(options),
        heartbeat_ms_(heartbeat_ms),
        gauges_(gauges),
        stats_(stats),
        fanout_(fanout),
        connection_(connection),
        clock_(*options.clock) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || evfd_ < 0) throw std::runtime_error(std::string("epoll: ") + strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up eventfd
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    clock_waker_ = clock_.on_advance([this] { wake(); });
  }

  ~Worker() {
    clock_waker_.reset();
    if (thread_.joinable()) thread_.join();
    for (Session* s : all_) delete s;  // closes its connection
    std::vector<Message> left;
    {
      MutexLock lock(inbox_mu_);
      left.swap(inbox_);
    }
    for (auto& m : left) {
      if (m.kind == Message::kAttach) refuse(m.session, gauges_, stats_);
    }
    ::close(epfd_);
    ::close(evfd_);
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }

  // False (and `m` left alone) once the thread has finished: nobody would
  // handle the message.
  bool post(Message& m) {
    bool was_empty;
    {
      MutexLock lock(inbox_mu_);
      if (finished_) return false;
      was_empty = inbox_.empty();
      inbox_.push_back(std::move(m));
    }
    if (was_empty) wake();
    return true;
  }

  // The thread looks at its inbox and the time. Any thread.
  void wake() {
    std::uint64_t one = 1;
    ssize_t r = ::write(evfd_, &one, sizeof one);
    (void)r;
  }

  // Hub::stop asks every thread to stop before joining any, so that they all
  // drain at the same time, within one `drain`.
  void request_stop(std::chrono::milliseconds drain) {
    Message m{Message::kStop, 0, nullptr, nullptr, drain};
    post(m);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    pthread_setname_np(pthread_self(), "pb-hub");  // in ps -L, top -H, /proc
    owner_.claim();
    // A peer that closed shows up as EPIPE from the write, never as a
    // SIGPIPE that would kill the process (whether or not it ignores it).
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::vector<Message> batch;
    epoll_event events[256];
    SteadyClock::time_point next_tick = clock_.now() + kTick;
    for (;;) {
      // Until woken (a manual clock's advance() wakes) or the next tick.
      int timeout = epoll_timeout_ms(clock_.wait_bound(next_tick));
      // The drain's deadline is real time.
      if (stopping_) timeout = timeout < 0 ? 20 : std::min(timeout, 20);
      int n = epoll_wait(epfd_, events, 256, timeout);
      for (int i = 0; i < n; ++i) {
        auto* s = static_cast<Session*>(events[i].data.ptr);
        if (s == nullptr) {
          std::uint64_t v;
          ssize_t r = ::read(evfd_, &v, sizeof v);
          (void)r;
          continue;
        }
        if (s->dead) continue;
        handle_io(*s, events[i].events);
      }
      {
        MutexLock lock(inbox_mu_);
        batch.swap(inbox_);
      }
      for (auto& m : batch) handle(m);
      batch.clear();
      auto now = clock_.now();
      if (now >= next_tick) {
        tick(now);
        next_tick = now + kTick;
      }
      reap();
      if (stopping_) {
        if (all_.empty() || SteadyClock::now() >= stop_deadline_) break;
      }
    }
    for (std::size_t i = all_.size(); i-- > 0;) close_session(*all_[i], nullptr);
    reap();
    // Attaches posted after the last look at the inbox: refuse them here, and
    // make post() refuse the later ones, so that every session's socket is
    // closed and its on_close runs exactly once.
    std::vector<Message> left;
    {
      MutexLock lock(inbox_mu_);
      finished_ = true;
      left.swap(inbox_);
    }
    for (auto& m : left) {
      if (m.kind == Message::kAttach) refuse(m.session, gauges_, stats_);
    }
  }

  void handle(Message& m) {
    owner_.check();
    switch (m.kind) {
      case Message::kPublish:
        on_publish(m.feed, std::move(m.buf), m.queued);
        break;
      case Message::kAttach:
        on_attach(m.session);
        break;
      case Message::kCloseFeed: {
        auto it = feeds_.find(m.feed);
        if (it == feeds_.end()) break;
        it->second.closed = true;
        auto sessions = it->second.sessions;
        for (Session* s : sessions) {
          s->closing = true;
          if (!s->blocked) flush(*s);
          if (!s->dead && !pending(*s)) close_session(*s, nullptr);
        }
        if (it->second.sessions.empty()) feeds_.erase(it);
        break;
      }
      case Message::kRevoke:
        for (std::size_t i = all_.size(); i-- > 0;) {
          if (revoked(*all_[i])) close_session(*all_[i], &stats_.totals.revoked);
        }
        break;
      case Message::kStop: {
        stopping_ = true;
        stop_deadline_ = SteadyClock::now() + m.drain;  // real time
        auto all = all_;
        for (Session* s : all) {
          s->closing = true;
          if (!s->dead && !s->blocked) flush(*s);
          if (!s->dead && !pending(*s)) close_session(*s, nullptr);
        }
        break;
      }
    }
  }

  void on_attach(Session* s) {
    FeedState& f = feeds_[s->feed_id];
    if (stopping_ || f.closed) {
      refuse(s, gauges_, stats_);
      return;
    }
    s->feed = &f;
    s->next = f.head;
    s->last_progress = clock_.now();
    s->feed_slot = f.sessions.size();
    f.sessions.push_back(s);
    s->all_slot = all_.size();
    all_.push_back(s);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = s;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s->io.fd(), &ev) != 0 || revoked(*s)) {
      close_session(*s, revoked(*s) ? &stats_.totals.revoked : nullptr);
      return;
    }
    flush(*s);
  }

  void on_publish(FeedId id, Buffer buf, SteadyClock::time_point queued) {
    auto it = feeds_.find(id);
    if (it == feeds_.end()) {
      // No session of this feed lives on this thread: nothing to keep.
      // (A later attach starts at the head, so the index just advances.)
      it = feeds_.emplace(id, FeedState{}).first;
    }
    FeedState& f = it->second;
    std::size_t size = buf->size();
    f.ring.push_back(RingEntry{std::move(buf), f.total, queued, f.sessions.size()});
    f.total += size;
    ++f.head;
    // Walk backwards: closing a session swaps the last one into its slot,
    // and the last one has then already been visited.
    std::uint64_t min_next = f.head;
    for (std::size_t i = f.sessions.size(); i-- > 0;) {
      Session& s = *f.sessions[i];
      if (over_backlog(f, s, options_)) {
        close_session(s, &stats_.totals.evicted_slow);
        continue;
      }
      if (!s.blocked) flush(s);
      if (!s.dead && s.next < min_next) min_next = s.next;
    }
    // Keep only what some session still has to send.
    while (!f.ring.empty() && f.base < min_next) {
      f.ring.pop_front();
      ++f.base;
    }
  }

  // Writes as much as the socket takes; gathers up to kMaxIov buffers a call.
  void flush(Session& s) {
    FeedState& f = *s.feed;
    for (;;) {
      iovec iov[kMaxIov];
      int n = 0;
      std::size_t skip = s.off;
      for (std::size_t q = s.qpos; q < s.queue.size() && n < kMaxIov; ++q) {
        const std::string& b = *s.queue[q];
        iov[n].iov_base = const_cast<char*>(b.data() + skip);
        iov[n].iov_len = b.size() - skip;
        skip = 0;
        ++n;
      }
      for (std::uint64_t idx = s.next; idx < f.head && n < kMaxIov; ++idx) {
        const std::string& b = *f.ring[idx - f.base].buf;
        iov[n].iov_base = const_cast<char*>(b.data() + skip);
        iov[n].iov_len = b.size() - skip;
        skip = 0;
        ++n;
      }
      if (n == 0) {
        if (s.closing) close_session(s, nullptr);
        return;
      }
      ssize_t w = s.io.write(iov, n);
      if (w == Transport::kAgain) {
        s.blocked = true;
        return;
      }
      if (w <= 0) {
        close_session(s, nullptr);
        return;
      }
      s.last_progress = clock_.now();
      bytes_written_ += static_cast<std::uint64_t>(w);
      s.end.bytes += static_cast<std::uint64_t>(w);
      advance(s, static_cast<std::size_t>(w), s.last_progress);
    }
  }

  // One session has written one more event of the ring: the last of this
  // thread's sessions to do so observes the fan-out time. A counter per
  // event, nothing allocated.
  void written(RingEntry& e, SteadyClock::time_point now) {
    if (e.owed != 0 && --e.owed == 0) fanout_.observe(seconds(now - e.queued));
  }

  void advance(Session& s, std::size_t w, SteadyClock::time_point now) {
    FeedState& f = *s.feed;
    while (w > 0) {
      std::size_t size =
          s.qpos < s.queue.size() ? s.queue[s.qpos]->size() : f.ring[s.next - f.base].buf->size();
      std::size_t left = size - s.off;
      if (w < left) {
        s.off += w;
        return;
      }
      w -= left;
      s.off = 0;
      if (s.qpos < s.queue.size()) {
        if (s.queue[s.qpos] != s.heartbeat) {
          if (s.head_done) ++s.end.events;  // a snapshot or replayed event
          s.head_done = true;
        }
        if (++s.qpos == s.queue.size()) {
          s.queue.clear();  // release the preamble's buffers
          s.qpos = 0;
        }
      } else {
        written(f.ring[s.next - f.base], now);
        ++s.next;
        ++s.end.events;
      }
    }
  }

  void handle_io(Session& s, std::uint32_t ev) {
    if (ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
      close_session(s, nullptr);
      return;
    }
    if (ev & EPOLLIN) {
      // SSE clients have nothing more to say; anything sent is discarded.
      // (Through TLS that also processes the peer's protocol messages; a
      // write that waited on one of them may go on now.)
      char buf[1024];
      for (;;) {
        ssize_t r = s.io.read(buf, sizeof buf);
        if (r > 0) continue;
        if (r == Transport::kAgain) break;
        close_session(s, nullptr);
        return;
      }
    }
    if ((ev & EPOLLOUT) || (s.blocked && s.io.is_tls())) {
      s.blocked = false;
      flush(s);
    }
  }

  void tick(SteadyClock::time_point now) {
    owner_.check();
    const std::chrono::milliseconds heartbeat(heartbeat_ms_.load(std::memory_order_relaxed));
    const auto stall = heartbeat * kStallHeartbeats;
    for (std::size_t i = all_.size(); i-- > 0;) {
      Session& s = *all_[i];
      if (revoked(s)) {  // missed by close_revoked(): attached meanwhile
        close_session(s, &stats_.totals.revoked);
        continue;
      }
      if (now >= s.close_at && !s.closing) {
        s.closing = true;
        s.end.reason = EndReason::kExpired;
        ++expired_;
        if (!s.blocked) flush(s);
        if (!s.dead && !pending(s)) close_session(s, nullptr);
        continue;
      }
      if (pending(s)) {
        if (s.blocked && now - s.last_progress > stall) {
          close_session(s, &stats_.totals.evicted_stall);
        }
        continue;
      }
      if (now - s.last_progress >= heartbeat) {
        s.queue.push_back(s.heartbeat);
        ++heartbeats_;
        flush(s);
        s.last_progress = now;
      }
    }
    MutexLock lock(stats_.mu);
    stats_.totals.heartbeats += heartbeats_;
    stats_.totals.bytes_written += bytes_written_;
    stats_.totals.expired += expired_;
    expired_ = 0;
    heartbeats_ = 0;
    bytes_written_ = 0;
  }

  void close_session(Session& s, std::uint64_t* counter) {
    owner_.check();
    if (s.dead) return;
    s.dead = true;
    gauges_.add(s.io, -1);
    s.io.close();  // also removes it from the epoll set
    const auto now = clock_.now();
    s.end.reason = counter == &stats_.totals.evicted_slow    ? EndReason::kSlow
                   : counter == &stats_.totals.evicted_stall ? EndReason::kStall
                   : counter == &stats_.totals.revoked       ? EndReason::kRevoked
                   : s.end.reason == EndReason::kExpired     ? EndReason::kExpired
                   : s.closing && stopping_                  ? EndReason::kShutdown
                   : s.closing                               ? EndReason::kRetired
                                                             : EndReason::kClosed;
    s.end.duration = now - s.started;
    connection_.observe(seconds(s.end.duration));
    if (s.feed) {
      // What it will never write is no longer waited for.
      FeedState& f = *s.feed;
      s.end.behind = f.head - s.next;
      for (std::uint64_t i = std::max(s.next, f.base); i < f.head; ++i) {
        written(f.ring[i - f.base], now);
      }
    }
    if (s.feed) {
      auto& v = s.feed->sessions;
      Session* last = v.back();
      v[s.feed_slot] = last;
      last->feed_slot = s.feed_slot;
      v.pop_back();
    }
    {
      Session* last = all_.back();
      all_[s.all_slot] = last;
      last->all_slot = s.all_slot;
      all_.pop_back();
    }
    {
      MutexLock lock(stats_.mu);
      ++stats_.totals.closed;
      if (counter) ++*counter;
    }
    graveyard_.push_back(&s);
  }

  // Frees closed sessions once no epoll event of this round can refer to
  // them; runs their on_close outside any fan-out loop. A closed feed goes
  // when its last session has: it is looked up by id, since close_feed (or
  // an earlier session of this loop) may have erased it already.
  void reap() {
    owner_.check();
    for (Session* s : graveyard_) {
      FeedId id = s->feed_id;
      if (s->on_end) s->on_end(s->end);
      delete s;
      auto it = feeds_.find(id);
      if (it != feeds_.end() && it->second.closed && it->second.sessions.empty()) {
        feeds_.erase(it);
      }
    }
    graveyard_.clear();
  }

  const Options& options_;
  const std::atomic<std::int64_t>& heartbeat_ms_;  // Options::heartbeat as reloads change it
  Gauges gauges_;
  SharedStats& stats_;
  metrics::Histogram& fanout_;
  metrics::Histogram& connection_;
  Clock& clock_;
  Clock::Subscription clock_waker_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::thread thread_;
  Mutex inbox_mu_;
  std::vector<Message> inbox_ PB_GUARDED_BY(inbox_mu_);
  bool finished_ PB_GUARDED_BY(inbox_mu_) = false;  // run() has returned

  // Owned by the worker thread (checked in debug builds: owner_.check()).
  ThreadOwner owner_;
  std::unordered_map<FeedId, FeedState> feeds_;
  std::vector<Session*> all_;
  std::vector<Session*> graveyard_;
  bool stopping_ = false;
  SteadyClock::time_point stop_deadline_;  // real time
  std::uint64_t heartbeats_ = 0;
  std::uint64_t expired_ = 0;
  std::uint64_t bytes_written_ = 0;
};

Hub::Hub(Options options) : options_(options), heartbeat_ms_(options.heartbeat.count()) {
  if (options_.threads == 0) options_.threads = 1;
  for (std::size_t i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(options_, heartbeat_ms_,
                                                Gauges{clients_, tls_clients_, ktls_clients_},
                                                stats_, fanout_, connection_));
  }
}

Hub::~Hub() {
  stop(std::chrono::milliseconds(0));
}

void Hub::start() {
  if (running_.exchange(true)) return;
  for (auto& w : workers_) w->start();
}

void Hub::stop(std::chrono::milliseconds drain) {
  if (!running_.exchange(false)) return;
  for (auto& w : workers_) w->request_stop(drain);
  for (auto& w : workers_) w->join();
}

FeedId Hub::create_feed() {
  return next_feed_.fetch_add(1);
}

void Hub::publish(FeedId feed, Buffer event) {
  {
    MutexLock lock(stats_.mu);
    ++stats_.totals.events_published;
  }
  const auto queued = options_.clock->now();
  for (auto& w : workers_) {
    Message m{Message::kPublish, feed, event, nullptr};
    m.queued = queued;
    w->post(m);
  }
}

void Hub::close_feed(FeedId feed) {
  for (auto& w : workers_) {
    Message m{Message::kCloseFeed, feed, nullptr, nullptr};
    w->post(m);
  }
}

bool Hub::attach(FeedId feed, Transport io, std::vector<Buffer> preamble,
                 std::function<void()> on_close, SteadyClock::time_point close_at) {
  std::function<void(const SessionEnd&)> on_end;
  if (on_close) on_end = [f = std::move(on_close)](const SessionEnd&) { f(); };
  return attach(feed, std::move(io), std::move(preamble), std::move(on_end), close_at);
}

bool Hub::attach(FeedId feed, Transport io, std::vector<Buffer> preamble,
                 std::function<void(const SessionEnd&)> on_end, SteadyClock::time_point close_at,
                 std::shared_ptr<const Revocable> revocable, Buffer heartbeat) {
  if (!running_.load()) {
    io.close();
    if (on_end) on_end(SessionEnd{EndReason::kShutdown});
    return false;
  }
  if (!io.prepared()) {
    int fd = io.fd();
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  Gauges gauges{clients_, tls_clients_, ktls_clients_};
  gauges.add(io, 1);
  auto* s = new Session;
  s->io = std::move(io);
  s->feed_id = feed;
  s->queue = std::move(preamble);
  s->on_end = std::move(on_end);
  s->started = options_.clock->now();
  s->close_at = close_at;
  s->revocable = std::move(revocable);
  s->heartbeat = heartbeat ? std::move(heartbeat) : heartbeat_buffer();
  {
    MutexLock lock(stats_.mu);
    ++stats_.totals.attached;
  }
  std::size_t w = next_worker_.fetch_add(1) % workers_.size();
  Message m{Message::kAttach, feed, nullptr, s};
  if (!workers_[w]->post(m)) {  // the hub stopped meanwhile
    refuse(s, gauges, stats_);
    return false;
  }
  return true;
}

void Hub::close_revoked() {
  for (auto& w : workers_) {
    Message m{Message::kRevoke, 0, nullptr, nullptr};
    w->post(m);
  }
}

std::int64_t Hub::clients() const {
  return clients_.load();
}

Stats Hub::stats() const {
  MutexLock lock(stats_.mu);
  Stats s = stats_.totals;
  s.clients = clients_.load();
  s.tls_clients = tls_clients_.load();
  s.ktls_clients = ktls_clients_.load();
  return s;
}

}  // namespace pb::hub
