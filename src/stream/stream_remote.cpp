// Stream as the follower of a shared store (Redis, src/cluster): applying the
// events another process recorded, so that this process's clients get them
// with the same ids, and telling clients when the store cannot be reached.
//
// Threads: the coordinator's threads (see stream/coordinator.h: Follower).
#include <array>

#include "common/time_format.h"
#include "log/log.h"
#include "stream/stream.h"

namespace pb::stream {

Follower::Position Stream::position() const {
  MutexLock lock(mu_);
  EventPtr last = !history_.empty() && history_.back()->seq == seq_ ? history_.back() : nullptr;
  return {epoch_, seq_, doc_seq_, std::move(last)};
}

void Stream::publish_locked(const EventPtr& ev) {
  if (retired_) return;
  presence_->changed();
  for (Listener* l : listeners_) l->on_event(ev);
}

void Stream::on_remote(const PersistedState& state) {
  OutcomeCount counted{outcomes_};
  // Parse the document without the lock: it is immutable once made.
  std::shared_ptr<const json::Json> doc = state.doc;
  if (!doc && state.doc_text) {
    try {
      doc = std::make_shared<const json::Json>(json::parse(*state.doc_text));
    } catch (const json::ParseError& e) {
      log::error("document from the shared store unreadable; ignored",
                 {{"instance", key_}, {"error", e.what()}});
    }
  }
  // Subscribers of another format than the stream's (?format=) get the
  // event that made the new document rendered from the document held
  // before: made here, without the lock, as the writer does (the events of
  // the store carry no renditions). Earlier document events of the same
  // batch have no rendition: those subscribers skip them, and this one
  // patches across all of them.
  std::shared_ptr<const json::Json> prev;
  unsigned wanted = 0;
  std::string held_epoch;
  {
    MutexLock lock(mu_);
    prev = doc_;
    held_epoch = epoch_;
    wanted = missing_renditions_locked(nullptr, nullptr);
  }
  std::array<EventPtr, kFormatCount> rend;
  std::uint64_t rend_seq = 0;
  if (doc && wanted && state.epoch == held_epoch) {
    for (const auto& ev : state.history) {
      if (ev->seq != state.doc_seq) continue;
      rend = render(wanted, prev.get(), *doc, ev->seq, ev->id);
      rend_seq = ev->seq;
    }
  }
  MutexLock lock(mu_);
  if (retired_ || state.epoch.empty()) return;
  if (doc_ != prev) rend_seq = 0;  // the document moved meanwhile: not valid
  // A jump: another epoch, or events missing between what is held and what
  // arrived (trimmed away). Clients connected now get the new document as a
  // snapshot, then the events after it; the history starts again.
  bool jump = state.epoch != epoch_;
  std::uint64_t first = state.history.empty() ? state.seq + 1 : state.history.front()->seq;
  if (!jump && state.seq > seq_ && first > seq_ + 1) jump = true;
  if (!jump && state.seq <= seq_) return;  // nothing new
  if (jump) {
    log::info("following the shared store's state",
              {{"instance", key_}, {"epoch", state.epoch}, {"seq", state.seq}});
    epoch_ = state.epoch;
    history_.clear();
    history_size_ = 0;
    doc_.reset();
    doc_seq_ = 0;
    snapshot_.reset();
    last_status_event_.reset();
    seq_ = 0;
  }
  if (doc && state.doc_seq >= doc_seq_) {
    doc_ = doc;
    doc_seq_ = state.doc_seq;
    doc_changed_ = from_unix_ms(state.doc_changed_ms);
    snapshot_.reset();
  }
  // The epoch's whole history is there (it starts at id 1, and its first
  // document event is a snapshot): clients get those very events, with the
  // ids every other process sent. Otherwise a snapshot of the document.
  // Not when subscribers of another patch format listen: they would get
  // the replayed patches without renditions, so they get the snapshot.
  const bool other_patches =
      format_users(Format::kJsonPatch) > 0 || format_users(Format::kMergePatch) > 0;
  const bool replay =
      jump && !other_patches && !state.history.empty() && state.history.front()->seq == 1;
  if (jump && !replay) {
    if (EventPtr snap = snapshot_locked()) publish_locked(snap);
    seq_ = doc_ ? doc_seq_ : 0;
  }
  for (const EventPtr& held : state.history) {
    if (held->seq <= seq_) continue;
    EventPtr ev = held;
    if (rend_seq != 0 && held->seq == rend_seq) {
      ev = make_event(held->seq, held->id, held->type, held->data, rend);
    }
    seq_ = ev->seq;
    remember_locked(ev);
    ++published_;
    if (ev->type == "status") apply_status_locked(ev);
    publish_locked(ev);
  }
  if (state.seq > seq_) seq_ = state.seq;
  if (state.fetched_ms != 0) {
    status_.polled = true;
    status_.last_success = from_unix_ms(state.fetched_ms);
  } else if (doc_) {
    status_.polled = true;
  }
}

void Stream::apply_status_locked(const EventPtr& ev) {
  last_status_event_ = ev;
  // The status the event states (docs/cluster.md: followers show what the
  // poller saw, an upstream's 401/403 included: auth: upstream refuses
  // those credentials here too).
  try {
    const json::Json d = json::parse(ev->data);
    if (!d.is_object()) return;
    auto text = [&d](const char* name) {
      auto it = d.find(name);
      return it != d.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto it = d.find("http_status");
    status_.ok = text("state") == "ok";
    status_.reason = status_.ok ? std::string() : text("reason");
    status_.http_status =
        !status_.ok && it != d.end() && it->is_number_integer() ? it->get<int>() : 0;
  } catch (const std::exception&) {
  }
}

void Stream::on_store_health(bool ok, const std::string& why) {
  const Clock::time_point now = Clock::now();
  MutexLock lock(mu_);
  if (retired_ || status_.recording == ok) return;
  status_.recording = ok;
  status_.store_error = ok ? std::string() : "state store cannot record events: " + why;
  status_.since = now;
  // No id: nothing is recorded by this (docs/cluster.md). Clients keep their
  // last id and resume from it.
  EventPtr ev = make_event(0, "", "status", status_data(status_, now));
  last_status_event_ = ev;
  publish_locked(ev);
}

}  // namespace pb::stream
