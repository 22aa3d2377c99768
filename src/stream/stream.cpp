#include "stream/stream.h"

#include <algorithm>

#include "common/time_format.h"
#include "log/log.h"
#include "sse/event_id.h"

namespace pb::stream {

Stream::Stream(std::string key, Options options, Store* store, Clock::time_point now)
    : key_(std::move(key)), options_(std::move(options)), store_(store) {
  std::optional<PersistedState> saved;
  try {
    saved = store_->load(key_);
  } catch (const std::exception& e) {
    log::error("cannot load saved state; starting a new history",
               {{"instance", key_}, {"error", e.what()}});
  }
  if (saved && !saved->epoch.empty()) {
    epoch_ = saved->epoch;
    seq_ = saved->seq;
    doc_seq_ = saved->doc_seq;
    if (saved->doc) {
      try {
        doc_ = json::parse(*saved->doc);
      } catch (const json::ParseError& e) {
        log::error("saved document unreadable; starting a new history",
                   {{"instance", key_}, {"error", e.what()}});
        saved.reset();
      }
    }
  }
  if (saved && !saved->epoch.empty()) {
    doc_changed_ = from_unix_ms(saved->doc_changed_ms);
    status_.last_success = from_unix_ms(saved->fetched_ms);
    std::size_t skip =
        saved->history.size() > options_.history ? saved->history.size() - options_.history : 0;
    for (std::size_t i = skip; i < saved->history.size(); ++i) {
      const auto& e = saved->history[i];
      remember_locked(make_event(e.seq, id_of(e.seq), e.type, e.data));
    }
  } else {
    epoch_ = sse::new_epoch();
    seq_ = 0;
    doc_seq_ = 0;
    doc_.reset();
    try {
      store_->reset(key_, epoch_);
    } catch (const std::exception& e) {
      log::error("cannot reset saved state", {{"instance", key_}, {"error", e.what()}});
    }
  }
  status_.since = now;
}

std::string Stream::id_of(std::uint64_t seq) const {
  return epoch_ + "-" + std::to_string(seq);
}

void Stream::remember_locked(const EventPtr& ev) {
  auto size_of = [](const EventPtr& e) { return e->data.size() + e->wire->size(); };
  history_.push_back(ev);
  history_size_ += size_of(ev);
  // The newest event always stays, whatever its size.
  while (history_.size() > 1 &&
         (history_.size() > options_.history || history_size_ > options_.history_bytes)) {
    history_size_ -= size_of(history_.front());
    history_.pop_front();
  }
}

std::vector<EventPtr> Stream::publish_locked(
    std::vector<std::pair<std::string, std::string>> changes, const json::Json* new_doc,
    Clock::time_point now) {
  std::vector<EventPtr> events;
  if (changes.empty()) return events;
  events.reserve(changes.size());
  std::uint64_t seq = seq_;
  for (auto& [type, data] : changes) {
    ++seq;
    events.push_back(make_event(seq, id_of(seq), std::move(type), std::move(data)));
  }
  std::string doc_text;
  if (new_doc && store_->persistent()) doc_text = json::dump(*new_doc);
  std::int64_t changed_ms = new_doc ? unix_ms(now) : unix_ms(doc_changed_);
  try {
    store_->append(key_, epoch_, events, new_doc ? &doc_text : nullptr, new_doc ? seq : doc_seq_,
                   changed_ms, unix_ms(status_.last_success), options_.history);
  } catch (const std::exception& e) {
    log::error("state store refused events", {{"instance", key_}, {"error", e.what()}});
    return {};
  }
  seq_ = seq;
  if (new_doc) {
    doc_ = *new_doc;
    doc_seq_ = seq;
    doc_changed_ = now;
    snapshot_.reset();
  }
  for (auto& ev : events) {
    remember_locked(ev);
    ++published_;
    for (Listener* l : listeners_) l->on_event(ev);
  }
  return events;
}

std::string Stream::status_data_locked(Clock::time_point now) const {
  json::Json d = json::Json::object();
  d["state"] = status_.ok ? "ok" : "stale";
  if (!status_.ok) {
    d["reason"] = status_.reason;
    if (status_.http_status) d["http_status"] = status_.http_status;
  }
  d["since"] = iso8601(status_.since);
  if (status_.last_success.time_since_epoch().count() != 0) {
    d["last_success"] = iso8601(status_.last_success);
  }
  d["at"] = iso8601(now);
  return json::dump(d);
}

void Stream::update(const json::Json& next, Clock::time_point now) {
  // The diff runs before the lock is taken, so that clients attaching
  // meanwhile do not wait for it: only this (the poller's) thread ever
  // changes doc_. May throw DiffError: nothing has changed yet.
  std::vector<diff::Change> changes = diff::compute(doc_ ? &*doc_ : nullptr, next, options_.diff);
  std::lock_guard<std::mutex> lock(mu_);
  Status before = status_;
  status_.polled = true;
  status_.last_success = now;
  std::vector<std::pair<std::string, std::string>> out;
  if (!before.ok) {
    status_.ok = true;
    status_.reason.clear();
    status_.http_status = 0;
    status_.since = now;
    out.emplace_back("status", status_data_locked(now));
  }
  for (auto& c : changes) out.emplace_back(std::move(c.type), std::move(c.data));
  if (out.empty()) {
    try {
      store_->touch(
          key_,
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    } catch (const std::exception&) {
      // The age of the document is advisory; a failure here loses nothing.
    }
    return;
  }
  bool doc_changed = !changes.empty();
  std::vector<EventPtr> events = publish_locked(std::move(out), doc_changed ? &next : nullptr, now);
  if (events.empty()) {
    // Not recorded, so not sent: the old document stays and the next poll
    // diffs against it again.
    status_ = before;
    status_.ok = false;
    status_.polled = true;
    status_.reason = "state store unavailable";
    return;
  }
  if (!before.ok) last_status_event_ = events.front();  // the recovery
}

void Stream::unchanged(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  status_.polled = true;
  status_.last_success = now;
  if (!status_.ok) {
    Status before = status_;
    status_.ok = true;
    status_.reason.clear();
    status_.http_status = 0;
    status_.since = now;
    auto events = publish_locked({{"status", status_data_locked(now)}}, nullptr, now);
    if (events.empty()) {
      status_ = before;
    } else {
      last_status_event_ = events.front();
    }
    return;
  }
  try {
    store_->touch(key_, unix_ms(now));
  } catch (const std::exception&) {
  }
}

void Stream::fail(const std::string& reason, int http_status, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  status_.polled = true;
  if (!status_.ok && status_.reason == reason && status_.http_status == http_status) return;
  if (status_.ok) status_.since = now;
  status_.ok = false;
  status_.reason = reason;
  status_.http_status = http_status;
  auto events = publish_locked({{"status", status_data_locked(now)}}, nullptr, now);
  if (events.empty()) {
    // Nothing could be recorded; keep reporting the failure through view().
    status_.reason = reason + " (and the state store is unavailable)";
  } else {
    last_status_event_ = events.front();
  }
}

EventPtr Stream::snapshot_locked() const {
  if (!doc_) return nullptr;
  if (!snapshot_) {
    snapshot_ = make_event(doc_seq_, id_of(doc_seq_), "snapshot",
                           diff::snapshot_data(*doc_, options_.diff.mode));
  }
  return snapshot_;
}

ResumePlan Stream::plan_resume_locked(const std::optional<std::string>& last_id) const {
  ResumePlan plan;
  if (last_id) {
    auto id = sse::parse_event_id(*last_id);
    if (id && id->epoch == epoch_ && id->seq <= seq_) {
      if (id->seq == seq_) {
        plan.fresh = false;  // caught up
        return plan;
      }
      if (!history_.empty() && history_.front()->seq <= id->seq + 1) {
        plan.fresh = false;
        for (const auto& ev : history_) {
          if (ev->seq > id->seq) plan.events.push_back(ev);
        }
        return plan;
      }
    }
  }
  // Unknown, too old, from another epoch, or no id: the current state.
  if (EventPtr snap = snapshot_locked()) plan.events.push_back(snap);
  if (!status_.ok && last_status_event_ && last_status_event_->seq > doc_seq_) {
    plan.events.push_back(last_status_event_);
  }
  return plan;
}

void Stream::add_listener_locked(Listener* l) {
  listeners_.push_back(l);
}

void Stream::remove_listener_locked(Listener* l) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

std::string Stream::last_id_locked() const {
  return seq_ ? id_of(seq_) : std::string();
}

DocumentView Stream::view() const {
  std::lock_guard<std::mutex> lock(mu_);
  DocumentView v;
  v.has_doc = doc_.has_value();
  if (doc_) {
    v.doc = diff::snapshot_data(*doc_, options_.diff.mode);
    v.doc_id = id_of(doc_seq_);
  }
  v.last_id = last_id_locked();
  v.epoch = epoch_;
  v.changed = doc_changed_;
  v.status = status_;
  v.events = published_;
  v.history = history_.size();
  return v;
}

Status Stream::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace pb::stream
