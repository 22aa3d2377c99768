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
//    lost, so every saved instance starts a new epoch (keeping its last
//    document), all of them at open in one transaction: those this run
//    loads and those a later run will (a parameterized instance nobody asks
//    for now). Clients holding old ids get a fresh snapshot. Events are inserted, never
//    replaced: a second event with the same id is an error, not an
//    overwrite.
//  * One process per state.dir (StateDirLock, taken first).
//  * Errors are told apart at start: a database another process keeps
//    locked is waited for (kBusyTimeoutMs), then start fails; a file or
//    directory that cannot be written fails start; only a database that
//    SQLite reports as damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a failed
//    quick_check) is moved aside (pollbridge.db.corrupt-<unix time>) and a
//    new one started.
//  * State is bounded: each key's events are pruned as its stream's history
//    is (count and bytes); a released key is deleted at its expiry (sweep);
//    keys of streams no longer configured are deleted
//    (forget_streams_except).
//
// Threads: any; calls are serialized by an internal mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/mutex.h"
#include "stream/state_lock.h"
#include "stream/store.h"

namespace pb::stream {

class SqliteStore : public Store {
 public:
  // Locks `dir` (creating it if needed) and opens (creating if needed)
  // `dir`/pollbridge.db. `boot_id` names the current boot (tests pass their
  // own). Throws StoreError when the store cannot be used at all (see the
  // promise above for which errors those are).
  SqliteStore(const std::string& dir, bool fsync, std::string boot_id = current_boot_id());
  ~SqliteStore() override;  // marks a clean shutdown

  std::optional<PersistedState> load(const std::string& key, const std::string& stream,
                                     std::size_t history) override;
  void reset(const std::string& key, const std::string& stream, const std::string& epoch) override;
  void append(const std::string& key, const Commit& commit) override;
  void touch(const std::string& key, std::int64_t fetched_ms) noexcept override;
  void release(const std::string& key, std::int64_t expires_ms) noexcept override;
  std::size_t sweep(std::int64_t now_ms) noexcept override;
  std::size_t forget_streams_except(const std::set<std::string>& streams) noexcept override;
  bool persistent() const override { return true; }

  // True when this run found the previous one's tail possibly lost (see the
  // durability promise): every saved instance got a new epoch at open.
  bool epochs_renewed() const { return renew_epochs_; }
  // Where a corrupt database was moved, empty if none was.
  const std::string& moved_aside() const { return moved_aside_; }
  const std::string& path() const { return path_; }
  // Keys with saved state, and keys owned now (tests, metrics).
  std::size_t saved_keys();
  std::size_t owned_keys();

  // The kernel's boot id, or the value of kTestBootIdEnv when that is set
  // (a test hook: tests simulate a reboot with it).
  static std::string current_boot_id();

 private:
  void open_or_recover() PB_REQUIRES(mu_);
  void open_once() PB_REQUIRES(mu_);
  void exec(const char* sql) PB_REQUIRES(mu_);
  sqlite3_stmt* prepare(const char* sql) PB_REQUIRES(mu_);
  [[noreturn]] void fail(const std::string& what) PB_REQUIRES(mu_);
  std::string meta(const std::string& name) PB_REQUIRES(mu_);
  void set_meta(const std::string& name, const std::string& value) PB_REQUIRES(mu_);
  void delete_key(const std::string& key) PB_REQUIRES(mu_);
  // Gives every saved key a new epoch (inside the caller's transaction);
  // returns how many.
  std::size_t renew_all_epochs() PB_REQUIRES(mu_);

  std::string dir_;
  std::string path_;
  bool fsync_;
  std::string boot_id_;
  std::unique_ptr<StateDirLock> lock_;
  Mutex mu_;
  sqlite3* db_ PB_GUARDED_BY(mu_) = nullptr;
  bool renew_epochs_ = false;
  std::string moved_aside_;
  // Owned keys and their configured stream's name.
  std::map<std::string, std::string> owned_ PB_GUARDED_BY(mu_);
  // Last fetched time written per owned key: touch() writes at most every
  // kTouchEveryMs, the age of a document being advisory.
  std::map<std::string, std::int64_t> touched_ PB_GUARDED_BY(mu_);
};

// Test hook: the environment variable that, when set, replaces the
// kernel's boot id (docs/operations.md). Only tests set it, to simulate a
// reboot between two runs of the binary.
constexpr const char* kTestBootIdEnv = "POLLBRIDGE_TEST_BOOT_ID";
// How often an unchanged poll's time is written to the store at most.
constexpr std::int64_t kTouchEveryMs = 10000;
// How long a database locked by another process is waited for (each
// statement) before the store reports it as busy.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace pb::stream
