#include "upstream/backoff.h"

#include <algorithm>
#include <cctype>

namespace pb::upstream {

Duration Backoff::on_failure(std::optional<Duration> retry_after, double random01) {
  ++failures_;
  Duration base = interval_;
  for (unsigned i = 0; i < failures_ && base < ceiling_; ++i) base *= 2;
  base = std::min(base, std::max(ceiling_, interval_));
  auto half = base / 2;
  Duration d = half + Duration(static_cast<Duration::rep>(static_cast<double>(half.count()) *
                                                          std::clamp(random01, 0.0, 1.0)));
  // Never sooner than a healthy poll would be.
  d = std::max(d, interval_);
  if (retry_after) d = std::max(d, std::min(*retry_after, kMaxRetryAfter));
  return d;
}

std::optional<Duration> parse_retry_after(const std::string& value, SystemClock::time_point now) {
  std::size_t b = value.find_first_not_of(" \t");
  std::size_t e = value.find_last_not_of(" \t");
  if (b == std::string::npos) return std::nullopt;
  std::string v = value.substr(b, e - b + 1);
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return kMaxRetryAfter;
    return std::min<Duration>(std::chrono::seconds(std::stoll(v)), kMaxRetryAfter);
  }
  auto when = parse_http_date(v);
  if (!when) return std::nullopt;
  auto d = std::chrono::duration_cast<Duration>(*when - now);
  if (d < Duration(0)) d = Duration(0);
  return std::min(d, kMaxRetryAfter);
}

}  // namespace pb::upstream
