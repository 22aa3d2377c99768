#include "server/console_feed.h"

#include <pthread.h>

#include "diff/differ.h"
#include "diff/json_patch.h"
#include "server/console_state.h"
#include "sse/encoder.h"
#include "sse/event_id.h"

namespace pb::server {

ConsoleFeed::ConsoleFeed(core::Runtime& runtime, const Current<config::Config>& running,
                         std::chrono::milliseconds period)
    : runtime_(runtime),
      running_(running),
      period_(period),
      feed_(runtime.hub().create_feed()),
      sessions_(std::make_shared<std::atomic<std::int64_t>>(0)),
      epoch_(sse::new_epoch()) {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "pb-console");
}

ConsoleFeed::~ConsoleFeed() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string ConsoleFeed::next_id_locked() {
  return epoch_ + "-" + std::to_string(++seq_);
}

void ConsoleFeed::refresh_locked() {
  json::Json next = console_overview(runtime_, *running_.get());
  if (!has_doc_) {
    doc_ = std::move(next);
    has_doc_ = true;
    return;
  }
  static const diff::KeySpec kById = diff::KeySpec::parse("id");
  json::Json patch = diff::json_patch(doc_, next, kById);
  doc_ = std::move(next);
  if (patch.empty()) return;
  runtime_.hub().publish(feed_, std::make_shared<const std::string>(sse::encode_event(
                                    next_id_locked(), "patch", json::dump(patch))));
}

bool ConsoleFeed::attach(hub::Transport io, std::string head) {
  MutexLock lock(mu_);
  // Up to date for the newcomer; the others get what changed as a patch.
  refresh_locked();
  std::vector<hub::Buffer> preamble;
  preamble.push_back(std::make_shared<const std::string>(std::move(head)));
  preamble.push_back(std::make_shared<const std::string>(
      sse::encode_event(epoch_ + "-" + std::to_string(seq_), "snapshot", json::dump(doc_))));
  sessions_->fetch_add(1);
  auto sessions = sessions_;
  const bool attached =
      runtime_.hub().attach(feed_, std::move(io), std::move(preamble),
                            std::function<void()>([sessions] { sessions->fetch_sub(1); }));
  return attached;
}

void ConsoleFeed::run() {
  MutexLock lock(mu_);
  while (!stop_) {
    wake_.wait_for(mu_, period_);
    if (stop_) break;
    if (sessions_->load() > 0) {
      refresh_locked();
    } else {
      has_doc_ = false;  // nobody listens: build nothing, start afresh
    }
  }
}

}  // namespace pb::server
