// One instance of a configured stream polled on the calling thread, for
// `pollbridge probe` (app/probe_command.h): the same poller, ingest stage
// and stream as the running proxy's (core/poll_chain.h), with its state in
// memory (stream::MemoryStore, nothing written anywhere), no clients, no
// hub and no scheduler. Each poll() is one poll as the proxy makes it
// (login, OAuth2 token, pages, parse, select, ignore, diff) and returns
// the events the stream published.
//
// Threads: one thread makes, polls and destroys a Trial.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/poll_chain.h"
#include "stream/event.h"
#include "stream/local_coordinator.h"
#include "stream/memory_store.h"
#include "stream/stream.h"

namespace pb::core {

// Which instance of a stream a trial polls.
struct TrialTarget {
  config::StreamConfig cfg;  // instance_config(): values and forwarded headers in
  std::string address;       // what a client would name it by ("orders/42")
};

// The instance of `stream` for the parameter `values` and, for a per-user
// stream, the `forwarded` header values (name, value). A parameterized
// stream needs a value for each of its parameters, each matching its
// pattern as a client's would; a name the stream does not have, a header
// it does not forward, or forwarded values for a stream that forwards none
// are refused. False with `why` (naming the parameter or header, never a
// value) when refused.
bool trial_target(const config::StreamConfig& stream,
                  const std::map<std::string, std::string>& values,
                  const std::vector<std::pair<std::string, std::string>>& forwarded,
                  TrialTarget& out, std::string& why);

class Trial : private stream::Listener {
 public:
  // Throws what PollChain's constructor throws.
  explicit Trial(TrialTarget target);
  ~Trial() override;
  Trial(const Trial&) = delete;
  Trial& operator=(const Trial&) = delete;

  struct Poll {
    bool ok = false;        // the poll succeeded: the stream is not stale
    stream::Status status;  // after the poll (reason, http_status when not ok)
    // What the poll published, in order (the first successful poll's
    // snapshot, then patches, item events or status events).
    std::vector<stream::EventPtr> events;
  };
  // Polls once (every request of the poll, each bounded by the stream's
  // `timeout`).
  Poll poll();
  // The document as a client connecting now gets it (a `snapshot` event's
  // data), null before any successful poll.
  stream::EventPtr document() const;
  const TrialTarget& target() const { return target_; }

 private:
  void on_event(const stream::EventPtr& event) override;

  const TrialTarget target_;
  stream::MemoryStore store_;
  stream::LocalCoordinator coordinator_;
  std::unique_ptr<PollChain> chain_;
  std::vector<stream::EventPtr> published_;  // by the current poll (this thread)
};

}  // namespace pb::core
