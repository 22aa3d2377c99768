#include "stream/stream.h"

#include <algorithm>

#include "common/park_signal.h"
#include "common/time_format.h"
#include "log/log.h"
#include "sse/event_id.h"

namespace pb::stream {
namespace {

// What an event holds in memory, renditions included (history_bytes bounds
// all of it).
std::size_t size_of(const EventPtr& e) {
  std::size_t n = e->data.size() + e->wire->size();
  for (const auto& r : e->renditions) {
    if (r) n += r->data.size() + r->wire->size();
  }
  return n;
}

constexpr unsigned bit(Format f) {
  return 1u << static_cast<unsigned>(f);
}
constexpr Format kPatchFormats[] = {Format::kJsonPatch, Format::kMergePatch};

const char* store_problem(StoreErrorKind k) {
  switch (k) {
    case StoreErrorKind::kFull:
      return "no space left";
    case StoreErrorKind::kReadOnly:
      return "read-only";
    case StoreErrorKind::kBusy:
      return "locked by another process";
    case StoreErrorKind::kIo:
      return "I/O error";
    case StoreErrorKind::kCorrupt:
      return "database damaged";
    case StoreErrorKind::kBehind:
      return "the shared store lost events (a failover to a replica that lagged); a new epoch "
             "starts";
    default:
      return "failed";
  }
}

}  // namespace

namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void Presence::arrive(std::chrono::steady_clock::time_point now) {
  last_ns.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  clients.fetch_add(1);
}

void Presence::leave(std::chrono::steady_clock::time_point now) {
  last_ns.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  clients.fetch_sub(1);
}

void Presence::changed() {
  changes.fetch_add(1);
  // A wait begins under the stream's lock, as this runs: one that began
  // before is counted in `waiting` now.
  if (waiting.load() > 0) park_signal();
}

std::chrono::steady_clock::time_point Presence::last() const {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(last_ns.load()));
}

Stream::Stream(std::string key, std::string stream, Options options, Store* store,
               Coordinator* coordinator, Clock::time_point now)
    : key_(std::move(key)),
      stream_(std::move(stream)),
      options_(std::move(options)),
      store_(store),
      coordinator_(coordinator) {
  presence_->last_ns.store(steady_ns());
  std::optional<PersistedState> saved;
  try {
    saved = store_->load(key_, stream_, history_limit());
  } catch (const StoreError& e) {
    if (e.kind() == StoreErrorKind::kOwned) throw;
    log::error("cannot load saved state; starting a new epoch",
               {{"instance", key_}, {"error", e.what()}});
  }
  std::shared_ptr<const json::Json> doc;
  if (saved && !saved->epoch.empty()) {
    doc = saved->doc;
    if (!doc && saved->doc_text) {
      try {
        doc = std::make_shared<const json::Json>(json::parse(*saved->doc_text));
      } catch (const json::ParseError& e) {
        log::error("saved document unreadable; starting a new epoch",
                   {{"instance", key_}, {"error", e.what()}});
        saved.reset();
      }
    }
  }
  MutexLock lock(mu_);
  status_.since = now;
  if (!saved || saved->epoch.empty()) {
    lock.unlock();
    start_new_epoch(now);
    coordinator_->follow(key_, this);
    return;
  }
  epoch_ = saved->epoch;
  seq_ = saved->seq;
  doc_seq_ = saved->doc_seq;
  doc_ = std::move(doc);
  doc_changed_ = from_unix_ms(saved->doc_changed_ms);
  status_.last_success = from_unix_ms(saved->fetched_ms);
  for (const auto& ev : saved->history) remember_locked(ev);
  if (coordinator_->shared()) {
    // Another process polls (or did): its last success and its last
    // status are this instance's too, until this one polls itself.
    status_.polled = saved->fetched_ms != 0;
    for (auto it = saved->history.rbegin(); it != saved->history.rend(); ++it) {
      if ((*it)->type != "status") continue;
      apply_status_locked(*it);
      break;
    }
  }
  lock.unlock();
  coordinator_->follow(key_, this);
}

Stream::~Stream() {
  coordinator_->unfollow(key_, this);
}

void Stream::start_new_epoch(Clock::time_point now) {
  std::string epoch = sse::new_epoch();
  bool recorded = true;
  std::string why;
  try {
    store_->reset(key_, stream_, epoch);
  } catch (const StoreError& e) {
    if (e.kind() == StoreErrorKind::kOwned) throw;
    recorded = false;
    why = std::string("state store cannot record events: ") + store_problem(e.kind());
    log::error("cannot start a new history in the state store",
               {{"instance", key_}, {"error", e.what()}});
  }
  MutexLock lock(mu_);
  epoch_ = std::move(epoch);
  seq_ = 0;
  doc_seq_ = 0;
  doc_.reset();
  status_.since = now;
  status_.recording = recorded;
  status_.store_error = why;
}

std::string Stream::id_of(const std::string& epoch, std::uint64_t seq) const {
  return sse::EventId{epoch, seq}.str();
}

std::size_t Stream::history_limit() const {
  return options_.live_history ? options_.live_history->load() : options_.history;
}

std::size_t Stream::history_bytes_limit() const {
  return options_.live_history_bytes ? options_.live_history_bytes->load() : options_.history_bytes;
}

void Stream::remember_locked(const EventPtr& ev) {
  history_.push_back(ev);
  history_size_ += size_of(ev);
  // The newest event always stays, whatever its size.
  const std::size_t limit = history_limit(), byte_limit = history_bytes_limit();
  while (history_.size() > 1 && (history_.size() > limit || history_size_ > byte_limit)) {
    history_size_ -= size_of(history_.front());
    history_.pop_front();
  }
}

std::uint64_t Stream::keep_from_locked(const std::vector<EventPtr>& events) const {
  // Walks the bounds as remember_locked() will, without changing anything.
  std::size_t count = history_.size() + events.size();
  std::size_t bytes = history_size_;
  for (const auto& ev : events) bytes += size_of(ev);
  const std::size_t held = history_.size();
  const std::size_t limit = history_limit(), byte_limit = history_bytes_limit();
  std::size_t i = 0;  // index into history_, then into events
  while (count > 1 && (count > limit || bytes > byte_limit)) {
    bytes -= size_of(i < held ? history_[i] : events[i - held]);
    --count;
    ++i;
  }
  return (i < held ? history_[i] : events[i - held])->seq;
}

std::string Stream::status_data(const Status& st, Clock::time_point now) const {
  json::Json d = json::Json::object();
  d["state"] = healthy(st) ? "ok" : "stale";  // an event follows a poll: never pending
  if (!st.ok) {
    d["reason"] = st.reason;
    if (st.http_status) d["http_status"] = st.http_status;
  } else if (!st.recording) {
    d["reason"] = st.store_error;
  }
  if (!st.recording) d["recording"] = false;
  d["since"] = iso8601(st.since);
  if (st.last_success.time_since_epoch().count() != 0) {
    d["last_success"] = iso8601(st.last_success);
  }
  d["at"] = iso8601(now);
  return json::dump(d);
}

bool Stream::publish(std::vector<std::pair<std::string, std::string>> changes,
                     std::shared_ptr<const json::Json> new_doc, const Status& new_status,
                     Clock::time_point now) {
  Commit commit;
  std::uint64_t seq;
  bool was_recording;
  std::shared_ptr<const json::Json> prev;  // the document before, for renditions
  unsigned wanted = 0;                     // formats whose subscribers need renditions
  {
    MutexLock lock(mu_);
    if (retired_) return false;
    prev = doc_;
    if (new_doc) wanted = missing_renditions_locked(nullptr, nullptr);
    commit.epoch = epoch_;
    seq = seq_;
    commit.doc_seq = doc_seq_;
    commit.doc_changed_ms = unix_ms(doc_changed_);
    was_recording = status_.recording;
  }
  // Back from a store outage: say so first, with an id, as a recorded event.
  if (!was_recording && (changes.empty() || changes.front().first != "status")) {
    Status back = new_status;
    back.recording = true;
    back.store_error.clear();
    changes.insert(changes.begin(), {"status", status_data(back, now)});
  }
  if (changes.empty()) return true;
  commit.events.reserve(changes.size());
  // The event that makes the new document is the last one (a recovery
  // status comes first); its renditions are made here, without the lock.
  EventPtr snap;  // the new document's snapshot, made now for snapshot subscribers
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto& [type, data] = changes[i];
    ++seq;
    std::string id = id_of(commit.epoch, seq);
    std::array<EventPtr, kFormatCount> rend;
    if (new_doc && i + 1 == changes.size()) {
      rend = render(wanted, prev.get(), *new_doc, seq, id);
      if (wanted & bit(Format::kSnapshot)) {
        snap = make_event(seq, id, "snapshot", diff::snapshot_data(*new_doc, options_.diff.mode));
        renditions_made_[static_cast<std::size_t>(Format::kSnapshot)].fetch_add(1);
      }
    }
    commit.events.push_back(
        make_event(seq, std::move(id), std::move(type), std::move(data), std::move(rend)));
  }
  if (new_doc) {
    commit.doc = new_doc;
    commit.doc_seq = seq;
    commit.doc_changed_ms = unix_ms(now);
  }
  commit.fetched_ms = unix_ms(new_status.last_success);
  {
    // With a local coordinator history_ changes only on this thread: what
    // is computed now still holds when the events are appended below. A
    // follower's on_remote() may change it meanwhile (the lease was lost);
    // Redis trims by count and ignores keep_from.
    MutexLock lock(mu_);
    commit.keep_from = keep_from_locked(commit.events);
  }
  try {
    store_->append(key_, commit);
  } catch (const StoreError& e) {
    if (e.kind() == StoreErrorKind::kFenced) {
      // A shared store: another process polls this instance now; its events
      // arrive through on_remote().
      log::info("append refused by the shared store; not polling this instance",
                {{"instance", key_}, {"error", e.what()}});
      return false;
    }
    Status attempted = new_status;
    attempted.recording = false;
    attempted.store_error =
        std::string("state store cannot record events: ") + store_problem(e.kind());
    {
      MutexLock lock(mu_);
      // Keep what the upstream told us (state, reason), not the document.
      Status before = status_;
      status_ = attempted;
      status_.since = before.recording ? now : before.since;
      bool tell =
          before.recording || before.ok != attempted.ok || before.reason != attempted.reason;
      if (tell && !retired_) {
        // No id: an id must never be issued for an event that is not
        // recorded. Clients keep their last id and resume from it later.
        EventPtr ev = make_event(0, "", "status", status_data(status_, now));
        last_status_event_ = ev;
        presence_->changed();
        for (Listener* l : listeners_) l->on_event(ev);
      }
      if (!before.recording) return false;
    }
    log::error("state store refused events; clients are told the stream cannot record",
               {{"instance", key_}, {"error", e.what()}});
    return false;
  }
  MutexLock lock(mu_);
  // A subscriber of a format nobody used before may have attached since the
  // renditions were made: make what it needs without the lock, and look
  // again (formats are added under the lock; whatever on_remote() made
  // current meanwhile is checked below).
  while (new_doc) {
    unsigned missing = missing_renditions_locked(commit.events.back(), snap);
    if (!missing) break;
    lock.unlock();
    const EventPtr last = commit.events.back();
    std::array<EventPtr, kFormatCount> rend = last->renditions;
    std::array<EventPtr, kFormatCount> more =
        render(missing, prev.get(), *new_doc, last->seq, last->id);
    for (std::size_t f = 0; f < kFormatCount; ++f) {
      if (more[f]) rend[f] = std::move(more[f]);
    }
    if ((missing & bit(Format::kSnapshot)) && !snap) {
      snap = make_event(last->seq, last->id, "snapshot",
                        diff::snapshot_data(*new_doc, options_.diff.mode));
      renditions_made_[static_cast<std::size_t>(Format::kSnapshot)].fetch_add(1);
    }
    commit.events.back() = make_event(last->seq, last->id, last->type, last->data, rend);
    lock.lock();
  }
  if (commit.epoch != epoch_ || seq_ >= seq) {
    // A shared store: on_remote() delivered these very events first (or the
    // epoch moved on meanwhile): they are not published twice.
    return true;
  }
  if (!status_.recording) {
    log::info("state store records events again", {{"instance", key_}});
  }
  seq_ = seq;
  if (new_doc) {
    doc_ = std::move(new_doc);
    doc_seq_ = seq;
    doc_changed_ = now;
    snapshot_ = snap;  // null unless made above: then made on first need
  }
  status_ = new_status;
  status_.recording = true;
  status_.store_error.clear();
  for (auto& ev : commit.events) {
    remember_locked(ev);
    ++published_;
    if (ev->type == "status") last_status_event_ = ev;
    if (retired_) continue;
    presence_->changed();
    for (Listener* l : listeners_) l->on_event(ev);
  }
  return true;
}

bool Stream::update(const json::Json& next, Clock::time_point now) {
  OutcomeCount counted{outcomes_};
  std::shared_ptr<const json::Json> prev;
  Status st;
  {
    MutexLock lock(mu_);
    prev = doc_;
    st = status_;
  }
  // The diff runs without the lock, so that clients attaching meanwhile do
  // not wait for it: doc_ changes only on this thread, or in on_remote()
  // after this process lost the lease (the fence then refuses these events,
  // unless the lease was won back, and caught up, within this one poll).
  // May throw DiffError: nothing has changed yet.
  std::vector<diff::Change> changes = diff::compute(prev.get(), next, options_.diff);
  const bool was_ok = st.ok;
  st.polled = true;
  st.last_success = now;
  std::vector<std::pair<std::string, std::string>> out;
  if (!was_ok) {
    st.ok = true;
    st.reason.clear();
    st.http_status = 0;
    st.since = now;
    st.recording = true;  // as the event would say once recorded
    out.emplace_back("status", status_data(st, now));
  }
  for (auto& c : changes) out.emplace_back(std::move(c.type), std::move(c.data));
  bool recording;
  {
    MutexLock lock(mu_);
    recording = status_.recording;
  }
  if (out.empty() && recording) {
    {
      MutexLock lock(mu_);
      status_.polled = true;
      status_.last_success = now;
    }
    store_->touch(key_, unix_ms(now));
    return true;
  }
  std::shared_ptr<const json::Json> doc;
  if (!changes.empty()) doc = std::make_shared<const json::Json>(next);
  return publish(std::move(out), std::move(doc), st, now);
}

void Stream::unchanged(Clock::time_point now) {
  OutcomeCount counted{outcomes_};
  Status st;
  {
    MutexLock lock(mu_);
    st = status_;
  }
  st.polled = true;
  st.last_success = now;
  if (st.ok && st.recording) {
    {
      MutexLock lock(mu_);
      status_.polled = true;
      status_.last_success = now;
    }
    store_->touch(key_, unix_ms(now));
    return;
  }
  // Stale (the upstream is back), or the store was refusing (try again):
  // a recorded status event says the stream is live.
  if (!st.ok) {
    st.ok = true;
    st.reason.clear();
    st.http_status = 0;
    st.since = now;
  }
  st.recording = true;
  publish({{"status", status_data(st, now)}}, nullptr, st, now);
}

void Stream::fail(const std::string& reason, int http_status, Clock::time_point now) {
  OutcomeCount counted{outcomes_};
  Status st;
  {
    MutexLock lock(mu_);
    if (!status_.ok && status_.reason == reason && status_.http_status == http_status) {
      status_.polled = true;
      return;
    }
    st = status_;
  }
  // Polled, and stale, become visible together once the status event is
  // recorded: never "polled and ok" after a failed first poll.
  st.polled = true;
  if (st.ok) st.since = now;
  st.ok = false;
  st.reason = reason;
  st.http_status = http_status;
  st.recording = true;
  publish({{"status", status_data(st, now)}}, nullptr, st, now);
}

EventPtr Stream::rendition_locked(const EventPtr& ev, Format format) const {
  if (format == Format::kNative || ev->type == "status") return ev;
  if (format == Format::kSnapshot) {
    // Every change is the whole document: only the event that made the
    // current one is sent, as that document's snapshot (same id).
    if (doc_ && !ev->id.empty() && ev->seq == doc_seq_) return snapshot_locked();
    return nullptr;
  }
  if (const EventPtr& r = ev->renditions[static_cast<std::size_t>(format)]) return r;
  // A snapshot is valid in every format.
  if (ev->type == "snapshot") return ev;
  return nullptr;
}

unsigned Stream::missing_renditions_locked(const EventPtr& doc_event, const EventPtr& snap) const {
  unsigned missing = 0;
  for (Format f : kPatchFormats) {
    if (format_users(f) > 0 && !(doc_event && doc_event->renditions[static_cast<std::size_t>(f)])) {
      missing |= bit(f);
    }
  }
  if (format_users(Format::kSnapshot) > 0 && !snap) missing |= bit(Format::kSnapshot);
  return missing;
}

std::array<EventPtr, kFormatCount> Stream::render(unsigned wanted, const json::Json* prev,
                                                  const json::Json& next, std::uint64_t seq,
                                                  const std::string& id) const {
  std::array<EventPtr, kFormatCount> out;
  for (Format f : kPatchFormats) {
    if (!(wanted & bit(f))) continue;
    diff::Options o = options_.diff;
    o.mode = f == Format::kJsonPatch ? config::DiffMode::kJsonPatch : config::DiffMode::kMergePatch;
    std::vector<diff::Change> changes;
    try {
      changes = diff::compute(prev, next, o);
    } catch (const diff::DiffError&) {
      changes.clear();
    }
    // One event per change in these modes; anything else (nothing found
    // where the stream's own mode saw a change) is sent as the document.
    if (changes.size() != 1) changes = {{"snapshot", diff::snapshot_data(next, o.mode)}};
    out[static_cast<std::size_t>(f)] =
        make_event(seq, id, std::move(changes[0].type), std::move(changes[0].data));
    renditions_made_[static_cast<std::size_t>(f)].fetch_add(1);
  }
  return out;
}

void Stream::add_format_user_locked(Format format) {
  presence_->format_users[static_cast<std::size_t>(format)].fetch_add(1);
}

void Stream::remove_format_user(Format format) {
  presence_->format_users[static_cast<std::size_t>(format)].fetch_sub(1);
}

std::int64_t Stream::format_users(Format format) const {
  return presence_->format_users[static_cast<std::size_t>(format)].load();
}

std::uint64_t Stream::renditions_made(Format format) const {
  return renditions_made_[static_cast<std::size_t>(format)].load();
}

void Stream::add_listener_locked(Listener* l) {
  listeners_.push_back(l);
}

void Stream::remove_listener_locked(Listener* l) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

void Stream::retire_locked() {
  if (retired_) return;
  retired_ = true;
  presence_->changed();
  std::vector<Listener*> ls;
  ls.swap(listeners_);
  for (Listener* l : ls) l->on_retired();
}

std::string Stream::last_id_locked() const {
  return seq_ ? id_of(epoch_, seq_) : std::string();
}

DocumentView Stream::view() const {
  MutexLock lock(mu_);
  DocumentView v;
  v.has_doc = doc_ != nullptr;
  if (doc_) v.doc_id = id_of(epoch_, doc_seq_);
  v.last_id = last_id_locked();
  v.epoch = epoch_;
  v.changed = doc_changed_;
  v.status = status_;
  v.events = published_;
  v.history = history_.size();
  return v;
}

Status Stream::status() const {
  MutexLock lock(mu_);
  return status_;
}

}  // namespace pb::stream
