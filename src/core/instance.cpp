#include "core/instance.h"

#include "metrics/stream_metrics.h"

namespace pb::core {

Instance::Instance(InstanceRequest request, std::string key,
                   std::shared_ptr<const StreamTemplate> tmpl, config::StreamConfig cfg,
                   std::shared_ptr<const std::atomic<std::size_t>> history_bytes,
                   stream::Store* store, stream::Coordinator* coordinator, hub::Hub& hub,
                   const Clock& clock)
    : request_(std::move(request)),
      key_(std::move(key)),
      store_(store),
      coordinator_(coordinator),
      tmpl_(std::move(tmpl)),
      cfg_(std::move(cfg)),
      hub_(hub) {
  for (auto& f : feeds_) f = hub.create_feed();
  for (auto& c : compressed_) c = std::make_unique<CompressedFeed>(hub);
  stream::Stream::Options opts;
  opts.live_history = tmpl_->history;
  opts.live_history_bytes = std::move(history_bytes);
  chain_ =
      std::make_unique<PollChain>(key_, cfg_, std::move(opts), store, coordinator, clock, this);
}

Instance::~Instance() = default;

void Instance::on_event(const stream::EventPtr& ev) {
  // Counted before the hub has it, so that no client sees an event that
  // /metrics does not count yet. Published from within the poll's
  // processing: the poller knows when its response arrived
  // (docs/operations.md, pollbridge_publish_delay_seconds).
  metrics::StreamMetrics& m = poller().metrics();
  m.count_event(ev->type);
  auto received = poller().received();
  if (received.time_since_epoch().count() != 0) {  // else: not from a poll
    m.publish_delay.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
  }
  hub_.publish(feeds_[0], ev->wire);
  compressed_[0]->publish(ev->wire);
  for (std::size_t i = 1; i < feeds_.size(); ++i) {
    auto format = static_cast<stream::Format>(i);
    if (stream().format_users(format) <= 0) continue;
    // The stream lock is held (this is a listener call).
    if (stream::EventPtr r = stream().rendition_for_listener(ev, format)) {
      hub_.publish(feeds_[i], r->wire);
      compressed_[i]->publish(r->wire);
    }
  }
}

void Instance::on_retired() {
  for (auto f : feeds_) hub_.close_feed(f);
  for (auto& c : compressed_) c->close();
}

}  // namespace pb::core
