// The compressed sibling of a hub feed (an instance's feed of one format, or
// a multiplexed channel's feed): the same events as deflate pieces made once
// per event (sse/deflate_blocks.h) and shared by every compressed subscriber,
// gzip and deflate alike, as the plain feed's buffers are shared by the
// plain ones. It is fed only while it has subscribers: a client attaching
// later starts at the hub feed's head, and no piece depends on an earlier
// one, so the events skipped meanwhile are never needed.
//
// Threads: publish() is called by the plain feed's publisher under the lock
// that orders its publishes and attaches (the stream's lock for an
// instance, the channel's for a channel); users() is shared with hub close
// hooks, which decrement it on a hub thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hub/hub.h"
#include "sse/deflate_blocks.h"

namespace pb::core {

class CompressedFeed {
 public:
  explicit CompressedFeed(hub::Hub& hub) : hub_(hub), feed_(hub.create_feed()) {}
  CompressedFeed(const CompressedFeed&) = delete;
  CompressedFeed& operator=(const CompressedFeed&) = delete;

  hub::FeedId feed() const { return feed_; }
  // Compressed subscribers (and those about to attach). Counted up before
  // the attach, under the publisher's lock; down by the session's close hook.
  const std::shared_ptr<std::atomic<std::int64_t>>& users() const { return users_; }

  // Compresses `plain` once and publishes it, if anyone is subscribed.
  void publish(const hub::Buffer& plain) {
    if (users_->load() <= 0) return;
    hub_.publish(feed_, std::make_shared<const std::string>(deflater_.blocks(*plain)));
  }
  void close() { hub_.close_feed(feed_); }

  // A compressed session's preamble (docs/architecture.md, "Compression"),
  // from the plain one: the HTTP head (the first buffer, up to its blank
  // line) stays plain and carries the coding's header and the piece of the
  // rest of that buffer (the retry line); then one independent piece per
  // later buffer (snapshot or replayed event), so that the hub counts them
  // as a plain session's events. The piece of the last event buffer
  // compressed here is kept and reused while that buffer lives: clients
  // arriving without an id share the snapshot's piece. Called under the
  // same lock as publish().
  std::vector<hub::Buffer> opening(const std::vector<hub::Buffer>& preamble, sse::Coding coding);

 private:
  hub::Hub& hub_;
  const hub::FeedId feed_;
  sse::BlockDeflater deflater_;
  const std::shared_ptr<std::atomic<std::int64_t>> users_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::weak_ptr<const std::string> cached_plain_;  // opening(): the last event compressed
  hub::Buffer cached_piece_;
};

// The heartbeat of a compressed session (one shared buffer).
const hub::Buffer& compressed_heartbeat_buffer();
// Counts a compressed session in `users` (its feed's) and in the gauge by
// coding; the function returned uncounts it (from the session's close hook).
std::function<void()> count_compressed(std::shared_ptr<std::atomic<std::int64_t>> users,
                                       sse::Coding coding);

}  // namespace pb::core
