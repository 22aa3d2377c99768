#include "core/mux_channel.h"

#include "core/instance.h"
#include "json/document.h"
#include "sse/encoder.h"
#include "sse/event_id.h"

namespace pb::core {

MuxChannel::MuxChannel(std::vector<std::shared_ptr<Instance>> members, hub::Hub& hub,
                       stream::Format format)
    : members_(std::move(members)), hub_(hub), feed_(hub.create_feed()), compressed_(hub) {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    formats_.push_back(
        stream::resolve_format(members_[i]->cfg().diff, format).value_or(stream::Format::kNative));
    auto m = std::make_unique<Member>();
    m->channel = this;
    m->index = i;
    listeners_.push_back(std::move(m));
    quoted_addresses_.push_back(json::dump(json::Json(members_[i]->address())));
  }
  MutexLock lock(mu_);
  positions_.resize(members_.size());
}

MuxChannel::~MuxChannel() = default;

void MuxChannel::ensure_started_locked() {
  MutexLock lock(mu_);
  if (started_ || stopped_) return;
  started_ = true;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    stream::Stream& s = members_[i]->stream();
    positions_[i] = s.last_id_locked();
    if (formats_[i] != stream::Format::kNative) s.add_format_user_locked(formats_[i]);
    s.add_listener_locked(listeners_[i].get());
  }
}

void MuxChannel::stop_locked() {
  MutexLock lock(mu_);
  retired_.store(true);
  if (!stopped_) {
    stopped_ = true;
    // A retired member has dropped its listeners already; removing is
    // harmless there.
    for (std::size_t i = 0; i < members_.size(); ++i) {
      members_[i]->stream().remove_listener_locked(listeners_[i].get());
      if (started_ && formats_[i] != stream::Format::kNative) {
        members_[i]->stream().remove_format_user(formats_[i]);
      }
    }
  }
  if (!feed_closed_) {
    feed_closed_ = true;
    hub_.close_feed(feed_);
    compressed_.close();
  }
}

void MuxChannel::on_member_retired() {
  // Under that member's lock only: close the feed now (clients reconnect
  // and find the successor); the runtime removes the listeners from the
  // other members under all their locks.
  MutexLock lock(mu_);
  retired_.store(true);
  if (!feed_closed_) {
    feed_closed_ = true;
    hub_.close_feed(feed_);
    compressed_.close();
  }
}

std::string json_payload(config::DiffMode mode, const stream::Event& ev) {
  if (mode == config::DiffMode::kText && ev.type == "snapshot") {
    return json::dump(json::Json(ev.data));
  }
  return ev.data;
}

std::string mux_data(const std::string& quoted_address, config::DiffMode mode,
                     const stream::Event& ev) {
  return "{\"stream\":" + quoted_address + ",\"data\":" + json_payload(mode, ev) + "}";
}

std::string MuxChannel::encode(std::size_t index, const stream::Event& ev,
                               const std::vector<std::string>& positions) const {
  const std::string data = mux_data(quoted_addresses_[index], members_[index]->cfg().diff, ev);
  // An event without an id (nothing recorded) keeps the client's position.
  std::string id = ev.id.empty() ? std::string() : sse::join_composite(positions);
  return sse::encode_event(id, ev.type, data);
}

void MuxChannel::on_member_event(std::size_t index, const stream::EventPtr& ev) {
  MutexLock lock(mu_);
  if (retired_.load()) return;
  // In another format than the member's own, what its subscribers get (or
  // nothing: the position only names events the clients received).
  stream::EventPtr r = members_[index]->stream().rendition_for_listener(ev, formats_[index]);
  if (!r) return;
  if (!r->id.empty()) positions_[index] = r->id;
  auto buf = std::make_shared<const std::string>(encode(index, *r, positions_));
  hub_.publish(feed_, buf);
  compressed_.publish(buf);
}

std::vector<hub::Buffer> MuxChannel::preamble_locked(const std::optional<std::string>& last_id) {
  MutexLock lock(mu_);
  std::vector<std::string> parts;
  if (last_id) parts = sse::split_composite(*last_id);
  bool usable = parts.size() == members_.size();
  std::vector<std::string> positions = usable ? parts : std::vector<std::string>(members_.size());
  std::vector<hub::Buffer> out;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    std::optional<std::string> mine;
    if (usable && !parts[i].empty()) mine = parts[i];
    stream::ResumePlan plan = members_[i]->stream().plan_resume_locked(mine, formats_[i]);
    if (plan.fresh && plan.events.empty()) positions[i] = positions_[i];
    for (const auto& ev : plan.events) {
      if (!ev->id.empty()) positions[i] = ev->id;
      out.push_back(std::make_shared<const std::string>(encode(i, *ev, positions)));
    }
  }
  return out;
}

}  // namespace pb::core
