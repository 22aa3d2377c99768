// The pollbridge process: start, reload and shutdown, in that order of
// operations that matter for safety. main() parses the command line and
// runs it.
//
//   start():  load the config (with the command line over it), load the TLS
//             files and the access keys (any failure: exit 1 before
//             anything listens), open the state store, bind, then serve.
//   reload(): a new file is read and checked as a whole first (config,
//             certificate, access keys); a failure changes nothing. Then
//             the access policy is swapped before the streams (a stream
//             that now needs a token is never served under the old, looser
//             policy), then the streams, then open sessions are judged
//             again, then the certificate. Which keys changed, and whether
//             they apply now or at the next start, comes from config/keys.h.
//   run():    waits for SIGHUP (reload), SIGTERM or SIGINT (shutdown,
//             bounded by server.shutdown_timeout).
//
// Threads: start() and run() on the main thread; reload() on the main
// thread (SIGHUP) or an HTTP worker (POST /admin/reload), one at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/policy_holder.h"
#include "common/current.h"
#include "common/mutex.h"
#include "config/config.h"
#include "core/runtime.h"
#include "log/log.h"
#include "server/api.h"
#include "server/http_server.h"

namespace pb::app {

// What the command line sets over the file (it wins at start and at every
// reload, and is never reported as a change).
struct Overrides {
  std::string listen;   // --listen HOST:PORT
  bool memory = false;  // --memory: state.dir ""
  std::optional<log::Format> log_format;
  std::optional<log::Level> log_level;
};

// Applies `o` to `cfg`; false (with `why`) if --listen is not host:port.
bool apply_overrides(const Overrides& o, config::Config& cfg, std::string& why);

// The answer to a reload: the HTTP status and JSON body of
// POST /admin/reload.
struct ReloadAnswer {
  int status = 200;
  std::string body;
};

class App {
 public:
  struct Options {
    // Called at named points of reload() ("reload:checked", "reload:policy",
    // "reload:streams", "reload:sessions"), outside every lock but
    // reload's own, so that a test can hold the reload exactly there.
    // Empty in production.
    std::function<void(std::string_view point)> test_point;
  };

  App(std::string config_path, Overrides overrides, Options options = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Loads and checks the config without starting: the exit code of
  // --check (0 valid, 1 invalid).
  int check();
  // Starts everything and listens; 0, or the exit code to leave with (the
  // reason is logged).
  int start();
  // Until SIGTERM or SIGINT; then stop(). The exit code.
  int run();
  ReloadAnswer reload() PB_EXCLUDES(reload_mu_);
  // Closes the listeners and every client, stops polling and closes the
  // state store, bounded by server.shutdown_timeout plus a second (past
  // that the process exits with 1). After start() succeeded; once.
  void stop();

  // The port the main listener got (after start()).
  int port() const { return port_; }

 private:
  // Loads the file with the overrides applied; false with the problems
  // logged (and in `errors`).
  bool load(config::Config& out, std::vector<std::string>* errors);
  void apply_log(const config::Config& c) const;
  int open_state();
  void announce_started() const;
  void point(std::string_view name) const {
    if (options_.test_point) options_.test_point(name);
  }

  const std::string path_;
  const Overrides overrides_;
  const Options options_;
  config::Config started_;           // as loaded at start, with the overrides
  Current<config::Config> running_;  // config::in_force after the last reload
  auth::PolicyHolder policy_;
  std::unique_ptr<core::Runtime> runtime_;
  std::unique_ptr<server::HttpServer> http_;
  std::unique_ptr<server::HttpServer> admin_http_;  // server.admin_listen
  std::unique_ptr<server::Api> api_;
  int port_ = 0;
  Mutex reload_mu_;
};

}  // namespace pb::app
