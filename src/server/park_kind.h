// Why a request waits on the front door's loop (HttplibBridge::park): an
// auth: upstream admission waiting for its upstream (counted in
// server.max_pending_admissions_per_client), or a long-poll waiting for its
// next event (server/long_poll.h; counted as a client instead).
//
// Threads: a plain value, any thread.
#pragma once

#include <cstdint>

namespace pb::server {

enum class ParkKind : std::uint8_t { kAdmission, kLongPoll };

}  // namespace pb::server
