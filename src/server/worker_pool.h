// The request workers: a fixed number of threads (server.workers) that run
// fully buffered requests through httplib. They never touch the network: a
// task gets its request's bytes, returns the response's bytes, and the
// connection loop does the reading and writing. A handler may block (a poll
// with ?wait=true, a reload) without holding up any connection but its own.
//
// Threads: post() from any thread (the connection loop); tasks run on the
// pool's threads; stop() from the thread that owns the pool.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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

  std::size_t thread_count() const { return threads_.size(); }
  std::size_t queued() const;

 private:
  void run();

  std::size_t count_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pb::server
