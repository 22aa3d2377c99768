// A small fixed set of threads ("pb-process") that run the CPU side of polls
// (parse, select/ignore, diff, stream update with its store commit), so that
// none of it ever stalls the upstream event loop. Tasks run in submission
// order, several at once (one per thread).
//
// Threads: every method from any thread; stop() not from a pool thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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
  void run();

  std::size_t count_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
};

}  // namespace pb::upstream
