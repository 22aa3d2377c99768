// Api's operator side: the admin token check, POST /streams/{name}/poll,
// GET /readyz and GET /metrics (on the main listener, or on
// server.admin_listen when set; what the main listener shows anyone is
// decided by operator_view_public()). The client side is api.cpp and
// api_streams.cpp.
//
// Threads: the HTTP workers (pb-http), like the rest of Api.
#include <openssl/crypto.h>

#include <sstream>

#include "json/document.h"
#include "metrics/stream_metrics.h"
#include "server/api.h"
#include "server/front_door_metrics.h"
#include "server/histogram_metrics.h"
#include "server/response_coding.h"

namespace pb::server {

using json::Json;

bool Api::has_admin_token(const httplib::Request& req) const {
  const auto running = running_.get();
  const std::string& token = running->server.admin_token;
  if (token.empty()) return false;
  std::string auth = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  return auth.size() == prefix.size() + token.size() &&
         auth.compare(0, prefix.size(), prefix) == 0 &&
         CRYPTO_memcmp(auth.data() + prefix.size(), token.data(), token.size()) == 0;
}

bool Api::operator_view_public() const {
  // Access control in the config in force, in the policy in force, or on
  // any live instance's stream (one made before a reload that dropped it).
  const auto running = running_.get();
  if (admin_ != nullptr || running->auth.enabled || policy_.get()->enabled()) return false;
  for (const auto& s : running->streams) {
    if (s.auth.mode != config::AuthMode::kNone) return false;
  }
  for (const auto& inst : runtime_.instances()) {
    if (inst->cfg().auth.mode != config::AuthMode::kNone) return false;
  }
  return true;
}

void Api::handle_public_metrics(const httplib::Request& req, httplib::Response& res) {
  if (admin_ != nullptr) {
    set_error(res, 404, "/metrics is served on server.admin_listen");
    return;
  }
  const auto running = running_.get();
  if (!operator_view_public() && !running->server.public_metrics) {
    if (running->server.admin_token.empty()) {
      set_error(res, 403,
                "/metrics names protected streams: set server.admin_token (and scrape with it), "
                "server.admin_listen, or server.public_metrics: true");
      return;
    }
    if (!admin_allowed(req, res)) return;
  }
  handle_metrics(req, res);
}

bool Api::admin_allowed(const httplib::Request& req, httplib::Response& res) const {
  if (running_.get()->server.admin_token.empty()) {
    set_error(res, 403, "admin endpoints are disabled: set server.admin_token");
    return false;
  }
  bool ok = has_admin_token(req);
  if (!ok) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"pollbridge-admin\"");
    set_error(res, 401, "a valid admin token is required (Authorization: Bearer <token>)");
  }
  return ok;
}

void Api::handle_poll(const httplib::Request& req, httplib::Response& res,
                      const std::string& address) {
  if (!admin_allowed(req, res)) return;
  core::LookupError err;
  auto inst = runtime_.find(address, false, &err);
  if (!inst) {
    lookup_error(res, err);
    return;
  }
  // ?wait=true answers once the poll has finished, so a backend's webhook
  // knows its change has been seen (and published, if it was one).
  if (req.has_param("wait") && req.get_param_value("wait") != "false" &&
      req.get_param_value("wait") != "0") {
    auto limit = inst->cfg().timeout + std::chrono::seconds(1);
    if (!runtime_.trigger(inst, limit)) {
      set_error(res, 504, "the poll did not finish within the stream's timeout");
      return;
    }
    Json body = Json::object();
    body["status"] = "polled";
    auto v = inst->stream().view();
    body["state"] = stream::state_name(v.status);
    body["last_id"] = v.last_id;
    res.status = 200;
    res.set_content(json::dump(body) + "\n", "application/json");
    return;
  }
  runtime_.trigger(inst);
  res.status = 202;
  res.set_content("{\"status\":\"poll scheduled\"}\n", "application/json");
}

void Api::handle_readyz(const httplib::Request&, httplib::Response& res, bool detailed) {
  Json pending = Json::array();
  for (const auto& inst : runtime_.instances()) {
    if (inst->tmpl().parameterized()) continue;
    if (!inst->stream().status().polled && !runtime_.scheduler().is_idle(&inst->poller())) {
      pending.push_back(inst->address());
    }
  }
  Json body = Json::object();
  // A shared store (state.redis) that cannot be reached: no event can be
  // issued (docs/cluster.md); connected clients keep being served.
  const std::string store_problem = runtime_.coordinator().unavailable();
  const bool ready = pending.empty() && store_problem.empty();
  body["ready"] = ready;
  if (detailed && !pending.empty()) body["pending"] = pending;
  if (detailed && !store_problem.empty()) body["store"] = store_problem;
  res.status = ready ? 200 : 503;
  res.set_content(json::dump(body) + "\n", "application/json");
}

void Api::handle_metrics(const httplib::Request&, httplib::Response& res) {
  std::ostringstream o;
  hub::Stats hs = runtime_.hub().stats();
  auto metric = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  metric("pollbridge_clients", "gauge", "Connected SSE clients.");
  o << "pollbridge_clients " << hs.clients << '\n';
  metric("pollbridge_clients_attached_total", "counter", "SSE clients accepted.");
  o << "pollbridge_clients_attached_total " << hs.attached << '\n';
  metric("pollbridge_clients_evicted_total", "counter",
         "SSE clients disconnected for falling behind (slow) or not reading (stall).");
  o << "pollbridge_clients_evicted_total{reason=\"slow\"} " << hs.evicted_slow << '\n';
  o << "pollbridge_clients_evicted_total{reason=\"stall\"} " << hs.evicted_stall << '\n';
  metric("pollbridge_clients_refused_total", "counter", "SSE connections refused at a limit.");
  o << "pollbridge_clients_refused_total " << refused_.load() << '\n';
  metric("pollbridge_bytes_written_total", "counter", "Bytes written to SSE clients.");
  o << "pollbridge_bytes_written_total " << hs.bytes_written << '\n';
  metric("pollbridge_heartbeats_total", "counter", "Heartbeat comments written.");
  o << "pollbridge_heartbeats_total " << hs.heartbeats << '\n';
  metric("pollbridge_hub_threads", "gauge", "Threads serving SSE connections.");
  o << "pollbridge_hub_threads " << runtime_.hub().thread_count() << '\n';
  metric("pollbridge_http_requests_total", "counter", "HTTP requests routed (SSE excluded).");
  o << "pollbridge_http_requests_total " << requests_.load() << '\n';
  write_front_door_metrics(o, server_, hs);
  write_histogram_metrics(o, runtime_.hub());
  write_compression_metrics(o);
  runtime_.coordinator().write_metrics(o);
  {
    std::string auth_metrics;
    access_.write_metrics(auth_metrics);
    long_poll_.write_metrics(auth_metrics);
    o << auth_metrics;
  }

  // One row per stream name: parameterized and per-user instances are
  // summed under their stream's name, so that nothing a client chooses
  // becomes a label. Counters come from the stream's series, which outlive
  // its instances (a reap or a replacement never makes a _total drop);
  // gauges from the live instances.
  struct Row {
    std::string label;
    std::uint64_t instances = 0, stale = 0, events = 0;
    upstream::Counters c;
    std::int64_t clients = 0;
  };
  std::vector<Row> rows;
  std::map<std::string, std::size_t> row_of;
  for (const auto& [name, m] : metrics::all_stream_metrics()) {
    row_of.emplace(name, rows.size());
    Row& r = rows.emplace_back();
    r.label = "stream=\"" + metrics::label_value(name) + "\"";
    for (const auto& e : m->events) r.events += e.load(std::memory_order_relaxed);
    r.c.polls = m->polls.load(std::memory_order_relaxed);
    r.c.not_modified = m->not_modified.load(std::memory_order_relaxed);
    r.c.same_body = m->same_body.load(std::memory_order_relaxed);
    r.c.parses = m->parses.load(std::memory_order_relaxed);
    r.c.failures = m->failures.load(std::memory_order_relaxed);
    r.c.body_bytes = m->body_bytes.load(std::memory_order_relaxed);
  }
  for (const auto& i : runtime_.instances()) {
    auto it = row_of.find(i->cfg().name);
    if (it == row_of.end()) continue;  // its poller registers the name when made
    Row& r = rows[it->second];
    const stream::Status st = i->stream().status();
    ++r.instances;
    r.stale += stream::healthy(st) ? 0 : 1;
    r.clients += i->stream().client_count();
    r.c.last_duration_us = std::max(r.c.last_duration_us, i->poller().counters().last_duration_us);
  }
  auto per_stream = [&](const char* name, const char* type, const char* help, auto value) {
    metric(name, type, help);
    for (const auto& r : rows) o << name << '{' << r.label << "} " << value(r) << '\n';
  };
  per_stream("pollbridge_stream_clients", "gauge", "Connected clients per stream.",
             [](const Row& r) { return r.clients; });
  per_stream("pollbridge_stream_instances", "gauge",
             "Live instances per stream (1, or one per parameter set).",
             [](const Row& r) { return r.instances; });
  per_stream("pollbridge_stream_stale", "gauge",
             "Instances whose upstream is failing or whose events cannot be recorded.",
             [](const Row& r) { return r.stale; });
  per_stream("pollbridge_stream_events_total", "counter", "Events published per stream.",
             [](const Row& r) { return r.events; });
  per_stream("pollbridge_upstream_polls_total", "counter", "Upstream requests.",
             [](const Row& r) { return r.c.polls; });
  per_stream("pollbridge_upstream_not_modified_total", "counter", "Upstream 304 answers.",
             [](const Row& r) { return r.c.not_modified; });
  per_stream("pollbridge_upstream_same_body_total", "counter",
             "Upstream bodies identical to the previous one (not parsed).",
             [](const Row& r) { return r.c.same_body; });
  per_stream("pollbridge_upstream_parses_total", "counter", "Upstream bodies parsed.",
             [](const Row& r) { return r.c.parses; });
  per_stream("pollbridge_upstream_failures_total", "counter", "Failed polls.",
             [](const Row& r) { return r.c.failures; });
  per_stream("pollbridge_upstream_body_bytes_total", "counter", "Upstream body bytes received.",
             [](const Row& r) { return r.c.body_bytes; });
  per_stream("pollbridge_upstream_last_duration_seconds", "gauge", "Duration of the last poll.",
             [](const Row& r) { return static_cast<double>(r.c.last_duration_us) / 1e6; });
  res.set_content(o.str(), "text/plain; version=0.0.4");
}

}  // namespace pb::server
