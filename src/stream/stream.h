// Per-stream state: the current document, the id sequence with its epoch, the
// bounded history, the upstream status, and the listeners that receive each
// event. Nothing here knows about HTTP or sockets.
//
// Threads: two writers change the document, the id sequence and the
// history.
//  (1) The stream's writer, the poll's processing thread: update(),
//      unchanged(), fail(), one at a time, each started only while the
//      coordinator's may_poll() holds (with Redis, while this process holds
//      the instance's lease).
//  (2) With Redis (a shared Coordinator), the follower: on_remote()
//      (stream_remote.cpp), from the coordinator's threads (pb-redis-follow,
//      or pb-redis catching up as a lease is won), one call at a time,
//      applies what the process holding the lease recorded. It runs while
//      another process holds the lease, and as this one wins it or finds
//      Redis on another epoch: it may overlap with (1) (a poll started
//      before the lease was lost, or across such a lease turn). A
//      LocalCoordinator never calls it: there, (1) is the only writer.
// The invariant between them: the store is the order. (1)'s events become
// current only once Store::append() has recorded them, and Redis records
// only from the lease holder at the seq it has (the fence); (2) applies
// only what the store recorded, in its order. Both make events current
// under mutex(), each skipping what the other already made current
// (publish(): its epoch has moved on or seq_ has passed its events;
// on_remote(): events at or below seq_), so clients see the store's one
// sequence, each event once, whichever process polled. on_store_health()
// (the coordinator's threads) changes only the status, and tells listeners
// with an id-less event. Everything else may be called from any thread.
// The *_locked methods require mutex() (checked by Clang's thread-safety
// analysis): that is how a client is attached atomically with respect to
// publishing (no gap, no duplicate). Listeners are called under the lock,
// in publish order, and must not block.
//
// The life of an update: the writer diffs against the current document
// without the lock, assigns the next ids, records the events in the store
// without the lock (a slow disk delays only this stream's next event, never
// a connecting client), then takes the lock to make them current, append
// them to the history and hand them to the listeners. A client attaching in
// between sees the state before the update and then the update's events:
// no client ever sees an event before it is durable.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "config/config.h"
#include "diff/differ.h"
#include "json/document.h"
#include "stream/coordinator.h"
#include "stream/event.h"
#include "stream/format.h"
#include "stream/store.h"

namespace pb::stream {

using Clock = std::chrono::system_clock;

struct Status {
  bool ok = true;                    // false: the document is stale
  bool polled = false;               // at least one poll finished (success or failure)
  std::string reason;                // why it is stale
  int http_status = 0;               // upstream status code of the failure, if any
  Clock::time_point since{};         // when the current state began
  Clock::time_point last_success{};  // last successful poll
  // False while the store refuses writes: events cannot be recorded, so
  // none are issued (clients get an id-less status event saying so).
  bool recording = true;
  std::string store_error;  // why, while !recording
};

// The one reading of a Status that every route, status event and /metrics
// uses: healthy when the upstream answers and events are recorded; the
// state name "pending" (not polled yet), "ok" (healthy) or "stale".
inline bool healthy(const Status& st) {
  return st.ok && st.recording;
}
inline const char* state_name(const Status& st) {
  return !st.polled ? "pending" : healthy(st) ? "ok" : "stale";
}

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void on_event(const EventPtr& event) = 0;
  // The stream was retired (under its lock): no event will follow. The
  // listener has been removed already.
  virtual void on_retired() {}
};

// The clients of a stream instance: counted by whoever attaches them (and by
// reservations of a client about to attach), read by the scheduler (`idle:
// stop`) and the janitor (reaping). Shared, so that a hub session's close
// hook can hold it without holding the instance.
struct Presence {
  std::atomic<std::int64_t> clients{0};
  std::atomic<std::int64_t> last_ns{0};  // steady clock, last arrival or departure
  // Subscribers per resolved format (see Stream::add_format_user_locked);
  // here so that a hub close hook can count one out without the stream.
  std::array<std::atomic<std::int64_t>, kFormatCount> format_users{};
  // Counts every event handed to the listeners and the stream's retirement,
  // under the stream's lock: a waiting long-poll (server/long_poll.h)
  // remembers it and is woken when it moves, without holding the stream.
  std::atomic<std::uint64_t> changes{0};
  // Long-polls waiting on this instance now (counted in `clients` too).
  std::atomic<std::int64_t> waiting{0};

  // Counts a change (under the stream's lock) and, while long-polls wait
  // here, tells the connection loops (common/park_signal.h).
  void changed();

  // `now`: the runtime's clock (common/clock.h), which its janitor compares
  // last() with.
  void arrive(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  void leave(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  std::chrono::steady_clock::time_point last() const;
};

// What a connecting client is sent before it follows the live events.
struct ResumePlan {
  bool fresh = true;             // false: a replay of missed events
  std::vector<EventPtr> events;  // snapshot and/or status, or the replay
};

// A consistent summary for /streams, /metrics and GET /streams/{name}. The
// document itself is not serialized here: `snapshot` is the shared, cached
// encoding when one exists (see snapshot()).
struct DocumentView {
  bool has_doc = false;
  std::string doc_id;   // id of the event that made this document
  std::string last_id;  // id of the latest event
  std::string epoch;
  Clock::time_point changed{};
  Status status;
  std::uint64_t events = 0;  // events published by this process
  std::size_t history = 0;   // events held for resume
};

class Stream : public Follower {
 public:
  struct Options {
    diff::Options diff;
    std::size_t history = 1000;             // events kept for resume
    std::size_t history_bytes = 64u << 20;  // and at most this many bytes of them
    // Set by the runtime: the two bounds as a reload changes them (read at
    // every event, which cuts the history to them); unset, the two above.
    std::shared_ptr<const std::atomic<std::size_t>> live_history;
    std::shared_ptr<const std::atomic<std::size_t>> live_history_bytes;
  };

  // Takes ownership of `key` in `store` and loads its saved state, then
  // follows the key through `coordinator` (both must outlive the stream);
  // `stream` is the configured stream's name. Throws StoreError(kOwned) if
  // the key already has an owner; any other store failure is logged and
  // the stream starts a new epoch.
  Stream(std::string key, std::string stream, Options options, Store* store,
         Coordinator* coordinator, Clock::time_point now);
  ~Stream() override;  // stops following the key
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // A shared store (Redis): whether this process may poll now (it holds the
  // lease), and whether another process has clients (stream_remote.cpp).
  bool may_poll() const { return coordinator_->may_poll(key_); }
  bool listened_elsewhere() const { return coordinator_->listened_elsewhere(key_); }
  // Follower: what other processes recorded (stream_remote.cpp).
  Position position() const override PB_EXCLUDES(mu_);
  void on_remote(const PersistedState& state) override PB_EXCLUDES(mu_);
  void on_store_health(bool ok, const std::string& why) override PB_EXCLUDES(mu_);
  std::int64_t local_clients() const override { return client_count(); }

  const std::string& key() const { return key_; }
  config::DiffMode mode() const { return options_.diff.mode; }

  // A successful poll produced `next` (already selected/filtered). Publishes
  // a recovery status if the stream was stale, then the diff's events.
  // Returns false if the store refused them (nothing changed; the next poll
  // diffs against the same document again). Throws diff::DiffError if
  // `next` does not suit the diff mode; the caller reports it with fail()
  // and nothing changes.
  bool update(const json::Json& next, Clock::time_point now) PB_EXCLUDES(mu_);
  // A successful poll that saw no change (304, or equal content).
  void unchanged(Clock::time_point now) PB_EXCLUDES(mu_);
  // A failed poll: publishes a `status` event when the stream turns stale or
  // the reason changes. The last good document stays.
  void fail(const std::string& reason, int http_status, Clock::time_point now) PB_EXCLUDES(mu_);

  Mutex& mutex() const PB_RETURN_CAPABILITY(mu_) { return mu_; }
  // `format` is what the client gets (resolve_format(mode(), requested)):
  // a replay in another format is made of the events' renditions, or of the
  // status events and one snapshot for kSnapshot; when a rendition is
  // missing (nobody asked for that format when the event was published, or
  // the history was loaded from the store) the plan is a fresh start.
  ResumePlan plan_resume_locked(const std::optional<std::string>& last_id,
                                Format format = Format::kNative) const PB_REQUIRES(mu_);
  // What a subscriber of `format` (resolved) gets for an event this stream
  // published or holds in its history: the event itself (status, native),
  // its rendition, or for kSnapshot the current document's snapshot when
  // `ev` made it; null when there is nothing to send (an event that did not
  // make the current document, or a missing rendition).
  EventPtr rendition_locked(const EventPtr& ev, Format format) const PB_REQUIRES(mu_);
  // The same, for a Listener's on_event(): the lock is held there, but the
  // analysis cannot see it through the virtual call.
  EventPtr rendition_for_listener(const EventPtr& ev,
                                  Format format) const PB_NO_THREAD_SAFETY_ANALYSIS {
    return rendition_locked(ev, format);
  }
  // Subscribers of each resolved format (clients, and multiplexed channels
  // while they listen): the writer makes renditions only for formats in
  // use. Added under the lock, so that the writer's check under the lock
  // sees every subscriber that can receive the event; removed from any
  // thread (a hub close hook).
  void add_format_user_locked(Format format) PB_REQUIRES(mu_);
  void remove_format_user(Format format);
  std::int64_t format_users(Format format) const;
  // Renditions made by this stream's writer since it started, per format
  // (kSnapshot: snapshots made for snapshot subscribers at publish time):
  // one per event and format in use, whatever the number of subscribers.
  std::uint64_t renditions_made(Format format) const;
  void add_listener_locked(Listener* l) PB_REQUIRES(mu_);
  void remove_listener_locked(Listener* l) PB_REQUIRES(mu_);
  std::string last_id_locked() const PB_REQUIRES(mu_);
  const std::string& epoch_locked() const PB_REQUIRES(mu_) { return epoch_; }
  // Ends the stream: every listener is removed and told (on_retired). No
  // event is published afterwards.
  // The id of the latest event, "<epoch>-0" before the first one (a
  // position a long-poll client can come back with); empty before start.
  std::string position_locked() const PB_REQUIRES(mu_) {
    return epoch_.empty() ? std::string() : id_of(epoch_, seq_);
  }
  void retire_locked() PB_REQUIRES(mu_);
  bool retired_locked() const PB_REQUIRES(mu_) { return retired_; }

  // Makes sure the snapshot of the current document is encoded, doing the
  // work without the lock: call before taking mutex() to attach a client,
  // so that plan_resume_locked() normally finds it ready.
  void prepare_snapshot() const PB_EXCLUDES(mu_);
  // The snapshot event of the current document (encoded outside the lock),
  // or null when there is no document yet.
  EventPtr snapshot() const PB_EXCLUDES(mu_);

  DocumentView view() const PB_EXCLUDES(mu_);
  Status status() const PB_EXCLUDES(mu_);
  // How many poll outcomes (update, unchanged, fail; another process's, for
  // a shared store) this stream has applied, counted once status() shows
  // each. Lock-free: a waiter (an auth: upstream admission) compares it with
  // what it saw instead of taking the lock to read status().
  std::uint64_t outcomes() const { return outcomes_.load(std::memory_order_acquire); }

  // Connected clients (maintained by whoever attaches them).
  const std::shared_ptr<Presence>& presence() const { return presence_; }
  std::int64_t client_count() const { return presence_->clients.load(); }

 private:
  struct Pending;  // an update being recorded

  // Assigns ids, records in the store (without the lock), then publishes.
  // Returns false (having changed nothing but the recording state) if the
  // store refused the events.
  bool publish(std::vector<std::pair<std::string, std::string>> changes,
               std::shared_ptr<const json::Json> new_doc, const Status& new_status,
               Clock::time_point now) PB_EXCLUDES(mu_);
  // Formats (a bit per Format) whose subscribers need renditions that
  // `doc_event` lacks; `snap` is the snapshot made for kSnapshot, if any.
  unsigned missing_renditions_locked(const EventPtr& doc_event, const EventPtr& snap) const
      PB_REQUIRES(mu_);
  // Makes the renditions of `wanted` for the change from `prev` to `next`
  // whose last event is `seq` (without the lock).
  std::array<EventPtr, kFormatCount> render(unsigned wanted, const json::Json* prev,
                                            const json::Json& next, std::uint64_t seq,
                                            const std::string& id) const;
  // The store refused: tells clients once (an id-less status event) and
  // logs once per state change.
  void store_failed(const StoreError& e, Clock::time_point now) PB_EXCLUDES(mu_);
  std::string status_data(const Status& st, Clock::time_point now) const;
  EventPtr snapshot_locked() const PB_REQUIRES(mu_);
  std::string id_of(const std::string& epoch, std::uint64_t seq) const;
  // Appends to the history and drops the oldest events past its bounds.
  void remember_locked(const EventPtr& ev) PB_REQUIRES(mu_);
  // The seq the history would start at after appending `events`.
  std::uint64_t keep_from_locked(const std::vector<EventPtr>& events) const PB_REQUIRES(mu_);
  void start_new_epoch(Clock::time_point now);
  // Takes the status a `status` event from the shared store states
  // (stream_remote.cpp).
  void apply_status_locked(const EventPtr& ev) PB_REQUIRES(mu_);
  // Tells the listeners (under the lock) and keeps it for newcomers.
  void publish_locked(const EventPtr& ev) PB_REQUIRES(mu_);

  const std::string key_;
  const std::string stream_;
  const Options options_;
  // The history bounds in force (Options::live_history, else history).
  std::size_t history_limit() const;
  std::size_t history_bytes_limit() const;
  Store* const store_;
  Coordinator* const coordinator_;

  mutable Mutex mu_;
  std::string epoch_ PB_GUARDED_BY(mu_);
  std::uint64_t seq_ PB_GUARDED_BY(mu_) = 0;      // last issued
  std::uint64_t doc_seq_ PB_GUARDED_BY(mu_) = 0;  // event that made doc_
  std::shared_ptr<const json::Json> doc_ PB_GUARDED_BY(mu_);
  Clock::time_point doc_changed_ PB_GUARDED_BY(mu_){};
  Status status_ PB_GUARDED_BY(mu_);
  EventPtr last_status_event_ PB_GUARDED_BY(mu_);  // latest status event (any kind)
  std::deque<EventPtr> history_ PB_GUARDED_BY(mu_);
  std::size_t history_size_ PB_GUARDED_BY(mu_) = 0;  // bytes held by history_
  // Cached snapshot of doc_, made on first need (outside the lock when
  // possible).
  mutable EventPtr snapshot_ PB_GUARDED_BY(mu_);
  std::vector<Listener*> listeners_ PB_GUARDED_BY(mu_);
  std::uint64_t published_ PB_GUARDED_BY(mu_) = 0;
  bool retired_ PB_GUARDED_BY(mu_) = false;
  const std::shared_ptr<Presence> presence_ = std::make_shared<Presence>();
  mutable std::array<std::atomic<std::uint64_t>, kFormatCount> renditions_made_{};
  std::atomic<std::uint64_t> outcomes_{0};
};

// Counts one outcome into `n` when it goes out of scope: after every path
// through update()/unchanged()/fail(), whichever way it leaves.
struct OutcomeCount {
  std::atomic<std::uint64_t>& n;
  ~OutcomeCount() { n.fetch_add(1, std::memory_order_release); }
};

}  // namespace pb::stream
