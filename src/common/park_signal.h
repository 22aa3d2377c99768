// What a request parked on a connection loop may be waiting for happened:
// a stream with waiting long-polls published or retired (stream::Presence),
// or a reload revoked an admission (hub::Revocable). The loops look at their
// parked requests when park_epoch() moved, and are woken through the
// eventfd each registered, instead of finding out on a timer
// (server/connection_loop.h, "Parking").
//
// Threads: any. park_signal() takes a mutex only to write the eventfds
// (one 8-byte write each); park_epoch() is one atomic load.
#pragma once

#include <cstdint>

namespace pb {

std::uint64_t park_epoch();
void park_signal();

// A connection loop's eventfd; removed before the loop closes it.
void add_park_listener(int eventfd);
void remove_park_listener(int eventfd);

}  // namespace pb
