// One connection's life on the loop: TLS handshake, head, body, the request
// on a worker, the response, keep-alive and closing (see connection_loop.h).
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string_view>

#include "log/log.h"
#include "server/connection.h"
#include "server/connection_loop.h"
#include "server/error_response.h"
#include "server/httplib_bridge.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

namespace pb::server {

using hub::Transport;

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
    ssize_t r = c.io.read(read_chunk(), kReadChunk);
    if (r == Transport::kAgain) {
      watch(c, EPOLLIN);
      return;
    }
    if (r <= 0) {
      close(c);  // the client left (a partial request goes unanswered)
      return;
    }
    c.in.append(read_chunk(), static_cast<std::size_t>(r));
    advance(c, now);
    // A plain socket read short of the chunk was empty after it: a request
    // answered at once (the long-poll lane) leaves the connection idle, and
    // epoll tells when more comes, without a read that finds nothing. (A TLS
    // session may hold decrypted bytes epoll knows nothing of: read on.)
    if (!c.dead && c.state == kIdle && c.in.empty() && !c.io.is_tls() &&
        static_cast<std::size_t>(r) < kReadChunk) {
      watch(c, EPOLLIN);
      return;
    }
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
    if (r == HeadScanner::kBadLeading) {
      reject(c, 400, "too many empty lines before the request line", now);
      return;
    }
    if (r == HeadScanner::kIncomplete) {
      if (c.scanner.seen() > options_.max_header_bytes) {
        reject(c, 431, "the request head is larger than server.max_header_bytes", now);
      }
      return;
    }
    if (skip + head_bytes > options_.max_header_bytes) {
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
  dispatch(c, now);
}

void ConnectionLoop::dispatch(Connection& c, Clock::time_point now) {
  loop_thread_.check();
  if (c.long_poll && long_poll_on_loop(c, now)) return;
  disarm(c);
  unwatch(c);
  unlink_held(c);
  set_state(c, kHandling);
  handling_.fetch_add(1);
  auto* job = new Job;
  job->conn = &c;
  job->request = take_request(c, job->close);
  pool_.post([this, job] { run_request(job); });
}

std::string ConnectionLoop::take_request(Connection& c, bool& close) {
  ++c.requests;
  counters_->requests.fetch_add(1, std::memory_order_relaxed);
  close = !c.head.keep_alive || c.requests >= options_.keepalive_requests ||
          options_.keepalive_timeout.count() == 0 || stopping_;
  std::string request;
  if (c.in.size() == c.request_end) {
    request.swap(c.in);
  } else {
    request.assign(c.in, 0, c.request_end);  // what follows stays here: pipelined
    c.in.erase(0, c.request_end);
  }
  c.scanner.reset();
  return request;
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
  ex.admission_deadline = job->admission_deadline;
  ex.parked_kind = job->parked_kind;
  bridge_.handle(ex);
  job->taken = ex.taken;
  job->parked = ex.parked;
  job->ready = std::move(ex.ready);
  job->park_until = ex.park_until;
  job->park_kind = ex.park_kind;
  job->response = std::move(ex.response);
  job->close_after = ex.close_after;
  job->long_poll = std::move(ex.long_poll);
  bool wake;
  {
    MutexLock lock(done_mu_);
    // A connection that went to the hub leaves the loop nothing urgent (its
    // record is freed at the loop's next turn), so the loop is not woken for
    // it. The loop may still be looking at the record right after handing it
    // over, so it is freed there, not here.
    // Woken once per batch: a job that went to the hub does not wake the
    // loop, so "the queue was empty" is not the test (a response queued
    // behind a taken job would wait for some other event).
    wake = !job->taken && !wake_pending_;
    if (wake) wake_pending_ = true;
    done_.push_back(job);
  }
  if (wake) {
    std::uint64_t one = 1;
    ssize_t r = ::write(wakefd_, &one, sizeof one);
    (void)r;
  }
}

void ConnectionLoop::on_done(Job* job, Clock::time_point now) {
  loop_thread_.check();
  Connection* c = job->conn;
  handling_.fetch_sub(1);
  counters_->states[kHandling].fetch_sub(1, std::memory_order_relaxed);
  keep_long_poll(*c, *job);
  if (job->taken) {
    counters_->handed.fetch_add(1, std::memory_order_relaxed);
    release_admission(*c);
    delete c;  // its transport (and count) went to the hub
    delete job;
    return;
  }
  if (job->parked && !stopping_) {
    c->state = kParked;
    counters_->states[kParked].fetch_add(1, std::memory_order_relaxed);
    c->next = held_;
    if (held_) held_->prev = c;
    held_ = c;
    park(*c, *job, now);
    delete job;
    return;
  }
  release_admission(*c);  // answered: the admission is over
  c->state = kWrite;
  counters_->states[kWrite].fetch_add(1, std::memory_order_relaxed);
  c->next = held_;
  if (held_) held_->prev = c;
  held_ = c;
  // No bytes at all would leave the client waiting: close instead.
  c->close_after = job->close_after || stopping_ || job->response.empty();
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
    ssize_t r = ::recv(c.io.fd(), read_chunk(), kReadChunk, 0);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close(c);  // the client closed its side (or reset): done
    return;
  }
}

}  // namespace pb::server
