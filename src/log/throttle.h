// Rate limiting of repeated log lines: at most one line per key (a stream's
// name, a limit's name) per period; the lines skipped in between are
// counted, and the next line that is written reports them (`suppressed`).
// A storm of refusals or evictions thus costs a few lines, never one per
// event.
//
// Threads: any (a mutex held for one map lookup).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/mutex.h"

namespace pb::log {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Throttle(std::chrono::milliseconds period) : period_(period) {}

  // True if a line for `key` may be written at `now`; then `suppressed` is
  // the number of lines for it skipped since the last one written.
  bool allow(std::string_view key, Clock::time_point now, std::uint64_t& suppressed);

 private:
  struct State {
    Clock::time_point last{};
    std::uint64_t skipped = 0;
  };
  // Keys are pollbridge's own names (streams, limits), so they are few; a
  // map grown past this is cleared rather than grown further.
  static constexpr std::size_t kMaxKeys = 4096;

  const std::chrono::milliseconds period_;
  Mutex mu_;
  std::map<std::string, State, std::less<>> keys_ PB_GUARDED_BY(mu_);
};

// How often a repeated line (a refused limit, a slow client dropped) may be
// written per key.
constexpr std::chrono::seconds kRepeatPeriod{10};

}  // namespace pb::log
