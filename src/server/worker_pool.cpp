#include "server/worker_pool.h"

#include <pthread.h>

namespace pb::server {

WorkerPool::WorkerPool(std::size_t threads) : count_(threads == 0 ? 1 : threads) {}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (std::size_t i = 0; i < count_; ++i) threads_.emplace_back([this] { run(); });
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Tasks posted after the threads left run here, so that each one's
  // completion (which owns its connection) happens exactly once.
  std::deque<std::function<void()>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(tasks_);
  }
  for (auto& task : left) task();
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

std::size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

void WorkerPool::run() {
  pthread_setname_np(pthread_self(), "pb-http");
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace pb::server
