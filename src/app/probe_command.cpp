#include "app/probe_command.h"

#include <signal.h>

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app/probe_report.h"
#include "config/duration.h"
#include "config/loader.h"
#include "core/trial.h"
#include "log/log.h"

namespace pb::app {

const char* const kProbeUsageText =
    "usage: pollbridge probe [--config FILE] STREAM [--param NAME=VALUE]...\n"
    "                        [--forward HEADER=VALUE]... [--polls N] [--interval DURATION]\n"
    "                        [--json] [--log-level LEVEL]\n"
    "\n"
    "Polls one stream of the config as the running proxy would (the same\n"
    "requests, parsing, select and ignore), prints the document it would\n"
    "publish, then the events each further poll publishes. Binds no port and\n"
    "opens no state store.\n"
    "\n"
    "  --config FILE        config file (default: config/pollbridge.yaml)\n"
    "  STREAM               the stream's name\n"
    "  --param NAME=VALUE   a parameter of a parameterized stream (each one needed)\n"
    "  --forward H=VALUE    a per-user stream's forwarded header, as a client sends it\n"
    "  --polls N            polls to make, 1 to 1000 (default 1)\n"
    "  --interval DURATION  time between polls (default: the stream's interval)\n"
    "  --json               print one JSON object: document, events, status\n"
    "  --log-level L        debug, info, warn or error (default error), on stderr\n"
    "\n"
    "Exit status: 0 every poll succeeded, 1 a poll failed (the reason on stderr),\n"
    "2 a bad command line, 3 an invalid config.\n";

namespace {

constexpr unsigned kMaxProbePolls = 1000;

struct ProbeArgs {
  std::string config = "config/pollbridge.yaml";
  std::string stream;
  std::map<std::string, std::string> params;
  std::vector<std::pair<std::string, std::string>> forwarded;
  unsigned polls = 1;
  std::optional<config::Duration> interval;
  bool json = false;
  log::Level log_level = log::Level::kError;
};

int probe_usage_error(const std::string& msg) {
  std::cerr << "pollbridge probe: " << msg << "\n\n" << kProbeUsageText;
  return kProbeUsage;
}

// A well-formed command line naming something the config does not have.
int probe_refused(const std::string& msg) {
  std::cerr << "pollbridge probe: " << msg << "\n";
  return kProbeUsage;
}

// "NAME=VALUE" split at its first '='; false if there is none or no name.
bool probe_split_assignment(const std::string& text, std::pair<std::string, std::string>& out) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out = {text.substr(0, eq), text.substr(eq + 1)};
  return true;
}

// Parses the command line; an exit code when it is refused (or was --help),
// nullopt to go on.
std::optional<int> parse_probe_args(int argc, char** argv, ProbeArgs& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string v;
    auto value = [&] {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    std::pair<std::string, std::string> kv;
    if (arg == "--help" || arg == "-h") {
      std::cout << kProbeUsageText;
      return kProbeOk;
    } else if (arg == "--config" || arg == "-c") {
      if (!value()) return probe_usage_error("--config needs a file");
      a.config = v;
    } else if (arg.rfind("--config=", 0) == 0) {
      a.config = arg.substr(9);
    } else if (arg == "--param") {
      if (!value() || !probe_split_assignment(v, kv)) {
        return probe_usage_error("--param expects NAME=VALUE");
      }
      if (!a.params.emplace(kv.first, kv.second).second) {
        return probe_usage_error("--param " + kv.first + " is given twice");
      }
    } else if (arg == "--forward") {
      // The value may be a credential: it is never printed.
      if (!value() || !probe_split_assignment(v, kv)) {
        return probe_usage_error("--forward expects HEADER=VALUE");
      }
      a.forwarded.push_back(std::move(kv));
    } else if (arg == "--polls") {
      unsigned long n = 0;
      std::size_t used = 0;
      try {
        if (value()) n = std::stoul(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != v.size() || n < 1 || n > kMaxProbePolls) {
        return probe_usage_error("--polls expects a number from 1 to " +
                                 std::to_string(kMaxProbePolls));
      }
      a.polls = static_cast<unsigned>(n);
    } else if (arg == "--interval") {
      config::Duration d{0};
      std::string why;
      if (!value()) return probe_usage_error("--interval needs a duration");
      if (!config::parse_duration(v, d, why)) {
        return probe_usage_error("--interval \"" + v + "\" " + why);
      }
      a.interval = d;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--log-level") {
      if (!value() || !log::parse_level(v, a.log_level)) {
        return probe_usage_error("--log-level expects debug, info, warn or error");
      }
    } else if (!arg.empty() && arg[0] == '-') {
      return probe_usage_error("unknown argument " + arg);
    } else if (a.stream.empty()) {
      a.stream = arg;
    } else {
      return probe_usage_error("one stream at a time (got " + a.stream + " and " + arg + ")");
    }
  }
  if (a.stream.empty()) return probe_usage_error("which stream? (its name)");
  return std::nullopt;
}

}  // namespace

int probe_main(int argc, char** argv) {
  ProbeArgs a;
  if (auto code = parse_probe_args(argc, argv, a)) return *code;
  log::configure(log::Format::kText, a.log_level);
  signal(SIGPIPE, SIG_IGN);

  config::Config cfg;
  try {
    cfg = config::load_config(a.config);
  } catch (const config::ConfigError& e) {
    for (const auto& problem : e.problems()) std::cerr << problem << "\n";
    std::cerr << "pollbridge probe: invalid config " << a.config << "\n";
    return kProbeConfigInvalid;
  }
  const config::StreamConfig* stream = nullptr;
  std::string names;
  for (const auto& s : cfg.streams) {
    if (s.name == a.stream) stream = &s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  if (stream == nullptr) {
    return probe_refused("no stream " + a.stream + " in " + a.config + " (its streams: " + names +
                         ")");
  }
  core::TrialTarget target;
  std::string why;
  if (!core::trial_target(*stream, a.params, a.forwarded, target, why)) {
    return probe_refused(why);
  }

  ProbeReport report;
  report.stream = stream->name;
  report.address = target.address;
  const config::Duration interval = a.interval.value_or(stream->interval);
  try {
    core::Trial trial(std::move(target));
    for (unsigned poll = 1; poll <= a.polls; ++poll) {
      if (poll > 1) std::this_thread::sleep_for(interval);
      core::Trial::Poll p = trial.poll();
      report.polls = poll;
      if (poll == 1) report.document = trial.document();
      if (poll > 1) {
        for (auto& ev : p.events) report.events.push_back({poll, std::move(ev)});
      }
      if (!p.ok) {
        report.ok = false;
        report.failed_poll = poll;
        report.status = std::move(p.status);
        break;
      }
    }
  } catch (const std::exception& e) {
    report.ok = false;
    report.failed_poll = report.polls + 1;
    report.status.ok = false;
    report.status.reason = e.what();
  }
  std::cout << (a.json ? probe_json(report) : probe_text(report)) << std::flush;
  if (!report.ok) {
    std::cerr << "pollbridge probe: " << probe_failure(report) << "\n";
    return kProbePollFailed;
  }
  return kProbeOk;
}

}  // namespace pb::app
