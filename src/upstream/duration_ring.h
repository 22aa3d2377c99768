// The last kDurationRingSize poll durations of one poller, each with the
// wall-clock time it ended: what the operator's console charts
// (docs/console.md). Bounded memory (a fixed array), no allocation, no lock.
//
// Threads: record() from the poller's one writer at a time (the thread that
// ends a poll: see upstream/poller.h); recent() from any thread. A reader
// racing the writer may see one slot from the previous lap: harmless for a
// chart, and each value is read whole (atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace pb::upstream {

constexpr std::size_t kDurationRingSize = 64;

struct PollDuration {
  std::int64_t ended_ms = 0;     // Unix time, milliseconds
  std::int64_t duration_us = 0;  // how long the poll took
};

class DurationRing {
 public:
  void record(std::int64_t ended_ms, std::int64_t duration_us) {
    const std::uint64_t n = count_.load(std::memory_order_relaxed);
    Slot& s = slots_[n % kDurationRingSize];
    s.ended_ms.store(ended_ms, std::memory_order_relaxed);
    s.duration_us.store(duration_us, std::memory_order_relaxed);
    count_.store(n + 1, std::memory_order_release);
  }

  // Oldest first, at most kDurationRingSize.
  std::vector<PollDuration> recent() const {
    const std::uint64_t n = count_.load(std::memory_order_acquire);
    const std::uint64_t first = n > kDurationRingSize ? n - kDurationRingSize : 0;
    std::vector<PollDuration> out;
    out.reserve(static_cast<std::size_t>(n - first));
    for (std::uint64_t i = first; i < n; ++i) {
      const Slot& s = slots_[i % kDurationRingSize];
      out.push_back({s.ended_ms.load(std::memory_order_relaxed),
                     s.duration_us.load(std::memory_order_relaxed)});
    }
    return out;
  }

 private:
  struct Slot {
    std::atomic<std::int64_t> ended_ms{0};
    std::atomic<std::int64_t> duration_us{0};
  };
  std::array<Slot, kDurationRingSize> slots_{};
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace pb::upstream
