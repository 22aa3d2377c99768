// Api's console side: the operator's console under /admin/ (docs/console.md)
// on server.admin_listen, or on the main listener when that is not set;
// nothing there (404) while server.admin_token is empty.
//
//   GET  /admin/                       the page (and /admin/console.js, .css)
//   GET  /admin/pollbridge.js          the browser client (its patch and SSE code)
//   GET  /admin/events                 the overview as an event stream (admin token)
//   GET  /admin/state                  the overview once (admin token)
//   GET  /admin/streams/{id}           one instance's detail (admin token)
//   POST /admin/streams/{id}/poll      poll it now (admin token)
//
// {id} is the console id (server/console_state.h): an address, or a
// per-user instance's opaque label.
//
// Threads: the HTTP workers (pb-http), like the rest of Api.
#include "json/document.h"
#include "server/api.h"
#include "server/client_script.h"
#include "server/console_assets.h"
#include "server/console_state.h"

namespace pb::server {

bool Api::handle_console(const httplib::Request& req, httplib::Response& res) {
  const std::string& path = req.path;
  if (path != "/admin" && path.rfind("/admin/", 0) != 0) return false;
  if (path == "/admin/reload") return false;  // handle_admin's
  if (running_.get()->server.admin_token.empty()) {
    set_error(res, 404, "the console is off: set server.admin_token");
    return true;
  }
  const bool read = req.method == "GET" || req.method == "HEAD";
  const std::string streams = "/admin/streams/";
  const std::string poll = "/poll";
  if (req.method == "POST" && path.rfind(streams, 0) == 0 &&
      path.size() > streams.size() + poll.size() &&
      path.compare(path.size() - poll.size(), poll.size(), poll) == 0) {
    if (!admin_allowed(req, res)) return true;
    const std::string id = path.substr(streams.size(), path.size() - streams.size() - poll.size());
    auto inst = find_console_instance(runtime_, id);
    if (!inst) {
      set_error(res, 404, "no live instance " + id);
      return true;
    }
    runtime_.trigger(inst);
    res.status = 202;
    res.set_content("{\"status\":\"poll scheduled\"}\n", "application/json");
    return true;
  }
  if (!read) {
    res.set_header("Allow", "GET, HEAD");
    set_error(res, 405, "only GET is allowed on " + path);
    return true;
  }
  if (path == "/admin") {
    res.status = 301;
    res.set_header("Location", "/admin/");
    return true;
  }
  if (path == "/admin/events") {
    handle_console_events(req, res);
    return true;
  }
  if (path == "/admin/pollbridge.js") {
    serve_client_script(req, res);
    return true;
  }
  if (path == "/admin/state" || path.rfind(streams, 0) == 0) {
    if (!admin_allowed(req, res)) return true;
    json::Json body;
    if (path == "/admin/state") {
      body = console_overview(runtime_, *running_.get());
    } else {
      auto inst = find_console_instance(runtime_, path.substr(streams.size()));
      if (!inst) {
        set_error(res, 404, "no live instance " + path.substr(streams.size()));
        return true;
      }
      body = console_detail(runtime_, *inst);
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(json::dump(body) + "\n", "application/json");
    return true;
  }
  if (!serve_console_file(std::string_view(path).substr(7), res)) {
    set_error(res, 404, "nothing at " + path);
  }
  return true;
}

void Api::handle_console_events(const httplib::Request& req, httplib::Response& res) {
  if (!admin_allowed(req, res)) return;
  if (answer_head(req, res)) return;
  if (!accept_sse(req, res)) return;
  std::call_once(console_feed_once_,
                 [this] { console_feed_ = std::make_unique<ConsoleFeed>(runtime_, running_); });
  hub::Transport io = take_connection(res);
  if (!io.valid()) return;
  console_feed_->attach(std::move(io), sse_head(req));
}

}  // namespace pb::server
