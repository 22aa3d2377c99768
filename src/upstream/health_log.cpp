#include "upstream/health_log.h"

#include "log/log.h"

namespace pb::upstream {
namespace {

std::int64_t ms_between(HealthLog::Time a, HealthLog::Time b) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  return d < 0 ? 0 : d;
}

}  // namespace

void HealthLog::failure(const std::string& reason, int status, Time now) {
  if (!stale_) {
    stale_ = true;
    since_ = now;
    last_line_ = now;
    failures_ = 1;
    unlogged_ = 0;
    reasons_ = 0;
    reason_ = reason;
    status_ = status;
    log::warn(
        "stream went stale",
        {{"stream", stream_}, {"instance", instance_}, {"reason", reason}, {"status", status}});
    return;
  }
  ++failures_;
  ++unlogged_;
  if (reason != reason_ || status != status_) ++reasons_;
  reason_ = reason;
  status_ = status;
  if (now - last_line_ < kStaleSummaryPeriod) return;
  log::warn("stream still stale", {{"stream", stream_},
                                   {"instance", instance_},
                                   {"reason", reason_},
                                   {"status", status_},
                                   {"duration_ms", ms_between(since_, now)},
                                   {"failures", unlogged_},
                                   {"reason_changes", reasons_}});
  last_line_ = now;
  unlogged_ = 0;
  reasons_ = 0;
}

void HealthLog::success(Time now) {
  if (!stale_) return;
  stale_ = false;
  log::info("stream recovered", {{"stream", stream_},
                                 {"instance", instance_},
                                 {"duration_ms", ms_between(since_, now)},
                                 {"failures", failures_}});
}

}  // namespace pb::upstream
