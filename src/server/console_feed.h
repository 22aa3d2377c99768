// GET /admin/events: the console's overview (server/console_state.h) as a
// pollbridge event stream of its own: a `snapshot` event with the whole
// document when a console connects, then a `patch` event (RFC 6902, made by
// the product's own differ, array members keyed by "id") whenever the
// overview changed, at most once a period (1 s). Ids are "<epoch>-<seq>" as
// on any stream; a reconnecting console gets a fresh snapshot.
//
// The overview is built once per period for every connected console
// together, and only while one is connected: the cost does not grow with
// the number of consoles or of SSE clients, and nothing on the per-event
// path of the streams is touched. The sessions are ordinary hub sessions on
// one feed (heartbeats, slow-client eviction as for any client).
//
// Threads: attach() from the HTTP workers; the feed's own thread
// (pb-console) builds and publishes; both under mu_, so that a console gets
// exactly the events published after its snapshot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/current.h"
#include "common/mutex.h"
#include "config/config.h"
#include "core/runtime.h"
#include "hub/hub.h"
#include "json/document.h"

namespace pb::server {

class ConsoleFeed {
 public:
  ConsoleFeed(core::Runtime& runtime, const Current<config::Config>& running,
              std::chrono::milliseconds period = std::chrono::seconds(1));
  ~ConsoleFeed();
  ConsoleFeed(const ConsoleFeed&) = delete;
  ConsoleFeed& operator=(const ConsoleFeed&) = delete;

  // Takes the connection: `head` (the response head and retry), the
  // snapshot, then every patch. False when the hub is stopped.
  bool attach(hub::Transport io, std::string head) PB_EXCLUDES(mu_);

 private:
  void run() PB_EXCLUDES(mu_);
  // Builds the overview and publishes what changed (a patch).
  void refresh_locked() PB_REQUIRES(mu_);
  std::string next_id_locked() PB_REQUIRES(mu_);

  core::Runtime& runtime_;
  const Current<config::Config>& running_;
  const std::chrono::milliseconds period_;
  hub::FeedId feed_;
  // Connected consoles; shared with the sessions' close hooks, which may
  // run after this object is gone (hub shutdown).
  std::shared_ptr<std::atomic<std::int64_t>> sessions_;
  Mutex mu_;
  CondVar wake_;
  bool stop_ PB_GUARDED_BY(mu_) = false;
  bool has_doc_ PB_GUARDED_BY(mu_) = false;
  json::Json doc_ PB_GUARDED_BY(mu_);
  const std::string epoch_;
  std::uint64_t seq_ PB_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace pb::server
