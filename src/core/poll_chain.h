// One instance's way from its upstream to its state, built the one way
// that both the running proxy (core::Instance) and `pollbridge probe`
// (core::Trial) build it, so that a probe makes exactly the requests, and
// publishes exactly the document and events, of the running proxy:
//
//   poller (upstream/) ─► ingest (ingest/) ─► stream (stream/)
//   requests, login,      decode, charset,    diff, ids, history,
//   OAuth2, pages         select, ignore      store
//
// instance_config() is the config one instance is polled with: the
// stream's, with a parameter set's values in its url and body and a
// per-user client's forwarded header values added to its headers.
//
// Threads: made and destroyed on one thread; the parts are used as their
// own headers say (upstream/poller.h, ingest/ingest.h, stream/stream.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "ingest/ingest.h"
#include "stream/coordinator.h"
#include "stream/store.h"
#include "stream/stream.h"
#include "upstream/poller.h"

namespace pb::core {

// The config of the instance of `stream` for the parameter `values` and the
// `forwarded` header values (name, value) of a per-user client.
config::StreamConfig instance_config(
    const config::StreamConfig& stream, const std::map<std::string, std::string>& values,
    const std::vector<std::pair<std::string, std::string>>& forwarded);

class PollChain {
 public:
  // `cfg` is the instance's (instance_config()) and must outlive the chain,
  // as must `store`, `coordinator` and `clock`. `options` says how much
  // history to keep; its diff options are taken from `cfg`. Throws
  // std::invalid_argument if cfg.url does not parse (the loader checked
  // it), and what stream::Stream's constructor throws. `listener` hears
  // the stream's events from construction until destruction begins: it
  // stops before any part goes, because a shared store may still feed the
  // stream until the stream, the last part, unfollows it.
  PollChain(const std::string& key, const config::StreamConfig& cfg,
            stream::Stream::Options options, stream::Store* store, stream::Coordinator* coordinator,
            const Clock& clock, stream::Listener* listener);
  ~PollChain();
  PollChain(const PollChain&) = delete;
  PollChain& operator=(const PollChain&) = delete;

  stream::Stream& stream() { return *stream_; }
  upstream::Poller& poller() { return *poller_; }

 private:
  // In this order: the poller hands to the ingest stage, which hands to the
  // stream; destroyed the other way round.
  std::unique_ptr<stream::Stream> stream_;
  std::unique_ptr<ingest::Ingest> ingest_;
  std::unique_ptr<upstream::Poller> poller_;
  stream::Listener* listener_;
};

}  // namespace pb::core
