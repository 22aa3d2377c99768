// Per-stream state: the current document, the id sequence with its epoch, the
// bounded history, the upstream status, and the listeners that receive each
// event. Nothing here knows about HTTP or sockets.
//
// Threads: update()/unchanged()/fail() are called by the stream's poller (one
// at a time); that thread is the only one that changes the document. Everything else may be called
// from any thread. The *_locked methods require mutex() to be held by the caller: that is how a
// client is attached atomically with respect to publishing (no gap, no duplicate). Listeners are
// called under the lock, in publish order, and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "diff/differ.h"
#include "json/document.h"
#include "stream/event.h"
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
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void on_event(const EventPtr& event) = 0;
};

// What a connecting client is sent before it follows the live events.
struct ResumePlan {
  bool fresh = true;             // false: a replay of missed events
  std::vector<EventPtr> events;  // snapshot and/or status, or the replay
};

// A consistent copy of the document for GET /streams/{name}.
struct DocumentView {
  bool has_doc = false;
  std::string doc;      // serialized (text mode: the body)
  std::string doc_id;   // id of the event that made this document
  std::string last_id;  // id of the latest event
  std::string epoch;
  Clock::time_point changed{};
  Status status;
  std::uint64_t events = 0;  // events published by this process
  std::size_t history = 0;   // events held for resume
};

class Stream {
 public:
  struct Options {
    diff::Options diff;
    std::size_t history = 1000;             // events kept for resume
    std::size_t history_bytes = 64u << 20;  // and at most this many bytes of them
  };

  // Loads the state saved under `key` (if any) from `store`, which must
  // outlive the stream.
  Stream(std::string key, Options options, Store* store, Clock::time_point now);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const std::string& key() const { return key_; }
  config::DiffMode mode() const { return options_.diff.mode; }

  // A successful poll produced `next` (already selected/filtered). Publishes
  // a recovery status if the stream was stale, then the diff's events.
  // Throws diff::DiffError if `next` does not suit the diff mode; the caller
  // reports it with fail() and nothing changes.
  void update(const json::Json& next, Clock::time_point now);
  // A successful poll that saw no change (304, or equal content).
  void unchanged(Clock::time_point now);
  // A failed poll: publishes a `status` event when the stream turns stale or
  // the reason changes. The last good document stays.
  void fail(const std::string& reason, int http_status, Clock::time_point now);

  std::mutex& mutex() const { return mu_; }
  ResumePlan plan_resume_locked(const std::optional<std::string>& last_id) const;
  void add_listener_locked(Listener* l);
  void remove_listener_locked(Listener* l);
  std::string last_id_locked() const;
  const std::string& epoch_locked() const { return epoch_; }

  DocumentView view() const;
  Status status() const;

  // Connected clients (maintained by whoever attaches them).
  std::atomic<std::int64_t>& clients() { return clients_; }
  std::int64_t client_count() const { return clients_.load(); }

 private:
  // Assigns ids, persists, records and fans out. Returns the events, or none
  // (having changed nothing) if the store refused them.
  std::vector<EventPtr> publish_locked(std::vector<std::pair<std::string, std::string>> changes,
                                       const json::Json* new_doc, Clock::time_point now);
  std::string status_data_locked(Clock::time_point now) const;
  EventPtr snapshot_locked() const;
  std::string id_of(std::uint64_t seq) const;
  // Appends to the history and drops the oldest events past its bounds.
  void remember_locked(const EventPtr& ev);

  const std::string key_;
  const Options options_;
  Store* const store_;

  mutable std::mutex mu_;
  std::string epoch_;
  std::uint64_t seq_ = 0;      // last issued
  std::uint64_t doc_seq_ = 0;  // event that made doc_
  std::optional<json::Json> doc_;
  Clock::time_point doc_changed_{};
  Status status_;
  EventPtr last_status_event_;  // latest status event (stale or recovered)
  std::deque<EventPtr> history_;
  std::size_t history_size_ = 0;  // bytes held by history_
  mutable EventPtr snapshot_;     // cached snapshot of doc_, made on first need
  std::vector<Listener*> listeners_;
  std::uint64_t published_ = 0;
  std::atomic<std::int64_t> clients_{0};
};

}  // namespace pb::stream
