#include "log/throttle.h"

namespace pb::log {

bool Throttle::allow(std::string_view key, Clock::time_point now, std::uint64_t& suppressed) {
  MutexLock lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (keys_.size() >= kMaxKeys) keys_.clear();
    keys_.emplace(std::string(key), State{now, 0});
    suppressed = 0;
    return true;
  }
  State& s = it->second;
  if (now - s.last < period_) {
    ++s.skipped;
    return false;
  }
  suppressed = s.skipped;
  s.skipped = 0;
  s.last = now;
  return true;
}

}  // namespace pb::log
