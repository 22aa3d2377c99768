#include "app/app.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cluster/redis_store.h"
#include "config/listen.h"
#include "config/loader.h"
#include "core/user_key.h"
#include "server/front_door_metrics.h"
#include "server/listener.h"
#include "server/tls_context.h"
#include "stream/memory_store.h"
#include "stream/sqlite_store.h"
#include "stream/state.h"
#include "upstream/startup_checks.h"

namespace pb::app {
namespace {

// How long requests in progress get at shutdown (at most
// server.shutdown_timeout).
constexpr std::chrono::milliseconds kHttpDrain{1000};
// server.admin_listen: operators' requests, a few at a time.
constexpr std::size_t kAdminWorkers = 2;
constexpr std::size_t kAdminConnections = 64;
// Another process may be writing the cluster's user key right now.
constexpr std::chrono::seconds kClusterUserKeyWait{15};

bool persists_user_state(const config::Config& cfg) {
  for (const auto& s : cfg.streams) {
    if (!s.auth.forward_headers.empty() && s.auth.persist) return true;
  }
  return false;
}

// The user key shared by a cluster (Redis): the first process to start
// makes it; the others read it. Retried while Redis (or a replica's
// acknowledgement of the key) is missing.
std::string cluster_user_key(stream::Coordinator& cluster) {
  const auto deadline = std::chrono::steady_clock::now() + kClusterUserKeyWait;
  for (bool told = false;; told = true) {
    try {
      return cluster.shared_secret("user-key", core::random_user_key());
    } catch (const stream::StoreError& e) {
      if (!told) log::warn("waiting for the cluster's user key", {{"error", e.what()}});
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error(
            std::string("per-user streams with persist: true need the cluster's user key "
                        "from Redis: ") +
            e.what());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

const char* level_text(log::Level l) {
  switch (l) {
    case log::Level::kDebug:
      return "debug";
    case log::Level::kInfo:
      return "info";
    case log::Level::kWarn:
      return "warn";
    case log::Level::kError:
      return "error";
  }
  return "info";
}

// Ends the process when stop() overruns its bound (it is not done() in
// time). Threads: done() from stop(), wait() from the watchdog's thread.
class Watchdog {
 public:
  void done() {
    MutexLock l(mu_);
    done_ = true;
    cv_.notify_all();
  }
  // True once done(), false when `bound` passed first.
  bool wait(std::chrono::milliseconds bound) {
    const auto until = std::chrono::steady_clock::now() + bound;
    MutexLock l(mu_);
    while (!done_) {
      if (!cv_.wait_until(mu_, until)) return done_;
    }
    return true;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool done_ PB_GUARDED_BY(mu_) = false;
};

sigset_t handled_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

bool apply_overrides(const Overrides& o, config::Config& cfg, std::string& why) {
  if (!o.listen.empty() && !config::parse_listen(o.listen, cfg.server.host, cfg.server.port, why)) {
    why = "--listen \"" + o.listen + "\" " + why;
    return false;
  }
  if (o.memory) cfg.state.dir.clear();
  if (o.log_format) cfg.log.format = *o.log_format == log::Format::kJson ? "json" : "text";
  if (o.log_level) cfg.log.level = level_text(*o.log_level);
  return true;
}

App::App(std::string config_path, Overrides overrides, Options options)
    : path_(std::move(config_path)),
      overrides_(std::move(overrides)),
      options_(std::move(options)),
      running_(std::make_shared<const config::Config>()) {}

App::~App() = default;

bool App::load(config::Config& out, std::vector<std::string>* errors) {
  try {
    out = config::load_config(path_);
  } catch (const config::ConfigError& e) {
    for (const auto& problem : e.problems()) log::error(problem);
    if (errors) *errors = e.problems();
    return false;
  }
  std::string why;
  if (!apply_overrides(overrides_, out, why)) {
    log::error(why);
    if (errors) *errors = {why};
    return false;
  }
  return true;
}

void App::apply_log(const config::Config& c) const {
  log::Format f = log::Format::kText;
  log::Level l = log::Level::kInfo;
  log::parse_format(c.log.format, f);
  log::parse_level(c.log.level, l);
  log::configure(f, l);
  log::set_access(c.log.access);
}

int App::check() {
  config::Config cfg;
  if (!load(cfg, nullptr)) {
    log::error("invalid config", {{"config", path_}});
    return 1;
  }
  if (cfg.server.tls.enabled()) {
    std::vector<std::string> problems;
    if (!server::TlsContext::load(cfg.server.tls, problems)) {
      for (const auto& problem : problems) log::error(problem);
      return 1;
    }
  }
  log::announce(path_ + ": ok (" + std::to_string(cfg.streams.size()) + " streams)", "config ok",
                {{"config", path_}, {"streams", cfg.streams.size()}});
  return 0;
}

int App::open_state() {
  const config::Config& cfg = started_;
  try {
    stream::State state;
    if (!cfg.state.redis.empty()) {
      state = cluster::make_redis_state(cfg.state);  // docs/cluster.md
    } else if (cfg.state.dir.empty()) {
      state = stream::local_state(std::make_shared<stream::MemoryStore>());
    } else {
      state = stream::local_state(
          std::make_shared<stream::SqliteStore>(cfg.state.dir, cfg.state.fsync));
    }
    stream::Coordinator& coordinator = *state.coordinator;
    runtime_ = std::make_unique<core::Runtime>(cfg, std::move(state));
    if (coordinator.shared() && persists_user_state(cfg)) {
      runtime_->set_user_key(cluster_user_key(coordinator));
    } else if (!cfg.state.dir.empty() && persists_user_state(cfg)) {
      runtime_->set_user_key(core::load_or_make_user_key(cfg.state.dir));
    }
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  return 0;
}

int App::start() {
  if (!load(started_, nullptr)) {
    log::error("invalid config, not starting", {{"config", path_}});
    return 1;
  }
  apply_log(started_);
  if (started_.server.tls.enabled()) {
    std::vector<std::string> problems;
    if (!server::TlsContext::load(started_.server.tls, problems)) {
      for (const auto& problem : problems) log::error(problem);
      log::error("invalid config, not starting", {{"config", path_}});
      return 1;
    }
  }
  try {
    policy_.set(auth::Policy::from_config(started_));
  } catch (const std::exception& e) {
    log::error("cannot load the access keys, not starting", {{"error", e.what()}});
    return 1;
  }
  running_.set(std::make_shared<const config::Config>(started_));

  // Signals are taken by run() with sigwait(); every thread made from here
  // on inherits the blocked mask.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  upstream::log_upstream_settings(started_);
  upstream::ensure_descriptor_limit(started_);
  if (int code = open_state(); code != 0) return code;

  http_ = std::make_unique<server::HttpServer>(started_.server);
  std::vector<std::string> problems;
  if (!http_->load_tls(problems)) {
    for (const auto& problem : problems) log::error(problem);
    return 1;
  }
  // The credential query parameter leaves the target before httplib sees it.
  http_->set_credential_param([this] { return policy_.get()->query_param(); });
  if (started_.server.admin_port >= 0) {
    config::ServerConfig admin_cfg = started_.server;
    admin_cfg.host = started_.server.admin_host;
    admin_cfg.port = started_.server.admin_port;
    admin_cfg.tls = {};
    admin_cfg.workers = kAdminWorkers;
    admin_cfg.max_connections = kAdminConnections;
    admin_http_ = std::make_unique<server::HttpServer>(admin_cfg);
  }
  api_ = std::make_unique<server::Api>(*runtime_, *http_, policy_, running_, admin_http_.get());
  api_->set_reloader([this] {
    ReloadAnswer a = reload();
    return std::make_pair(a.status, a.body);
  });
  int admin_port = -1;
  try {
    port_ = http_->bind();
    if (admin_http_) admin_port = admin_http_->bind();
  } catch (const server::ListenError& e) {
    log::error(e.what());
    return 1;
  }
  runtime_->start();
  http_->start();
  if (admin_http_) {
    admin_http_->start();
    const std::string addr = started_.server.admin_host + ":" + std::to_string(admin_port);
    log::announce("pollbridge admin listening on " + addr, "admin listening", {{"listen", addr}});
  }
  announce_started();
  return 0;
}

void App::announce_started() const {
  const config::Config& cfg = started_;
  const std::string addr = cfg.server.host + ":" + std::to_string(port_);
  log::announce("pollbridge " PB_VERSION " listening on " + addr + " (" +
                    std::to_string(cfg.streams.size()) + " streams)",
                "listening",
                {{"listen", addr}, {"version", PB_VERSION}, {"streams", cfg.streams.size()}});
  std::string names;
  for (const auto& sc : cfg.streams) names += (names.empty() ? "" : ",") + sc.name;
  const std::string state = !cfg.state.redis.empty() ? cluster::redacted_redis(cfg.state.redis)
                            : cfg.state.dir.empty()  ? std::string("memory")
                                                     : "sqlite:" + cfg.state.dir;
  log::info("started", {{"version", PB_VERSION},
                        {"config", path_},
                        {"listen", addr},
                        {"state", state},
                        {"streams", names},
                        {"tls", http_->tls_enabled()},
                        {"max_connections", http_->limits().max_total()}});
  if (auto tls = http_->tls_context()) {
    log::info("serving HTTPS", {{"subject", tls->subject()},
                                {"not_after", tls->not_after()},
                                {"min_version", "TLS " + cfg.server.tls.min_version},
                                {"client_certificates", tls->mutual()},
                                {"kernel_tls", server::kernel_tls_status()}});
  }
}

int App::run() {
  const sigset_t signals = handled_signals();
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log::info("SIGHUP: reloading", {{"config", path_}});
      reload();
      continue;
    }
    log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  stop();
  return 0;
}

void App::stop() {
  // server.shutdown_timeout applies live: the value in force now.
  const auto timeout = running_.get()->server.shutdown_timeout;
  // The whole shutdown is bounded: if anything hangs past the drain plus a
  // grace second, say so and leave (state is committed per event, so
  // nothing is lost by it).
  auto watchdog = std::make_shared<Watchdog>();
  std::thread([watchdog, bound = timeout + std::chrono::seconds(1)] {
    if (watchdog->wait(bound)) return;
    log::error("shutdown exceeded server.shutdown_timeout; exiting now");
    std::_Exit(1);
  }).detach();
  // No new connections; requests in progress get a moment to finish.
  http_->stop(std::min<std::chrono::milliseconds>(timeout, kHttpDrain));
  if (admin_http_) admin_http_->stop(std::chrono::milliseconds(0));
  runtime_->stop(timeout);
  api_.reset();
  runtime_.reset();  // closes the state store cleanly
  watchdog->done();
  log::info("stopped");
}

}  // namespace pb::app
