// pollbridge: flags, wiring, signals.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "auth/policy.h"
#include "auth/policy_holder.h"
#include "cluster/redis_store.h"
#include "config/loader.h"
#include "core/runtime.h"
#include "core/user_key.h"
#include "json/document.h"
#include "log/log.h"
#include "server/api.h"
#include "server/front_door_metrics.h"
#include "server/http_server.h"
#include "server/listener.h"
#include "server/tls_context.h"
#include "stream/memory_store.h"
#include "stream/sqlite_store.h"
#include "stream/store.h"
#include "upstream/startup_checks.h"

namespace {

const char* kUsage =
    "usage: pollbridge [--config FILE] [--check] [--listen HOST:PORT] [--memory]\n"
    "                  [--log-format text|json] [--log-level LEVEL] [--version] [--help]\n"
    "\n"
    "Polls the legacy HTTP endpoints named in the config, diffs successive\n"
    "responses and serves the changes as Server-Sent Events.\n"
    "\n"
    "  --config FILE       config file (default: config/pollbridge.yaml)\n"
    "  --check             validate the config and exit: 0 valid, 1 invalid\n"
    "  --listen HOST:PORT  override server.listen (port 0: any free port)\n"
    "  --memory            keep state in memory only (overrides state.dir)\n"
    "  --log-format F      text (default) or json: one object per line on stderr\n"
    "  --log-level L       debug, info (default), warn or error\n"
    "  --version           print the version and exit\n"
    "  --help              print this help and exit\n";

// How long requests in progress may take to finish at shutdown (within
// server.shutdown_timeout).
constexpr std::chrono::milliseconds kHttpDrain{1000};
// The admin listener (server.admin_listen): a few workers and connections
// are plenty for reloads, webhooks and scrapes.
constexpr std::size_t kAdminWorkers = 2;
constexpr std::size_t kAdminConnections = 64;
// How long a cluster member waits at start for Redis to give it the
// shared per-user key (state.redis with a per-user stream that persists).
constexpr std::chrono::seconds kClusterUserKeyWait{15};

struct Flags {
  std::string config = "config/pollbridge.yaml";
  bool check = false;
  bool memory = false;
  std::string listen;
  std::string log_format;
  std::string log_level;
};

int usage_error(const std::string& msg) {
  std::cerr << "pollbridge: " << msg << "\n\n" << kUsage;
  return 2;
}

bool split_listen(const std::string& text, std::string& host, int& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    std::size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    return used == text.size() - colon - 1 && port >= 0 && port <= 65535 && !host.empty();
  } catch (const std::exception&) {
    return false;
  }
}

// Whether any per-user stream keeps its state in the store (then the key
// of per-user instances is kept in the state directory too).
bool persists_user_state(const pb::config::Config& cfg) {
  for (const auto& s : cfg.streams) {
    if (!s.auth.forward_headers.empty() && s.auth.persist) return true;
  }
  return false;
}

// The per-user HMAC key every instance of a cluster shares (in Redis, as
// P:user-key): each would otherwise key a user's instance differently, and
// poll it on its own. Waits for Redis a while at start; throws if it stays
// unreachable (pollbridge cannot start without it).
std::string cluster_user_key(pb::cluster::RedisStore& redis) {
  const auto deadline = std::chrono::steady_clock::now() + kClusterUserKeyWait;
  for (;;) {
    try {
      return redis.shared_secret("user-key", pb::core::random_user_key());
    } catch (const pb::stream::StoreError& e) {
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

// The access policy of `cfg`; null (with the reason logged) if its keys do
// not build.
std::shared_ptr<const pb::auth::Policy> policy_of(const pb::config::Config& cfg,
                                                  std::string* error) {
  try {
    return pb::auth::Policy::from_config(cfg.auth);
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--version") {
      std::cout << "pollbridge " << PB_VERSION << "\n";
      return 0;
    } else if (a == "--check") {
      flags.check = true;
    } else if (a == "--memory") {
      flags.memory = true;
    } else if (a == "--config" || a == "-c") {
      if (!value(flags.config)) return usage_error("--config needs a file");
    } else if (a.rfind("--config=", 0) == 0) {
      flags.config = a.substr(9);
    } else if (a == "--listen") {
      if (!value(flags.listen)) return usage_error("--listen needs HOST:PORT");
    } else if (a == "--log-format") {
      if (!value(flags.log_format)) return usage_error("--log-format needs text or json");
    } else if (a == "--log-level") {
      if (!value(flags.log_level)) return usage_error("--log-level needs a level");
    } else {
      return usage_error("unknown argument " + a);
    }
  }

  pb::log::Format log_format = pb::log::Format::kText;
  pb::log::Level log_level = pb::log::Level::kInfo;
  if (!flags.log_format.empty() && !pb::log::parse_format(flags.log_format, log_format)) {
    return usage_error("--log-format expects text or json");
  }
  if (!flags.log_level.empty() && !pb::log::parse_level(flags.log_level, log_level)) {
    return usage_error("--log-level expects debug, info, warn or error");
  }
  pb::log::configure(log_format, log_level);

  pb::config::Config cfg;
  try {
    cfg = pb::config::load_config(flags.config);
  } catch (const pb::config::ConfigError& e) {
    for (const auto& problem : e.problems()) pb::log::error(problem);
    pb::log::error("invalid config, not starting", {{"config", flags.config}});
    return 1;
  }
  // The config's log: section, where no flag says otherwise (at start and
  // at every reload).
  auto apply_log = [&flags, log_format, log_level](const pb::config::Config& c) {
    pb::log::Format f = log_format;
    pb::log::Level l = log_level;
    if (flags.log_format.empty()) pb::log::parse_format(c.log.format, f);
    if (flags.log_level.empty()) pb::log::parse_level(c.log.level, l);
    pb::log::configure(f, l);
    pb::log::set_access(c.log.access);
  };
  apply_log(cfg);
  if (!flags.listen.empty() && !split_listen(flags.listen, cfg.server.host, cfg.server.port)) {
    return usage_error("--listen expects HOST:PORT");
  }
  if (flags.memory) cfg.state.dir.clear();
  if (cfg.server.tls.enabled()) {
    // The certificate and key are part of the config: a key that does not
    // match, an expired certificate or an unreadable file fail here.
    std::vector<std::string> problems;
    if (!pb::server::TlsContext::load(cfg.server.tls, problems)) {
      for (const auto& problem : problems) pb::log::error(problem);
      pb::log::error("invalid config, not starting", {{"config", flags.config}});
      return 1;
    }
  }
  if (flags.check) {
    pb::log::announce(flags.config + ": ok (" + std::to_string(cfg.streams.size()) + " streams)",
                      "config ok", {{"config", flags.config}, {"streams", cfg.streams.size()}});
    return 0;
  }
  std::string policy_error;
  auto first_policy = policy_of(cfg, &policy_error);
  if (!first_policy) {
    pb::log::error("cannot load the access keys, not starting", {{"error", policy_error}});
    return 1;
  }
  pb::auth::PolicyHolder policy(first_policy);

  // Signals are taken by one thread with sigwait(); every other thread
  // (created below) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  pb::upstream::log_upstream_settings(cfg);
  pb::upstream::ensure_descriptor_limit(cfg);

  std::unique_ptr<pb::core::Runtime> runtime;
  try {
    std::unique_ptr<pb::stream::Store> store;
    pb::cluster::RedisStore* redis = nullptr;
    if (!cfg.state.redis.empty()) {
      store = pb::cluster::make_redis_store(cfg.state);  // docs/cluster.md
      redis = static_cast<pb::cluster::RedisStore*>(store.get());
    } else if (cfg.state.dir.empty()) {
      store = std::make_unique<pb::stream::MemoryStore>();
    } else {
      store = std::make_unique<pb::stream::SqliteStore>(cfg.state.dir, cfg.state.fsync);
    }
    runtime = std::make_unique<pb::core::Runtime>(cfg, std::move(store));
    if (redis != nullptr && persists_user_state(cfg)) {
      runtime->set_user_key(cluster_user_key(*redis));
    } else if (!cfg.state.dir.empty() && persists_user_state(cfg)) {
      runtime->set_user_key(pb::core::load_or_make_user_key(cfg.state.dir));
    }
  } catch (const std::exception& e) {
    pb::log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  pb::server::HttpServer http(cfg.server);
  {
    std::vector<std::string> problems;
    if (!http.load_tls(problems)) {
      for (const auto& problem : problems) pb::log::error(problem);
      return 1;
    }
  }
  // The credential query parameter leaves the target before httplib sees it.
  http.set_credential_param([&policy] { return policy.get()->query_param(); });
  // server.admin_listen: the admin endpoints on a listener of their own
  // (plain HTTP, meant for loopback or a private network).
  std::unique_ptr<pb::server::HttpServer> admin_http;
  if (cfg.server.admin_port >= 0) {
    pb::config::ServerConfig admin_cfg = cfg.server;
    admin_cfg.host = cfg.server.admin_host;
    admin_cfg.port = cfg.server.admin_port;
    admin_cfg.tls = {};
    admin_cfg.workers = kAdminWorkers;
    admin_cfg.max_connections = kAdminConnections;
    admin_http = std::make_unique<pb::server::HttpServer>(admin_cfg);
  }
  pb::server::Api api(*runtime, http, policy, admin_http.get());
  // SIGHUP and POST /admin/reload: re-read the same file; an invalid one is
  // rejected and the running config stays.
  std::mutex reload_mu;
  auto reload = [&]() -> std::pair<int, std::string> {
    std::lock_guard<std::mutex> lock(reload_mu);
    using pb::json::Json;
    Json body = Json::object();
    pb::config::Config next;
    try {
      next = pb::config::load_config(flags.config);
    } catch (const pb::config::ConfigError& e) {
      for (const auto& problem : e.problems()) pb::log::error(problem);
      pb::log::error("reload rejected, the running config stays", {{"config", flags.config}});
      body["reloaded"] = false;
      body["errors"] = e.problems();
      return {400, pb::json::dump(body) + "\n"};
    }
    // The certificate is reloaded too (rotation); one that does not load
    // rejects the whole reload and the running one stays.
    std::shared_ptr<pb::server::TlsContext> tls_next;
    if (http.tls_enabled() && next.server.tls.enabled()) {
      std::vector<std::string> problems;
      tls_next = pb::server::TlsContext::load(next.server.tls, problems);
      if (!tls_next) {
        for (const auto& problem : problems) pb::log::error(problem);
        pb::log::error("reload rejected, the running config and certificate stay",
                       {{"config", flags.config}});
        body["reloaded"] = false;
        body["errors"] = problems;
        return {400, pb::json::dump(body) + "\n"};
      }
    }
    // The keys are read again (rotation); keys that do not build reject the
    // whole reload and the running policy stays.
    std::string error;
    auto next_policy = policy_of(next, &error);
    if (!next_policy) {
      pb::log::error("reload rejected: cannot load the access keys", {{"error", error}});
      body["reloaded"] = false;
      body["errors"] = Json::array({error});
      return {400, pb::json::dump(body) + "\n"};
    }
    apply_log(next);
    // Swapped before the streams: a stream that now needs auth is never
    // served under the old, looser policy.
    policy.set(next_policy);
    pb::upstream::log_upstream_settings(next);
    pb::upstream::ensure_descriptor_limit(next);
    pb::core::ReloadResult r = runtime->reload(next);
    // Open sessions judged again under the new policy and streams: a
    // revoked credential stops streaming now (docs/security.md, Revocation).
    const std::size_t revoked = api.recheck_sessions();
    if (revoked != 0) {
      pb::log::info("reload: sessions no longer admitted are closed", {{"sessions", revoked}});
    }
    for (auto& key : pb::server::front_door_changes(cfg.server, next.server)) {
      r.ignored.push_back(std::move(key));
    }
    if (tls_next) {
      std::vector<std::string> unused;
      http.reload_tls(next.server.tls, unused);
      pb::log::info("TLS certificate reloaded",
                    {{"subject", tls_next->subject()}, {"not_after", tls_next->not_after()}});
    }
    auto list = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& n : v) out += (out.empty() ? "" : ",") + n;
      return out.empty() ? std::string("-") : out;
    };
    pb::log::info("config reloaded", {{"kept", list(r.kept)},
                                      {"changed", list(r.changed)},
                                      {"added", list(r.added)},
                                      {"removed", list(r.removed)},
                                      {"needs_restart", list(r.ignored)}});
    body["reloaded"] = true;
    body["kept"] = r.kept;
    body["changed"] = r.changed;
    body["added"] = r.added;
    body["removed"] = r.removed;
    body["needs_restart"] = r.ignored;
    return {200, pb::json::dump(body) + "\n"};
  };
  api.set_reloader(reload);
  int port = 0;
  try {
    port = http.bind();
  } catch (const pb::server::ListenError& e) {
    pb::log::error(e.what());
    return 1;
  }
  int admin_port = -1;
  if (admin_http) {
    try {
      admin_port = admin_http->bind();
    } catch (const pb::server::ListenError& e) {
      pb::log::error(e.what());
      return 1;
    }
  }
  runtime->start();
  http.start();
  if (admin_http) {
    admin_http->start();
    const std::string admin_addr = cfg.server.admin_host + ":" + std::to_string(admin_port);
    pb::log::announce("pollbridge admin listening on " + admin_addr, "admin listening",
                      {{"listen", admin_addr}});
  }
  {
    const std::string addr = cfg.server.host + ":" + std::to_string(port);
    pb::log::announce("pollbridge " PB_VERSION " listening on " + addr + " (" +
                          std::to_string(cfg.streams.size()) + " streams)",
                      "listening",
                      {{"listen", addr}, {"version", PB_VERSION}, {"streams", cfg.streams.size()}});
  }
  {
    std::string names;
    for (const auto& sc : cfg.streams) names += (names.empty() ? "" : ",") + sc.name;
    const std::string state = !cfg.state.redis.empty()
                                  ? pb::cluster::redacted_redis(cfg.state.redis)
                              : cfg.state.dir.empty() ? std::string("memory")
                                                      : "sqlite:" + cfg.state.dir;
    pb::log::info("started", {{"version", PB_VERSION},
                              {"config", flags.config},
                              {"listen", cfg.server.host + ":" + std::to_string(port)},
                              {"state", state},
                              {"streams", names},
                              {"tls", http.tls_enabled()},
                              {"max_connections", http.limits().max_total()}});
    if (auto tls = http.tls_context()) {
      pb::log::info("serving HTTPS", {{"subject", tls->subject()},
                                      {"not_after", tls->not_after()},
                                      {"min_version", "TLS " + cfg.server.tls.min_version},
                                      {"client_certificates", tls->mutual()},
                                      {"kernel_tls", pb::server::kernel_tls_status()}});
    }
  }

  int exit_code = 0;
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      pb::log::info("SIGHUP: reloading", {{"config", flags.config}});
      reload();
      continue;
    }
    pb::log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  // The whole shutdown is bounded: if anything hangs past the configured
  // drain plus a grace second, say so and leave (state is committed per
  // event, so nothing is lost by it).
  auto bound = cfg.server.shutdown_timeout + std::chrono::seconds(1);
  std::thread([bound] {
    std::this_thread::sleep_for(bound);
    pb::log::error("shutdown exceeded server.shutdown_timeout; exiting now");
    std::_Exit(1);
  }).detach();
  // No new connections; requests in progress get a moment to finish.
  http.stop(std::min<std::chrono::milliseconds>(cfg.server.shutdown_timeout, kHttpDrain));
  if (admin_http) admin_http->stop(std::chrono::milliseconds(0));
  runtime->stop(cfg.server.shutdown_timeout);
  runtime.reset();  // closes the state store cleanly
  pb::log::info("stopped");
  return exit_code;
}
