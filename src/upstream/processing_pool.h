// A small fixed set of threads ("pb-process") that run the CPU side of polls
// (parse, select/ignore, diff, stream update with its store commit), so that
// none of it ever stalls the upstream event loop. Tasks run in submission
// order, several at once (one per thread).
//
// Threads: every method from any thread; stop() not from a pool thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace pb::upstream {

class ProcessingPool {
 public:
  explicit ProcessingPool(std::size_t threads);
  ~ProcessingPool();
  ProcessingPool(const ProcessingPool&) = delete;
  ProcessingPool& operator=(const ProcessingPool&) = delete;

  void start();
  // Waits for the tasks that are running, drops those not started, joins.
  void stop();
  // Queues a task; ignored once stopped.
  void submit(std::function<void()> task);

 private:
  void run() PB_EXCLUDES(mu_);

  const std::size_t count_;
  Mutex mu_;
  CondVar cv_;
  std::vector<std::thread> threads_ PB_GUARDED_BY(mu_);
  std::deque<std::function<void()>> tasks_ PB_GUARDED_BY(mu_);
  bool stopping_ PB_GUARDED_BY(mu_) = false;
};

}  // namespace pb::upstream
