// Times taken from a token, turned into clock time points without overflow.
//
// A JWT's NumericDates go up to year 9999 (kMaxNumericDate), but a
// std::chrono::system_clock time point with nanosecond ticks (libstdc++)
// ends in year 2262: converting a later `exp` overflowed (undefined
// behaviour; in practice a time in 1816, so the session was closed as
// expired at once and the client reconnected in a loop). Every time taken
// from a token, and every deadline computed from one, goes through these
// functions, which saturate at what the clock type holds: an `exp` in 9999
// is "never" for this process.
//
// Pure; callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace pb::auth {

// `ms` milliseconds since the epoch as a system_clock time point; past what
// the clock holds, its max(); before, its min().
std::chrono::system_clock::time_point system_time_from_ms(std::int64_t ms);

// The steady-clock moment that is as far after `steady_now` as `until` is
// after `now` (a token's expiry as a session's close_at). `until` at or
// before `now`: `steady_now` (due at once). Past what the steady clock holds
// (an `until` of system_clock's max(), or simply far away): its max(),
// never an overflow.
std::chrono::steady_clock::time_point steady_deadline(
    std::chrono::system_clock::time_point until, std::chrono::system_clock::time_point now,
    std::chrono::steady_clock::time_point steady_now);

}  // namespace pb::auth
