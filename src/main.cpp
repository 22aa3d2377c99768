// pollbridge: flags, wiring, signals.
#include <signal.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "config/loader.h"
#include "core/runtime.h"
#include "server/api.h"
#include "server/http_server.h"
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

  std::unique_ptr<pb::stream::Store> store = std::make_unique<pb::stream::MemoryStore>();
  std::unique_ptr<pb::core::Runtime> runtime;
  try {
    runtime = std::make_unique<pb::core::Runtime>(cfg, std::move(store));
  } catch (const std::exception& e) {
    std::cerr << "pollbridge: cannot start: " << e.what() << "\n";
    return 1;
  }
  pb::server::HttpServer http(cfg.server.workers, cfg.server.backlog);
  pb::server::Api api(*runtime, http);
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
      std::cerr << "pollbridge: SIGHUP: config reload is not supported yet; ignoring\n";
      continue;
    }
    std::cerr << "pollbridge: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ": shutting down\n";
    break;
  }
  api.stop();  // no new connections
  server_thread.join();
  runtime->stop(cfg.server.shutdown_timeout);
  std::cerr << "pollbridge: stopped\n";
  return exit_code;
}
