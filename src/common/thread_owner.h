// Which thread owns a set of members that no lock guards ("loop thread
// only", "owned by the worker thread"): the thread claims it when it starts,
// and the code that touches those members checks that it runs there. The
// check is an assert: debug builds (the asan stage) catch a call from
// the wrong thread, release builds pay nothing but the claim.
//
//   ThreadOwner owner_;
//   void run() { owner_.claim(); ... }
//   void on_event() { owner_.check(); ... }
//
// Before anything claimed it (construction, set-up on the creating thread)
// every thread passes. A destructor that cleans up after joining the owner
// does not check.
//
// Threads: claim() on the owning thread, check() where the owned members
// are used.
#pragma once

#include <atomic>
#include <cassert>
#include <thread>

namespace pb {

class ThreadOwner {
 public:
  void claim() { owner_.store(std::this_thread::get_id(), std::memory_order_relaxed); }

  // True on the owning thread, or when no thread claims it.
  bool owned_here() const {
    const std::thread::id owner = owner_.load(std::memory_order_relaxed);
    return owner == std::thread::id() || owner == std::this_thread::get_id();
  }
  void check() const { assert(owned_here() && "called from a thread that does not own this"); }

 private:
  std::atomic<std::thread::id> owner_{};
};

}  // namespace pb
