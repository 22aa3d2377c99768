// One process per state directory: an exclusive flock(2) on
// <state.dir>/pollbridge.lock, taken before anything in the directory is
// read and held for the life of the process. The file holds the holder's
// pid, so that a second process can say who has it. The lock goes with the
// process however it ends (kill -9 included): there is never a stale lock
// to clean up.
//
// Threads: made and destroyed by the thread that opens the store.
#pragma once

#include <string>

namespace pb::stream {

class StateDirLock {
 public:
  // Creates `dir` if needed and takes its lock. Throws StoreError: kBusy
  // when another process holds it (the message names its pid), kReadOnly
  // when the directory cannot be created or written.
  explicit StateDirLock(const std::string& dir);
  ~StateDirLock();
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace pb::stream
