// The request workers: a fixed number of threads (server.workers) that run
// fully buffered requests through httplib. They never touch the network: a
// task gets its request's bytes, returns the response's bytes, and the
// connection loop does the reading and writing. A handler may block (a poll
// with ?wait=true, a reload) without holding up any connection but its own.
//
// Threads: post(), queued() and thread_count() from any thread (the
// connection loop, a metrics handler); tasks run on the pool's threads;
// start() and stop() from the thread that owns the pool.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace pb::server {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Runs the tasks already posted, then joins the threads.
  void stop();
  void post(std::function<void()> task);

  std::size_t thread_count() const;
  std::size_t queued() const;

 private:
  void run() PB_EXCLUDES(mu_);

  std::size_t count_;
  mutable Mutex mu_;
  CondVar cv_;  // a task was posted, or stop()
  std::deque<std::function<void()>> tasks_ PB_GUARDED_BY(mu_);
  bool stopping_ PB_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ PB_GUARDED_BY(mu_);
};

}  // namespace pb::server
