// The log of one stream instance's upstream health, rate-limited by
// state: one line when it goes stale (reason, HTTP status), one when it
// recovers (how long it was stale, how many polls failed), and while it
// stays stale a summary at most every kStaleSummaryPeriod (failures since the
// last line, the latest reason), never a line per failed poll.
//
// Threads: the poller's processing (one poll at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pb::upstream {

// How often a stream that stays stale is mentioned again.
constexpr std::chrono::seconds kStaleSummaryPeriod{60};

class HealthLog {
 public:
  using Time = std::chrono::system_clock::time_point;

  // `instance` is what log lines may say about the instance (see
  // log::instance_field).
  HealthLog(std::string stream, std::string instance)
      : stream_(std::move(stream)), instance_(std::move(instance)) {}

  // A poll failed: `status` is the upstream's HTTP status, 0 if none.
  void failure(const std::string& reason, int status, Time now);
  void success(Time now);
  bool stale() const { return stale_; }

 private:
  const std::string stream_;
  const std::string instance_;
  bool stale_ = false;
  Time since_{};
  Time last_line_{};
  std::uint64_t failures_ = 0;  // since it went stale
  std::uint64_t unlogged_ = 0;  // failures since the last line
  std::uint64_t reasons_ = 0;   // reason changes since the last line
  std::string reason_;
  int status_ = 0;
};

}  // namespace pb::upstream
