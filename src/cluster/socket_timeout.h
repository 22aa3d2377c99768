// A timeout as the `timeval` hiredis takes for connects and socket reads.
//
// Pure; callable from any thread.
#pragma once

#include <sys/time.h>

#include <chrono>

namespace pb::cluster {

inline timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace pb::cluster
