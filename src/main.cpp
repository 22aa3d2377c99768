// pollbridge's entry point: the command line, then the app (app/app.h).
#include <iostream>
#include <string>

#include "app/app.h"
#include "app/probe_command.h"
#include "config/man_page.h"
#include "config/schema.h"
#include "log/log.h"

namespace {

const char* kUsage =
    "usage: pollbridge [--config FILE] [--check] [--listen HOST:PORT] [--memory]\n"
    "                  [--log-format text|json] [--log-level LEVEL] [--version] [--help]\n"
    "       pollbridge --print-schema | --print-man\n"
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
    "  --print-schema      print the config's JSON Schema (draft 2020-12) and exit\n"
    "  --print-man         print the manual page pollbridge.yaml(5) (roff) and exit\n"
    "  --version           print the version and exit\n"
    "  --help              print this help and exit\n";

int usage_error(const std::string& msg) {
  std::cerr << "pollbridge: " << msg << "\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // `pollbridge probe ...` (app/probe_command.h): a command of its own.
  if (argc > 1 && std::string(argv[1]) == "probe") return pb::app::probe_main(argc - 1, argv + 1);
  std::string config = "config/pollbridge.yaml";
  bool check = false;
  pb::app::Overrides o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::cout << kUsage << "\n" << pb::app::kProbeUsageText;
      return 0;
    } else if (a == "--version") {
      std::cout << "pollbridge " << PB_VERSION << "\n";
      return 0;
    } else if (a == "--print-schema") {
      std::cout << pb::config::json_schema();
      return 0;
    } else if (a == "--print-man") {
      std::cout << pb::config::yaml_man_page();
      return 0;
    } else if (a == "--check") {
      check = true;
    } else if (a == "--memory") {
      o.memory = true;
    } else if (a == "--config" || a == "-c") {
      if (!value(config)) return usage_error("--config needs a file");
    } else if (a.rfind("--config=", 0) == 0) {
      config = a.substr(9);
    } else if (a == "--listen") {
      if (!value(o.listen)) return usage_error("--listen needs HOST:PORT");
    } else if (a == "--log-format") {
      pb::log::Format f;
      if (!value(v) || !pb::log::parse_format(v, f)) {
        return usage_error("--log-format expects text or json");
      }
      o.log_format = f;
    } else if (a == "--log-level") {
      pb::log::Level l;
      if (!value(v) || !pb::log::parse_level(v, l)) {
        return usage_error("--log-level expects debug, info, warn or error");
      }
      o.log_level = l;
    } else {
      return usage_error("unknown argument " + a);
    }
  }
  // Until the config is read, the command line's log settings hold.
  pb::log::configure(o.log_format.value_or(pb::log::Format::kText),
                     o.log_level.value_or(pb::log::Level::kInfo));
  {
    // --listen is checked before the file is read.
    pb::config::Config probe;
    std::string why;
    if (!pb::app::apply_overrides(o, probe, why)) return usage_error(why);
  }
  pb::app::App app(config, o);
  if (check) return app.check();
  if (int code = app.start(); code != 0) return code;
  return app.run();
}
