// A live stream instance: a plain stream, one parameter set of a
// template, or one set of forwarded values of a per-user stream. It owns
// the stream state (and through it its store key), the poller, and the hub
// feeds (one per format) that carry its events to its clients.
//
// Life: made by the runtime (store load included) without the runtime's
// lock, then published in the registry; retired by the runtime (poll
// cancelled, stream retired, feed and listening channels closed, store key
// released); destroyed on the janitor thread once nobody else holds it
// (never on a hub thread: hub sessions hold only the stream's Presence),
// or with the runtime at shutdown, unretired (its chain stops it listening
// first: core/poll_chain.h).
//
// Threads: on_event()/on_retired() run under the stream's lock (the
// stream's writer, or the retiring thread); the rest from any thread.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "core/compressed_feed.h"
#include "core/instance_request.h"
#include "core/poll_chain.h"
#include "core/stream_template.h"
#include "hub/hub.h"
#include "stream/coordinator.h"
#include "stream/store.h"
#include "stream/stream.h"

namespace pb::core {

class Instance : public stream::Listener {
 public:
  // Loads the state saved under `key` from `store` and follows it through
  // `coordinator` (throws stream::StoreError(kOwned) if the key already has
  // an owner). `request` is what made it (kept so that a client arriving
  // while it is replaced finds its successor the same way). Its poller's
  // dates come from `clock`.
  Instance(InstanceRequest request, std::string key, std::shared_ptr<const StreamTemplate> tmpl,
           config::StreamConfig cfg, std::shared_ptr<const std::atomic<std::size_t>> history_bytes,
           stream::Store* store, stream::Coordinator* coordinator, hub::Hub& hub,
           const Clock& clock = real_clock());
  ~Instance() override;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // What clients name it by ("customer/42"); shown to clients.
  const std::string& address() const { return request_.address; }
  // The registry and store key: the address, plus a digest of the forwarded
  // values for a per-user instance. Never shown to clients.
  const std::string& key() const { return key_; }
  bool per_user() const { return request_.per_user; }
  const InstanceRequest& request() const { return request_; }
  stream::Store& store() { return *store_; }
  stream::Coordinator& coordinator() { return *coordinator_; }
  const StreamTemplate& tmpl() const { return *tmpl_; }
  const std::shared_ptr<const StreamTemplate>& tmpl_ptr() const { return tmpl_; }
  const config::StreamConfig& cfg() const { return cfg_; }
  stream::Stream& stream() { return chain_->stream(); }
  upstream::Poller& poller() { return chain_->poller(); }
  hub::FeedId feed() const { return feeds_[0]; }
  // The feed of the subscribers of one (resolved) format: kNative is feed().
  hub::FeedId feed(stream::Format format) const { return feeds_[static_cast<std::size_t>(format)]; }
  // The compressed sibling of feed(format) (core/compressed_feed.h).
  CompressedFeed& compressed(stream::Format format) {
    return *compressed_[static_cast<std::size_t>(format)];
  }

  // Forwards each published event to the hub, and its rendition to the feed
  // of each format in use (called under the stream lock).
  void on_event(const stream::EventPtr& ev) override;
  // Closes the feed: every client of this instance is disconnected once its
  // pending bytes are written, and reconnects to the successor.
  void on_retired() override;

  // Set by the runtime (under its lock) once the instance is being retired:
  // new clients must wait for its successor instead.
  std::atomic<bool>& retiring() { return retiring_; }

 private:
  InstanceRequest request_;
  std::string key_;
  stream::Store* store_;
  stream::Coordinator* coordinator_;
  std::shared_ptr<const StreamTemplate> tmpl_;
  config::StreamConfig cfg_;
  hub::Hub& hub_;
  // One feed per format; those of formats nobody uses carry nothing.
  std::array<hub::FeedId, stream::kFormatCount> feeds_{};
  std::array<std::unique_ptr<CompressedFeed>, stream::kFormatCount> compressed_;
  std::unique_ptr<PollChain> chain_;  // poller -> ingest -> stream, as `pollbridge probe` has it
  std::atomic<bool> retiring_{false};
};

}  // namespace pb::core
