// The embedded state store: one SQLite database (WAL mode) under state.dir.
//
// Durability promise:
//  * Every event is committed before any client is sent it. With the default
//    `state.fsync: false` (synchronous=NORMAL) a committed event survives a
//    crash or kill -9 of pollbridge; a power loss or kernel crash may lose
//    the last events. With `state.fsync: true` (synchronous=FULL) every
//    commit is fsynced and survives power loss too.
//  * An id is never reissued for other content: if the previous run did not
//    stop cleanly and the machine has rebooted since (a different
//    /proc/sys/kernel/random/boot_id) while fsync was off, the tail may be
//    lost, so every stream starts a new epoch (keeping its last document);
//    clients holding old ids get a fresh snapshot.
//  * A database that cannot be opened or fails SQLite's integrity check is
//    moved aside (pollbridge.db.corrupt-<unix time>) and a new one started.
//
// Threads: any; calls are serialized by an internal mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "stream/store.h"

namespace pb::stream {

class SqliteStore : public Store {
 public:
  // Opens (creating if needed) `dir`/pollbridge.db. `boot_id` names the
  // current boot (tests pass their own). Throws std::runtime_error if the
  // directory cannot be created or no database can be opened at all.
  SqliteStore(const std::string& dir, bool fsync, std::string boot_id = current_boot_id());
  ~SqliteStore() override;  // marks a clean shutdown

  std::optional<PersistedState> load(const std::string& key) override;
  void reset(const std::string& key, const std::string& epoch) override;
  void append(const std::string& key, const std::string& epoch, const std::vector<EventPtr>& events,
              const std::string* doc, std::uint64_t doc_seq, std::int64_t doc_changed_ms,
              std::int64_t fetched_ms, std::size_t history) override;
  void touch(const std::string& key, std::int64_t fetched_ms) override;
  void remove(const std::string& key) override;

  // True when this run found the previous one's tail possibly lost (see the
  // durability promise): loaded streams got new epochs.
  bool epochs_renewed() const { return renew_epochs_; }
  // Where a corrupt database was moved, empty if none was.
  const std::string& moved_aside() const { return moved_aside_; }
  const std::string& path() const { return path_; }

  static std::string current_boot_id();

 private:
  void open_or_recover();
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  std::string meta(const std::string& name);
  void set_meta(const std::string& name, const std::string& value);

  std::string dir_;
  std::string path_;
  bool fsync_;
  std::string boot_id_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  bool renew_epochs_ = false;
  std::string moved_aside_;
  // Last fetched time written per key: touch() writes at most every
  // kTouchEvery, the age of a document being advisory.
  std::map<std::string, std::int64_t> touched_;
};

// How often an unchanged poll's time is written to the store at most.
constexpr std::int64_t kTouchEveryMs = 10000;

}  // namespace pb::stream
