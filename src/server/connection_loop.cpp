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

#include "hub/transport.h"
#include "log/log.h"
#include "server/error_response.h"
#include "server/httplib_bridge.h"
#include "server/listener.h"
#include "server/request_head.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

namespace pb::server {

using hub::Transport;

namespace {

enum State { kHandshake, kHead, kBody, kIdle, kHandling, kWrite, kLinger, kStates };

// Connections accepted per listener event before looking at the others.
constexpr int kAcceptBatch = 512;
// Pause after the process ran out of descriptors entirely.
constexpr std::chrono::milliseconds kAcceptPause{100};
// The first byte of a TLS handshake record (RFC 8446 5.1).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

// epoll tags that are not connections.
char kListenerTag;
char kWakeTag;

// Socket reads land here first; a connection keeps only what it needs.
thread_local char tl_chunk[kReadChunk];

}  // namespace

struct Connection {
  Transport io;
  DeadlineLink timer;
  Connection* prev = nullptr;  // ConnectionLoop::held_
  Connection* next = nullptr;
  std::string in;   // received, not yet handed on; the current request starts at 0
  std::string out;  // the response being written
  std::size_t out_off = 0;
  HeadScanner scanner;
  RequestHead head;
  std::size_t request_end = 0;  // kBody: where the current request ends in `in`
  PeerAddress peer;
  std::uint32_t requests = 0;
  std::uint32_t events = 0;  // registered with epoll (0: not registered)
  std::uint16_t refuse = 0;  // over a limit: the status its request gets
  std::uint8_t state = kHead;
  bool tls = false;          // came in on the TLS port
  bool counted = false;      // holds a ConnectionLimits slot
  bool close_after = false;  // close once `out` is written
  bool rejected = false;     // answered by the loop: what follows is unread
  bool dead = false;
};

// A request on its way through a worker. Owns the connection meanwhile.
struct Job {
  Connection* conn = nullptr;
  std::string request;
  bool close = false;
  std::string response;
  bool taken = false;
  bool close_after = false;
};

struct ConnectionLoop::Counters {
  std::atomic<std::uint64_t> accepted{0}, shed{0}, refused_total{0}, refused_per_ip{0}, requests{0},
      handed{0}, tls_handshakes{0}, tls_failures{0}, plain_on_tls{0}, ktls{0};
  std::atomic<std::uint64_t> rejected[10] = {};
  std::atomic<std::int64_t> states[kStates] = {};

  void count_reject(int status) {
    for (int i = 0; i < 10; ++i) {
      if (kRejectStatuses[i] == status) rejected[i].fetch_add(1, std::memory_order_relaxed);
    }
  }
};

ConnectionLoop::ConnectionLoop(LoopOptions options, Listener& listener,
                               std::shared_ptr<ConnectionLimits> limits, WorkerPool& pool,
                               HttplibBridge& bridge, TlsSource tls)
    : options_(std::move(options)),
      listener_(listener),
      limits_(std::move(limits)),
      pool_(pool),
      bridge_(bridge),
      tls_(std::move(tls)),
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
  for (Job* j : done_) {
    if (j->conn->counted) limits_->release(j->conn->peer);
    delete j->conn;
    delete j;
  }
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
      std::lock_guard<std::mutex> lock(done_mu_);
      done.swap(done_);
    }
    for (Job* j : done) on_done(j, now);
    done.clear();
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
    if (stopping_ && ((held_ == nullptr && handling_ == 0) || now >= stop_deadline_)) break;
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

void ConnectionLoop::handshake(Connection& c, Clock::time_point now) {
  if (!c.io.is_tls()) {
    // Nothing is allocated for TLS until the client's first byte says it
    // speaks TLS.
    unsigned char first = 0;
    ssize_t r = ::recv(c.io.fd(), &first, 1, MSG_PEEK);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      watch(c, EPOLLIN);
      return;
    }
    if (r <= 0) {
      close(c);
      return;
    }
    if (first != kTlsHandshakeRecord) {
      counters_->plain_on_tls.fetch_add(1, std::memory_order_relaxed);
      reject(c, 400, "this port speaks HTTPS, not plain HTTP", now);
      return;
    }
    std::shared_ptr<TlsContext> ctx = tls_ ? tls_() : nullptr;
    SSL* ssl = ctx ? SSL_new(ctx->ctx()) : nullptr;
    if (ssl == nullptr) {
      close(c);
      return;
    }
    c.io.start_tls(ssl);
  }
  ssize_t r = c.io.handshake();
  if (r == Transport::kAgain) {
    // SSL_want_write: a handshake message did not fit the send buffer.
    watch(c, SSL_want_write(c.io.ssl()) ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return;
  }
  if (r != 1) {
    counters_->tls_failures.fetch_add(1, std::memory_order_relaxed);
    close(c);
    return;
  }
  counters_->tls_handshakes.fetch_add(1, std::memory_order_relaxed);
  if (c.io.kernel_tls()) counters_->ktls.fetch_add(1, std::memory_order_relaxed);
  set_state(c, kHead);  // same deadline: the head's clock started at accept
  read_request(c, now);
}

void ConnectionLoop::read_request(Connection& c, Clock::time_point now) {
  while (!c.dead && (c.state == kHead || c.state == kBody || c.state == kIdle)) {
    ssize_t r = c.io.read(tl_chunk, sizeof tl_chunk);
    if (r == Transport::kAgain) {
      watch(c, EPOLLIN);
      return;
    }
    if (r <= 0) {
      close(c);  // the client left (a partial request goes unanswered)
      return;
    }
    c.in.append(tl_chunk, static_cast<std::size_t>(r));
    advance(c, now);
  }
}

void ConnectionLoop::advance(Connection& c, Clock::time_point now) {
  if (c.state == kIdle) {
    if (c.in.empty()) return;
    set_state(c, kHead);  // a new request: a new head deadline from its first byte
    arm(c, kHeadQ, now);
  }
  if (c.state == kHead) {
    std::size_t skip = 0;
    std::size_t head_bytes = 0;
    HeadScanner::Result r = c.scanner.scan(c.in, skip, head_bytes);
    if (r == HeadScanner::kBad) {
      reject(c, 400, "malformed request head: every line must end with CRLF", now);
      return;
    }
    if (r == HeadScanner::kIncomplete) {
      if (c.scanner.seen() > options_.max_header_bytes) {
        reject(c, 431, "the request head is larger than server.max_header_bytes", now);
      }
      return;
    }
    if (head_bytes > options_.max_header_bytes) {
      reject(c, 431, "the request head is larger than server.max_header_bytes", now);
      return;
    }
    std::string why;
    int status = parse_request_head(std::string_view(c.in).substr(skip, head_bytes), c.head, why);
    if (status != 0) {
      reject(c, status, why, now);
      return;
    }
    if (c.refuse != 0) {
      reject(c, c.refuse,
             c.refuse == 503 ? "too many connections (server.max_connections)"
                             : "too many connections from this address "
                               "(server.max_connections_per_ip)",
             now);
      return;
    }
    if (c.head.content_length > options_.max_request_body) {
      reject(c, 413, "the request body is larger than server.max_request_body", now);
      return;
    }
    if (skip > 0) {
      c.in.erase(0, skip);  // empty lines before the request line
      c.scanner.reset();
    }
    c.request_end = head_bytes + static_cast<std::size_t>(c.head.content_length);
    if (c.in.size() < c.request_end) {
      set_state(c, kBody);
      arm(c, kBodyQ, now);
      if (c.head.expect_continue && c.in.size() == head_bytes) {
        const std::string& cont = continue_response();
        if (c.io.write(cont.data(), cont.size()) != static_cast<ssize_t>(cont.size())) {
          close(c);  // 25 bytes that do not fit an idle socket: it is gone
        }
      }
      return;
    }
  }
  if (c.state == kBody && c.in.size() < c.request_end) return;
  dispatch(c);
}

void ConnectionLoop::dispatch(Connection& c) {
  disarm(c);
  unwatch(c);
  if (c.prev) {
    c.prev->next = c.next;
  } else {
    held_ = c.next;
  }
  if (c.next) c.next->prev = c.prev;
  c.prev = c.next = nullptr;
  set_state(c, kHandling);
  ++handling_;
  ++c.requests;
  auto* job = new Job;
  job->conn = &c;
  job->close = !c.head.keep_alive || c.requests >= options_.keepalive_requests ||
               options_.keepalive_timeout.count() == 0 || stopping_;
  if (c.in.size() == c.request_end) {
    job->request.swap(c.in);
  } else {
    job->request.assign(c.in, 0, c.request_end);  // what follows stays here: pipelined
    c.in.erase(0, c.request_end);
  }
  c.scanner.reset();
  counters_->requests.fetch_add(1, std::memory_order_relaxed);
  pool_.post([this, job] { run_request(job); });
}

void ConnectionLoop::run_request(Job* job) {
  Connection& c = *job->conn;
  HttplibBridge::Exchange ex;
  ex.request = job->request;
  ex.close = job->close;
  ex.io = &c.io;
  ex.on_take = [this, &c](Transport& io) {
    if (c.counted) {
      io.hold(limits_->token(c.peer));  // the hub's session keeps the slot
      c.counted = false;
    }
  };
  ex.remote_ip = c.peer.ip();
  ex.remote_port = c.peer.port;
  ex.local_ip = options_.local_ip;
  ex.local_port = options_.local_port;
  bridge_.handle(ex);
  job->response = std::move(ex.response);
  job->taken = ex.taken;
  job->close_after = ex.close_after;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    wake = done_.empty();
    done_.push_back(job);
  }
  if (wake) {
    std::uint64_t one = 1;
    ssize_t r = ::write(wakefd_, &one, sizeof one);
    (void)r;
  }
}

void ConnectionLoop::on_done(Job* job, Clock::time_point now) {
  Connection* c = job->conn;
  --handling_;
  counters_->states[kHandling].fetch_sub(1, std::memory_order_relaxed);
  if (job->taken) {
    counters_->handed.fetch_add(1, std::memory_order_relaxed);
    if (c->refuse != 0) --refusing_;
    delete c;  // its transport (and count) went to the hub
    delete job;
    return;
  }
  c->state = kWrite;
  counters_->states[kWrite].fetch_add(1, std::memory_order_relaxed);
  c->next = held_;
  if (held_) held_->prev = c;
  held_ = c;
  c->close_after = job->close_after || stopping_;
  c->out = std::move(job->response);
  c->out_off = 0;
  delete job;
  write_out(*c, now);
}

void ConnectionLoop::reject(Connection& c, int status, const std::string& why,
                            Clock::time_point now) {
  counters_->count_reject(status);
  log::debug("request refused", {{"status", status}, {"reason", why}, {"client", c.peer.ip()}});
  c.in.clear();
  c.close_after = true;
  c.rejected = true;
  respond(c, error_response(status, why), now);
}

void ConnectionLoop::respond(Connection& c, std::string bytes, Clock::time_point now) {
  set_state(c, kWrite);
  c.out = std::move(bytes);
  c.out_off = 0;
  write_out(c, now);
}

void ConnectionLoop::write_out(Connection& c, Clock::time_point now) {
  while (c.out_off < c.out.size()) {
    ssize_t w = c.io.write(c.out.data() + c.out_off, c.out.size() - c.out_off);
    if (w > 0) {
      c.out_off += static_cast<std::size_t>(w);
      continue;
    }
    if (w == Transport::kAgain) {
      arm(c, kWriteQ, now);  // from the last progress
      watch(c, EPOLLOUT);
      return;
    }
    close(c);
    return;
  }
  std::string().swap(c.out);
  c.out_off = 0;
  if (c.close_after) {
    linger(c, now);
  } else {
    keep_alive(c, now);
  }
}

void ConnectionLoop::keep_alive(Connection& c, Clock::time_point now) {
  set_state(c, kIdle);
  arm(c, kIdleQ, now);
  if (!c.in.empty()) {
    advance(c, now);  // a pipelined request is already here
    if (c.dead || (c.state != kHead && c.state != kBody)) return;
  }
  if (c.in.capacity() > 0 && c.in.empty()) std::string().swap(c.in);  // nothing held while idle
  watch(c, EPOLLIN);
}

void ConnectionLoop::linger(Connection& c, Clock::time_point now) {
  if (c.refuse != 0) {
    --refusing_;
    c.refuse = 0;
  }
  // A client that asked to close and sent nothing more is done: close now.
  // Otherwise (a refused request, or a close the client did not ask for) it
  // may still be sending.
  if (!c.rejected && !c.head.keep_alive && c.in.empty()) {
    close(c);
    return;
  }
  c.io.shutdown_write();
  std::string().swap(c.in);
  set_state(c, kLinger);
  arm(c, kLingerQ, now);
  watch(c, EPOLLIN);
  drain_linger(c);
}

void ConnectionLoop::drain_linger(Connection& c) {
  for (;;) {
    // Raw reads, TLS or not: nothing of it is used.
    ssize_t r = ::recv(c.io.fd(), tl_chunk, sizeof tl_chunk, 0);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close(c);  // the client closed its side (or reset): done
    return;
  }
}

void ConnectionLoop::expire(Clock::time_point now) {
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

void ConnectionLoop::close(Connection& c) {
  if (c.dead) return;
  c.dead = true;
  disarm(c);
  if (c.prev) {
    c.prev->next = c.next;
  } else if (held_ == &c) {
    held_ = c.next;
  }
  if (c.next) c.next->prev = c.prev;
  c.prev = c.next = nullptr;
  counters_->states[c.state].fetch_sub(1, std::memory_order_relaxed);
  if (c.refuse != 0) --refusing_;
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
