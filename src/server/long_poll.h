// The long-poll transport's HTTP side (docs/protocol.md, "Long-poll"):
// GET /events/{stream}?transport=long-poll and the multiplexed
// GET /events?stream=a&stream=b&transport=long-poll, after the same limits,
// access check, lookups and format choice as SSE (Api does those first).
//
// The answer is 200 application/json, Cache-Control: no-store, made by the
// runtime (core/long_poll.h). A request with nothing to answer yet is
// parked on the front door's loop (HttpServer::park, ParkKind::kLongPoll):
// no thread while it waits; the loop looks at its LongPollWait (a few
// atomic loads) every kParkCheck and runs the request again once an
// instance published or retired, the reload's re-check revoked its
// admission (it is then refused as the new policy says: 401 or 403), or
// server.longpoll_timeout passed (answered "events": [] with the position
// it came with). The connection stays the loop's: keep-alive works between
// long-polls as between any requests.
//
// Waiting long-polls count in server.max_clients with the SSE sessions
// (waiting()), each as a client of its instances; every long-poll request
// gets one access log line when it is answered (transport "long-poll").
//
// Threads: the HTTP workers; waiting() and write_metrics() from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/current.h"
#include "config/config.h"
#include "core/instance.h"
#include "core/runtime.h"
#include "server/access.h"
#include "stream/format.h"

namespace pb::server {

class LongPoll {
 public:
  LongPoll(core::Runtime& runtime, const Current<config::Config>& running, Access& access);

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
  core::Runtime& runtime_;
  const Current<config::Config>& running_;
  Access& access_;
  const std::shared_ptr<std::atomic<std::int64_t>> waiting_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> answered_events_{0};
  std::atomic<std::uint64_t> answered_empty_{0};
  std::atomic<std::uint64_t> parks_{0};
};

}  // namespace pb::server
