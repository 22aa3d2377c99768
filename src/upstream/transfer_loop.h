// The upstream event loop: one thread ("pb-upstream") drives every request
// in flight through one libcurl multi handle, with curl's sockets on epoll
// (curl_multi_socket_action) and curl's timer folded into the epoll wait. A
// slow or silent upstream costs a socket and a little memory here, never a
// thread, and the thread count does not depend on the number of streams.
//
// The loop knows nothing about polling: its Driver (the scheduler) gets a
// turn on every iteration to start what is due, and hears of every request
// that finished. The Driver's times are on the injected clock (a manual
// clock's advance() wakes the loop); curl's timer is real time.
//
// Threads: start(), stop() and wake() from any thread but the loop's;
// begin() and abort() only on the loop thread (from the Driver's callbacks).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"

namespace pb::upstream {

class TransferLoop {
 public:
  using SteadyClock = std::chrono::steady_clock;

  class Driver {
   public:
    virtual ~Driver() = default;
    // Loop thread, once per iteration, with the clock's time: start what is
    // due (begin(), abort()). Returns when it wants its next turn (on the
    // clock); nullopt: only when woken.
    virtual std::optional<SteadyClock::time_point> on_turn(SteadyClock::time_point now) = 0;
    // Loop thread: a request ended with `result` and has left the loop.
    virtual void on_done(CURL* easy, CURLcode result) = 0;
  };

  TransferLoop(Driver& driver, Clock& clock);
  ~TransferLoop();
  TransferLoop(const TransferLoop&) = delete;
  TransferLoop& operator=(const TransferLoop&) = delete;

  void start();
  // Ends the thread. Requests still in flight are removed from curl
  // unfinished: their Driver hears nothing more of them.
  void stop();
  // The Driver gets a turn as soon as possible. Any thread.
  void wake();

  // Loop thread only.
  void begin(CURL* easy);
  void abort(CURL* easy);

 private:
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  void run();
  void act(curl_socket_t fd, int flags);
  void collect_done();

  Driver& driver_;
  Clock& clock_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd
  CURLM* multi_ = nullptr;
  std::optional<SteadyClock::time_point> curl_deadline_;
  std::unordered_map<curl_socket_t, bool> watched_;  // socket -> added to epoll
  std::unordered_set<CURL*> in_flight_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  Clock::Subscription clock_waker_;  // a manual clock's advance() wakes the loop
};

// Most epoll events taken per wait.
constexpr int kMaxEpollEvents = 256;

}  // namespace pb::upstream
