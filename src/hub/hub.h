// The stream plane: connected SSE clients, fan-out, heartbeats and slow-client
// eviction, on a small fixed set of epoll threads. No client holds a thread.
//
// A feed is an ordered sequence of encoded events (one per stream, or per
// multiplexed channel). Each event is one immutable shared buffer; a hub
// thread keeps a short ring of the recent ones per feed, and every session
// only keeps its position in that ring: nothing is copied or allocated per
// client per event. A session more than `backlog_events` events or
// `backlog_bytes` bytes behind its feed is disconnected (it reconnects with
// Last-Event-ID and resumes from history); the byte bound does not count the
// newest event, so that a client that keeps up gets any event, however big.
//
// Heartbeats, stalls, close_at and the times reported (fan-out, session
// durations) are on Options::clock; a manual clock's advance() wakes every
// hub thread for a tick. Hub::stop's drain is real time.
//
// Threads: every public method may be called from any thread. publish() and
// attach() for one feed must be called in the order the caller wants them
// seen (pollbridge calls both under the stream's lock): a session attached
// after an event was published never sees it, and sees every later one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "hub/revocable.h"
#include "hub/session_end.h"
#include "hub/transport.h"
#include "metrics/histogram.h"

namespace pb::hub {

using SteadyClock = std::chrono::steady_clock;

using Buffer = std::shared_ptr<const std::string>;
using FeedId = std::uint64_t;

struct Options {
  std::size_t threads = 2;
  std::chrono::milliseconds heartbeat{15000};
  std::size_t backlog_events = 1024;
  std::size_t backlog_bytes = 8u << 20;
  Clock* clock = &real_clock();  // must outlive the hub
};

struct Stats {
  std::int64_t clients = 0;
  std::uint64_t attached = 0;
  std::uint64_t closed = 0;
  std::uint64_t evicted_slow = 0;   // fell behind the backlog bounds
  std::uint64_t evicted_stall = 0;  // could not be written for too long
  std::uint64_t heartbeats = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t events_published = 0;  // per feed event, not per client
  std::int64_t tls_clients = 0;        // of `clients`, those on TLS
  std::int64_t ktls_clients = 0;       // of those, with kernel TLS sending
  std::uint64_t expired = 0;           // closed at their close_at (credential expiry)
  std::uint64_t revoked = 0;           // closed when a reload's policy no longer admitted them
};

class Worker;

namespace detail {

// The counted part of Stats: added to by attach(), publish() and the hub
// threads, read by Hub::stats().
struct SharedStats {
  mutable Mutex mu;
  Stats totals PB_GUARDED_BY(mu);
};

}  // namespace detail

class Hub {
 public:
  explicit Hub(Options options);
  ~Hub();  // stop(0) if still running
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  void start();
  // Stops taking work, gives pending writes up to `drain` to finish (every
  // thread at the same time), closes every connection (clients reconnect)
  // and joins the threads.
  void stop(std::chrono::milliseconds drain);

  FeedId create_feed();
  void publish(FeedId feed, Buffer event);
  // A new heartbeat interval (a reload): idle sessions get their next
  // comment line by it, checked at every tick.
  void set_heartbeat(std::chrono::milliseconds every) { heartbeat_ms_.store(every.count()); }
  // Closes every session of the feed once its pending bytes are written (one
  // whose socket takes nothing goes by the stall rule, like any other).
  void close_feed(FeedId feed);

  // Takes ownership of the connection (a plain socket or a TLS session; made
  // non-blocking here unless the server did). The session writes `preamble`
  // (response head, retry, snapshot or replay), then every event published
  // to `feed` after this call. `on_close` runs once when the session ends,
  // on a hub thread; if the hub is stopped, attach closes the connection,
  // runs on_close itself and returns false. At `close_at` (checked every
  // tick, 250 ms) the session writes what it has pending and closes: the
  // end of the credential it was admitted with.
  bool attach(FeedId feed, Transport io, std::vector<Buffer> preamble,
              std::function<void()> on_close,
              SteadyClock::time_point close_at = SteadyClock::time_point::max());
  // The same, with a hook told how the session ended (once, on a hub thread,
  // or by attach itself when the hub is stopped: reason kShutdown). With
  // `revocable`, the session is closed (reason kRevoked, nothing more
  // written) once it is marked revoked: at once after close_revoked(), at
  // the latest on the next tick. `heartbeat`, when set, is what the session
  // writes as its heartbeat instead of the comment line ":\n\n" (a
  // compressed session's piece: sse/deflate_blocks.h).
  bool attach(FeedId feed, Transport io, std::vector<Buffer> preamble,
              std::function<void(const SessionEnd&)> on_end,
              SteadyClock::time_point close_at = SteadyClock::time_point::max(),
              std::shared_ptr<const Revocable> revocable = nullptr, Buffer heartbeat = nullptr);
  // Without any hook.
  bool attach(FeedId feed, Transport io, std::vector<Buffer> preamble, std::nullptr_t,
              SteadyClock::time_point close_at = SteadyClock::time_point::max()) {
    return attach(feed, std::move(io), std::move(preamble), std::function<void()>(), close_at);
  }

  // Tells every hub thread to close its sessions whose Revocable is marked
  // (after a reload's re-check marked some). Returns at once.
  void close_revoked();

  std::int64_t clients() const;
  Stats stats() const;
  std::size_t thread_count() const { return workers_.size(); }
  // Queued by publish() → written to the last session of the feed on a hub
  // thread that had sessions of it (one observation per event and thread).
  const metrics::Histogram& fanout_histogram() const { return fanout_; }
  // How long SSE connections lasted, observed when each ends.
  const metrics::Histogram& connection_histogram() const { return connection_; }

 private:
  Options options_;
  std::atomic<std::int64_t> heartbeat_ms_;  // set_heartbeat()
  std::atomic<FeedId> next_feed_{1};
  std::atomic<std::size_t> next_worker_{0};
  std::atomic<bool> running_{false};
  std::atomic<std::int64_t> clients_{0};
  std::atomic<std::int64_t> tls_clients_{0};
  std::atomic<std::int64_t> ktls_clients_{0};
  detail::SharedStats stats_;
  metrics::Histogram fanout_{metrics::kInternalBuckets};
  metrics::Histogram connection_{metrics::kConnectionBuckets};
  // Last: the workers refer to the members above, so they go first.
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace pb::hub
