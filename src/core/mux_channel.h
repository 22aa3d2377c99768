// Several streams multiplexed on one SSE connection (GET /events?stream=a&
// stream=b). Every event keeps its type; its data becomes
// {"stream":"<address>","data":<payload>} and its id is the composite of the
// latest id of every member, in request order, so one Last-Event-ID resumes
// them all (an event without an id, such as "cannot record", goes out
// without one). Clients asking for the same list share one channel: each
// event is encoded once per channel, not per client.
//
// Life: made by the runtime on the first request for its list; started by
// whichever attaching client gets its members' locks first (idempotent);
// retired when a member stream retires (it hears it through on_retired and
// closes its feed at once) or when no client has used it for a janitor
// period; stopped (listeners removed from every member) under the members'
// locks by the runtime.
//
// Threads: on_member_event()/on_member_retired() run under that member
// stream's lock; the *_locked methods require every member's stream lock
// (taken in key order by the caller: Runtime's StreamLocks). Those take a
// dynamic set of locks that Clang's analysis cannot name, so they are
// excluded from it; the channel's own state is guarded by its mutex as
// usual.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "config/config.h"
#include "core/compressed_feed.h"
#include "hub/hub.h"
#include "stream/stream.h"

namespace pb::core {

class Instance;

// An event's data as JSON: a text stream's snapshot is its text, which
// becomes a JSON string; every other payload already is JSON.
std::string json_payload(config::DiffMode mode, const stream::Event& ev);
// The data of a multiplexed event: {"stream":<address>,"data":<payload>}.
std::string mux_data(const std::string& quoted_address, config::DiffMode mode,
                     const stream::Event& ev);

class MuxChannel {
 public:
  // `format` is what the clients asked for (?format=, Accept); each member
  // sends it as resolve_format() says for its mode (the caller checked that
  // every member can).
  MuxChannel(std::vector<std::shared_ptr<Instance>> members, hub::Hub& hub,
             stream::Format format = stream::Format::kNative);
  ~MuxChannel();
  MuxChannel(const MuxChannel&) = delete;
  MuxChannel& operator=(const MuxChannel&) = delete;

  const std::vector<std::shared_ptr<Instance>>& members() const { return members_; }
  hub::FeedId feed() const { return feed_; }
  // The compressed sibling of feed() (core/compressed_feed.h); published to
  // under mu_ with the plain feed.
  CompressedFeed& compressed() { return compressed_; }

  // Begins listening to the members, unless already started (whoever
  // attaches first starts it; later attachers find it started).
  void ensure_started_locked() PB_NO_THREAD_SAFETY_ANALYSIS;
  // Stops listening and closes the feed (idempotent).
  void stop_locked() PB_NO_THREAD_SAFETY_ANALYSIS;
  // True once a member retired or stop_locked() ran: attach elsewhere.
  bool retired() const { return retired_.load(); }

  // What a connecting client gets before the live events: for each member,
  // its snapshot or the events after its part of `last_id`.
  std::vector<hub::Buffer> preamble_locked(const std::optional<std::string>& last_id)
      PB_NO_THREAD_SAFETY_ANALYSIS;

  // Clients on this channel, and clients about to attach (a reservation
  // taken under the runtime's lock). Shared with hub close hooks.
  const std::shared_ptr<std::atomic<std::int64_t>>& sessions() const { return sessions_; }

 private:
  struct Member : stream::Listener {
    MuxChannel* channel;
    std::size_t index;
    void on_event(const stream::EventPtr& ev) override { channel->on_member_event(index, ev); }
    void on_retired() override { channel->on_member_retired(); }
  };
  void on_member_event(std::size_t index, const stream::EventPtr& ev);
  void on_member_retired();
  std::string encode(std::size_t index, const stream::Event& ev,
                     const std::vector<std::string>& positions) const;

  std::vector<std::shared_ptr<Instance>> members_;
  std::vector<std::unique_ptr<Member>> listeners_;
  std::vector<std::string> quoted_addresses_;  // JSON strings, ready to embed
  std::vector<stream::Format> formats_;        // each member's resolved format
  hub::Hub& hub_;
  const hub::FeedId feed_;
  CompressedFeed compressed_;
  Mutex mu_;
  std::vector<std::string> positions_ PB_GUARDED_BY(mu_);  // latest id of each member
  bool started_ PB_GUARDED_BY(mu_) = false;
  bool stopped_ PB_GUARDED_BY(mu_) = false;
  bool feed_closed_ PB_GUARDED_BY(mu_) = false;
  std::atomic<bool> retired_{false};
  const std::shared_ptr<std::atomic<std::int64_t>> sessions_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
};

}  // namespace pb::core
