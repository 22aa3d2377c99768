// What a client attaching to a stream is sent before the live events: the
// snapshot of the current document (encoded once, outside the lock when
// possible, and shared by every client) or the replay of the events it
// missed (ResumePlan), in the format it asked for.
//
// Threads: any (a client's attach, an HTTP worker's GET /streams/{name});
// the *_locked methods under mutex(), as the stream's writers publish.
#include <optional>
#include <string>

#include "sse/event_id.h"
#include "stream/stream.h"

namespace pb::stream {

EventPtr Stream::snapshot_locked() const {
  if (!doc_) return nullptr;
  if (!snapshot_) {
    snapshot_ = make_event(doc_seq_, id_of(epoch_, doc_seq_), "snapshot",
                           diff::snapshot_data(*doc_, options_.diff.mode));
  }
  return snapshot_;
}

void Stream::prepare_snapshot() const {
  snapshot();
}

EventPtr Stream::snapshot() const {
  std::shared_ptr<const json::Json> doc;
  std::uint64_t doc_seq;
  std::string epoch;
  {
    MutexLock lock(mu_);
    if (snapshot_ || !doc_) return snapshot_;
    doc = doc_;
    doc_seq = doc_seq_;
    epoch = epoch_;
  }
  // The document is immutable: encode it without the lock.
  EventPtr snap = make_event(doc_seq, id_of(epoch, doc_seq), "snapshot",
                             diff::snapshot_data(*doc, options_.diff.mode));
  MutexLock lock(mu_);
  if (!snapshot_ && doc_ == doc) snapshot_ = snap;
  return snap;
}

ResumePlan Stream::plan_resume_locked(const std::optional<std::string>& last_id,
                                      Format format) const {
  ResumePlan plan;
  if (last_id) {
    auto id = sse::parse_event_id(*last_id);
    if (id && id->epoch == epoch_ && id->seq <= seq_) {
      if (id->seq == seq_) {
        plan.fresh = false;  // caught up
        if (!status_.recording && last_status_event_) plan.events.push_back(last_status_event_);
        return plan;
      }
      if (!history_.empty() && history_.front()->seq <= id->seq + 1) {
        bool complete = true;
        for (const auto& ev : history_) {
          if (ev->seq <= id->seq) continue;
          if (EventPtr r = rendition_locked(ev, format)) {
            plan.events.push_back(std::move(r));
          } else if (format != Format::kSnapshot) {
            complete = false;  // no faithful replay in this format: start fresh
            break;
          }
        }
        if (complete) {
          plan.fresh = false;
          if (!status_.recording && last_status_event_) plan.events.push_back(last_status_event_);
          return plan;
        }
        plan.events.clear();
      }
    }
  }
  // Unknown, too old, from another epoch, or no id: the current state.
  if (EventPtr snap = snapshot_locked()) plan.events.push_back(snap);
  bool stale = !status_.ok || !status_.recording;
  if (stale && last_status_event_ &&
      (last_status_event_->id.empty() || last_status_event_->seq > doc_seq_)) {
    plan.events.push_back(last_status_event_);
  }
  return plan;
}

}  // namespace pb::stream
