// A mutex that Clang's thread-safety analysis understands, so that "this
// member is only touched under that lock" and "this *_locked method needs
// that lock" are checked by the compiler (the clang stage of
// scripts/test.sh builds with -Wthread-safety -Werror) instead of hoped for.
//
//   class Stream {
//     Mutex mu_;
//     std::uint64_t seq_ PB_GUARDED_BY(mu_);
//     void publish_locked() PB_REQUIRES(mu_);
//   };
//   MutexLock lock(mu_);
//
// With GCC the annotations expand to nothing. Where a function takes a
// dynamic set of locks (several streams in address order) the analysis
// cannot follow; such functions are marked PB_NO_THREAD_SAFETY_ANALYSIS and
// say why.
//
// Threads: any; these are locks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define PB_TSA(x) __attribute__((x))
#else
#define PB_TSA(x)
#endif

#define PB_CAPABILITY(x) PB_TSA(capability(x))
#define PB_SCOPED_CAPABILITY PB_TSA(scoped_lockable)
#define PB_GUARDED_BY(x) PB_TSA(guarded_by(x))
#define PB_PT_GUARDED_BY(x) PB_TSA(pt_guarded_by(x))
#define PB_REQUIRES(...) PB_TSA(requires_capability(__VA_ARGS__))
#define PB_EXCLUDES(...) PB_TSA(locks_excluded(__VA_ARGS__))
#define PB_ACQUIRE(...) PB_TSA(acquire_capability(__VA_ARGS__))
#define PB_RELEASE(...) PB_TSA(release_capability(__VA_ARGS__))
#define PB_TRY_ACQUIRE(...) PB_TSA(try_acquire_capability(__VA_ARGS__))
#define PB_RETURN_CAPABILITY(x) PB_TSA(lock_returned(x))
#define PB_ACQUIRED_AFTER(...) PB_TSA(acquired_after(__VA_ARGS__))
#define PB_NO_THREAD_SAFETY_ANALYSIS PB_TSA(no_thread_safety_analysis)

namespace pb {

class PB_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() PB_ACQUIRE() { mu_.lock(); }
  void unlock() PB_RELEASE() { mu_.unlock(); }
  bool try_lock() PB_TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // For std::condition_variable: the lock must already be held.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope; can be released early and taken again.
class PB_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) PB_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() PB_RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() PB_RELEASE() {
    mu_.unlock();
    held_ = false;
  }
  void lock() PB_ACQUIRE() {
    mu_.lock();
    held_ = true;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// A condition variable waited on with a held Mutex (the caller holds it, as
// the analysis checks; the wait releases and retakes it).
class CondVar {
 public:
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

  void wait(Mutex& mu) PB_REQUIRES(mu) {
    std::unique_lock<std::mutex> l(mu.native(), std::adopt_lock);
    cv_.wait(l);
    l.release();
  }
  template <typename Clock, typename Duration>
  bool wait_until(Mutex& mu, const std::chrono::time_point<Clock, Duration>& t) PB_REQUIRES(mu) {
    std::unique_lock<std::mutex> l(mu.native(), std::adopt_lock);
    bool timed_out = cv_.wait_until(l, t) == std::cv_status::timeout;
    l.release();
    return !timed_out;
  }
  template <typename Rep, typename Period>
  bool wait_for(Mutex& mu, const std::chrono::duration<Rep, Period>& d) PB_REQUIRES(mu) {
    return wait_until(mu, std::chrono::steady_clock::now() + d);
  }

 private:
  std::condition_variable cv_;
};

}  // namespace pb
