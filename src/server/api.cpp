#include "server/api.h"

#include <algorithm>
#include <regex>
#include <set>

#include "common/time_format.h"
#include "json/document.h"
#include "log/refusal.h"
#include "server/answer_fields.h"
#include "server/client_script.h"
#include "server/config_names.h"
#include "server/format_choice.h"
#include "server/lookup_status.h"
#include "server/refusal_response.h"
#include "server/response_coding.h"
#include "server/static_files.h"
#include "sse/encoder.h"
#include "sse/event_id.h"

namespace pb::server {
namespace {

using json::Json;

const char* error_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 429:
      return "too_many_requests";
    case 503:
      return "unavailable";
    case 504:
      return "timeout";
    default:
      return status >= 500 ? "internal" : "error";
  }
}

// ?format= or Accept of an SSE request (docs/protocol.md "Formats"); false
// after answering 400.
bool sse_format(const httplib::Request& req, httplib::Response& res, FormatChoice& out) {
  std::vector<std::string> query;
  for (std::size_t i = 0, n = req.get_param_value_count("format"); i < n; ++i) {
    query.push_back(req.get_param_value("format", i));
  }
  // Accept is a list: several Accept fields are one list (RFC 9110 5.3).
  std::optional<std::string> accept;
  auto range = req.headers.equal_range("Accept");
  for (auto it = range.first; it != range.second; ++it) {
    accept = accept ? *accept + "," + it->second : it->second;
  }
  std::string why;
  if (choose_format(query, accept ? &*accept : nullptr, out, why)) return true;
  set_error(res, 400, why);
  return false;
}

// Whether `inst` can be sent as chosen: a format demanded by ?format= that
// its mode cannot give is a 400 (one preferred by Accept falls back to the
// stream's own events).
bool format_available(const core::Instance& inst, const FormatChoice& choice,
                      httplib::Response& res) {
  if (!choice.demanded || stream::resolve_format(inst.cfg().diff, choice.format)) return true;
  std::string what = inst.cfg().diff == config::DiffMode::kText
                         ? "; a text stream sends only snapshots (format=snapshot)"
                         : "; it offers format=snapshot besides its own events";
  set_error(res, 400,
            "stream " + inst.address() + " (diff: " + diff_mode_name(inst.cfg().diff) +
                ") cannot be sent as " + std::string(stream::format_name(choice.format)) + what);
  return false;
}

// Names the representation in the response head (before its blank line).
void announce_format(std::string& head, const std::string& name) {
  std::size_t end = head.find("\r\n\r\n");
  if (end != std::string::npos) head.insert(end + 2, "X-Pollbridge-Format: " + name + "\r\n");
}

}  // namespace

void lookup_error(httplib::Response& res, const core::LookupError& err) {
  log_limit_refusal(err);
  if (err.retry_after > 0) res.set_header("Retry-After", std::to_string(err.retry_after));
  set_error(res, lookup_status(err.kind), err.message);
}

void set_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  Json body = Json::object();
  body["error"] = error_code(status);
  body["message"] = message;
  res.set_content(json::dump(body) + "\n", "application/json");
}

Api::Api(core::Runtime& runtime, HttpServer& server, const auth::PolicyHolder& policy,
         const Current<config::Config>& running, HttpServer* admin)
    : runtime_(runtime),
      server_(server),
      admin_(admin),
      access_(runtime, policy, runtime.config().server.ipv6_prefix),
      long_poll_(runtime, running, access_, runtime.config().server.max_clients),
      policy_(policy),
      running_(running),
      started_(runtime.config()) {
  // The runtime attaches only connections this Api hands it: set before any.
  runtime_.set_refusal([](const core::LookupError& err) {
    log_limit_refusal(err);
    return refusal_response(err);
  });
  install();
  if (admin_ != nullptr) install_admin(*admin_);
}

bool Api::is_admin_path(const httplib::Request& req) {
  static const std::regex kPoll(R"(^/streams/(.+)/poll$)");
  return req.path == "/admin/reload" || req.path == "/admin" || req.path.rfind("/admin/", 0) == 0 ||
         std::regex_match(req.path, kPoll);
}

bool Api::handle_admin(const httplib::Request& req, httplib::Response& res) {
  if (handle_console(req, res)) return true;
  static const std::regex kPoll(R"(^/streams/(.+)/poll$)");
  std::smatch m;
  if (req.method == "POST" && std::regex_match(req.path, m, kPoll)) {
    handle_poll(req, res, m[1]);
    return true;
  }
  if (req.method == "POST" && req.path == "/admin/reload") {
    if (admin_allowed(req, res)) {
      if (!reloader_) {
        set_error(res, 404, "reload is not available");
      } else {
        auto [status, body] = reloader_();
        res.status = status;
        res.set_content(body, "application/json");
      }
    }
    return true;
  }
  return false;
}

void Api::install_admin(HttpServer& admin) {
  // server.admin_listen: the admin endpoints (and health) only.
  auto& s = admin.routes();
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (handle_admin(req, res)) return httplib::Server::HandlerResponse::Handled;
    if (req.path == "/healthz" || req.path == "/metrics" || req.path == "/readyz") {
      // Read-only, as on the main listener: GET and HEAD (RFC 9110 9.1).
      if (req.method == "GET" || req.method == "HEAD") {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      set_error(res, 405, "only GET is allowed on " + req.path);
      res.set_header("Allow", "GET, HEAD");
      return httplib::Server::HandlerResponse::Handled;
    }
    set_error(res, is_admin_path(req) ? 405 : 404,
              is_admin_path(req) ? "only POST is allowed on " + req.path
                                 : "the admin listener serves /admin/reload, "
                                   "/streams/{stream}/poll, the console at /admin/, "
                                   "/healthz, /readyz and /metrics");
    if (is_admin_path(req)) res.set_header("Allow", "POST");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Get("/healthz", [](const auto&, auto& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/metrics", [this](const auto& req, auto& res) { handle_metrics(req, res); });
  s.Get("/readyz", [this](const auto& req, auto& res) { handle_readyz(req, res, true); });
  s.set_post_routing_handler(
      [](const httplib::Request& req, httplib::Response& res) { finish_fields(req, res); });
}

void Api::install() {
  // Requests arrive here complete (head and body, read by the connection
  // loop under its limits), so no handler waits on the network.
  auto& s = server_.routes();

  s.Get(R"(/events/(.+))", [this](const auto& req, auto& res) { handle_events(req, res); });
  s.Get("/events", [this](const auto& req, auto& res) { handle_mux(req, res); });
  // Methods other than GET and HEAD are answered here, before routing (any
  // body they had was read by the connection loop and is ignored).
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (admin_ == nullptr && handle_admin(req, res))
      return httplib::Server::HandlerResponse::Handled;
    if (admin_ != nullptr && is_admin_path(req)) {
      set_error(res, 404, "the admin endpoints are on server.admin_listen");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "OPTIONS" && allowed_origin(req, running_.get()->server)) {
      // CORS preflight, for any path.
      add_cors(req, res);
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST");
      res.set_header("Access-Control-Allow-Headers",
                     "Last-Event-ID, Cache-Control, If-None-Match, Authorization");
      res.set_header("Access-Control-Max-Age", "600");
      // add_cors() has set Access-Control-Allow-Credentials where it
      // applies: a second field would read "true, true", which the Fetch
      // standard refuses.
      return httplib::Server::HandlerResponse::Handled;
    }
    // Every other resource is read-only.
    if (req.method == "GET" || req.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    add_cors(req, res);
    auto starts = [&](const char* p) { return req.path.rfind(p, 0) == 0; };
    bool known = req.path == "/events" || starts("/events/") || req.path == "/streams" ||
                 starts("/streams/") || req.path == "/healthz" || req.path == "/readyz" ||
                 req.path == "/metrics" || req.path == kClientScriptPath;
    if (known) {
      res.set_header("Allow", "GET, HEAD");
      set_error(res, 405, "only GET is allowed on " + req.path);
    } else {
      set_error(res, 404, "nothing at " + req.path);
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  s.Get("/streams", [this](const auto& req, auto& res) { handle_streams(req, res); });
  s.Get(R"(/streams/(.+))", [this](const auto& req, auto& res) { handle_document(req, res); });
  s.Get("/healthz", [](const auto&, auto& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/readyz", [this](const auto& req, auto& res) {
    handle_readyz(req, res, operator_view_public() || has_admin_token(req));
  });
  s.Get("/metrics", [this](const auto& req, auto& res) { handle_public_metrics(req, res); });
  register_client_script(s, [this] {  // GET /pollbridge.js
    const auto& offered = running_.get()->server.compression;
    return std::find(offered.begin(), offered.end(), "gzip") != offered.end();
  });

  // Last: the API's routes win (server/static_files.h).
  if (!started_.server.static_dir.empty()) register_static_files(s, started_.server.static_dir);

  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      set_error(res, res.status,
                res.status == 404 ? "nothing at " + req.path
                                  : "request failed with HTTP " + std::to_string(res.status));
    }
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        set_error(res, 500, what);
      });
  s.set_post_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { finish_response(req, res); });
  // The long-poll answers the connection loop makes get the same step.
  long_poll_.set_finish(
      [this](const httplib::Request& req, httplib::Response& res) { finish_response(req, res); },
      &requests_);
}

void Api::finish_response(const httplib::Request& req, httplib::Response& res) {
  requests_.fetch_add(1);
  finish_fields(req, res);
  add_cors(req, res);
  compress_response(req, res, running_.get()->server);
  // A response that closes its connection announces no keep-alive.
  if (res.get_header_value("Connection") == "close") res.headers.erase("Keep-Alive");
}

std::optional<std::string> Api::allowed_origin(const httplib::Request& req,
                                               const config::ServerConfig& server) {
  if (server.cors_origins.empty() || !req.has_header("Origin")) return std::nullopt;
  std::string origin = req.get_header_value("Origin");
  for (const auto& o : server.cors_origins) {
    if (o == "*") return std::string("*");
    if (o == origin) return origin;
  }
  return std::nullopt;
}

void Api::add_cors(const httplib::Request& req, httplib::Response& res) const {
  const auto running = running_.get();
  const config::ServerConfig& server = running->server;
  if (server.cors_origins.empty()) return;
  if (auto o = allowed_origin(req, server)) {
    if (!res.has_header("Access-Control-Allow-Origin")) {
      res.set_header("Access-Control-Allow-Origin", *o);
      res.set_header("Access-Control-Expose-Headers",
                     "ETag, Age, Last-Modified, X-Pollbridge-State, Retry-After, WWW-Authenticate");
      // The loader refuses cors_credentials with "*": credentials go only
      // with an echoed, listed origin.
      if (server.cors_credentials && *o != "*") {
        res.set_header("Access-Control-Allow-Credentials", "true");
      }
    }
  }
  add_vary(res, "Origin");
}

bool Api::accept_sse(const httplib::Request& req, httplib::Response& res) {
  // SSE sessions and waiting long-polls alike.
  const std::int64_t clients = runtime_.hub().clients() + long_poll_.waiting();
  if (static_cast<std::size_t>(clients) >= started_.server.max_clients) {
    refused_.fetch_add(1);
    log::refused("server.max_clients", 503, req.remote_addr);
    res.set_header("Retry-After", "5");
    set_error(res, 503, "too many clients (server.max_clients)");
    return false;
  }
  (void)req;
  return true;
}

bool Api::answer_head(const httplib::Request& req, httplib::Response& res) {
  if (req.method != "HEAD") return false;
  // Nothing to stream for HEAD; the headers a GET would get.
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_content("", "text/event-stream; charset=utf-8");
  without_length(res);  // the GET's stream ends with its connection
  return true;
}

std::string Api::sse_head(const httplib::Request& req) const {
  std::string h =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n";
  h += "Date: " + http_date_now() + "\r\n";
  const auto running = running_.get();
  const config::ServerConfig& server = running->server;
  if (!server.cors_origins.empty()) {
    if (auto o = allowed_origin(req, server)) {
      h += "Access-Control-Allow-Origin: " + *o + "\r\n";
      if (server.cors_credentials && *o != "*") {
        h += "Access-Control-Allow-Credentials: true\r\n";
      }
    }
    h += "Vary: Origin\r\n";
  }
  h += "\r\n";
  h += sse::encode_retry(server.retry);
  return h;
}

std::optional<std::string> Api::resume_id_of(const httplib::Request& req) {
  auto h = req.headers.find("Last-Event-ID");
  std::string query = req.get_param_value("lastEventId");
  return sse::resume_id(h != req.headers.end() ? &h->second : nullptr,
                        req.has_param("lastEventId") ? &query : nullptr);
}

hub::Transport Api::take_connection(httplib::Response& res) {
  hub::Transport io = HttpServer::take_connection();
  if (!io.valid()) {
    set_error(res, 500, "cannot take over the connection");
    return io;
  }
  res.status = 200;  // what httplib writes now is discarded
  return io;
}

void Api::handle_events(const httplib::Request& req, httplib::Response& res) {
  bool bad_transport = false;
  const bool long_poll = LongPoll::requested(req, res, bad_transport);
  if (bad_transport) return;
  if (!accept_sse(req, res)) return;  // before anything is created for it
  FormatChoice format;
  if (!sse_format(req, res, format)) return;
  std::string address = req.matches[1];
  auto admitted = access_.admit(req, {address}, req.method == "GET", res);
  if (!admitted) return;
  core::LookupError err;
  auto inst = runtime_.find(admitted->requests[0], &err);
  if (!inst) {
    lookup_error(res, err);
    return;
  }
  if (admitted->upstream[0] && !access_.upstream_admits(inst, res)) return;
  if (!format_available(*inst, format, res)) return;
  std::string format_header;
  if (format.format != stream::Format::kNative) {
    format_header = stream::resolve_format(inst->cfg().diff, format.format)
                        ? std::string(stream::format_name(format.format))
                        : std::string(diff_mode_name(inst->cfg().diff));
  }
  if (long_poll) {
    long_poll_.handle(req, res, {inst}, *admitted, format.format, false, format_header);
    return;
  }
  const auto running = running_.get();
  const sse::Coding coding = choose_coding(req, running->server);
  const bool offered = !running->server.compression.empty();
  if (answer_head(req, res)) {
    if (!format_header.empty()) res.set_header("X-Pollbridge-Format", format_header);
    announce_coding(res, coding, offered);
    return;
  }
  hub::Transport io = take_connection(res);
  if (!io.valid()) return;
  std::string head = sse_head(req);
  if (!format_header.empty()) announce_format(head, format_header);
  announce_coding(head, coding, offered);
  access_.track(admitted->admission);
  runtime_.attach(inst, std::move(io), std::move(head), resume_id_of(req), admitted->close_at,
                  format.format, admitted->admission, coding);
}

void Api::handle_mux(const httplib::Request& req, httplib::Response& res) {
  std::size_t n = req.get_param_value_count("stream");
  if (n == 0) {
    set_error(res, 400, "name at least one stream: /events/{stream} or /events?stream=a&stream=b");
    return;
  }
  if (n > kMaxMuxStreams) {
    set_error(res, 400, "at most " + std::to_string(kMaxMuxStreams) + " streams per connection");
    return;
  }
  bool bad_transport = false;
  const bool long_poll = LongPoll::requested(req, res, bad_transport);
  if (bad_transport) return;
  if (!accept_sse(req, res)) return;
  FormatChoice format;
  if (!sse_format(req, res, format)) return;
  std::vector<std::string> addresses;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    std::string address = req.get_param_value("stream", i);
    if (!seen.insert(address).second) {
      set_error(res, 400, "stream " + address + " is named twice");
      return;
    }
    addresses.push_back(std::move(address));
  }
  // All or nothing: one stream the caller may not read refuses the request.
  auto admitted = access_.admit(req, addresses, req.method == "GET", res);
  if (!admitted) return;
  std::vector<std::shared_ptr<core::Instance>> insts;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    core::LookupError err;
    auto inst = runtime_.find(admitted->requests[i], &err);
    if (!inst) {
      lookup_error(res, err);
      return;
    }
    if (admitted->upstream[i] && !access_.upstream_admits(inst, res)) return;
    if (!format_available(*inst, format, res)) return;
    insts.push_back(std::move(inst));
  }
  const std::string format_header = format.format != stream::Format::kNative
                                        ? std::string(stream::format_name(format.format))
                                        : std::string();
  if (long_poll) {
    long_poll_.handle(req, res, std::move(insts), *admitted, format.format, true, format_header);
    return;
  }
  const auto running = running_.get();
  const sse::Coding coding = choose_coding(req, running->server);
  const bool offered = !running->server.compression.empty();
  if (answer_head(req, res)) {
    if (!format_header.empty()) res.set_header("X-Pollbridge-Format", format_header);
    announce_coding(res, coding, offered);
    return;
  }
  hub::Transport io = take_connection(res);
  if (!io.valid()) return;
  std::string head = sse_head(req);
  if (!format_header.empty()) announce_format(head, format_header);
  announce_coding(head, coding, offered);
  access_.track(admitted->admission);
  runtime_.attach_mux(insts, std::move(io), std::move(head), resume_id_of(req), admitted->close_at,
                      format.format, admitted->admission, coding);
}

}  // namespace pb::server
