// Several streams multiplexed on one SSE connection (GET /events?stream=a&
// stream=b). Every event keeps its type; its data becomes
// {"stream":"<address>","data":<payload>} and its id is the composite of the
// latest id of every member, in request order, so one Last-Event-ID resumes
// them all. Clients asking for the same list share one channel: each event
// is encoded once per channel, not per client.
//
// Threads: on_member_event() runs under the member stream's lock; the
// *_locked methods require every member's stream lock (taken in address
// order by the caller).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hub/hub.h"
#include "stream/stream.h"

namespace pb::core {

class Instance;

class MuxChannel {
 public:
  MuxChannel(std::vector<std::shared_ptr<Instance>> members, hub::Hub& hub);
  ~MuxChannel();

  const std::vector<std::shared_ptr<Instance>>& members() const { return members_; }
  hub::FeedId feed() const { return feed_; }

  void start_locked();  // begins listening to the members
  void stop_locked();   // stops listening and closes the feed
  bool retired_locked() const { return retired_; }

  // What a connecting client gets before the live events: for each member,
  // its snapshot or the events after its part of `last_id`.
  std::vector<hub::Buffer> preamble_locked(const std::optional<std::string>& last_id);

  std::atomic<std::int64_t>& sessions() { return sessions_; }

 private:
  struct Member : stream::Listener {
    MuxChannel* channel;
    std::size_t index;
    void on_event(const stream::EventPtr& ev) override { channel->on_member_event(index, ev); }
  };
  void on_member_event(std::size_t index, const stream::EventPtr& ev);
  std::string encode(std::size_t index, const stream::Event& ev,
                     const std::vector<std::string>& positions) const;

  std::vector<std::shared_ptr<Instance>> members_;
  std::vector<std::unique_ptr<Member>> listeners_;
  std::vector<std::string> quoted_addresses_;  // JSON strings, ready to embed
  hub::Hub& hub_;
  hub::FeedId feed_;
  std::mutex mu_;
  std::vector<std::string> positions_;  // latest id of each member
  bool retired_ = false;
  std::atomic<std::int64_t> sessions_{0};
};

}  // namespace pb::core
