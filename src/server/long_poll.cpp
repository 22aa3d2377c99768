#include "server/long_poll.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "common/time_format.h"
#include "core/access_log.h"
#include "log/log.h"
#include "server/answer_fields.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/httplib_bridge.h"
#include "server/response_coding.h"

namespace pb::server {
namespace {

void log_answer(const LongPollSession::Parts& parts, const std::optional<std::string>& last_id,
                const core::LongPollResult& r, std::chrono::milliseconds waited) {
  if (!log::access_enabled()) return;
  core::AccessInfo info = core::access_info(parts.client, parts.insts, last_id, r.fresh);
  log::info("long-poll answered", {{"client", info.client},
                                   {"stream", info.stream},
                                   {"instance", info.instance},
                                   {"transport", "long-poll"},
                                   {"start", r.events == 0 ? std::string("none") : info.start},
                                   {"last_event_id", info.last_event_id},
                                   {"events", static_cast<std::int64_t>(r.events)},
                                   {"waited_ms", static_cast<std::int64_t>(waited.count())}});
}

// What a session's answers depend on besides its instances: the request's
// Origin (CORS) and Accept-Encoding (compression) fields.
std::vector<std::pair<std::string, std::string>> answer_fields(const httplib::Request& req) {
  std::vector<std::pair<std::string, std::string>> kept;
  auto origins = req.headers.equal_range("Origin");
  for (auto it = origins.first; it != origins.second; ++it) kept.emplace_back(*it);
  if (auto coding = HttplibBridge::accept_encoding(req)) {
    kept.emplace_back("Accept-Encoding", *coding);
  }
  return kept;
}

}  // namespace

LongPoll::LongPoll(core::Runtime& runtime, const Current<config::Config>& running, Access& access,
                   std::size_t max_clients)
    : runtime_(runtime), running_(running), access_(access), max_clients_(max_clients) {}

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

void LongPoll::fill(const LongPollSession& s, httplib::Response& res, std::string body) {
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  if (!s.parts_.format_header.empty()) {
    res.set_header("X-Pollbridge-Format", s.parts_.format_header);
  }
  res.set_content(std::move(body), "application/json");
}

void LongPoll::handle(const httplib::Request& req, httplib::Response& res,
                      std::vector<std::shared_ptr<core::Instance>> insts,
                      const Access::Admitted& admitted, stream::Format format, bool multiplexed,
                      const std::string& format_header) {
  const auto now = SteadyClock::now();
  const std::uint64_t version = running_.version();
  const auto running = running_.get();
  const auto timeout = running->server.longpoll_timeout;
  // A run after a wait: the deadline set by the first run.
  const std::optional<SteadyClock::time_point> parked =
      HttpServer::admission_deadline(ParkKind::kLongPoll);
  if (!parked) requests_.fetch_add(1, std::memory_order_relaxed);

  LongPollSession::Parts parts;
  parts.insts = std::move(insts);
  parts.admission = admitted.admission;
  parts.close_at = admitted.close_at;
  parts.format = format;
  parts.multiplexed = multiplexed;
  parts.format_header = format_header;
  parts.config = running;
  parts.config_version = version;
  parts.client = req.remote_addr + ":" + std::to_string(req.remote_port);
  parts.answer_fields = answer_fields(req);
  // auth: upstream admissions follow their own cache: such a request is
  // decided on a worker every time.
  parts.reusable =
      req.method == "GET" && std::none_of(admitted.upstream.begin(), admitted.upstream.end(),
                                          [](bool upstream) { return upstream; });
  auto s = std::make_shared<LongPollSession>(*this, std::move(parts));
  s->last_id_ = Api::resume_id_of(req);
  // Not past the credential's end either: the run then refuses it (401),
  // as an SSE session closes at close_at.
  s->deadline_ = parked ? *parked : std::min(now + timeout, admitted.close_at);
  s->started_ = parked ? s->deadline_ - timeout : now;

  if (req.method == "HEAD") {
    fill(*s, res, "");
    without_length(res);  // the GET's length depends on the events then
    return;
  }
  core::LongPollResult r = run(*s, parked.has_value(), now);
  if (r.kind == core::LongPollResult::kGone) {
    lookup_error(res, r.error);
    return;
  }
  // The admission is tracked like an SSE session's, so that a reload's
  // re-check can revoke a wait, or a later request the loop answers.
  if (r.kind == core::LongPollResult::kWait || s->reusable()) access_.track(admitted.admission);
  if (s->reusable()) HttpServer::keep_long_poll(s);
  if (r.kind == core::LongPollResult::kAnswer) {
    fill(*s, res, std::move(r.body));
    return;
  }
  // Nothing yet: wait without a thread.
  if (!HttpServer::park([s] { return s->ready(); }, s->deadline_, ParkKind::kLongPoll)) {
    set_error(res, 500, "cannot wait for the next event");
  }
}

core::LongPollResult LongPoll::run(LongPollSession& s, bool woken, SteadyClock::time_point now) {
  s.waiting_.reset();
  s.wait_.reset();  // a new wait is taken below if there is still nothing
  core::LongPollRequest lp;
  lp.last_id = s.last_id_;
  lp.format = s.parts_.format;
  lp.multiplexed = s.parts_.multiplexed;
  lp.woken = woken;
  lp.give_up = woken && now >= s.deadline_;
  core::LongPollResult r = runtime_.long_poll(s.parts_.insts, lp);
  switch (r.kind) {
    case core::LongPollResult::kAnswer: {
      (r.events ? answered_events_ : answered_empty_).fetch_add(1, std::memory_order_relaxed);
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.started_);
      log_answer(s.parts_, s.last_id_, r, std::max(waited, std::chrono::milliseconds(0)));
      break;
    }
    case core::LongPollResult::kWait:
      s.wait_ = std::move(r.wait);
      s.waiting_ = std::make_unique<WaitingCount>(waiting_);
      parks_.fetch_add(1, std::memory_order_relaxed);
      break;
    case core::LongPollResult::kGone:
      break;
  }
  return r;
}

LongPollSession::Answer LongPoll::run_on_loop(LongPollSession& s, bool woken,
                                              SteadyClock::time_point now) {
  LongPollSession::Answer a;  // kFallback
  const LongPollSession::Parts& p = s.parts_;
  bool stands = running_.version() == p.config_version && now < p.close_at &&
                !(p.admission && p.admission->revoked());
  for (const auto& i : p.insts) stands = stands && !i->retiring().load();
  // A new request is one more client: over server.max_clients, a worker's
  // run refuses it (503).
  if (stands && !woken) {
    const std::int64_t clients = runtime_.hub().clients() + waiting();
    stands = static_cast<std::size_t>(clients) < max_clients_;
  }
  if (!stands) {
    s.waiting_.reset();
    s.wait_.reset();
    return a;
  }
  core::LongPollResult r = run(s, woken, now);
  if (r.kind == core::LongPollResult::kGone) return a;
  if (!woken) requests_.fetch_add(1, std::memory_order_relaxed);
  on_loop_.fetch_add(1, std::memory_order_relaxed);
  if (r.kind == core::LongPollResult::kWait) {
    a.kind = LongPollSession::Answer::kWait;
    return a;
  }
  a.kind = LongPollSession::Answer::kAnswer;
  a.body = std::move(r.body);
  return a;
}

std::string LongPoll::finish_on_loop(LongPollSession& s, std::string body, bool close,
                                     const std::string& keep_alive) const {
  // A body too small to be compressed (response_coding.h) gets the same
  // fields every time but its length: the post-routing step runs once per
  // session and way of ending, and its head is kept in three parts.
  const bool small = body.size() < kMinCompressed;
  LongPollSession::Head& kept = s.heads_[close ? 1 : 0];
  const std::string length = std::to_string(body.size());
  if (small && !kept.before_length.empty()) {
    if (routed_) routed_->fetch_add(1);  // what the step counts
    const std::string& date = http_date_now();
    std::string out;
    out.reserve(kept.before_length.size() + kept.before_date.size() + kept.after_date.size() +
                date.size() + 24 + body.size());
    out += kept.before_length;
    out += length;
    out += kept.before_date;
    out += date;
    out += kept.after_date;
    out += body;
    return out;
  }
  httplib::Response res;
  fill(s, res, std::move(body));
  // What cpp-httplib's write_response_core() does around the post-routing
  // step, in its order.
  res.set_header("Content-Length", length);
  if (close) {
    res.set_header("Connection", "close");
  } else {
    res.set_header("Keep-Alive", keep_alive);
  }
  if (finish_) {
    httplib::Request req;  // what the step reads of a request: these fields
    req.method = "GET";
    for (const auto& field : s.parts_.answer_fields) req.headers.insert(field);
    finish_(req, res);
  }
  // Only 200 answers are made on the loop (anything else is a worker's).
  std::string head = "HTTP/1.1 200 OK\r\n";
  for (const auto& [name, value] : res.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  // Kept around the two values that change: the length, and the Date
  // (which sorts after Content-Length, as cpp-httplib writes the fields).
  const std::string field = "\r\nContent-Length: " + length + "\r\n";
  const std::string date = "\r\nDate: " + res.get_header_value("Date") + "\r\n";
  const std::size_t at = head.find(field);
  const std::size_t date_at = at == std::string::npos ? at : head.find(date, at + field.size() - 2);
  if (small && date_at != std::string::npos && !res.has_header("Content-Encoding")) {
    const std::size_t length_end = at + field.size() - 2;  // the CRLF after the number
    const std::size_t date_value = date_at + 8;            // after "\r\nDate: "
    kept.before_length = head.substr(0, length_end - length.size());
    kept.before_date = head.substr(length_end, date_value - length_end);
    kept.after_date = head.substr(date_at + date.size() - 2);
  }
  return head + res.body;
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
  out +=
      "# HELP pollbridge_longpoll_loop_runs_total Long-poll requests and ends of waits the "
      "connection loop answered or parked itself, without a worker.\n";
  out += "# TYPE pollbridge_longpoll_loop_runs_total counter\n";
  out += "pollbridge_longpoll_loop_runs_total " + std::to_string(on_loop_.load()) + "\n";
}

}  // namespace pb::server
