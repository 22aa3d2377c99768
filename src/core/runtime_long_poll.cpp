// Runtime::long_poll and what a waiting long-poll holds (core/long_poll.h).
#include <utility>

#include "core/long_poll.h"
#include "core/mux_channel.h"
#include "core/runtime.h"
#include "core/stream_locks.h"
#include "json/document.h"
#include "sse/event_id.h"

namespace pb::core {
namespace {

// Appends `text` as a JSON string. Ids and event types are printable ASCII
// without quotes or backslashes: written as they are; anything else goes
// through the JSON library's escaping.
void append_quoted(std::string& body, const std::string& text) {
  for (char ch : text) {
    if (ch < 0x20 || ch == '"' || ch == '\\' || ch == 0x7f) {
      body += json::dump(json::Json(text));
      return;
    }
  }
  body += '"';
  body += text;
  body += '"';
}

// Appends one entry of "events" (no id member for an id-less event).
void append_entry(std::string& body, const std::string& id, const std::string& type,
                  const std::string& data) {
  body += body.back() == '[' ? "{" : ",{";
  if (!id.empty()) {
    body += "\"id\":";
    append_quoted(body, id);
    body += ',';
  }
  body += "\"event\":";
  append_quoted(body, type);
  body += ",\"data\":";
  body += data;
  body += '}';
}

// Events of a replay that the client may already have had: an id-less
// status is current state, not history (see the header).
void drop_idless(std::vector<stream::EventPtr>& events) {
  std::vector<stream::EventPtr> kept;
  kept.reserve(events.size());
  for (auto& ev : events) {
    if (!ev->id.empty()) kept.push_back(std::move(ev));
  }
  events.swap(kept);
}

struct Answer {
  std::string body = "{\"events\":[";
  std::size_t events = 0;
  std::size_t bytes = 0;
  bool fresh = true;
  std::string last_id;  // the last id given, if any

  // Whether another event may go in (the first always does).
  bool room() const {
    return events == 0 || (events < kLongPollMaxEvents && bytes < kLongPollMaxBytes);
  }
  void add(const std::string& id, const std::string& type, const std::string& data) {
    append_entry(body, id, type, data);
    ++events;
    bytes += data.size();
    if (!id.empty()) last_id = id;
  }
  std::string finish(const std::string& position) {
    body += "],\"last_id\":";
    if (position.empty()) {
      body += "null";
    } else {
      append_quoted(body, position);
    }
    body += '}';
    return std::move(body);
  }
};

// One stream: its own ids and payloads.
Answer answer_one_locked(Instance& inst, const LongPollRequest& req,
                         std::string& position) PB_NO_THREAD_SAFETY_ANALYSIS {
  stream::Stream& s = inst.stream();
  const stream::Format f =
      stream::resolve_format(inst.cfg().diff, req.format).value_or(stream::Format::kNative);
  stream::ResumePlan plan = s.plan_resume_locked(req.last_id, f);
  if (!plan.fresh && !req.woken) drop_idless(plan.events);
  Answer a;
  a.fresh = plan.fresh;
  for (const auto& ev : plan.events) {
    if (!a.room()) break;
    a.add(ev->id, ev->type, json_payload(inst.cfg().diff, *ev));
  }
  if (!a.last_id.empty()) {
    position = a.last_id;
  } else if (req.last_id && !plan.fresh) {
    position = *req.last_id;
  } else {
    position = s.position_locked();
  }
  return a;
}

// Several streams: the {stream, data} envelope and composite ids, as on a
// multiplexed SSE connection (MuxChannel::preamble_locked).
Answer answer_mux_locked(const std::vector<std::shared_ptr<Instance>>& insts,
                         const LongPollRequest& req,
                         std::string& position) PB_NO_THREAD_SAFETY_ANALYSIS {
  std::vector<std::string> parts;
  if (req.last_id) parts = sse::split_composite(*req.last_id);
  const bool usable = parts.size() == insts.size();
  std::vector<std::string> positions = usable ? parts : std::vector<std::string>(insts.size());
  Answer a;
  bool all_fresh = true;
  for (std::size_t i = 0; i < insts.size() && a.room(); ++i) {
    Instance& inst = *insts[i];
    const stream::Format f =
        stream::resolve_format(inst.cfg().diff, req.format).value_or(stream::Format::kNative);
    std::optional<std::string> mine;
    if (usable && !parts[i].empty()) mine = parts[i];
    stream::ResumePlan plan = inst.stream().plan_resume_locked(mine, f);
    if (!plan.fresh && !req.woken) drop_idless(plan.events);
    all_fresh = all_fresh && plan.fresh;
    if (plan.fresh && plan.events.empty()) positions[i] = inst.stream().position_locked();
    const std::string quoted = json::dump(json::Json(inst.address()));
    for (const auto& ev : plan.events) {
      if (!a.room()) break;
      if (!ev->id.empty()) positions[i] = ev->id;
      const std::string id = ev->id.empty() ? std::string() : sse::join_composite(positions);
      a.add(id, ev->type, mux_data(quoted, inst.cfg().diff, *ev));
    }
  }
  a.fresh = all_fresh;
  position = sse::join_composite(positions);
  return a;
}

// What a request with nothing to answer waits on: each instance's change
// count now, and a subscription to its format meanwhile. Under every
// instance's lock (StreamLocks: a dynamic set the analysis cannot follow).
std::shared_ptr<LongPollWait> wait_locked(const std::vector<std::shared_ptr<Instance>>& insts,
                                          stream::Format format,
                                          Clock* clock) PB_NO_THREAD_SAFETY_ANALYSIS {
  std::vector<LongPollWait::Member> members;
  for (const auto& i : insts) {
    const stream::Format f =
        stream::resolve_format(i->cfg().diff, format).value_or(stream::Format::kNative);
    if (f != stream::Format::kNative) i->stream().add_format_user_locked(f);
    members.push_back({i->stream().presence(), i->stream().presence()->changes.load(), f});
  }
  return std::make_shared<LongPollWait>(std::move(members), clock);
}

}  // namespace

LongPollWait::LongPollWait(std::vector<Member> members, Clock* clock)
    : members_(std::move(members)), clock_(clock) {
  for (const auto& m : members_) {
    m.presence->arrive(clock_->now());
    m.presence->waiting.fetch_add(1);
  }
}

LongPollWait::~LongPollWait() {
  for (const auto& m : members_) {
    if (m.format != stream::Format::kNative) {
      m.presence->format_users[static_cast<std::size_t>(m.format)].fetch_sub(1);
    }
    m.presence->waiting.fetch_sub(1);
    m.presence->leave(clock_->now());
  }
}

bool LongPollWait::changed() const {
  for (const auto& m : members_) {
    if (m.presence->changes.load(std::memory_order_relaxed) != m.seen) return true;
  }
  return false;
}

LongPollResult Runtime::long_poll(std::vector<std::shared_ptr<Instance>> insts,
                                  const LongPollRequest& req) {
  // Successors are looked up at most this often (an instance retired
  // without being marked retiring would otherwise be found again).
  for (int round = 0;; ++round) {
    if (round == 3) {
      LongPollResult r;
      r.kind = LongPollResult::kGone;
      r.error = LookupError(LookupFailure::kBusy, "the stream is being replaced", 1);
      return r;
    }
    bool replaced = false;
    for (const auto& i : insts) replaced = replaced || i->retiring().load();
    if (!replaced) {
      for (const auto& i : insts) i->stream().prepare_snapshot();
      StreamLocks locks(insts);
      if (!any_retired_locked(insts)) {
        std::string position;
        Answer a = req.multiplexed ? answer_mux_locked(insts, req, position)
                                   : answer_one_locked(*insts[0], req, position);
        LongPollResult r;
        r.fresh = a.fresh;
        r.events = a.events;
        if (a.events == 0 && !req.give_up) {
          // Nothing yet: wait for the next change of any of them, counted
          // as their client and as a subscriber of the format meanwhile.
          r.kind = LongPollResult::kWait;
          r.wait = wait_locked(insts, req.format, options_.clock);
        } else {
          r.kind = LongPollResult::kAnswer;
          r.body = a.finish(position);
          // The instances were used now: their linger counts from here.
          for (const auto& i : insts) {
            i->stream().presence()->arrive(options_.clock->now());
            i->stream().presence()->leave(options_.clock->now());
          }
        }
        locks.release();
        // A client arrived: an idle poller polls again. A woken request's
        // first run told it already.
        if (!req.woken) {
          for (const auto& i : insts) scheduler_.wake(&i->poller());
        }
        return r;
      }
    }
    // Being replaced: ask the successors, as attach() does.
    std::vector<std::shared_ptr<Instance>> next;
    for (const auto& i : insts) {
      if (!i->retiring().load()) {
        next.push_back(i);
        continue;
      }
      LookupError err;
      InstanceRequest again = i->request();
      again.create = true;
      auto successor = find(again, &err);
      if (!successor) {
        LongPollResult r;
        r.kind = LongPollResult::kGone;
        r.error = err;
        return r;
      }
      next.push_back(std::move(successor));
    }
    insts = std::move(next);
  }
}

}  // namespace pb::core
