#include "server/console_state.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/mutex.h"
#include "common/time_format.h"
#include "log/private_id.h"
#include "server/config_names.h"
#include "sse/event_id.h"
#include "stream/format.h"

namespace pb::server {
namespace {

using json::Json;

constexpr const char* kConsoleMasked = "***";

// Header values shown as they are: those that never carry a credential.
// Every other header's value is masked (an allow-list, so that a custom
// "X-Api-Key" is masked without anyone listing it).
bool console_harmless_header(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* const kShown[] = {"accept",          "accept-language", "accept-encoding",
                                       "content-type",    "user-agent",      "cache-control",
                                       "x-requested-with"};
  return std::any_of(std::begin(kShown), std::end(kShown),
                     [&](const char* h) { return name == h; });
}

// The URL with any user:password@ and every query value masked; parameter
// placeholders ({id}) and names stay.
std::string console_masked_url(const std::string& url) {
  std::string out = url;
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const std::size_t host = scheme + 3;
    const std::size_t end = out.find_first_of("/?#", host);
    const std::size_t at = out.find('@', host);
    if (at != std::string::npos && (end == std::string::npos || at < end)) {
      out.replace(host, at - host, kConsoleMasked);
    }
  }
  const std::size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::string masked = out.substr(0, q + 1);
  std::size_t i = q + 1;
  while (i <= out.size()) {
    std::size_t amp = out.find('&', i);
    if (amp == std::string::npos) amp = out.size();
    const std::string item = out.substr(i, amp - i);
    const std::size_t eq = item.find('=');
    masked += eq == std::string::npos ? item : item.substr(0, eq + 1) + kConsoleMasked;
    if (amp < out.size()) masked += '&';
    i = amp + 1;
  }
  return masked;
}

Json console_masked_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  Json out = Json::array();
  for (const auto& [name, value] : headers) {
    Json h = Json::object();
    h["name"] = name;
    h["value"] = console_harmless_header(name) ? value : std::string(kConsoleMasked);
    out.push_back(std::move(h));
  }
  return out;
}

Json console_durations_json(const upstream::DurationRing& ring) {
  Json out = Json::array();
  for (const upstream::PollDuration& d : ring.recent()) {
    Json pair = Json::array();
    pair.push_back(d.ended_ms);
    pair.push_back(d.duration_us);
    out.push_back(std::move(pair));
  }
  return out;
}

Json console_row(core::Runtime& runtime, core::Instance& inst) {
  const stream::DocumentView v = inst.stream().view();
  const upstream::Counters c = inst.poller().counters();
  Json s = Json::object();
  s["id"] = console_id(inst);
  s["stream"] = inst.cfg().name;
  s["kind"] = inst.per_user()               ? "per-user"
              : inst.tmpl().parameterized() ? "parameterized"
                                            : "plain";
  s["state"] = stream::state_name(v.status);
  if (!v.status.ok) {
    s["reason"] = v.status.reason;
    if (v.status.http_status) s["http_status"] = v.status.http_status;
  } else if (!v.status.recording) {
    s["reason"] = v.status.store_error;
  }
  if (v.status.since.time_since_epoch().count()) s["since_ms"] = unix_ms(v.status.since);
  if (v.status.last_success.time_since_epoch().count()) {
    s["last_success_ms"] = unix_ms(v.status.last_success);
  }
  if (v.has_doc) s["changed_ms"] = unix_ms(v.changed);
  s["polling"] = !runtime.scheduler().is_idle(&inst.poller());
  s["clients"] = inst.stream().client_count();
  s["events"] = v.events;
  s["history"] = v.history;
  s["last_id"] = v.last_id;
  s["interval_ms"] = inst.cfg().interval.count();
  s["polls"] = c.polls;
  s["failures"] = c.failures;
  s["last_duration_us"] = c.last_duration_us;
  s["durations"] = console_durations_json(inst.poller().durations());
  return s;
}

}  // namespace

std::string console_id(const core::Instance& inst) {
  return inst.per_user() ? log::private_id(inst.key()) : inst.address();
}

std::shared_ptr<core::Instance> find_console_instance(core::Runtime& runtime,
                                                      const std::string& id) {
  for (auto& inst : runtime.instances()) {
    if (console_id(*inst) == id) return inst;
  }
  return nullptr;
}

Json console_overview(core::Runtime& runtime, const config::Config& cfg) {
  Json list = Json::array();
  auto instances = runtime.instances();
  // Grouped by stream, then by id: a parameterized stream's instances sit
  // under it, in a stable order.
  std::sort(instances.begin(), instances.end(), [](const auto& a, const auto& b) {
    if (a->cfg().name != b->cfg().name) return a->cfg().name < b->cfg().name;
    return console_id(*a) < console_id(*b);
  });
  std::set<std::string> live;
  for (const auto& inst : instances) {
    live.insert(inst->cfg().name);
    list.push_back(console_row(runtime, *inst));
  }
  Json idle = Json::array();
  for (const config::StreamConfig& sc : cfg.streams) {
    const bool per_user = !sc.auth.forward_headers.empty();
    if ((sc.params.empty() && !per_user) || live.count(sc.name) != 0) continue;
    Json row = Json::object();
    row["id"] = sc.name;  // the key the feed's patches name array items by
    row["stream"] = sc.name;
    row["kind"] = per_user ? "per-user" : "parameterized";
    idle.push_back(std::move(row));
  }
  Json body = Json::object();
  body["now_ms"] = unix_ms(std::chrono::system_clock::now());
  body["streams"] = std::move(list);
  body["idle"] = std::move(idle);
  return body;
}

Json masked_stream_config(const config::StreamConfig& cfg) {
  Json c = Json::object();
  c["name"] = cfg.name;
  c["url"] = console_masked_url(cfg.url);
  c["path"] = cfg.path;
  c["method"] = cfg.method;
  if (!cfg.body.empty()) c["body"] = kConsoleMasked;
  c["headers"] = console_masked_headers(cfg.headers);
  c["parse"] = parse_mode_name(cfg.parse);
  c["diff"] = diff_mode_name(cfg.diff);
  c["select"] = cfg.select;
  Json ignore = Json::array();
  for (const auto& p : cfg.ignore) ignore.push_back(p);
  c["ignore"] = std::move(ignore);
  c["key"] = cfg.key;
  c["interval_ms"] = cfg.interval.count();
  c["timeout_ms"] = cfg.timeout.count();
  c["history"] = cfg.history;
  c["max_body"] = cfg.max_body;
  c["tls_verify"] = cfg.tls_verify;
  c["auth"] = auth_mode_name(cfg.auth.mode);
  if (cfg.oauth2.enabled()) {
    Json o = Json::object();
    o["token_url"] = console_masked_url(cfg.oauth2.token_url);
    o["client_id"] = kConsoleMasked;
    o["client_secret"] = kConsoleMasked;
    c["oauth2"] = std::move(o);
  }
  if (cfg.login.enabled()) {
    Json l = Json::object();
    l["url"] = console_masked_url(cfg.login.url);
    l["method"] = cfg.login.method;
    if (!cfg.login.body.empty()) l["body"] = kConsoleMasked;
    l["headers"] = console_masked_headers(cfg.login.headers);
    c["login"] = std::move(l);
  }
  return c;
}

Json console_detail(core::Runtime& runtime, core::Instance& inst) {
  Json d = console_row(runtime, inst);
  d["config"] = masked_stream_config(inst.cfg());
  const upstream::ResponseSummary last = inst.poller().last_response();
  if (last.received) {
    // The headers a poll keeps; none carries a credential but Location's
    // query, masked like the config's URLs.
    Json u = Json::object();
    u["status"] = last.status;
    u["at_ms"] = unix_ms(last.at);
    Json headers = Json::object();
    if (!last.content_type.empty()) headers["Content-Type"] = last.content_type;
    if (!last.etag.empty()) headers["ETag"] = last.etag;
    if (!last.last_modified.empty()) headers["Last-Modified"] = last.last_modified;
    if (!last.location.empty()) headers["Location"] = console_masked_url(last.location);
    u["headers"] = std::move(headers);
    if (!last.error.empty()) u["error"] = last.error;
    d["upstream"] = std::move(u);
  }
  stream::Stream& st = inst.stream();
  if (stream::EventPtr snap = st.snapshot()) {
    d["document_id"] = snap->id;
    d["document_bytes"] = snap->data.size();
    if (snap->data.size() <= kConsoleDocumentLimit) d["document"] = snap->data;
  }
  // The last events, replayed from the history as a client resuming from
  // kConsoleEvents ids back would get them.
  Json events = Json::array();
  {
    MutexLock lock(st.mutex());
    const std::string last = st.position_locked();
    if (auto id = sse::parse_event_id(last)) {
      const std::uint64_t from = id->seq > kConsoleEvents ? id->seq - kConsoleEvents : 0;
      stream::ResumePlan plan =
          st.plan_resume_locked(id->epoch + "-" + std::to_string(from), stream::Format::kNative);
      if (!plan.fresh) {
        for (const auto& ev : plan.events) {
          if (ev->id.empty()) continue;  // an id-less status event
          Json e = Json::object();
          e["id"] = ev->id;
          e["type"] = ev->type;
          e["bytes"] = ev->data.size();
          e["data"] = ev->data.size() <= 4096 ? ev->data : ev->data.substr(0, 4096) + "…";
          events.push_back(std::move(e));
        }
      }
    }
  }
  d["recent_events"] = std::move(events);
  return d;
}

}  // namespace pb::server
