#include "server/long_poll.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "core/access_log.h"
#include "log/log.h"
#include "server/api.h"
#include "server/http_server.h"
#include "sse/event_id.h"

namespace pb::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Counts one waiting long-poll for as long as its park holds it.
struct WaitingCount {
  explicit WaitingCount(std::shared_ptr<std::atomic<std::int64_t>> n) : n(std::move(n)) {
    this->n->fetch_add(1);
  }
  ~WaitingCount() { n->fetch_sub(1); }
  WaitingCount(const WaitingCount&) = delete;
  WaitingCount& operator=(const WaitingCount&) = delete;
  std::shared_ptr<std::atomic<std::int64_t>> n;
};

void log_answer(const httplib::Request& req,
                const std::vector<std::shared_ptr<core::Instance>>& insts,
                const std::optional<std::string>& last_id, const core::LongPollResult& r,
                std::chrono::milliseconds waited) {
  if (!log::access_enabled()) return;
  core::AccessInfo info = core::access_info(req.remote_addr + ":" + std::to_string(req.remote_port),
                                            insts, last_id, r.fresh);
  log::info("long-poll answered", {{"client", info.client},
                                   {"stream", info.stream},
                                   {"instance", info.instance},
                                   {"transport", "long-poll"},
                                   {"start", r.events == 0 ? std::string("none") : info.start},
                                   {"last_event_id", info.last_event_id},
                                   {"events", static_cast<std::int64_t>(r.events)},
                                   {"waited_ms", static_cast<std::int64_t>(waited.count())}});
}

}  // namespace

LongPoll::LongPoll(core::Runtime& runtime, const Current<config::Config>& running, Access& access)
    : runtime_(runtime), running_(running), access_(access) {}

bool LongPoll::requested(const httplib::Request& req, httplib::Response& res, bool& bad) {
  bad = false;
  if (!req.has_param("transport")) return false;
  const std::string t = req.get_param_value("transport");
  if (t == "long-poll") return true;
  if (t == "sse") return false;
  bad = true;
  set_error(res, 400, "unknown transport \"" + t.substr(0, 64) + "\": use sse or long-poll");
  return false;
}

void LongPoll::handle(const httplib::Request& req, httplib::Response& res,
                      std::vector<std::shared_ptr<core::Instance>> insts,
                      const Access::Admitted& admitted, stream::Format format, bool multiplexed,
                      const std::string& format_header) {
  const auto now = SteadyClock::now();
  const auto timeout = running_.get()->server.longpoll_timeout;
  // A run after a wait: the deadline set by the first run.
  const std::optional<SteadyClock::time_point> parked =
      HttpServer::admission_deadline(ParkKind::kLongPoll);
  // Not past the credential's end either: the run then refuses it (401),
  // as an SSE session closes at close_at.
  const SteadyClock::time_point deadline =
      parked ? *parked : std::min(now + timeout, admitted.close_at);
  if (!parked) requests_.fetch_add(1, std::memory_order_relaxed);

  core::LongPollRequest lp;
  {
    auto h = req.headers.find("Last-Event-ID");
    std::string query = req.get_param_value("lastEventId");
    lp.last_id = sse::resume_id(h != req.headers.end() ? &h->second : nullptr,
                                req.has_param("lastEventId") ? &query : nullptr);
  }
  lp.format = format;
  lp.multiplexed = multiplexed;
  lp.woken = parked.has_value();
  lp.give_up = parked.has_value() && now >= deadline;

  res.set_header("Cache-Control", "no-store");
  if (!format_header.empty()) res.set_header("X-Pollbridge-Format", format_header);
  if (req.method == "HEAD") {
    res.status = 200;
    res.set_content("", "application/json");
    return;
  }

  core::LongPollResult r = runtime_.long_poll(insts, lp);
  switch (r.kind) {
    case core::LongPollResult::kGone:
      lookup_error(res, r.error);
      return;
    case core::LongPollResult::kAnswer: {
      (r.events ? answered_events_ : answered_empty_).fetch_add(1, std::memory_order_relaxed);
      res.status = 200;
      res.set_content(std::move(r.body), "application/json");
      const auto waited =
          parked ? std::chrono::duration_cast<std::chrono::milliseconds>(now - (deadline - timeout))
                 : std::chrono::milliseconds(0);
      log_answer(req, insts, lp.last_id, r, std::max(waited, std::chrono::milliseconds(0)));
      return;
    }
    case core::LongPollResult::kWait:
      break;
  }
  // Nothing yet: wait without a thread. The admission is tracked like an
  // SSE session's, so that a reload's re-check can revoke it.
  access_.track(admitted.admission);
  auto count = std::make_shared<WaitingCount>(waiting_);
  std::shared_ptr<const Admission> admission = admitted.admission;
  std::shared_ptr<core::LongPollWait> wait = std::move(r.wait);
  auto ready = [wait, admission, count] {
    return wait->changed() || (admission && admission->revoked());
  };
  if (!HttpServer::park(std::move(ready), deadline, ParkKind::kLongPoll)) {
    set_error(res, 500, "cannot wait for the next event");
    return;
  }
  parks_.fetch_add(1, std::memory_order_relaxed);
}

void LongPoll::write_metrics(std::string& out) const {
  out += "# HELP pollbridge_longpoll_waiting Long-poll requests waiting for an event.\n";
  out += "# TYPE pollbridge_longpoll_waiting gauge\n";
  out += "pollbridge_longpoll_waiting " + std::to_string(waiting()) + "\n";
  out += "# HELP pollbridge_longpoll_requests_total Long-poll requests received.\n";
  out += "# TYPE pollbridge_longpoll_requests_total counter\n";
  out += "pollbridge_longpoll_requests_total " + std::to_string(requests_.load()) + "\n";
  out += "# HELP pollbridge_longpoll_answers_total Long-poll answers, with events or empty.\n";
  out += "# TYPE pollbridge_longpoll_answers_total counter\n";
  out += "pollbridge_longpoll_answers_total{result=\"events\"} " +
         std::to_string(answered_events_.load()) + "\n";
  out += "pollbridge_longpoll_answers_total{result=\"empty\"} " +
         std::to_string(answered_empty_.load()) + "\n";
  out += "# HELP pollbridge_longpoll_waits_total Long-poll requests that waited for an event.\n";
  out += "# TYPE pollbridge_longpoll_waits_total counter\n";
  out += "pollbridge_longpoll_waits_total " + std::to_string(parks_.load()) + "\n";
}

}  // namespace pb::server
