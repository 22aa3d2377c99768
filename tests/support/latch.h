// A one-shot gate for deterministic race tests: threads wait() until the
// test open()s it; reached() tells the test that a thread is waiting there.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace pb::testing {

class Latch {
 public:
  // Blocks until open() (or `limit` passes, so a broken test cannot hang).
  void wait(std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    std::unique_lock<std::mutex> l(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(l, limit, [&] { return open_; });
  }
  void open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until `n` threads have reached wait().
  bool reached(int n = 1, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, limit, [&] { return waiting_ >= n; });
  }
  bool is_open() {
    std::lock_guard<std::mutex> l(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

}  // namespace pb::testing
