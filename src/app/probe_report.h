// What `pollbridge probe` prints (app/probe_command.h): the document a
// stream would publish and the events of its later polls, either for a
// person (text) or as one JSON object (--json):
//
//   {"stream": "orders", "address": "orders/42",
//    "document": {...} | null,
//    "events": [{"poll": 2, "event": "patch", "id": "<epoch>-2", "data": [...]}, ...],
//    "status": {"ok": true, "polls": 2}
//            | {"ok": false, "polls": 2, "poll": 2, "reason": "...", "http_status": 500}}
//
// An event's data is its JSON value where it is JSON (everything but the
// body of a `diff: text` stream, which is a string). Nothing here reads a
// secret: only documents, events and the stream's status reach it.
//
// Threads: the main thread (one probe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stream/event.h"
#include "stream/stream.h"

namespace pb::app {

struct ProbeReport {
  std::string stream;
  std::string address;
  stream::EventPtr document;  // null: no successful poll
  struct Event {
    unsigned poll = 0;  // 1-based
    stream::EventPtr event;
  };
  std::vector<Event> events;  // of polls 2..n
  unsigned polls = 0;         // made
  bool ok = true;
  unsigned failed_poll = 0;  // with !ok
  stream::Status status;     // with !ok: the stream's, after that poll
};

// The text for a person: the document (indented), then each later poll's
// events as `event:`, `id:` and `data:` lines (the data indented).
std::string probe_text(const ProbeReport& r);
// The one JSON object of --json (indented), ending with a line break.
std::string probe_json(const ProbeReport& r);
// The line that says why the probe failed (for stderr), without a line
// break: "poll 2 of orders/42 failed: HTTP 500 ..."
std::string probe_failure(const ProbeReport& r);

}  // namespace pb::app
