// Where a stream's state lives between restarts. The embedded implementation
// (SQLite, stream/sqlite_store.h) is the default; MemoryStore keeps nothing.
// A distributed implementation (Redis) can sit behind the same interface.
//
// Every call is made under the owning stream's lock, so calls for one key
// never overlap; implementations must tolerate calls for different keys from
// different threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stream/event.h"

namespace pb::stream {

struct PersistedEvent {
  std::uint64_t seq = 0;
  std::string type;
  std::string data;
};

struct PersistedState {
  std::string epoch;
  std::uint64_t seq = 0;                // last issued
  std::uint64_t doc_seq = 0;            // event that produced the current document
  std::optional<std::string> doc;       // serialized current document
  std::int64_t doc_changed_ms = 0;      // unix ms when the document last changed
  std::int64_t fetched_ms = 0;          // unix ms of the last successful poll
  std::vector<PersistedEvent> history;  // oldest first
};

class Store {
 public:
  virtual ~Store() = default;

  // The state saved for `key`, or nullopt if there is none. A state that
  // cannot be read is reported by the implementation and treated as none.
  virtual std::optional<PersistedState> load(const std::string& key) = 0;

  // Starts a new history for `key` (a new epoch): drops what was saved.
  virtual void reset(const std::string& key, const std::string& epoch) = 0;

  // Records the events of one update and, when they changed the document,
  // the new document (made by the event with seq `doc_seq`), atomically;
  // keeps at most `history` events. Durable (per the store's promise) when it
  // returns: events are sent to clients only afterwards, so an id is never
  // reissued for other content. Throws std::runtime_error on failure, in
  // which case nothing was recorded.
  virtual void append(const std::string& key, const std::string& epoch,
                      const std::vector<EventPtr>& events, const std::string* doc,
                      std::uint64_t doc_seq, std::int64_t doc_changed_ms, std::int64_t fetched_ms,
                      std::size_t history) = 0;

  // Notes a successful poll that changed nothing (for the document's age).
  virtual void touch(const std::string& key, std::int64_t fetched_ms) = 0;

  // Forgets `key` entirely.
  virtual void remove(const std::string& key) = 0;

  // False when nothing is kept: callers skip serializing what would be
  // thrown away.
  virtual bool persistent() const { return true; }
};

class MemoryStore : public Store {
 public:
  std::optional<PersistedState> load(const std::string&) override { return std::nullopt; }
  void reset(const std::string&, const std::string&) override {}
  void append(const std::string&, const std::string&, const std::vector<EventPtr>&,
              const std::string*, std::uint64_t, std::int64_t, std::int64_t, std::size_t) override {
  }
  void touch(const std::string&, std::int64_t) override {}
  void remove(const std::string&) override {}
  bool persistent() const override { return false; }
};

}  // namespace pb::stream
