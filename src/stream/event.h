// One published event: immutable once made, shared by the history, the store
// and every client that receives it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace pb::stream {

struct Event {
  std::uint64_t seq = 0;
  std::string id;    // "<epoch>-<seq>"
  std::string type;  // snapshot, patch, merge-patch, created, updated, deleted, status
  std::string data;  // serialized payload
  // The SSE encoding of this event, made once; clients get a reference.
  std::shared_ptr<const std::string> wire;
};
using EventPtr = std::shared_ptr<const Event>;

// Builds an event and its wire encoding.
EventPtr make_event(std::uint64_t seq, std::string id, std::string type, std::string data);

}  // namespace pb::stream
