// Counts of refused requests by reason, for /metrics:
//   pollbridge_auth_failures_total{reason="expired"} 3
// Labels are the fixed reason codes (auth/reason.h): nothing a client
// sends becomes a label.
//
// Threads: count() from any thread (HTTP workers); write_prometheus() from
// the thread answering /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "auth/reason.h"

namespace pb::auth {

class FailureCounters {
 public:
  void count(Reason reason) {
    counts_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t value(Reason reason) const {
    return counts_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }
  // HELP, TYPE and one line per refusal reason (every reason, zeros too,
  // so that rate() works from the first failure on).
  void write_prometheus(std::string& out) const;

 private:
  std::array<std::atomic<std::uint64_t>, kReasonCount> counts_{};
};

}  // namespace pb::auth
