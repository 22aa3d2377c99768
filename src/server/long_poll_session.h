// What a kept-alive connection keeps between its long-poll requests, so
// that the connection loop answers them without a worker (docs/protocol.md,
// "Long-poll"; docs/architecture.md, "The long-poll lane").
//
// The first long-poll request of a connection runs on a worker like any
// request: limits, access, lookups, format choice (Api), then LongPoll makes
// a session of what they decided: the instances, the admission and when it
// ends, the format, the config it was admitted under, and what the answer's
// headers depend on (Origin, Accept-Encoding). The loop keeps it with the
// connection and the request's shape (server/long_poll_shape.h), and then:
//
//   * a later request of the same shape is answered by begin() on the loop:
//     its events at once, or a wait (the connection parks on the loop, as
//     it does today, but its epoll interest is left as it is);
//   * a wait, begun on the loop or on the worker, is answered by resume() on
//     the loop once ready() or the deadline passed.
//
// Either may instead say kFallback: the request goes to a worker again, as
// any request, and that run decides everything anew (its answer may be 401,
// 403 or 503, or a fresh session). That happens when the admission was
// revoked or has ended, a reload installed another config, an instance is
// being replaced or cannot be had, or (begin()) server.max_clients is
// reached. A session of a stream that uses `auth: upstream` is never reused
// (its admission has its own cache rules): its waits run again on a worker.
//
// The answer's bytes are what a worker's run would write: the same headers
// through the API's own post-routing step (CORS, compression, counters),
// then Keep-Alive or Connection: close as cpp-httplib writes them.
//
// Threads: made on a worker; then one thread at a time: the loop (handed
// over with the worker's completion, under the loop's queue lock), or a
// worker's ready() closure, which the loop calls. Never two at once.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/instance.h"
#include "core/long_poll.h"
#include "server/admissions.h"
#include "stream/format.h"

namespace pb::server {

class LongPoll;
struct WaitingCount;

class LongPollSession {
 public:
  using SteadyClock = std::chrono::steady_clock;

  struct Parts {
    std::vector<std::shared_ptr<core::Instance>> insts;
    std::shared_ptr<Admission> admission;  // null: nothing a reload could revoke
    SteadyClock::time_point close_at = SteadyClock::time_point::max();
    stream::Format format = stream::Format::kNative;
    bool multiplexed = false;
    std::string format_header;                     // X-Pollbridge-Format, or empty
    std::shared_ptr<const config::Config> config;  // what it was admitted under
    std::uint64_t config_version = 0;              // Current::version() before it was got
    std::string client;                            // ip:port, for the access log
    // What the answer's headers depend on (the API's post-routing step):
    // the request's header fields Origin and Accept-Encoding, as sent. A
    // few strings, not a whole httplib::Request: a waiting connection
    // keeps them.
    std::vector<std::pair<std::string, std::string>> answer_fields;
    bool reusable = false;  // begin() may run later requests
  };

  // What a run came to. kAnswer: `body` is the answer's body, bytes()
  // makes what goes on the wire of it.
  struct Answer {
    enum Kind { kAnswer, kWait, kFallback } kind = kFallback;
    std::string body;
  };

  LongPollSession(LongPoll& owner, Parts parts);
  ~LongPollSession();
  LongPollSession(const LongPollSession&) = delete;
  LongPollSession& operator=(const LongPollSession&) = delete;

  // On the loop: a later request of the session's shape, resuming from
  // `last_id`, arrived at `now`.
  Answer begin(std::optional<std::string> last_id, SteadyClock::time_point now);
  // On the loop: the wait is over (ready(), or the deadline passed).
  Answer resume(SteadyClock::time_point now);

  // The bytes of an answer: with Connection: close, or cpp-httplib's
  // Keep-Alive field (`keep_alive`, e.g. "timeout=60, max=1000"), through
  // the API's post-routing step, head and body as cpp-httplib writes them.
  std::string bytes(Answer& a, bool close, const std::string& keep_alive);

  // Whether the wait should end: an instance published or retired, or a
  // reload revoked the admission. A few atomic loads.
  bool ready() const;
  SteadyClock::time_point deadline() const { return deadline_; }
  bool reusable() const { return parts_.reusable; }

 private:
  friend class LongPoll;

  LongPoll& owner_;
  Parts parts_;
  // The request being run: its position, when it arrived, when it stops
  // waiting.
  std::optional<std::string> last_id_;
  SteadyClock::time_point started_{};
  SteadyClock::time_point deadline_{};
  // While it waits: what it holds (a client of its instances) and its count
  // in pollbridge_longpoll_waiting.
  std::shared_ptr<core::LongPollWait> wait_;
  std::unique_ptr<WaitingCount> waiting_;
  // The head of an answer too small to compress, around its length and its
  // Date: kept alive [0] and closing [1] (LongPoll::finish_on_loop).
  struct Head {
    std::string before_length;  // up to "Content-Length: "
    std::string before_date;    // from the CRLF after the number to "Date: "
    std::string after_date;     // from the CRLF after the date to the blank line
  };
  Head heads_[2];
};

}  // namespace pb::server
