// The long-poll transport's side of the runtime (docs/protocol.md,
// "Long-poll"): what one long-poll request is answered, from the same
// resume plan an SSE client gets, and what a request with nothing to answer
// yet waits on.
//
//   * No position, or an unknown, too old or other-epoch one: the snapshot
//     (with the status when the stream is stale), at once.
//   * A known position with events after it: those events, at most
//     kLongPollMaxEvents of them and about kLongPollMaxBytes (always at
//     least one); `last_id` says where to go on.
//   * Nothing after it: a LongPollWait. The request is parked (no thread)
//     and runs again when one of its instances publishes, retires, or its
//     deadline passes; then it is answered the same way, or "events": []
//     with the position it came with.
//
// The answer is JSON: {"events":[{"id","event","data"}...],"last_id"}, the
// data being the event's JSON payload (a text stream's snapshot, a string).
// An event without an id (a status saying nothing could be recorded) has no
// "id" member. Multiplexed requests get the same {stream, data} envelope and
// composite ids as on SSE (core/mux_channel.h).
//
// An id-less status event is not kept in history: on SSE a client gets it
// at connect and live. A long-poll client at a known position gets it only
// when woken by its publication (`woken`), so that a stream that cannot
// record does not answer every long-poll at once, forever.
//
// Threads: LongPollWait::changed() from the connection loop (atomic loads
// only); the rest on the HTTP workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "core/lookup_error.h"
#include "stream/format.h"
#include "stream/stream.h"

namespace pb::core {

// At most this many events in one answer ...
constexpr std::size_t kLongPollMaxEvents = 1000;
// ... and no more events once the answer holds this many bytes of data.
constexpr std::size_t kLongPollMaxBytes = 4u << 20;

// What a long-poll with nothing to answer yet holds while it waits: it
// counts as a client of each instance (so that the instance is neither
// reaped nor unpolled, and /streams counts it) and as a subscriber of its
// format, and remembers each instance's change count. Released when the
// wait ends (the request runs again, or the client leaves).
class LongPollWait {
 public:
  struct Member {
    std::shared_ptr<stream::Presence> presence;
    std::uint64_t seen = 0;  // presence->changes when the wait began
    stream::Format format = stream::Format::kNative;
  };
  LongPollWait(std::vector<Member> members, Clock* clock);
  ~LongPollWait();
  LongPollWait(const LongPollWait&) = delete;
  LongPollWait& operator=(const LongPollWait&) = delete;

  // Whether any instance published (or retired) since the wait began.
  bool changed() const;

 private:
  std::vector<Member> members_;
  Clock* clock_;
};

struct LongPollResult {
  // kAnswer: `body` is the answer. kWait: nothing yet, wait on `wait`.
  // kGone: an instance could not be had (its stream was removed or its
  // successor cannot be made now): `error` says why.
  enum Kind { kAnswer, kWait, kGone } kind = kAnswer;
  std::string body;
  std::size_t events = 0;
  bool fresh = true;  // a snapshot rather than a replay (the access log)
  std::shared_ptr<LongPollWait> wait;
  LookupError error;
};

struct LongPollRequest {
  std::optional<std::string> last_id;
  stream::Format format = stream::Format::kNative;
  // The request runs again after its wait saw a change: an id-less status
  // now current is answered.
  bool woken = false;
  // Its deadline passed: answer even with no events.
  bool give_up = false;
  // GET /events?stream=...: the envelope and composite ids of a
  // multiplexed connection, even for one stream.
  bool multiplexed = false;
};

}  // namespace pb::core
