// Api's /streams endpoints: GET /streams (every stream's state, counters
// and renditions, as the caller may see them) and GET /streams/{name} (a
// stream's current document, with an entity tag per content coding and the
// conditional requests of RFC 9110 13). The event streams are api.cpp, the
// operator's side api_admin.cpp.
//
// Threads: the HTTP workers (pb-http), like the rest of Api.
#include <algorithm>

#include "common/time_format.h"
#include "json/document.h"
#include "server/api.h"
#include "server/config_names.h"
#include "server/entity_tag.h"
#include "server/response_coding.h"

namespace pb::server {
namespace {

using json::Json;

// The URL without query (which may carry credentials) for status output.
std::string redacted_url(const std::string& url) {
  std::size_t q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q) + "?…";
}

}  // namespace

void Api::handle_streams(const httplib::Request& req, httplib::Response& res) {
  Json list = Json::array();
  auto now = std::chrono::system_clock::now();
  const auth::Authentication who = access_.authenticate(req);
  for (const auto& inst : runtime_.instances()) {
    if (!access_.visible(who, *inst)) continue;  // only what the caller may read
    stream::DocumentView v = inst->stream().view();
    upstream::Counters c = inst->poller().counters();
    Json s = Json::object();
    s["name"] = inst->address();
    s["stream"] = inst->cfg().name;
    s["url"] = redacted_url(inst->cfg().url);
    s["diff"] = diff_mode_name(inst->cfg().diff);
    s["state"] = stream::state_name(v.status);
    if (!v.status.ok) {
      s["reason"] = v.status.reason;
      if (v.status.http_status) s["http_status"] = v.status.http_status;
    } else if (!v.status.recording) {
      s["reason"] = v.status.store_error;
    }
    s["recording"] = v.status.recording;
    s["polling"] = !runtime_.scheduler().is_idle(&inst->poller());
    s["clients"] = inst->stream().client_count();
    s["epoch"] = v.epoch;
    s["last_id"] = v.last_id;
    s["has_document"] = v.has_doc;
    if (v.status.last_success.time_since_epoch().count()) {
      s["last_success"] = iso8601(v.status.last_success);
      s["age_ms"] = unix_ms(now) - unix_ms(v.status.last_success);
    }
    if (v.has_doc) s["changed"] = iso8601(v.changed);
    s["events"] = v.events;
    s["history"] = v.history;
    s["interval_ms"] = inst->cfg().interval.count();
    s["polls"] = c.polls;
    s["not_modified"] = c.not_modified;
    s["same_body"] = c.same_body;
    s["parses"] = c.parses;
    s["failures"] = c.failures;
    // Renditions made for subscribers of other formats (one per event and
    // format in use, however many subscribers share it).
    Json made = Json::object();
    for (stream::Format f :
         {stream::Format::kSnapshot, stream::Format::kJsonPatch, stream::Format::kMergePatch}) {
      made[std::string(stream::format_name(f))] = inst->stream().renditions_made(f);
    }
    s["renditions"] = std::move(made);
    list.push_back(std::move(s));
  }
  Json body = Json::object();
  body["streams"] = std::move(list);
  // A shared store (state.redis): where it is now, without credentials,
  // and how often its master changed (docs/cluster.md).
  const stream::Coordinator::Location where = runtime_.coordinator().location();
  if (!where.address.empty()) {
    Json store = Json::object();
    store["redis_master"] = where.address;
    store["failovers"] = where.failovers;
    body["store"] = std::move(store);
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_content(json::dump(body) + "\n", "application/json");
}

void Api::handle_document(const httplib::Request& req, httplib::Response& res) {
  std::string address = req.matches[1];
  auto admitted = access_.admit(req, {address}, false, res);
  if (!admitted) return;
  core::LookupError err;
  auto inst = runtime_.find(admitted->requests[0], &err);
  if (!inst) {
    lookup_error(res, err);
    return;
  }
  if (admitted->upstream[0] && !access_.upstream_admits(inst, res)) return;
  stream::DocumentView v = inst->stream().view();
  // Protected and per-user documents are never kept by shared caches.
  res.set_header("Cache-Control", admitted->private_data[0] ? "private, no-cache" : "no-cache");
  if (admitted->private_data[0]) res.set_header("Vary", "Authorization, Cookie, Origin");
  res.set_header("X-Pollbridge-State", stream::state_name(v.status));
  if (!v.has_doc) {
    res.set_header("Retry-After", "1");
    set_error(res, 503, v.status.ok ? "no document yet" : "no document yet: " + v.status.reason);
    return;
  }
  // One entity tag per coding (server/response_coding.h).
  const sse::Coding coding = choose_coding(req, running_.get()->server);
  if (!running_.get()->server.compression.empty()) add_vary(res, "Accept-Encoding");
  std::string etag = coded_etag("\"" + v.doc_id + "\"", coding);
  res.set_header("ETag", etag);
  res.set_header("Last-Modified", http_date(v.changed));
  if (v.status.last_success.time_since_epoch().count()) {
    auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                v.status.last_success);
    res.set_header("Age", std::to_string(std::max<long long>(age.count(), 0)));
  }
  // RFC 9110 13.2.2: If-None-Match decides when present; otherwise
  // If-Modified-Since (whole seconds, as Last-Modified has).
  bool not_modified = false;
  if (req.has_header("If-None-Match")) {
    not_modified = none_match_hits(req.get_header_value("If-None-Match"), etag);
  } else if (req.has_header("If-Modified-Since")) {
    auto since = parse_http_date(req.get_header_value("If-Modified-Since"));
    not_modified = since && std::chrono::floor<std::chrono::seconds>(v.changed) <= *since;
  }
  if (not_modified) {
    res.status = 304;
    return;
  }
  // The shared, cached encoding (made without the stream's lock). If the
  // document changed since the view, the ETag follows what is sent.
  stream::EventPtr snap = inst->stream().snapshot();
  if (snap && snap->id != v.doc_id) {
    res.headers.erase("ETag");
    res.set_header("ETag", coded_etag("\"" + snap->id + "\"", coding));
  }
  bool text = inst->cfg().diff == config::DiffMode::kText;
  res.set_content(snap ? snap->data : std::string(),
                  text ? "text/plain; charset=utf-8" : "application/json");
}

}  // namespace pb::server
