#include "server/worker_pool.h"

#include <pthread.h>

namespace pb::server {

WorkerPool::WorkerPool(std::size_t threads) : count_(threads == 0 ? 1 : threads) {}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::start() {
  MutexLock lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (std::size_t i = 0; i < count_; ++i) threads_.emplace_back([this] { run(); });
}

void WorkerPool::stop() {
  // The threads are joined outside the lock (they take it to leave); until
  // they have been, thread_count() still counts them.
  std::vector<std::thread*> joining;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    for (auto& t : threads_) joining.push_back(&t);
  }
  cv_.notify_all();
  for (std::thread* t : joining) {
    if (t->joinable()) t->join();
  }
  // Tasks posted after the threads left run here, so that each one's
  // completion (which owns its connection) happens exactly once.
  std::deque<std::function<void()>> left;
  {
    MutexLock lock(mu_);
    threads_.clear();
    left.swap(tasks_);
  }
  for (auto& task : left) task();
}

void WorkerPool::post(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

std::size_t WorkerPool::thread_count() const {
  MutexLock lock(mu_);
  return threads_.size();
}

std::size_t WorkerPool::queued() const {
  MutexLock lock(mu_);
  return tasks_.size();
}

void WorkerPool::run() {
  pthread_setname_np(pthread_self(), "pb-http");
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      while (!stopping_ && tasks_.empty()) cv_.wait(mu_);
      if (tasks_.empty()) return;  // stopping, and nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace pb::server
