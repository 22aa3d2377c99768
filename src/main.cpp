// pollbridge: flags, wiring, signals.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/loader.h"
#include "core/runtime.h"
#include "json/document.h"
#include "server/api.h"
#include "server/http_server.h"
#include "stream/sqlite_store.h"
#include "stream/store.h"

namespace {

const char* kUsage =
    "usage: pollbridge [--config FILE] [--check] [--listen HOST:PORT] [--memory]\n"
    "                  [--version] [--help]\n"
    "\n"
    "Polls the legacy HTTP endpoints named in the config, diffs successive\n"
    "responses and serves the changes as Server-Sent Events.\n"
    "\n"
    "  --config FILE       config file (default: config/pollbridge.yaml)\n"
    "  --check             validate the config and exit: 0 valid, 1 invalid\n"
    "  --listen HOST:PORT  override server.listen (port 0: any free port)\n"
    "  --memory            keep state in memory only (overrides state.dir)\n"
    "  --version           print the version and exit\n"
    "  --help              print this help and exit\n";

struct Flags {
  std::string config = "config/pollbridge.yaml";
  bool check = false;
  bool memory = false;
  std::string listen;
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
    } else {
      return usage_error("unknown argument " + a);
    }
  }

  pb::config::Config cfg;
  try {
    cfg = pb::config::load_config(flags.config);
  } catch (const pb::config::ConfigError& e) {
    std::cerr << e.what() << "\n";
    std::cerr << "pollbridge: " << flags.config << ": invalid config, not starting\n";
    return 1;
  }
  if (!flags.listen.empty() && !split_listen(flags.listen, cfg.server.host, cfg.server.port)) {
    return usage_error("--listen expects HOST:PORT");
  }
  if (flags.memory) cfg.state.dir.clear();
  if (flags.check) {
    std::cout << flags.config << ": ok (" << cfg.streams.size() << " streams)\n";
    return 0;
  }

  // Signals are taken by one thread with sigwait(); every other thread
  // (created below) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<pb::core::Runtime> runtime;
  try {
    std::unique_ptr<pb::stream::Store> store;
    if (cfg.state.dir.empty()) {
      store = std::make_unique<pb::stream::MemoryStore>();
    } else {
      store = std::make_unique<pb::stream::SqliteStore>(cfg.state.dir, cfg.state.fsync);
    }
    runtime = std::make_unique<pb::core::Runtime>(cfg, std::move(store));
  } catch (const std::exception& e) {
    std::cerr << "pollbridge: cannot start: " << e.what() << "\n";
    return 1;
  }
  pb::server::HttpServer http(cfg.server.workers, cfg.server.backlog);
  pb::server::Api api(*runtime, http);
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
      std::cerr << "pollbridge: reload rejected, the running config stays:\n" << e.what() << "\n";
      body["reloaded"] = false;
      body["errors"] = e.problems();
      return {400, pb::json::dump(body) + "\n"};
    }
    pb::core::ReloadResult r = runtime->reload(next);
    auto list = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& n : v) out += (out.empty() ? "" : ",") + n;
      return out.empty() ? std::string("-") : out;
    };
    std::cerr << "pollbridge: config reloaded: kept " << list(r.kept) << "; changed "
              << list(r.changed) << "; added " << list(r.added) << "; removed " << list(r.removed);
    if (!r.ignored.empty()) std::cerr << "; needs a restart: " << list(r.ignored);
    std::cerr << "\n";
    body["reloaded"] = true;
    body["kept"] = r.kept;
    body["changed"] = r.changed;
    body["added"] = r.added;
    body["removed"] = r.removed;
    body["needs_restart"] = r.ignored;
    return {200, pb::json::dump(body) + "\n"};
  };
  api.set_reloader(reload);
  int port = api.bind();
  if (port < 0) {
    std::cerr << "pollbridge: cannot listen on " << cfg.server.host << ":" << cfg.server.port
              << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  runtime->start();
  std::cout << "pollbridge " << PB_VERSION << " listening on " << cfg.server.host << ":" << port
            << " (" << cfg.streams.size() << " streams)" << std::endl;

  std::thread server_thread([&] { api.serve(); });
  int exit_code = 0;
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      std::cerr << "pollbridge: SIGHUP: reloading " << flags.config << "\n";
      reload();
      continue;
    }
    std::cerr << "pollbridge: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": shutting down\n";
    break;
  }
  // The whole shutdown is bounded: if anything hangs past the configured
  // drain plus a grace second, say so and leave (state is committed per
  // event, so nothing is lost by it).
  auto bound = cfg.server.shutdown_timeout + std::chrono::seconds(1);
  std::thread([bound] {
    std::this_thread::sleep_for(bound);
    std::cerr << "pollbridge: shutdown exceeded server.shutdown_timeout; exiting now\n";
    std::_Exit(1);
  }).detach();
  api.stop();  // no new connections
  server_thread.join();
  runtime->stop(cfg.server.shutdown_timeout);
  runtime.reset();  // closes the state store cleanly
  std::cerr << "pollbridge: stopped\n";
  return exit_code;
}
