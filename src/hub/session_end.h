// What a hub session reports when it ends: why, how long it lasted, what it
// sent. Handed to the session's end hook on its hub thread (the access log
// and the slow-client log are written from there).
//
// Threads: a value; made and read on the session's hub thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace pb::hub {

enum class EndReason {
  kClosed,    // the client went away (EOF, reset, a failed write)
  kSlow,      // fell more than the backlog bounds behind: evicted
  kStall,     // took no byte for kStallHeartbeats heartbeat intervals: evicted
  kRetired,   // its feed closed (the stream was replaced or removed)
  kExpired,   // the credential it was admitted with expired (close_at)
  kRevoked,   // a reload's policy no longer admits it (hub/revocable.h)
  kShutdown,  // pollbridge is stopping
};

const char* end_reason_name(EndReason r);

struct SessionEnd {
  EndReason reason = EndReason::kClosed;
  std::chrono::steady_clock::duration duration{};
  std::uint64_t bytes = 0;   // written to the connection, response head included
  std::uint64_t events = 0;  // whole events written (snapshot/replay and live)
  std::uint64_t behind = 0;  // kSlow: events it was behind when evicted
};

}  // namespace pb::hub
