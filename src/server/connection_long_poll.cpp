// The long-poll lane on the loop (see connection_loop.h, "Long-poll lane",
// and server/long_poll_session.h): a connection's later long-polls of the
// shape its first one had, and the end of every long-poll wait, are answered
// here without a worker. Per delivery that leaves the request's read and the
// answer's write: no hand-over to a worker and back (a futex and an eventfd
// write each way) and no change of the socket's epoll interest.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "server/connection.h"
#include "server/connection_loop.h"
#include "server/long_poll_session.h"
#include "server/long_poll_shape.h"

namespace pb::server {

void ConnectionLoop::keep_long_poll(Connection& c, Job& job) {
  // The connection's last request decides: a long-poll's session, or none.
  c.long_poll = std::move(job.long_poll);
  c.long_poll_key.clear();
  if (!c.long_poll) return;
  LongPollShape shape;
  if (read_long_poll_shape(job.request, shape)) {
    c.long_poll_key = std::move(shape.key);
  } else {
    c.long_poll.reset();
  }
}

bool ConnectionLoop::long_poll_on_loop(Connection& c, Clock::time_point now) {
  LongPollShape& shape = shape_scratch_;  // its key's buffer is reused
  if (stopping_ || c.head.content_length != 0 ||
      !read_long_poll_shape(std::string_view(c.in).substr(0, c.request_end), shape) ||
      shape.key != c.long_poll_key) {
    c.long_poll.reset();  // another request: a worker decides it
    return false;
  }
  LongPollSession::Answer a = c.long_poll->begin(std::move(shape.last_id), now);
  if (a.kind == LongPollSession::Answer::kFallback) {
    c.long_poll.reset();
    return false;
  }
  disarm(c);
  bool close = false;
  std::string request = take_request(c, close);
  if (a.kind == LongPollSession::Answer::kAnswer) {
    c.close_after = close;
    respond(c, c.long_poll->bytes(a, close, keep_alive_field_), now);
    return true;
  }
  // Nothing yet: park here. The socket stays watched for input as it is
  // (on_parked_input); one that was not watched at all is watched for the
  // client leaving.
  set_state(c, kParked);
  counters_->parks.fetch_add(1, std::memory_order_relaxed);
  LongPollSession* session = c.long_poll.get();
  c.parked_request = std::move(request);
  c.parked_close = close;
  c.ready = [session] { return session->ready(); };
  c.admission_deadline = session->deadline();
  c.parked_kind = ParkKind::kLongPoll;
  list_parked(c);
  if (c.events == 0) watch(c, EPOLLRDHUP);
  return true;
}

bool ConnectionLoop::end_long_poll_wait(Connection& c, Clock::time_point now) {
  LongPollSession::Answer a = c.long_poll->resume(now);
  if (a.kind == LongPollSession::Answer::kFallback) {
    // Revoked, ended, reloaded or replaced: a worker runs it again and
    // decides (its park's deadline goes with it).
    c.long_poll.reset();
    rerun(c);
    return false;
  }
  if (a.kind == LongPollSession::Answer::kWait) {
    c.admission_deadline = c.long_poll->deadline();
    return true;  // woken by nothing it may answer: it waits on
  }
  unlist_parked(c);
  c.ready = nullptr;
  std::string().swap(c.parked_request);
  const bool close = c.parked_close || stopping_;
  c.close_after = close;
  respond(c, c.long_poll->bytes(a, close, keep_alive_field_), now);
  return false;
}

void ConnectionLoop::on_parked_input(Connection& c) {
  // Input while parked: the client leaving, or a request pipelined behind
  // the waiting one (it waits in the socket for this answer). Raw peek, TLS
  // or not: only end-of-stream matters.
  char byte = 0;
  const ssize_t r = ::recv(c.io.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r > 0) {
    watch(c, EPOLLRDHUP);
  } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    close(c);
  }
}

}  // namespace pb::server
