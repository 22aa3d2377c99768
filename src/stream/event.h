// One published event: immutable once made, shared by the history, the store
// and every client that receives it.
//
// Threads: made on the thread that records or loads it (the stream's writer,
// the coordinator's threads, a thread making an instance); read from any
// thread after.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "stream/format.h"

namespace pb::stream {

struct Event {
  std::uint64_t seq = 0;
  std::string id;    // "<epoch>-<seq>"
  std::string type;  // snapshot, patch, merge-patch, created, updated, deleted, status
  std::string data;  // serialized payload
  // The SSE encoding of this event, made once; clients get a reference.
  std::shared_ptr<const std::string> wire;
  // The same change for subscribers of another format (indexed by Format;
  // only kJsonPatch and kMergePatch are used): made once by the stream's
  // writer, before the event is published, and only for formats that had
  // subscribers then. Null where nobody asked (and in events loaded from
  // the store). Same id as this event.
  std::array<std::shared_ptr<const Event>, kFormatCount> renditions;
};
using EventPtr = std::shared_ptr<const Event>;

// Builds an event and its wire encoding.
EventPtr make_event(std::uint64_t seq, std::string id, std::string type, std::string data,
                    std::array<EventPtr, kFormatCount> renditions = {});

}  // namespace pb::stream
