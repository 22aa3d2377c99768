#include "server/connection_loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "common/park_signal.h"
#include "hub/transport.h"
#include "log/log.h"
#include "log/refusal.h"
#include "server/connection.h"
#include "server/error_response.h"
#include "server/httplib_bridge.h"
#include "server/listener.h"
#include "server/request_head.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

namespace pb::server {

using hub::Transport;

namespace {

// Connections accepted per listener event before looking at the others.
constexpr int kAcceptBatch = 512;
// Pause after the process ran out of descriptors entirely.
constexpr std::chrono::milliseconds kAcceptPause{100};

// epoll tags that are not connections.
char kListenerTag;
char kWakeTag;

}  // namespace

ConnectionLoop::ConnectionLoop(LoopOptions options, Listener& listener,
                               std::shared_ptr<ConnectionLimits> limits, WorkerPool& pool,
                               HttplibBridge& bridge, TlsSource tls)
    : options_(std::move(options)),
      listener_(listener),
      limits_(std::move(limits)),
      pool_(pool),
      bridge_(bridge),
      tls_(std::move(tls)),
      keep_alive_field_(bridge.keep_alive_field()),
      counters_(std::make_unique<Counters>()) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) throw std::runtime_error(std::string("epoll: ") + strerror(errno));
  queues_.push_back(std::make_unique<DeadlineQueue>(kHeadQ, options_.header_timeout));
  queues_.push_back(std::make_unique<DeadlineQueue>(kBodyQ, options_.body_timeout));
  queues_.push_back(std::make_unique<DeadlineQueue>(kIdleQ, options_.keepalive_timeout));
  queues_.push_back(std::make_unique<DeadlineQueue>(kWriteQ, kWriteTimeout));
  queues_.push_back(std::make_unique<DeadlineQueue>(kLingerQ, kLingerTime));
}

ConnectionLoop::~ConnectionLoop() {
  stop(std::chrono::milliseconds(0));
  // Completions that arrived after the thread left (the pool finishes its
  // tasks after the loop stopped): their connections are closed here.
  std::vector<Job*> done;
  {
    MutexLock lock(done_mu_);
    done.swap(done_);
  }
  for (Job* j : done) {
    if (j->conn->counted) limits_->release(j->conn->peer);
    delete j->conn;
    delete j;
  }
  remove_park_listener(wakefd_);
  ::close(epfd_);
  ::close(wakefd_);
}

void ConnectionLoop::start() {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &kListenerTag;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, listener_.fd(), &ev);
  ev.data.ptr = &kWakeTag;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  add_park_listener(wakefd_);  // woken when a parked request's wait may be over
  thread_ = std::thread([this] { run(); });
}

void ConnectionLoop::stop(std::chrono::milliseconds drain) {
  if (!thread_.joinable()) return;
  drain_ = drain;
  stop_requested_.store(true);
  std::uint64_t one = 1;
  ssize_t r = ::write(wakefd_, &one, sizeof one);
  (void)r;
  thread_.join();
}

LoopStats ConnectionLoop::stats() const {
  const Counters& k = *counters_;
  LoopStats s;
  s.accepted = k.accepted.load();
  s.shed = k.shed.load();
  s.refused_total = k.refused_total.load();
  s.refused_per_ip = k.refused_per_ip.load();
  s.requests = k.requests.load();
  s.handed_to_hub = k.handed.load();
  for (int i = 0; i < 10; ++i) s.rejected[i] = k.rejected[i].load();
  s.tls_handshakes = k.tls_handshakes.load();
  s.tls_failures = k.tls_failures.load();
  s.plain_on_tls = k.plain_on_tls.load();
  s.ktls = k.ktls.load();
  s.parks = k.parks.load();
  s.refused_pending = k.refused_pending.load();
  s.parked = k.states[kParked].load();
  s.handshaking = k.states[kHandshake].load();
  s.reading = k.states[kHead].load() + k.states[kBody].load();
  s.idle = k.states[kIdle].load();
  s.handling = k.states[kHandling].load();
  s.writing = k.states[kWrite].load();
  s.closing = k.states[kLinger].load();
  return s;
}

// ---------------------------------------------------------------- the loop

void ConnectionLoop::run() {
  pthread_setname_np(pthread_self(), "pb-front");
  loop_thread_.claim();
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  epoll_event events[512];
  std::vector<Job*> done;
  for (;;) {
    int n = epoll_wait(epfd_, events, 512, wait_ms(Clock::now()));
    Clock::time_point now = Clock::now();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &kListenerTag) {
        if (!stopping_) on_accept(now);
      } else if (tag == &kWakeTag) {
        std::uint64_t v;
        ssize_t r = ::read(wakefd_, &v, sizeof v);
        (void)r;
      } else {
        auto* c = static_cast<Connection*>(tag);
        if (!c->dead) on_event(*c, events[i].events, now);
      }
    }
    {
      MutexLock lock(done_mu_);
      done.swap(done_);
      wake_pending_ = false;
    }
    for (Job* j : done) on_done(j, now);
    done.clear();
    if (!parked_.empty()) check_parked(now);
    if (!stopping_ && stop_requested_.load()) begin_stop(now);
    if (accept_paused_ && !stopping_ && now >= accept_resume_) {
      accept_paused_ = false;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &kListenerTag;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, listener_.fd(), &ev);
    }
    expire(now);
    for (Connection* c : graveyard_) delete c;
    graveyard_.clear();
    if (stopping_ && ((held_ == nullptr && handling_.load() == 0) || now >= stop_deadline_)) break;
  }
  while (held_ != nullptr) close(*held_);
  for (Connection* c : graveyard_) delete c;
  graveyard_.clear();
}

int ConnectionLoop::wait_ms(Clock::time_point now) const {
  Clock::time_point next = Clock::time_point::max();
  for (const auto& q : queues_) {
    if (q->front()) next = std::min(next, q->front()->due);
  }
  if (accept_paused_) next = std::min(next, accept_resume_);
  if (stopping_) next = std::min(next, now + std::chrono::milliseconds(20));
  // Admissions are looked at every kParkCheck; long-polls are woken
  // (common/park_signal.h) and otherwise wait for their earliest deadline.
  if (admission_parks_ > 0) next = std::min(next, now + kParkCheck);
  if (!parked_.empty()) next = std::min(next, parked_due_);
  if (next == Clock::time_point::max()) return -1;
  if (next <= now) return 0;
  // Round up: waking a little late is harmless, early would spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::min<long long>(ms, 60000));
}

void ConnectionLoop::begin_stop(Clock::time_point now) {
  stopping_ = true;
  stop_deadline_ = now + drain_;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, listener_.fd(), nullptr);
  // Waiting connections go now; responses being written finish first.
  for (Connection* c = held_; c != nullptr;) {
    Connection* next = c->next;
    if (c->state != kWrite) {
      close(*c);
    } else {
      c->close_after = true;
    }
    c = next;
  }
}

void ConnectionLoop::on_accept(Clock::time_point now) {
  loop_thread_.check();
  std::shared_ptr<TlsContext> tls = tls_ ? tls_() : nullptr;
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage addr{};
    int fd = listener_.accept(addr);
    if (fd == Listener::kNone) return;
    if (fd == Listener::kShed) {
      counters_->shed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (fd == Listener::kExhausted) {
      accept_paused_ = true;
      accept_resume_ = now + kAcceptPause;
      epoll_ctl(epfd_, EPOLL_CTL_DEL, listener_.fd(), nullptr);
      log::warn("out of file descriptors: not accepting for a moment");
      return;
    }
    PeerAddress peer = PeerAddress::from(addr);
    ConnectionLimits::Verdict verdict = limits_->acquire(peer);
    if (verdict != ConnectionLimits::kOk && refusing_ >= kMaxRefusing) {
      ::close(fd);
      counters_->shed.fetch_add(1, std::memory_order_relaxed);
      log::refused("shed", 0, peer.ip());
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* c = new Connection;
    c->io = Transport::plain(fd);
    c->io.set_prepared();
    c->peer = peer;
    c->timer.owner = c;
    c->tls = tls != nullptr;
    if (verdict == ConnectionLimits::kOk) {
      c->counted = true;
    } else {
      ++refusing_;
      c->refuse = verdict == ConnectionLimits::kTooMany ? 503 : 429;
      log::refused(verdict == ConnectionLimits::kTooMany ? "server.max_connections"
                                                         : "server.max_connections_per_ip",
                   c->refuse, peer.ip());
      (verdict == ConnectionLimits::kTooMany ? counters_->refused_total : counters_->refused_per_ip)
          .fetch_add(1, std::memory_order_relaxed);
    }
    c->next = held_;
    if (held_) held_->prev = c;
    held_ = c;
    counters_->accepted.fetch_add(1, std::memory_order_relaxed);
    counters_->states[c->tls ? kHandshake : kHead].fetch_add(1, std::memory_order_relaxed);
    c->state = c->tls ? kHandshake : kHead;
    arm(*c, kHeadQ, now);
    // The request is often there already: read at once instead of waiting
    // for epoll to say so.
    on_readable(*c, now);
  }
}

void ConnectionLoop::on_event(Connection& c, std::uint32_t events, Clock::time_point now) {
  loop_thread_.check();
  if (c.state == kParked) {
    // Watched only for this: the client left while its request waited.
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      close(c);
    } else if (events & EPOLLIN) {
      on_parked_input(c);  // parked by the long-poll lane, still watched for input
    }
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (c.state == kWrite) {
      if (events & (EPOLLHUP | EPOLLERR)) close(c);
    } else {
      on_readable(c, now);
    }
  }
  if (!c.dead && (events & EPOLLOUT)) {
    if (c.state == kWrite) {
      write_out(c, now);
    } else if (c.state == kHandshake) {
      handshake(c, now);
    }
  }
}

void ConnectionLoop::on_readable(Connection& c, Clock::time_point now) {
  switch (c.state) {
    case kHandshake:
      handshake(c, now);
      break;
    case kHead:
    case kBody:
    case kIdle:
      read_request(c, now);
      break;
    case kLinger:
      drain_linger(c);
      break;
    default:
      break;
  }
}

void ConnectionLoop::expire(Clock::time_point now) {
  loop_thread_.check();
  for (int q = 0; q < kQueues; ++q) {
    DeadlineQueue& queue = *queues_[static_cast<std::size_t>(q)];
    while (DeadlineLink* l = queue.front()) {
      if (l->due > now) break;
      queue.remove(*l);
      auto* c = static_cast<Connection*>(l->owner);
      if (!c->dead) on_deadline(*c, static_cast<Queue>(q), now);
    }
  }
}

void ConnectionLoop::on_deadline(Connection& c, Queue q, Clock::time_point now) {
  switch (q) {
    case kHeadQ:
      if (c.state == kHandshake) {
        counters_->tls_failures.fetch_add(1, std::memory_order_relaxed);
        close(c);
      } else if (c.in.empty()) {
        close(c);  // silent since accept: nothing to answer
      } else {
        reject(c, 408, "the request head did not arrive within server.header_timeout", now);
      }
      break;
    case kBodyQ:
      reject(c, 408, "the request body did not arrive within server.body_timeout", now);
      break;
    default:  // idle keep-alive, a stuck write, the end of lingering
      close(c);
      break;
  }
}

void ConnectionLoop::unlink_held(Connection& c) {
  if (c.prev) {
    c.prev->next = c.next;
  } else if (held_ == &c) {
    held_ = c.next;
  }
  if (c.next) c.next->prev = c.prev;
  c.prev = c.next = nullptr;
}

void ConnectionLoop::close(Connection& c) {
  loop_thread_.check();
  if (c.dead) return;
  c.dead = true;
  disarm(c);
  unlink_held(c);
  counters_->states[c.state].fetch_sub(1, std::memory_order_relaxed);
  if (c.refuse != 0) --refusing_;
  unlist_parked(c);
  release_admission(c);
  if (c.counted) limits_->release(c.peer);
  c.counted = false;
  c.events = 0;
  c.io.close();  // also leaves the epoll set
  graveyard_.push_back(&c);
}

void ConnectionLoop::set_state(Connection& c, int state) {
  if (c.state == state) return;
  counters_->states[c.state].fetch_sub(1, std::memory_order_relaxed);
  counters_->states[state].fetch_add(1, std::memory_order_relaxed);
  c.state = static_cast<std::uint8_t>(state);
}

void ConnectionLoop::arm(Connection& c, Queue q, Clock::time_point now) {
  disarm(c);
  queues_[static_cast<std::size_t>(q)]->push(c.timer, now);
}

void ConnectionLoop::disarm(Connection& c) {
  if (c.timer.queue >= 0) queues_[static_cast<std::size_t>(c.timer.queue)]->remove(c.timer);
}

void ConnectionLoop::watch(Connection& c, std::uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  int op = c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epfd_, op, c.io.fd(), &ev) != 0) {
    close(c);
    return;
  }
  c.events = events;
}

void ConnectionLoop::unwatch(Connection& c) {
  if (c.events == 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c.io.fd(), nullptr);
  c.events = 0;
}

}  // namespace pb::server
