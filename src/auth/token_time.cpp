#include "auth/token_time.h"

#include <limits>

namespace pb::auth {

std::chrono::system_clock::time_point system_time_from_ms(std::int64_t ms) {
  using Sys = std::chrono::system_clock;
  using Ms = std::chrono::milliseconds;
  // The clock's range in milliseconds (a division: never overflows).
  const std::int64_t hi = std::chrono::duration_cast<Ms>(Sys::duration::max()).count();
  const std::int64_t lo = std::chrono::duration_cast<Ms>(Sys::duration::min()).count();
  if (ms >= hi) return Sys::time_point::max();
  if (ms <= lo) return Sys::time_point::min();
  return Sys::time_point(std::chrono::duration_cast<Sys::duration>(Ms(ms)));
}

std::chrono::steady_clock::time_point steady_deadline(
    std::chrono::system_clock::time_point until, std::chrono::system_clock::time_point now,
    std::chrono::steady_clock::time_point steady_now) {
  using Steady = std::chrono::steady_clock;
  using Seconds = std::chrono::duration<double>;
  if (until <= now) return steady_now;
  if (until == std::chrono::system_clock::time_point::max()) return Steady::time_point::max();
  // Compared in floating point, where nothing overflows: how much is left,
  // and how much room the steady clock has after `steady_now`.
  const Seconds left = Seconds(until.time_since_epoch()) - Seconds(now.time_since_epoch());
  const Seconds room = Seconds(Steady::time_point::max() - steady_now);
  if (left >= room) return Steady::time_point::max();
  // Within range, the exact difference (until > now, and both fit).
  return steady_now + std::chrono::duration_cast<Steady::duration>(until - now);
}

}  // namespace pb::auth
