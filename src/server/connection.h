// What the connection loop keeps per connection and per request in flight,
// shared by its two files: connection_loop.cpp (the thread, accepting, epoll,
// deadlines, bookkeeping) and connection_requests.cpp (one connection's life:
// handshake, head, body, request, response, keep-alive, closing). Internal to
// server/.
//
// Threads: a Connection belongs to the loop thread, except while its request
// is with a worker (then the Job owns it, and only that worker touches it).
// A parked connection (kParked) is the loop's: its `ready` is only called
// there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hub/transport.h"
#include "server/connection_limits.h"
#include "server/connection_loop.h"
#include "server/deadline_queue.h"
#include "server/park_kind.h"
#include "server/request_head.h"

namespace pb::server {

class LongPollSession;

enum State { kHandshake, kHead, kBody, kIdle, kHandling, kParked, kWrite, kLinger, kStates };

// The first byte of a TLS handshake record (RFC 8446 5.1).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

// Socket reads land here first; a connection keeps only what it needs.
inline char* read_chunk() {
  thread_local char chunk[kReadChunk];
  return chunk;
}

struct Connection {
  hub::Transport io;
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
  // kParked (connection_parking.cpp): the request to run again, when.
  bool admission_slot = false;  // counted in the loop's pending admissions
  bool parked_close = false;
  std::size_t parked_at = kNotParked;  // index in ConnectionLoop::parked_
  std::string parked_request;
  std::function<bool()> ready;
  Clock::time_point admission_deadline{};
  ParkKind parked_kind = ParkKind::kAdmission;
  // The long-poll lane (connection_long_poll.cpp): the session its last
  // long-poll left, and that request's shape (long_poll_shape.h).
  std::shared_ptr<LongPollSession> long_poll;
  std::string long_poll_key;

  static constexpr std::size_t kNotParked = static_cast<std::size_t>(-1);
};

// A request on its way through a worker. Owns the connection meanwhile.
struct Job {
  Connection* conn = nullptr;
  std::string request;
  bool close = false;
  std::string response;
  bool taken = false;  // the connection went to the hub
  bool close_after = false;
  // A rerun after a park: the park's deadline. Out: the handler parked.
  Clock::time_point admission_deadline{};
  ParkKind parked_kind = ParkKind::kAdmission;
  bool parked = false;
  std::function<bool()> ready;
  Clock::time_point park_until{};
  ParkKind park_kind = ParkKind::kAdmission;
  std::shared_ptr<LongPollSession> long_poll;  // HttplibBridge::keep_long_poll
};

struct ConnectionLoop::Counters {
  std::atomic<std::uint64_t> accepted{0}, shed{0}, refused_total{0}, refused_per_ip{0}, requests{0},
      handed{0}, tls_handshakes{0}, tls_failures{0}, plain_on_tls{0}, ktls{0}, parks{0},
      refused_pending{0};
  std::atomic<std::uint64_t> rejected[10] = {};
  std::atomic<std::int64_t> states[kStates] = {};

  void count_reject(int status) {
    for (int i = 0; i < 10; ++i) {
      if (kRejectStatuses[i] == status) rejected[i].fetch_add(1, std::memory_order_relaxed);
    }
  }
};

}  // namespace pb::server
