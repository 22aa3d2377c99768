// A value replaced as a whole while others read it: the access policy and
// the running configuration, which a reload swaps. A reader works with the
// value it got (a shared_ptr), so it never sees half of the old and half of
// the new; the old one is freed when its last reader lets go.
//
// Threads: get() from any thread; set() from the reloading thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "common/mutex.h"

namespace pb {

template <class T>
class Current {
 public:
  explicit Current(std::shared_ptr<const T> value) : value_(std::move(value)) {}

  std::shared_ptr<const T> get() const {
    MutexLock lock(mu_);
    return value_;
  }
  void set(std::shared_ptr<const T> value) {
    MutexLock lock(mu_);
    value_.swap(value);
    version_.fetch_add(1, std::memory_order_release);
    // The previous value (now in `value`) is released after the lock.
  }
  // Moves with every set(): read before get(), it is never newer than the
  // value got (one atomic load, for hot paths that only ask "still the
  // same?").
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const T> value_ PB_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace pb
