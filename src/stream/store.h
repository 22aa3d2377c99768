// Where a stream instance's state lives: its current document, its id
// sequence (epoch and last seq) and its bounded history. The embedded
// implementation (SQLite, stream/sqlite_store.h) is the default;
// stream/memory_store.h keeps state in the process only (it survives a
// reload, not a restart); cluster/redis_store.h shares it among processes.
// This is persistence only: which process polls a key shared with others,
// and how the others follow it, is stream::Coordinator (coordinator.h).
//
// Ownership: a key (an instance's address) has exactly one owner at a time.
// load() or reset() makes the caller the owner; release() ends that. Calls
// for a key come from its owner only, one at a time (the instance's poll
// processing, or its creation and retirement), never overlapping; calls for
// different keys may come from different threads at once. A load() of a
// key that is already owned is a bug in the caller and throws StoreError
// (kind kOwned): that is how "one owner per key" is checked rather than
// assumed.
//
// Threads: any, per the rules above.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "json/document.h"
#include "stream/event.h"

namespace pb::stream {

// Why the store refused: clients are told what it means, operators what to
// do.
enum class StoreErrorKind {
  kBusy,      // another process holds the database locked (after a bounded wait)
  kFull,      // no space left (SQLITE_FULL, ENOSPC)
  kReadOnly,  // the file or its directory cannot be written
  kIo,        // an I/O error
  kCorrupt,   // the database is damaged (SQLITE_CORRUPT, SQLITE_NOTADB)
  kOwned,     // load() of a key that already has an owner (a caller bug)
  kFenced,    // a shared store (Redis) refused an append: another process holds the
              // lease, or has appended since (the caller steps down, drops the events)
  kBehind,    // a shared store refused an append because it lost events the caller
              // recorded (a failover to a lagging replica): it starts a new epoch
  kOther,
};

class StoreError : public std::runtime_error {
 public:
  StoreError(StoreErrorKind kind, const std::string& what)
      : std::runtime_error(what), kind_(kind) {}
  StoreErrorKind kind() const { return kind_; }

 private:
  StoreErrorKind kind_;
};

struct PersistedState {
  std::string epoch;
  std::uint64_t seq = 0;      // last issued
  std::uint64_t doc_seq = 0;  // event that produced the current document
  // The current document, if there is one: parsed (an in-process store keeps
  // the very object) or as the text it was saved as.
  std::shared_ptr<const json::Json> doc;
  std::optional<std::string> doc_text;
  std::int64_t doc_changed_ms = 0;  // unix ms when the document last changed
  std::int64_t fetched_ms = 0;      // unix ms of the last successful poll
  std::vector<EventPtr> history;    // oldest first, consecutive, ending at seq
};

// One update's worth of events, recorded atomically.
struct Commit {
  std::string epoch;
  std::vector<EventPtr> events;  // ids assigned, consecutive, oldest first
  // The new document when these events changed it, else null.
  std::shared_ptr<const json::Json> doc;
  std::uint64_t doc_seq = 0;  // event that made the (new or current) document
  std::int64_t doc_changed_ms = 0;
  std::int64_t fetched_ms = 0;
  // The oldest seq the history keeps once these events are in (the stream
  // bounds it by count and bytes); older events are dropped by the store
  // too (the Redis store trims by count instead, approximately: load()
  // still returns at most the newest `history`).
  std::uint64_t keep_from = 1;
};

class Store {
 public:
  virtual ~Store() = default;

  // Takes ownership of `key` (of configured stream `stream`) and returns its
  // saved state, with at most the `history` newest events, or nullopt if
  // nothing usable is saved (the caller then calls reset()). Clears any
  // expiry set by an earlier release(). Throws StoreError.
  virtual std::optional<PersistedState> load(const std::string& key, const std::string& stream,
                                             std::size_t history) = 0;

  // Starts a new history for `key` under `epoch` (taking ownership if the
  // caller does not have it yet): drops what was saved. A shared store
  // (Redis) starts it only if no process has one: another process's
  // history is never dropped, the coordinator brings the owner to it
  // (Follower::on_remote). Throws StoreError.
  virtual void reset(const std::string& key, const std::string& stream,
                     const std::string& epoch) = 0;

  // Records one update. Durable (per the store's promise) when it returns:
  // events are sent to clients only afterwards, so an id is never reissued
  // for other content. Throws StoreError, in which case nothing was
  // recorded. With a shared store only the process that may poll the key
  // (Coordinator::may_poll) appends: any other append is refused (kFenced).
  virtual void append(const std::string& key, const Commit& commit) = 0;

  // Notes a successful poll that changed nothing (for the document's age).
  // Best effort: may skip writes, never throws.
  virtual void touch(const std::string& key, std::int64_t fetched_ms) noexcept = 0;

  // The owner lets go of `key`. Its saved state is deleted at `expires_ms`
  // (unix ms; 0 = kept until the stream leaves the config), unless the key
  // is loaded again before. Never throws.
  virtual void release(const std::string& key, std::int64_t expires_ms) noexcept = 0;

  // Deletes the saved state of released keys whose expiry has passed.
  // Returns how many keys went (a store that expires keys by itself, Redis:
  // none). Never throws.
  virtual std::size_t sweep(std::int64_t now_ms) noexcept = 0;

  // Deletes the saved state of every key whose configured stream is not in
  // `streams` (streams removed from the config), except keys that are
  // owned. Returns how many keys went. Never throws. A shared store (Redis)
  // deletes nothing: other deployments may share it (docs/cluster.md).
  virtual std::size_t forget_streams_except(const std::set<std::string>& streams) noexcept = 0;

  // False when nothing outlives the process: callers skip serializing what
  // would be thrown away.
  virtual bool persistent() const = 0;
};

}  // namespace pb::stream
