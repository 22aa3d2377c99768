#include "core/mux_channel.h"

#include "core/runtime.h"
#include "json/document.h"
#include "sse/encoder.h"
#include "sse/event_id.h"

namespace pb::core {

MuxChannel::MuxChannel(std::vector<std::shared_ptr<Instance>> members, hub::Hub& hub)
    : members_(std::move(members)), hub_(hub), feed_(hub.create_feed()) {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    auto m = std::make_unique<Member>();
    m->channel = this;
    m->index = i;
    listeners_.push_back(std::move(m));
    quoted_addresses_.push_back(json::dump(json::Json(members_[i]->address())));
  }
  positions_.resize(members_.size());
}

MuxChannel::~MuxChannel() = default;

void MuxChannel::start_locked() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    stream::Stream& s = members_[i]->stream();
    positions_[i] = s.last_id_locked();
    s.add_listener_locked(listeners_[i].get());
  }
}

void MuxChannel::stop_locked() {
  std::lock_guard<std::mutex> lock(mu_);
  if (retired_) return;
  retired_ = true;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    members_[i]->stream().remove_listener_locked(listeners_[i].get());
  }
  hub_.close_feed(feed_);
}

std::string MuxChannel::encode(std::size_t index, const stream::Event& ev,
                               const std::vector<std::string>& positions) const {
  std::string data = "{\"stream\":" + quoted_addresses_[index] + ",\"data\":";
  if (members_[index]->cfg().diff == config::DiffMode::kText && ev.type == "snapshot") {
    data += json::dump(json::Json(ev.data));
  } else {
    data += ev.data;
  }
  data += "}";
  return sse::encode_event(sse::join_composite(positions), ev.type, data);
}

void MuxChannel::on_member_event(std::size_t index, const stream::EventPtr& ev) {
  std::lock_guard<std::mutex> lock(mu_);
  if (retired_) return;
  positions_[index] = ev->id;
  hub_.publish(feed_, std::make_shared<const std::string>(encode(index, *ev, positions_)));
}

std::vector<hub::Buffer> MuxChannel::preamble_locked(const std::optional<std::string>& last_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> parts;
  if (last_id) parts = sse::split_composite(*last_id);
  bool usable = parts.size() == members_.size();
  std::vector<std::string> positions = usable ? parts : std::vector<std::string>(members_.size());
  std::vector<hub::Buffer> out;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    std::optional<std::string> mine;
    if (usable && !parts[i].empty()) mine = parts[i];
    stream::ResumePlan plan = members_[i]->stream().plan_resume_locked(mine);
    if (plan.fresh && plan.events.empty()) positions[i] = positions_[i];
    for (const auto& ev : plan.events) {
      positions[i] = ev->id;
      out.push_back(std::make_shared<const std::string>(encode(i, *ev, positions)));
    }
  }
  return out;
}

}  // namespace pb::core
