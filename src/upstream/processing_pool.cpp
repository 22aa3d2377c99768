#include "upstream/processing_pool.h"

#include <pthread.h>

#include <algorithm>

namespace pb::upstream {

ProcessingPool::ProcessingPool(std::size_t threads) : count_(std::max<std::size_t>(threads, 1)) {}

ProcessingPool::~ProcessingPool() {
  stop();
}

void ProcessingPool::start() {
  MutexLock lock(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (std::size_t i = 0; i < count_; ++i) {
    threads_.emplace_back([this] { run(); });
    pthread_setname_np(threads_.back().native_handle(), "pb-process");
  }
}

void ProcessingPool::stop() {
  std::vector<std::thread> threads;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    tasks_.clear();
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

void ProcessingPool::submit(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ProcessingPool::run() {
  MutexLock lock(mu_);
  for (;;) {
    while (!stopping_ && tasks_.empty()) cv_.wait(mu_);
    if (stopping_) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // captured state is released outside the lock
    lock.lock();
  }
}

}  // namespace pb::upstream
