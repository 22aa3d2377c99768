// The in-process store (`state.dir: ""`, or --memory): state lives as long as
// the process, so a reload that replaces a stream keeps its ids and history,
// but a restart starts every stream with a new epoch. It keeps the very
// document and event objects the stream made (shared, immutable), so
// nothing is copied or serialized.
//
// Threads: any; calls are serialized by an internal mutex (see store.h for
// the ownership rules).
#pragma once

#include <map>
#include <set>
#include <string>

#include "common/mutex.h"
#include "stream/store.h"

namespace pb::stream {

class MemoryStore : public Store {
 public:
  std::optional<PersistedState> load(const std::string& key, const std::string& stream,
                                     std::size_t history) override;
  void reset(const std::string& key, const std::string& stream, const std::string& epoch) override;
  void append(const std::string& key, const Commit& commit) override;
  void touch(const std::string& key, std::int64_t fetched_ms) noexcept override;
  void release(const std::string& key, std::int64_t expires_ms) noexcept override;
  std::size_t sweep(std::int64_t now_ms) noexcept override;
  std::size_t forget_streams_except(const std::set<std::string>& streams) noexcept override;
  bool persistent() const override { return false; }

  // Keys with saved state (owned or not), for tests and metrics.
  std::size_t size() const;

 private:
  struct Entry {
    std::string stream;
    PersistedState state;
    bool owned = false;
    std::int64_t expires_ms = 0;
  };

  mutable Mutex mu_;
  std::map<std::string, Entry> entries_ PB_GUARDED_BY(mu_);
};

}  // namespace pb::stream
