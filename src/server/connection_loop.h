// The front door: one epoll thread that owns every connection until it has a
// complete request, and again between requests. No connection holds a
// thread; the thread count does not depend on how many connections there are
// or what they do.
//
//   accept ─► [TLS handshake] ─► read head ─► read body ─► worker ─► write
//                  (one deadline: header_timeout)  (body_timeout)  │  response
//                                                                   │
//        idle keep-alive (keepalive_timeout) ◄──────────────────────┤
//        lingering close ◄── errors, Connection: close ─────────────┤
//        hub (SSE) ◄── a handler took the connection ───────────────┘
//
//  * Accepting: every connection is counted (ConnectionLimits). One over a
//    limit still has its head read, then gets 503 (max_connections) or 429
//    (max_connections_per_ip) and is closed; at most kMaxRefusing such
//    connections are held at once, further ones are closed at once.
//  * TLS: nothing is allocated for a connection before its first byte. A
//    first byte that does not start a TLS handshake (plain HTTP on the TLS
//    port) gets a plain-text 400 and the connection is closed. The handshake
//    runs non-blocking under the head deadline.
//  * Reading: the head must be complete within header_timeout of the
//    connection's accept (or of the first byte of a later request): 408;
//    within max_header_bytes: 431; well framed (request_head.h): 400, 411,
//    417, 501, 505. A Content-Length body over max_request_body gets 413
//    before it is read; otherwise it is read in full (answering
//    100-continue) within body_timeout: 408. Only then does a worker get the
//    request. Bytes after it stay here for the next request: they are only
//    ever read as a request once this one was complete.
//  * Writing: the response bytes from the worker are written non-blocking
//    (TLS through the session). Then the connection waits for its next
//    request (keep-alive, up to keepalive_requests), or is closed: after an
//    error or `Connection: close`, the sending side is shut down first and
//    what the client still sends is read and dropped for up to kLingerTime,
//    so that the response is not lost to a reset.
//  * Parking: a handler that must wait for something slow (an auth: upstream
//    admission) parks its connection instead of holding a worker
//    (HttplibBridge::park). The connection waits here, in no deadline queue
//    and watched only for the client leaving; every kParkCheck the loop asks
//    each parked connection's condition (a few atomic loads), and once it
//    holds or its deadline passed, the same request goes to a worker again.
//    Long-polls are looked at only when something they may wait for
//    happened (common/park_signal.h: a publish where they wait, a
//    revocation; the loop is woken for it) or a deadline came.
//    At most max_pending_admissions_per_client connections of one client
//    (an IPv6 one by its ipv6_prefix) wait for an admission at once: one
//    more gets 429 with Retry-After and is closed. A long-poll waiting for
//    its next event parks the same way (ParkKind::kLongPoll), without that
//    count: it counts as a client (server/long_poll.h). A client that closes its side while parked
//    is closed at once.
//  * A connection silent since accept, an idle keep-alive connection, and a
//    stalled TLS handshake are closed without an answer when their deadline
//    passes; a partly received head gets 408.
//
// Deadlines are DeadlineQueues (one per kind, O(1)); epoll waits until the
// earliest. Requests are handled on the WorkerPool; completions come back
// through a queue and an eventfd.
//
// Threads: start() and stop() from one thread (main); stats() from any
// thread (atomics: the /metrics handler on a worker); everything else on
// the loop thread, except run_request(), which runs on the workers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/thread_owner.h"
#include "server/connection_limits.h"
#include "server/deadline_queue.h"
#include "server/long_poll_shape.h"

namespace pb::server {

class HttplibBridge;
class Listener;
class TlsContext;
class WorkerPool;
struct Connection;
struct Job;

// Most connections held only to be refused (over a limit) at once; past it
// they are closed at once.
constexpr std::size_t kMaxRefusing = 256;
// How long a closing connection's incoming bytes are read and dropped.
constexpr std::chrono::seconds kLingerTime{2};
// A response that makes no progress for this long is abandoned.
constexpr std::chrono::seconds kWriteTimeout{30};
// Bytes read from a socket in one call (also the most a connection buffers
// beyond its current request).
constexpr std::size_t kReadChunk = 16384;
// How often the conditions of parked connections are looked at.
constexpr std::chrono::milliseconds kParkCheck{10};

struct LoopOptions {
  Clock::duration header_timeout = std::chrono::seconds(10);
  Clock::duration body_timeout = std::chrono::seconds(30);
  Clock::duration keepalive_timeout = std::chrono::seconds(60);
  std::size_t max_header_bytes = 16384;
  std::size_t max_request_body = 65536;
  std::size_t keepalive_requests = 1000;
  // Parked requests (auth: upstream admissions) of one client at once.
  std::size_t max_pending_admissions_per_client = 32;
  // The bits of an IPv6 address that name one client.
  unsigned ipv6_prefix = 64;
  // Reported to handlers as the local address (LOCAL_ADDR / LOCAL_PORT).
  std::string local_ip;
  int local_port = 0;
};

struct LoopStats {
  std::uint64_t accepted = 0;
  std::uint64_t shed = 0;            // closed unserved: out of descriptors, or too many refusing
  std::uint64_t refused_total = 0;   // 503: server.max_connections
  std::uint64_t refused_per_ip = 0;  // 429: server.max_connections_per_ip
  std::uint64_t requests = 0;        // handed to a worker
  std::uint64_t handed_to_hub = 0;
  std::uint64_t rejected[10] = {};  // by kRejectStatuses
  std::uint64_t tls_handshakes = 0;
  std::uint64_t tls_failures = 0;     // failed or timed-out handshakes
  std::uint64_t plain_on_tls = 0;     // plain HTTP on the TLS port
  std::uint64_t ktls = 0;             // handshakes that ended with kernel TLS sending
  std::uint64_t parks = 0;            // requests parked (admissions that waited)
  std::uint64_t refused_pending = 0;  // 429: server.max_pending_admissions_per_client
  // Connections held now, by state.
  std::int64_t handshaking = 0, reading = 0, idle = 0, handling = 0, parked = 0, writing = 0,
               closing = 0;
};

// The statuses the loop answers by itself, in LoopStats::rejected order.
constexpr int kRejectStatuses[10] = {400, 408, 411, 413, 417, 429, 431, 501, 503, 505};

class ConnectionLoop {
 public:
  // The TLS context for new connections (nullptr: plain HTTP).
  using TlsSource = std::function<std::shared_ptr<TlsContext>()>;

  ConnectionLoop(LoopOptions options, Listener& listener, std::shared_ptr<ConnectionLimits> limits,
                 WorkerPool& pool, HttplibBridge& bridge, TlsSource tls);
  ~ConnectionLoop();
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  void start();
  // Stops accepting and closes waiting connections at once; requests being
  // handled or written get up to `drain` to finish (then closed); joins.
  void stop(std::chrono::milliseconds drain);

  LoopStats stats() const;

 private:
  enum Queue { kHeadQ, kBodyQ, kIdleQ, kWriteQ, kLingerQ, kQueues };

  void run();
  void on_accept(Clock::time_point now);
  void on_event(Connection& c, std::uint32_t events, Clock::time_point now);
  void on_readable(Connection& c, Clock::time_point now);
  void handshake(Connection& c, Clock::time_point now);
  void read_request(Connection& c, Clock::time_point now);
  void advance(Connection& c, Clock::time_point now);
  void dispatch(Connection& c, Clock::time_point now);
  // Takes the current request out of `c.in` (what follows stays: pipelined)
  // and counts it; `close`: the connection closes after its answer.
  std::string take_request(Connection& c, bool& close);
  void run_request(Job* job) PB_EXCLUDES(done_mu_);  // on a worker
  void on_done(Job* job, Clock::time_point now);
  void respond(Connection& c, std::string bytes, Clock::time_point now);
  void reject(Connection& c, int status, const std::string& why, Clock::time_point now);
  void write_out(Connection& c, Clock::time_point now);
  void keep_alive(Connection& c, Clock::time_point now);
  void linger(Connection& c, Clock::time_point now);
  void drain_linger(Connection& c);
  void expire(Clock::time_point now);
  void on_deadline(Connection& c, Queue q, Clock::time_point now);
  void close(Connection& c);
  // Takes `c` out of the list of connections the loop holds (held_).
  void unlink_held(Connection& c);
  void set_state(Connection& c, int state);
  void arm(Connection& c, Queue q, Clock::time_point now);
  void disarm(Connection& c);
  void watch(Connection& c, std::uint32_t events);
  void unwatch(Connection& c);
  int wait_ms(Clock::time_point now) const;
  void begin_stop(Clock::time_point now);
  // Parking (connection_parking.cpp).
  void park(Connection& c, Job& job, Clock::time_point now);
  void check_parked(Clock::time_point now);
  void rerun(Connection& c);
  void list_parked(Connection& c);  // its kind and deadline set
  void unlist_parked(Connection& c);
  void release_admission(Connection& c);
  // The long-poll lane (connection_long_poll.cpp).
  bool long_poll_on_loop(Connection& c, Clock::time_point now);
  // True when it waits on (woken by nothing it may answer).
  bool end_long_poll_wait(Connection& c, Clock::time_point now);
  void keep_long_poll(Connection& c, Job& job);
  void on_parked_input(Connection& c);

  LoopOptions options_;
  Listener& listener_;
  std::shared_ptr<ConnectionLimits> limits_;
  WorkerPool& pool_;
  HttplibBridge& bridge_;
  TlsSource tls_;
  const std::string keep_alive_field_;  // HttplibBridge::keep_alive_field()

  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  std::chrono::milliseconds drain_{0};

  // Completed requests, from the workers.
  Mutex done_mu_;
  std::vector<Job*> done_ PB_GUARDED_BY(done_mu_);
  bool wake_pending_ PB_GUARDED_BY(done_mu_) = false;  // the loop was woken for done_

  // Loop thread only (checked in debug builds: loop_thread_.check()).
  ThreadOwner loop_thread_;
  std::vector<std::unique_ptr<DeadlineQueue>> queues_;
  Connection* held_ = nullptr;  // every connection the loop holds (not handling)
  std::vector<Connection*> graveyard_;
  std::size_t refusing_ = 0;
  std::atomic<std::size_t> handling_{0};  // requests with a worker (workers decrement it)
  bool stopping_ = false;
  bool accept_paused_ = false;
  Clock::time_point accept_resume_{};
  Clock::time_point stop_deadline_{};
  std::vector<Connection*> parked_;  // kParked, in no particular order
  std::size_t admission_parks_ = 0;  // of them, ParkKind::kAdmission
  LongPollShape shape_scratch_;      // long_poll_on_loop()'s, reused
  // park_epoch() when parked_ was last looked at, and the earliest deadline
  // in it then (or since).
  std::uint64_t parked_epoch_ = 0;
  Clock::time_point parked_due_ = Clock::time_point::max();
  // Parked admissions per client (its address, an IPv6 one by prefix).
  std::unordered_map<AddressBytes, std::uint32_t, AddressHash> pending_;

  // Counters, read by stats() from other threads.
  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace pb::server
