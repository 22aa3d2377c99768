#include "upstream/token_cache.h"

#include <algorithm>

namespace pb::upstream {

TokenCache& TokenCache::shared() {
  static TokenCache cache;
  return cache;
}

std::chrono::milliseconds TokenCache::margin(std::chrono::seconds expires_in) {
  return std::min<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(expires_in) / 10,
      std::chrono::seconds(60));
}

TokenCache::Acquired TokenCache::acquire(const std::string& key, SteadyClock::time_point now,
                                         SteadyClock::time_point waiting_since,
                                         SteadyClock::time_point deadline) {
  MutexLock lock(mu_);
  Entry& e = entries_[key];
  if (!e.token.empty() && (!e.renew_at || now < *e.renew_at)) {
    return {Verdict::kUse, e.token, {}};
  }
  if (e.in_flight && now < e.in_flight_until) return {Verdict::kWait, {}, {}};
  if (!e.failure.empty() && e.failed_at >= waiting_since) {
    return {Verdict::kFailed, {}, e.failure};
  }
  e.in_flight = true;
  e.in_flight_until = deadline;
  return {Verdict::kFetch, {}, {}};
}

void TokenCache::stored(const std::string& key, std::string token,
                        std::optional<std::chrono::seconds> expires_in,
                        SteadyClock::time_point now) {
  MutexLock lock(mu_);
  Entry& e = entries_[key];
  e.in_flight = false;
  e.failure.clear();
  e.token = std::move(token);
  if (expires_in) {
    e.renew_at = now + (*expires_in - margin(*expires_in));
  } else {
    e.renew_at.reset();
  }
}

void TokenCache::failed(const std::string& key, std::string reason, SteadyClock::time_point now) {
  MutexLock lock(mu_);
  Entry& e = entries_[key];
  e.in_flight = false;
  e.token.clear();
  e.failure = std::move(reason);
  e.failed_at = now;
}

void TokenCache::released(const std::string& key) {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.in_flight = false;
}

void TokenCache::invalidate(const std::string& key, const std::string& token) {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.token == token) it->second.token.clear();
}

}  // namespace pb::upstream
