// When to poll next: the configured interval after a success; after
// failures, exponential backoff with jitter up to a ceiling, and never sooner
// than an upstream's Retry-After. Pure (the caller supplies randomness).
//
// Threads: one per Poller, used by its process() step on a processing
// thread (one poll of a poller at a time: upstream/poller.h), or by
// poll_once() on the calling thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/time_format.h"

namespace pb::upstream {

using Duration = std::chrono::milliseconds;

// Longest Retry-After honoured; anything longer is treated as this.
constexpr Duration kMaxRetryAfter = std::chrono::hours(24);

class Backoff {
 public:
  Backoff(Duration interval, Duration ceiling) : interval_(interval), ceiling_(ceiling) {}

  Duration on_success() {
    failures_ = 0;
    return interval_;
  }

  // `random01` in [0, 1). The n-th consecutive failure waits
  // min(ceiling, interval * 2^n) scaled into [1/2, 1) of itself ("equal
  // jitter"), so that many streams failing together spread out, but never
  // less than the interval; a Retry-After is then a lower bound.
  Duration on_failure(std::optional<Duration> retry_after, double random01);

  unsigned failures() const { return failures_; }

 private:
  Duration interval_;
  Duration ceiling_;
  unsigned failures_ = 0;
};

// Parses a Retry-After value: delay-seconds or an HTTP-date (relative to
// `now`). nullopt if it is neither.
std::optional<Duration> parse_retry_after(const std::string& value, SystemClock::time_point now);

}  // namespace pb::upstream
