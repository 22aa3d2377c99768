#include "app/probe_report.h"

#include "json/document.h"
#include "json/pretty.h"

namespace pb::app {
namespace {

// An event's data as a JSON value: parsed where it is JSON (numbers keep
// their text), else the text as a string (a `diff: text` body).
json::Json probe_data_value(const std::string& data) {
  try {
    return json::parse(data);
  } catch (const json::ParseError&) {
    return json::Json(data);
  }
}

// An event's data for a person: indented where it is JSON.
std::string probe_data_text(const std::string& data) {
  try {
    json::parse(data);
  } catch (const json::ParseError&) {
    return data;
  }
  return json::pretty(data);
}

}  // namespace

std::string probe_failure(const ProbeReport& r) {
  std::string line = "poll " + std::to_string(r.failed_poll) + " of " + r.address + " failed: ";
  if (r.status.http_status >= 300 &&
      r.status.reason.find(std::to_string(r.status.http_status)) == std::string::npos) {
    line += "HTTP " + std::to_string(r.status.http_status) + ": ";
  }
  return line + r.status.reason;
}

std::string probe_text(const ProbeReport& r) {
  std::string out;
  if (r.document) out += probe_data_text(r.document->data) + "\n";
  unsigned shown = 1;
  auto poll_line = [&](unsigned poll) {
    for (; shown < poll; ++shown) {
      std::size_t n = 0;
      for (const auto& e : r.events) n += e.poll == shown + 1;
      out += "\n# poll " + std::to_string(shown + 1) + ": ";
      out +=
          n == 0 ? std::string("no change") : std::to_string(n) + (n == 1 ? " event" : " events");
      out += "\n";
    }
  };
  for (const auto& e : r.events) {
    poll_line(e.poll);
    out += "event: " + e.event->type + "\n";
    if (!e.event->id.empty()) out += "id: " + e.event->id + "\n";
    out += "data: " + probe_data_text(e.event->data) + "\n";
  }
  poll_line(r.polls);
  return out;
}

std::string probe_json(const ProbeReport& r) {
  json::Json out = json::Json::object();
  out["stream"] = r.stream;
  out["address"] = r.address;
  out["document"] = r.document ? probe_data_value(r.document->data) : json::Json();
  json::Json events = json::Json::array();
  for (const auto& e : r.events) {
    json::Json ev = json::Json::object();
    ev["poll"] = e.poll;
    ev["event"] = e.event->type;
    ev["id"] = e.event->id.empty() ? json::Json() : json::Json(e.event->id);
    ev["data"] = probe_data_value(e.event->data);
    events.push_back(std::move(ev));
  }
  out["events"] = std::move(events);
  json::Json status = json::Json::object();
  status["ok"] = r.ok;
  status["polls"] = r.polls;
  if (!r.ok) {
    status["poll"] = r.failed_poll;
    status["state"] = stream::state_name(r.status);
    status["reason"] = r.status.reason;
    status["http_status"] = r.status.http_status ? json::Json(r.status.http_status) : json::Json();
  }
  out["status"] = std::move(status);
  return json::pretty(json::dump(out)) + "\n";
}

}  // namespace pb::app
