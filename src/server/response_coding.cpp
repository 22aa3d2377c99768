#include "server/response_coding.h"

#include "common/ascii.h"
#include "server/httplib_bridge.h"
#include "sse/deflate_blocks.h"

namespace pb::server {
namespace {

// The media types worth compressing (already-compressed ones such as images
// are not).
bool compressible(const std::string& content_type) {
  std::string_view t = content_type;
  t = t.substr(0, t.find(';'));
  if (t == "text/event-stream") return false;  // the hub's, never through here
  return t.rfind("text/", 0) == 0 || t == "application/json" || t == "application/javascript" ||
         t == "application/xml" || t == "image/svg+xml" || t == "application/manifest+json" ||
         (t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0);
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (iequals(item, token) || item == "*") return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return false;
}

}  // namespace

std::vector<sse::Coding> offered_codings(const config::ServerConfig& server) {
  std::vector<sse::Coding> out;
  for (const auto& name : server.compression) {
    if (auto c = sse::parse_coding(name); c && *c != sse::Coding::kIdentity) out.push_back(*c);
  }
  return out;
}

sse::Coding choose_coding(const httplib::Request& req, const config::ServerConfig& server) {
  if (server.compression.empty()) return sse::Coding::kIdentity;
  std::optional<std::string> accept = HttplibBridge::accept_encoding(req);
  return sse::negotiate(accept ? &*accept : nullptr, offered_codings(server));
}

void add_vary(httplib::Response& res, std::string_view token) {
  if (!res.has_header("Vary")) {
    res.set_header("Vary", std::string(token));
    return;
  }
  std::string vary = res.get_header_value("Vary");
  if (has_token(vary, token)) return;
  res.headers.erase("Vary");
  res.set_header("Vary", vary + ", " + std::string(token));
}

std::string coded_etag(const std::string& etag, sse::Coding coding) {
  if (coding == sse::Coding::kIdentity || etag.size() < 2 || etag.back() != '"') return etag;
  std::string suffix = std::string("-") + sse::coding_name(coding) + "\"";
  if (etag.size() >= suffix.size() &&
      etag.compare(etag.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return etag;
  }
  return etag.substr(0, etag.size() - 1) + suffix;
}

void announce_coding(std::string& head, sse::Coding coding, bool offered) {
  std::size_t end = head.find("\r\n\r\n");
  if (end == std::string::npos) return;
  std::string fields;
  if (coding != sse::Coding::kIdentity) {
    fields += std::string("Content-Encoding: ") + sse::coding_name(coding) + "\r\n";
  }
  if (offered) {
    static constexpr std::string_view kOrigin = "\r\nVary: Origin\r\n";
    std::size_t vary = head.find(kOrigin);
    if (vary != std::string::npos && vary < end) {
      head.insert(vary + kOrigin.size() - 2, ", Accept-Encoding");
      end = head.find("\r\n\r\n");
    } else {
      fields += "Vary: Accept-Encoding\r\n";
    }
  }
  head.insert(end + 2, fields);
}

void announce_coding(httplib::Response& res, sse::Coding coding, bool offered) {
  if (coding != sse::Coding::kIdentity)
    res.set_header("Content-Encoding", sse::coding_name(coding));
  if (offered) add_vary(res, "Accept-Encoding");
}

void compress_response(const httplib::Request& req, httplib::Response& res,
                       const config::ServerConfig& server) {
  if (server.compression.empty()) return;
  const std::string type = res.get_header_value("Content-Type");
  if (!compressible(type) || res.has_header("Content-Encoding")) return;
  add_vary(res, "Accept-Encoding");  // the answer depends on it
  if (res.status != 200 || res.body.size() < kMinCompressed) return;
  const sse::Coding coding = choose_coding(req, server);
  if (coding == sse::Coding::kIdentity) return;
  std::string coded = sse::compress_body(coding, res.body);
  if (coded.empty() || coded.size() >= res.body.size()) return;
  auto& counters = sse::compression_counters();
  counters.responses.fetch_add(1, std::memory_order_relaxed);
  counters.response_plain.fetch_add(res.body.size(), std::memory_order_relaxed);
  counters.response_coded.fetch_add(coded.size(), std::memory_order_relaxed);
  res.body = std::move(coded);
  res.set_header("Content-Encoding", sse::coding_name(coding));
  // httplib set Content-Length from the plain body before this step.
  res.headers.erase("Content-Length");
  res.set_header("Content-Length", std::to_string(res.body.size()));
  if (res.has_header("ETag")) {
    std::string etag = coded_etag(res.get_header_value("ETag"), coding);
    res.headers.erase("ETag");
    res.set_header("ETag", etag);
  }
}

void write_compression_metrics(std::ostream& o) {
  const auto& c = sse::compression_counters();
  auto metric = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  metric("pollbridge_compressed_sessions", "gauge", "SSE clients receiving a compressed stream.");
  for (sse::Coding coding : {sse::Coding::kGzip, sse::Coding::kDeflate}) {
    o << "pollbridge_compressed_sessions{coding=\"" << sse::coding_name(coding) << "\"} "
      << c.sessions[static_cast<std::size_t>(coding)].load() << '\n';
  }
  metric("pollbridge_compressed_events_total", "counter",
         "Events compressed for a compressed feed (once per feed event, not per client).");
  o << "pollbridge_compressed_events_total " << c.events.load() << '\n';
  metric("pollbridge_compressed_event_bytes_total", "counter",
         "Bytes of those events before (plain) and after (coded) compression.");
  o << "pollbridge_compressed_event_bytes_total{side=\"plain\"} " << c.event_plain.load() << '\n';
  o << "pollbridge_compressed_event_bytes_total{side=\"coded\"} " << c.event_coded.load() << '\n';
  metric("pollbridge_compressed_openings_total", "counter",
         "Per-client openings compressed (retry line, snapshot or replay of a compressed SSE "
         "client).");
  o << "pollbridge_compressed_openings_total " << c.preambles.load() << '\n';
  metric("pollbridge_compressed_responses_total", "counter", "HTTP answers compressed.");
  o << "pollbridge_compressed_responses_total " << c.responses.load() << '\n';
  metric("pollbridge_compressed_response_bytes_total", "counter",
         "Bytes of those answers before (plain) and after (coded) compression.");
  o << "pollbridge_compressed_response_bytes_total{side=\"plain\"} " << c.response_plain.load()
    << '\n';
  o << "pollbridge_compressed_response_bytes_total{side=\"coded\"} " << c.response_coded.load()
    << '\n';
}

}  // namespace pb::server
