#include "stream/event.h"

#include "sse/encoder.h"

namespace pb::stream {

EventPtr make_event(std::uint64_t seq, std::string id, std::string type, std::string data,
                    std::array<EventPtr, kFormatCount> renditions) {
  auto ev = std::make_shared<Event>();
  ev->renditions = std::move(renditions);
  ev->seq = seq;
  ev->id = std::move(id);
  ev->type = std::move(type);
  ev->data = std::move(data);
  ev->wire = std::make_shared<const std::string>(sse::encode_event(ev->id, ev->type, ev->data));
  return ev;
}

}  // namespace pb::stream
