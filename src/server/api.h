// pollbridge's HTTP interface: the SSE endpoints (validated here, then handed
// to the hub), the stream status and document endpoints, health, metrics and
// the admin endpoints.
//
//   GET  /events/{stream}            SSE, one stream
//   GET  /events?stream=a&stream=b   SSE, several streams on one connection
//   GET  /streams                    status of every live stream
//   GET  /streams/{stream}           current document (ETag, 304)
//   POST /streams/{stream}/poll      poll now (admin token)
//   POST /admin/reload               reload the config file (admin token)
//   /admin/...                       the operator's console (api_console.cpp)
//   GET  /healthz, /readyz, /metrics
//   GET  /pollbridge.js              the browser client (server/client_script.h)
//
// Every SSE request passes through accept_sse() (limits) and the access
// check (server/access.h) before anything is looked up or made for it, and
// before the hub takes it. GET /streams/{stream} passes the same check.
//
// Threads: handlers run on the HTTP worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/current.h"
#include "core/runtime.h"
#include "server/access.h"
#include "server/console_feed.h"
#include "server/http_server.h"
#include "server/long_poll.h"

namespace pb::server {

// Most streams one multiplexed connection may ask for.
constexpr std::size_t kMaxMuxStreams = 32;

class Api {
 public:
  // Reloads the config; returns the HTTP status and JSON body to answer.
  using Reloader = std::function<std::pair<int, std::string>()>;

  // `policy` decides who may read what (server/access.h) and `running` is
  // the configuration in force (config::in_force): both are kept by the app
  // and swapped on reload, and every request reads them afresh.
  // With `admin` (server.admin_listen), the admin endpoints are served
  // there only, and the main listener answers them 404.
  Api(core::Runtime& runtime, HttpServer& server, const auth::PolicyHolder& policy,
      const Current<config::Config>& running, HttpServer* admin = nullptr);
  // Enables POST /admin/reload (admin token).
  void set_reloader(Reloader reloader) { reloader_ = std::move(reloader); }
  // After a reload installed its policy and streams: closes the SSE
  // sessions it no longer admits (Access::recheck_sessions); how many.
  std::size_t recheck_sessions() { return access_.recheck_sessions(); }

  // The id a connecting client resumes from (header, else ?lastEventId=).
  static std::optional<std::string> resume_id_of(const httplib::Request& req);

 private:
  void install();
  void install_admin(HttpServer& admin);
  // POST /admin/reload and POST /streams/{stream}/poll (true: answered).
  bool handle_admin(const httplib::Request& req, httplib::Response& res);
  static bool is_admin_path(const httplib::Request& req);
  // The operator's console under /admin/ (api_console.cpp; true: answered).
  bool handle_console(const httplib::Request& req, httplib::Response& res);
  // GET /admin/events: the console's overview as an event stream.
  void handle_console_events(const httplib::Request& req, httplib::Response& res);
  void handle_events(const httplib::Request& req, httplib::Response& res);
  void handle_mux(const httplib::Request& req, httplib::Response& res);
  void handle_streams(const httplib::Request& req, httplib::Response& res);
  void handle_document(const httplib::Request& req, httplib::Response& res);
  void handle_poll(const httplib::Request& req, httplib::Response& res, const std::string& address);
  // `detailed`: names the pending streams and the store's problem; the main
  // listener says only ready or not unless operator_view_public() or the
  // request carries the admin token.
  void handle_readyz(const httplib::Request& req, httplib::Response& res, bool detailed);
  void handle_metrics(const httplib::Request& req, httplib::Response& res);
  // GET /metrics on the main listener: 404 with admin_listen (served there
  // only); the admin token with access control unless server.public_metrics.
  void handle_public_metrics(const httplib::Request& req, httplib::Response& res);
  // Whether the main listener shows the operator's view (stream names,
  // counters) to anyone: only without admin_listen and without access
  // control (docs/security.md, "What the public listener says").
  bool operator_view_public() const;
  // The request carries the admin token (no answer is written).
  bool has_admin_token(const httplib::Request& req) const;

  // The post-routing step of every answer: counts it, puts its framing
  // fields right (server/answer_fields.h), adds CORS fields,
  // compresses it (response_coding.h). Workers, and the connection loop for
  // the long-poll answers it makes (server/long_poll_session.h).
  void finish_response(const httplib::Request& req, httplib::Response& res);
  // Refuses the connection (filling `res`) if it may not open a stream now.
  bool accept_sse(const httplib::Request& req, httplib::Response& res);
  // Answers a HEAD on an SSE endpoint (true) without opening a stream.
  bool answer_head(const httplib::Request& req, httplib::Response& res);
  // Takes the connection for the hub; fills `res` with a 500 and returns an
  // invalid transport if it cannot.
  static hub::Transport take_connection(httplib::Response& res);
  // The HTTP response head (and retry field) that opens an event stream.
  std::string sse_head(const httplib::Request& req) const;
  bool admin_allowed(const httplib::Request& req, httplib::Response& res) const;
  void add_cors(const httplib::Request& req, httplib::Response& res) const;
  static std::optional<std::string> allowed_origin(const httplib::Request& req,
                                                   const config::ServerConfig& server);

  core::Runtime& runtime_;
  HttpServer& server_;
  HttpServer* admin_;
  Access access_;
  LongPoll long_poll_;
  Reloader reloader_;
  const auth::PolicyHolder& policy_;  // the policy in force (swapped on reload)
  const Current<config::Config>& running_;
  const config::Config& started_;  // the start-up config (static_dir, max_clients)
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> requests_{0};
  // Made at the first GET /admin/events (its thread runs only then).
  std::once_flag console_feed_once_;
  std::unique_ptr<ConsoleFeed> console_feed_;
};

// JSON error body: {"error":"<code>","message":"<text>"}.
void set_error(httplib::Response& res, int status, const std::string& message);
// A failed lookup's answer: the status lookup_status() maps its kind to,
// Retry-After when it says when to retry; a refused limit is logged.
void lookup_error(httplib::Response& res, const core::LookupError& err);

}  // namespace pb::server
