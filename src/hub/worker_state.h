// What a hub thread (hub.cpp's Worker) keeps: its sessions (one per SSE
// connection), each feed's ring of recent events with the sessions that
// read it, the messages other threads send it, and the connection gauges.
// Private to src/hub: only hub.cpp includes it.
//
// Threads: everything here belongs to one hub thread, except Message (made
// by the publishing or attaching thread, handed over through the worker's
// queue) and Gauges (atomics, read by Hub::stats() from any thread).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "hub/hub.h"
#include "hub/revocable.h"
#include "hub/session_end.h"
#include "hub/transport.h"

namespace pb::hub {
namespace detail {

// Buffers gathered into one sendmsg(2): several pending events go out in one
// system call.
constexpr int kMaxIov = 64;
// A session whose socket has not accepted a byte for this many heartbeat
// intervals while it has data pending is dropped (it stopped reading).
constexpr int kStallHeartbeats = 4;
// How often idle sessions are checked for a due heartbeat.
constexpr std::chrono::milliseconds kTick{250};

// epoll_wait's timeout for a hub thread that may block `bound` long (none:
// until woken, -1). Rounded up, as the connection loop and the transfer loop
// do: truncated, the last fraction of a millisecond before every tick became
// a run of epoll_wait(0) calls (hundreds a second per idle thread, seen with
// perf at 1,000 TLS clients; see docs/benchmarks.md, issue 21).
inline int epoll_timeout_ms(std::optional<std::chrono::steady_clock::duration> bound) {
  if (!bound) return -1;
  if (*bound <= std::chrono::steady_clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*bound).count();
  return static_cast<int>(std::min<long long>(ms, 60000));
}

inline const Buffer& heartbeat_buffer() {
  static const Buffer kBuf = std::make_shared<const std::string>(":\n\n");
  return kBuf;
}

struct FeedState;

struct Session {
  Transport io;
  FeedId feed_id = 0;
  FeedState* feed = nullptr;
  std::vector<Buffer> queue;  // the session's own items, sent before feed events
  Buffer heartbeat;           // its comment line (heartbeat_buffer(), or compressed)
  std::size_t qpos = 0;
  std::size_t off = 0;     // bytes of the first pending item already written
  std::uint64_t next = 0;  // index of the next feed event to send
  bool blocked = false;    // last write hit EAGAIN; wait for EPOLLOUT
  bool dead = false;
  bool closing = false;  // close once everything pending is written
  SteadyClock::time_point last_progress;
  std::function<void(const SessionEnd&)> on_end;
  // The session ends here (its credential expires): what is pending is
  // written, then the connection closes and the client reconnects.
  SteadyClock::time_point close_at = SteadyClock::time_point::max();
  // Marked when a reload's policy no longer admits it: closed at once.
  std::shared_ptr<const Revocable> revocable;
  std::size_t feed_slot = 0;
  std::size_t all_slot = 0;
  // For the access log and the connection histogram (docs/operations.md).
  SteadyClock::time_point started;
  bool head_done = false;  // the first queue item (the response head) is written
  SessionEnd end;          // filled in when it is closed
};

struct RingEntry {
  Buffer buf;
  std::uint64_t start;  // bytes of the feed before this event
  // The fan-out time: when publish() queued it, and how many of this
  // thread's sessions have still to write it (the last one observes it).
  SteadyClock::time_point queued;
  std::size_t owed = 0;
};

struct FeedState {
  std::uint64_t head = 0;   // index the next event will get
  std::uint64_t base = 0;   // index of ring.front()
  std::uint64_t total = 0;  // bytes of every event appended so far
  std::deque<RingEntry> ring;
  std::vector<Session*> sessions;
  bool closed = false;
};

struct Message {
  enum Kind { kPublish, kAttach, kCloseFeed, kStop, kRevoke } kind;
  FeedId feed = 0;
  Buffer buf;
  Session* session = nullptr;
  std::chrono::milliseconds drain{0};  // kStop
  SteadyClock::time_point queued{};    // kPublish: when publish() was called
};

// Connected sessions, by kind; read by Hub::stats() from any thread.
struct Gauges {
  std::atomic<std::int64_t>& clients;
  std::atomic<std::int64_t>& tls;
  std::atomic<std::int64_t>& ktls;

  void add(const Transport& io, int delta) const {
    clients.fetch_add(delta);
    if (io.is_tls()) tls.fetch_add(delta);
    if (io.kernel_tls()) ktls.fetch_add(delta);
  }
};

// A session that never reached a hub thread (attached while the hub
// stopped): its socket is closed and its on_close runs, as for any other.
inline void refuse(Session* s, const Gauges& gauges, SharedStats& stats) {
  gauges.add(s->io, -1);
  s->io.close();
  {
    MutexLock lock(stats.mu);
    ++stats.totals.closed;
  }
  s->end.reason = EndReason::kShutdown;
  if (s->on_end) s->on_end(s->end);
  delete s;
}

// Whether the session has anything left to write.
inline bool pending(const Session& s) {
  return s.qpos < s.queue.size() || (s.feed && s.next < s.feed->head);
}

// Called right after an event was appended. The byte bound counts what the
// session still owed before that event: one that keeps up always gets the
// newest event, however big (an event larger than backlog_bytes must not
// disconnect every client). What the ring holds for a session thus stays
// within backlog_bytes plus the newest event.
inline bool over_backlog(const FeedState& f, const Session& s, const Options& options) {
  if (s.next < f.base) return true;
  const std::uint64_t behind = f.head - s.next;
  if (behind > options.backlog_events) return true;
  if (behind > 1) {
    std::uint64_t owed = f.ring.back().start - f.ring[s.next - f.base].start;
    if (s.qpos == s.queue.size()) owed -= s.off;  // the first one is partly written
    if (owed > options.backlog_bytes) return true;
  }
  return false;
}

inline bool revoked(const Session& s) {
  return s.revocable && s.revocable->revoked();
}

inline double seconds(SteadyClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace detail

}  // namespace pb::hub
