// The long-poll transport's HTTP side (docs/protocol.md, "Long-poll"):
// GET /events/{stream}?transport=long-poll and the multiplexed
// GET /events?stream=a&stream=b&transport=long-poll, after the same limits,
// access check, lookups and format choice as SSE (Api does those first).
//
// The answer is 200 application/json, Cache-Control: no-store, made by the
// runtime (core/long_poll.h). A request with nothing to answer yet is
// parked on the front door's loop (HttpServer::park, ParkKind::kLongPoll):
// no thread while it waits; the loop looks at its LongPollWait (a few
// atomic loads) every kParkCheck and answers once an instance published or
// retired, or server.longpoll_timeout passed ("events": [] with the
// position it came with); a reload's re-check that revoked its admission
// sends it to a worker again, refused as the new policy says (401 or 403).
// The connection stays the loop's: keep-alive works between long-polls as
// between any requests.
//
// The first long-poll of a connection runs here on a worker; what it
// decided is kept as a LongPollSession (server/long_poll_session.h), with
// which the loop answers the connection's later long-polls of the same
// shape and every wait's end itself, without a worker. run() and the
// counters are shared by both paths.
//
// Waiting long-polls count in server.max_clients with the SSE sessions
// (waiting()), each as a client of its instances; every long-poll request
// gets one access log line when it is answered (transport "long-poll").
//
// Threads: handle() on the HTTP workers; the session's runs on the
// connection loop; waiting() and write_metrics() from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/current.h"
#include "config/config.h"
#include "core/instance.h"
#include "core/runtime.h"
#include "server/access.h"
#include "server/long_poll_session.h"
#include "stream/format.h"

namespace pb::server {

// Counts one waiting long-poll for as long as its wait lasts.
struct WaitingCount {
  explicit WaitingCount(std::shared_ptr<std::atomic<std::int64_t>> n) : n(std::move(n)) {
    this->n->fetch_add(1);
  }
  ~WaitingCount() { n->fetch_sub(1); }
  WaitingCount(const WaitingCount&) = delete;
  WaitingCount& operator=(const WaitingCount&) = delete;
  std::shared_ptr<std::atomic<std::int64_t>> n;
};

class LongPoll {
 public:
  // The API's post-routing step (CORS, compression, request count), run on
  // answers the loop makes.
  using Finish = std::function<void(const httplib::Request&, httplib::Response&)>;

  // `max_clients`: server.max_clients, SSE sessions and waiting long-polls
  // together.
  LongPoll(core::Runtime& runtime, const Current<config::Config>& running, Access& access,
           std::size_t max_clients);
  // `routed`: the counter the step increments (kept heads count there too).
  void set_finish(Finish finish, std::atomic<std::uint64_t>* routed) {
    finish_ = std::move(finish);
    routed_ = routed;
  }

  // Whether `req` asks for long-poll (`?transport=long-poll`). Any other
  // transport than `sse` (the default) fills a 400 and sets `bad`.
  static bool requested(const httplib::Request& req, httplib::Response& res, bool& bad);

  // Answers (or parks) a long-poll request whose instances were looked up
  // and admitted. `format_header`: the X-Pollbridge-Format to announce.
  void handle(const httplib::Request& req, httplib::Response& res,
              std::vector<std::shared_ptr<core::Instance>> insts, const Access::Admitted& admitted,
              stream::Format format, bool multiplexed, const std::string& format_header);

  // Long-polls waiting now.
  std::int64_t waiting() const { return waiting_->load(); }
  void write_metrics(std::string& out) const;

 private:
  friend class LongPollSession;
  using SteadyClock = std::chrono::steady_clock;

  // One run of `s` for its current request (position, deadline set): the
  // runtime's answer; on an answer the counters and the access log line, on
  // a wait what it holds meanwhile.
  core::LongPollResult run(LongPollSession& s, bool woken, SteadyClock::time_point now);
  // A run on the loop: kFallback unless the session still stands (see
  // long_poll_session.h), else the finished answer or a wait.
  LongPollSession::Answer run_on_loop(LongPollSession& s, bool woken, SteadyClock::time_point now);
  // The bytes of a loop's answer: Content-Length, Keep-Alive (the field
  // `keep_alive`) or Connection: close, the API's post-routing step, then
  // head and body as cpp-httplib writes them.
  std::string finish_on_loop(LongPollSession& s, std::string body, bool close,
                             const std::string& keep_alive) const;
  // The headers and body every long-poll answer has.
  static void fill(const LongPollSession& s, httplib::Response& res, std::string body);

  core::Runtime& runtime_;
  const Current<config::Config>& running_;
  Access& access_;
  const std::size_t max_clients_;
  Finish finish_;
  std::atomic<std::uint64_t>* routed_ = nullptr;
  const std::shared_ptr<std::atomic<std::int64_t>> waiting_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> answered_events_{0};
  std::atomic<std::uint64_t> answered_empty_{0};
  std::atomic<std::uint64_t> parks_{0};
  std::atomic<std::uint64_t> on_loop_{0};  // runs the loop made itself
};

}  // namespace pb::server
