// `pollbridge probe`: tries one stream of a config before it is deployed.
// It loads and checks the config as the proxy does (config::load_config:
// the same `file:line:col` problems), picks the stream's instance (a
// parameterized stream's values from --param, a per-user stream's
// forwarded header values from --forward), polls it with the proxy's own
// poller, ingest stage and stream (core::Trial), prints the document the
// stream would publish and, with --polls 2 or more, the events each later
// poll publishes (app/probe_report.h).
//
// It binds no port, opens no state store (state lives in memory and dies
// with the process; `state:` is read and checked but never opened), writes
// no file, and logs only to stderr (at `error` unless --log-level says
// otherwise). Exit codes (kProbe*): 0 every poll succeeded, 1 a poll
// failed (HTTP status, connection, timeout, parse error: the reason on
// stderr and in the JSON's status), 2 a bad command line (unknown stream,
// missing or refused parameter), 3 an invalid config.
//
// Threads: the main thread; the polls run on it.
#pragma once

namespace pb::app {

constexpr int kProbeOk = 0;
constexpr int kProbePollFailed = 1;
constexpr int kProbeUsage = 2;
constexpr int kProbeConfigInvalid = 3;

// The usage text of the subcommand (part of `pollbridge --help`).
extern const char* const kProbeUsageText;

// Runs `pollbridge probe ARGS...`: `argv[0]` is "probe". Returns the exit
// code.
int probe_main(int argc, char** argv);

}  // namespace pb::app
