// Several stream locks at once, always in one order: the instances' keys.
// A dynamic set, which Clang's thread-safety analysis cannot follow, so
// these are excluded from it. Internal to src/core (runtime.cpp,
// runtime_long_poll.cpp).
//
// Threads: any; a StreamLocks is used by the thread that made it.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "common/mutex.h"
#include "core/instance.h"

namespace pb::core {

// Locks the streams of several instances in address order: the one lock
// order for holding more than one stream lock (a publish holds one stream
// lock, then a channel's own lock). A dynamic set, which Clang's analysis
// cannot follow.
class StreamLocks {
 public:
  explicit StreamLocks(const std::vector<std::shared_ptr<Instance>>& insts)
      PB_NO_THREAD_SAFETY_ANALYSIS {
    for (const auto& i : insts) order_.push_back(i.get());
    std::sort(order_.begin(), order_.end(),
              [](Instance* a, Instance* b) { return a->key() < b->key(); });
    for (Instance* i : order_) i->stream().mutex().lock();
  }
  ~StreamLocks() PB_NO_THREAD_SAFETY_ANALYSIS { release(); }
  void release() PB_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) (*it)->stream().mutex().unlock();
    order_.clear();
  }

 private:
  std::vector<Instance*> order_;
};

inline bool any_retired_locked(const std::vector<std::shared_ptr<Instance>>& insts)
    PB_NO_THREAD_SAFETY_ANALYSIS {
  for (const auto& i : insts) {
    if (i->stream().retired_locked()) return true;
  }
  return false;
}

}  // namespace pb::core
