// pb-loadgen: the load client of scripts/bench-fanout.sh.
//
//   pb-loadgen --target nchan|pollbridge --port P --path /events/bench
//              --clients N --rate R --payload B --duration D [--storm] ...
//   pb-loadgen --mode upstream-count ...   (pollbridge: upstream requests per interval)
//   pb-loadgen --report results.jsonl      (markdown tables from earlier runs)
//   pb-loadgen --self-test                 (parser / histogram checks)
//
// A fan-out run: wait for the server, connect N SSE clients, sample the
// server's memory with the clients idle, warm up, publish R changes/s for D
// seconds and wait for stragglers (latency, deliveries, gaps, duplicates,
// server CPU), then optionally the reconnect storm. One JSON object goes to
// stdout (and is appended to --out); progress goes to stderr.
//
// Threads: main (epoll loop and orchestration), the publisher's thread, and
// the embedded backend's httplib threads (pollbridge target).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "client_pool.h"
#include "front_door_runs.h"
#include "longpoll_run.h"
#include "proc_stats.h"
#include "publisher.h"
#include "report.h"
#include "result_json.h"
#include "selftest.h"

namespace {

using nlohmann::json;
using pbl::histogram_json;
using pbl::loadavg1;
using pbl::monotonic_ns;
using pbl::phase_json;
using pbl::proc_json;
using pbl::realtime_ns;

struct Args {
  std::map<std::string, std::string> values;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() ? def : it->second;
  }
  double num(const std::string& k, double def) const {
    auto it = values.find(k);
    return it == values.end() ? def : std::stod(it->second);
  }
  bool flag(const std::string& k) const { return values.count(k) > 0; }
};

const char* kUsage = R"(usage:
  pb-loadgen --target nchan|pollbridge --port PORT [options]
  pb-loadgen --report FILE.jsonl
  pb-loadgen --self-test

server under test:
  --host 127.0.0.1          numeric IPv4 address of the server
  --port PORT[,PORT...]     its port; several: clients round-robin, publishing to the first
  --extra-pid PID           another process whose CPU per event is reported (redis-server)
  --path PATH               subscribe path (nchan: /sub, pollbridge: /events/bench)
  --server-pid-file FILE    pids of the server processes to sample (nginx: workers)
publishing:
  --rate 10                 changes per second
  --payload 512             bytes of padding in each document (shape pad)
  --shape pad|orders|large  the document (bench_documents.h): padding, the example's
                            orders (pollbridge: a json-patch stream), a ~50 KB catalogue
  --publish-path /pub       nchan publisher location
  --trigger-path /streams/bench/poll?wait=true   pollbridge's poll trigger (answers once polled)
  --token TOKEN             pollbridge's admin token
  --backend-port PORT       port of the embedded legacy backend (pollbridge target)
run:
  --mode fanout|upstream-count|connect|held|longpoll
                            longpoll: --path without query (nchan: /sub-lp)
  --tls                     the server's port speaks TLS
  --accept-encoding gzip    ask for a compressed stream (empty: plain)
  --inflate-every 1         of the compressed streams, inflate and check every K-th
  --repeat 3                connect: rounds on fresh connections
  --newcomers 5             held: newcomers timed while everything is held
  --idle-path /healthz      held: what the idle keep-alive connections asked for
  --newcomer-path PATH      held: the newcomers' stream (nchan: /sub-latest)
  --waiting N               held: then N waiting long-polls, then N idle SSE subscribers
  --longpoll-path PATH      held: the waiting long-polls' path (nchan: /sub-lp)
  --clients 1000            SSE connections
  --duration 10             seconds of measured publishing
  --warmup 2                seconds of unmeasured publishing first
  --settle 1                seconds idle before the memory sample
  --storm                   then run the reconnect storm
  --storm-spread 1          seconds over which the storm's disconnects spread
  --storm-timeout 30        give up waiting for resumption after this long
  --intervals 10            upstream-count: intervals to count
  --interval-ms 1000        upstream-count: pollbridge's configured interval
  --src-addrs K             spread clients over 127.0.0.1..127.0.0.K (default: 1 per 20,000)
  --connect-concurrency 256 handshakes in flight while connecting
  --connect-timeout 120     seconds allowed for all clients to connect
  --straggler-timeout 10    seconds to wait for late deliveries after publishing
  --log-anomalies 20        print the first gaps / duplicates with context
  --label TEXT              copied into the result
  --out FILE                also append the JSON result to FILE
)";

bool parse_args(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      std::cerr << "unexpected argument: " << a << "\n";
      return false;
    }
    a = a.substr(2);
    static const char* kFlags[] = {"storm", "self-test", "help", "tls"};
    bool is_flag = false;
    for (const char* f : kFlags) is_flag |= a == f;
    if (is_flag) {
      args.values[a] = "1";
    } else if (i + 1 < argc) {
      args.values[a] = argv[++i];
    } else {
      std::cerr << "missing value for --" << a << "\n";
      return false;
    }
  }
  return true;
}

bool tcp_reachable(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

json poll_json(const pbl::Publisher::PollStats& p) {
  json j = histogram_json(p.change_to_fetch);
  j["fetched"] = p.fetched;
  j["folded"] = p.folded;
  return j;
}

// Runs the epoll loop for `seconds` (or until `until` returns true).
template <typename Pred>
bool run_for(pbl::ClientPool& pool, double seconds, Pred until) {
  const std::int64_t end = monotonic_ns() + static_cast<std::int64_t>(seconds * 1e9);
  while (monotonic_ns() < end) {
    if (until()) return true;
    pool.poll(5);
  }
  return until();
}

void idle(pbl::ClientPool& pool, double seconds) {
  run_for(pool, seconds, [] { return false; });
}

// Writes the run's JSON line (stdout, and appended to --out) and leaves:
// stopping the embedded backend would wait out the keep-alive timeout of the
// server's polling connection, and the results are written.
[[noreturn]] void finish(json& result, const Args& args, pbl::Publisher& publisher) {
  result["loadavg_end"] = loadavg1();
  publisher.stop_async();
  const std::string line = result.dump();
  std::cout << line << std::endl;
  if (!args.get("out").empty()) std::ofstream(args.get("out"), std::ios::app) << line << "\n";
  std::cerr.flush();
  std::_Exit(0);
}

int run(const Args& args) {
  const std::string target_name = args.get("target", "nchan");
  pbl::Target target;
  if (target_name == "nchan") {
    target = pbl::Target::kNchan;
  } else if (target_name == "pollbridge") {
    target = pbl::Target::kPollbridge;
  } else {
    std::cerr << "--target must be nchan or pollbridge\n";
    return 2;
  }
  const std::string mode = args.get("mode", "fanout");
  const std::string host = args.get("host", "127.0.0.1");
  // --port P or P1,P2,...: several servers (pollbridge instances sharing a
  // Redis) get the clients round-robin; publishing goes to the first.
  std::vector<int> ports;
  for (pid_t p : pbl::parse_pid_list(args.get("port"))) ports.push_back(static_cast<int>(p));
  const int port = ports.empty() ? 0 : ports.front();
  if (port <= 0) {
    std::cerr << kUsage;
    return 2;
  }
  // A process whose CPU is reported per event (redis-server in the cluster
  // runs), apart from the servers'.
  const std::vector<pid_t> extra_pids = pbl::parse_pid_list(args.get("extra-pid"));
  const std::size_t clients = static_cast<std::size_t>(args.num("clients", 1000));
  const double rate = args.num("rate", 10);
  const std::size_t payload = static_cast<std::size_t>(args.num("payload", 512));
  const double duration = args.num("duration", 10);
  const double warmup = args.num("warmup", 2);
  const double settle = args.num("settle", 1);
  const std::string pid_file = args.get("server-pid-file");

  json result;
  result["target"] = target_name;
  result["mode"] = mode;
  result["label"] = args.get("label");
  result["clients"] = clients;
  result["rate"] = rate;
  result["payload"] = payload;
  result["duration_s"] = duration;

  pbl::PublisherOptions po;
  po.target = target;
  po.server_host = host;
  po.server_port = port;
  po.trigger_path = args.get("trigger-path", "/streams/bench/poll?wait=true");
  po.token = args.get("token");
  po.publish_path = args.get("publish-path", "/pub");
  po.backend_port = static_cast<int>(args.num("backend-port", 0));
  po.payload = payload;
  if (!pbl::parse_shape(args.get("shape", "pad"), po.shape)) {
    std::cerr << "--shape must be pad, orders or large\n";
    return 2;
  }
  result["shape"] = args.get("shape", "pad");
  result["accept_encoding"] = args.get("accept-encoding");
  po.tls = args.flag("tls");
  pbl::Publisher publisher(po);
  std::string error;
  if (!publisher.start(error)) {
    std::cerr << "pb-loadgen: " << error << "\n";
    return 1;
  }

  // 1. The server (started after us when it polls our backend).
  std::cerr << "[" << target_name << "] waiting for " << host << ":" << args.get("port") << "\n";
  for (int each : ports) {
    const std::int64_t end = monotonic_ns() + 60 * 1000000000LL;
    while (!tcp_reachable(host, each)) {
      if (monotonic_ns() > end) {
        std::cerr << "pb-loadgen: server not reachable\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::vector<pid_t> pids;
  if (!pid_file.empty()) {
    const std::int64_t end = monotonic_ns() + 10 * 1000000000LL;
    while ((pids = pbl::read_pid_file(pid_file)).empty() && monotonic_ns() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (pids.empty()) std::cerr << "pb-loadgen: no pids in " << pid_file << "\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // One change before anyone connects, so pollbridge has a document to open
  // streams with (and nchan a newest message for the held run's newcomers).
  if (target == pbl::Target::kPollbridge || mode == "held") publisher.publish_one();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  result["loadavg_start"] = loadavg1();
  const pbl::ProcSample base = pbl::sample_processes(pids);
  result["server_pids"] = pids;
  result["server_base"] = proc_json(base);
  result["tls"] = args.flag("tls");

  if (mode == "longpoll") {
    pbl::LongPollRun run;
    run.pool.target = target;
    run.pool.host = host;
    run.pool.port = port;
    run.pool.path = args.get("path", target == pbl::Target::kNchan ? "/sub-lp" : "/events/bench");
    run.pool.clients = clients;
    run.pool.src_addrs =
        static_cast<int>(args.num("src-addrs", static_cast<double>(1 + clients / 20000)));
    run.pool.connect_concurrency = static_cast<std::size_t>(args.num("connect-concurrency", 256));
    run.pool.log_anomalies = static_cast<int>(args.num("log-anomalies", 20));
    run.server_pids = pids;
    run.rate = rate;
    run.duration = duration;
    run.warmup = warmup;
    run.settle = settle;
    run.connect_timeout = args.num("connect-timeout", 120);
    run.straggler_timeout = args.num("straggler-timeout", 10);
    if (!pbl::run_longpoll(run, publisher, result)) return 1;
    finish(result, args, publisher);
  }

  if (mode == "connect" || mode == "held") {
    pbl::FrontDoorRun run;
    run.pool.host = host;
    run.pool.port = port;
    run.pool.path = args.get("path", target == pbl::Target::kNchan ? "/sub" : "/events/bench");
    run.pool.clients = clients;
    run.pool.tls = args.flag("tls");
    run.pool.src_addrs =
        static_cast<int>(args.num("src-addrs", static_cast<double>(1 + clients / 20000)));
    run.pool.connect_concurrency = static_cast<std::size_t>(args.num("connect-concurrency", 256));
    run.server_pids = pids;
    run.repeat = static_cast<int>(args.num("repeat", 3));
    run.newcomers = static_cast<int>(args.num("newcomers", 5));
    run.idle_path = args.get("idle-path", "/healthz");
    // nchan's /sub waits for the next message; /sub-latest starts with the
    // newest one, as pollbridge starts with its current document.
    if (mode == "held") {
      run.pool.path =
          args.get("newcomer-path", target == pbl::Target::kNchan ? "/sub-latest" : run.pool.path);
    }
    run.settle_s = settle;
    result[mode] = mode == "connect" ? pbl::run_connect_rate(run) : pbl::run_held(run);
    run.waiting = static_cast<std::size_t>(args.num("waiting", 0));
    if (mode == "held" && run.waiting > 0) {  // the batch above is closed
      const bool nchan = target == pbl::Target::kNchan;
      run.longpoll_path = args.get("longpoll-path", nchan ? "/sub-lp" : "");
      run.longpoll_position = !nchan;
      run.sse_path = args.get("sse-path", nchan ? "/sub" : "");
      result["held_waiting"] = pbl::run_held_waiting(run);
    }
    finish(result, args, publisher);
  }

  // 2. Connect.
  pbl::PoolOptions opt;
  opt.host = host;
  opt.port = port;
  opt.ports = ports;
  opt.path = args.get("path", target == pbl::Target::kNchan ? "/sub" : "/events/bench");
  opt.clients = clients;
  opt.src_addrs = static_cast<int>(args.num("src-addrs", static_cast<double>(1 + clients / 20000)));
  opt.connect_concurrency = static_cast<std::size_t>(args.num("connect-concurrency", 256));
  opt.log_anomalies = static_cast<int>(args.num("log-anomalies", 20));
  opt.tls = args.flag("tls");
  opt.accept_encoding = args.get("accept-encoding");
  opt.inflate_every = static_cast<std::size_t>(args.num("inflate-every", 1));
  pbl::ClientPool pool(opt, publisher.published_counter());
  if (!pool.init(error)) {
    std::cerr << "pb-loadgen: " << error << "\n";
    return 1;
  }
  const std::int64_t connect_start = monotonic_ns();
  pool.connect_all();
  const bool all_connected =
      run_for(pool, args.num("connect-timeout", 120), [&] { return pool.streaming() == clients; });
  const double connect_s = static_cast<double>(monotonic_ns() - connect_start) / 1e9;
  result["connect_s"] = connect_s;
  result["connected"] = pool.streaming();
  std::cerr << "[" << target_name << "] " << pool.streaming() << "/" << clients
            << " clients streaming after " << connect_s << " s";
  if (!pool.last_error().empty()) std::cerr << " (last error: " << pool.last_error() << ")";
  std::cerr << "\n";
  if (!all_connected) {
    result["error"] = "not all clients connected: " + pool.last_error();
  }

  // 3. Idle memory.
  idle(pool, settle);
  const pbl::ProcSample idle_sample = pbl::sample_processes(pids);
  result["server_idle"] = proc_json(idle_sample);
  if (base.ok && idle_sample.ok && pool.streaming() > 0) {
    result["rss_per_client_kib"] = static_cast<double>(idle_sample.rss_kib - base.rss_kib) /
                                   static_cast<double>(pool.streaming());
    result["pss_per_client_kib"] = static_cast<double>(idle_sample.pss_kib - base.pss_kib) /
                                   static_cast<double>(pool.streaming());
  }

  if (mode == "upstream-count") {
    // Quiet changes (no trigger): pollbridge sees them at its interval only,
    // and folds changes that fall into one interval (seq gaps are expected
    // here and mean nothing).
    const double interval_s = args.num("interval-ms", 1000) / 1000.0;
    const int intervals = static_cast<int>(args.num("intervals", 10));
    publisher.set_trigger(false);
    publisher.run_async(rate, 0);
    // Align the window half an interval after a poll, so it holds whole
    // intervals regardless of phase.
    const std::uint64_t before = publisher.backend_requests();
    run_for(pool, 3 * interval_s, [&] { return publisher.backend_requests() > before; });
    const auto times0 = publisher.backend_request_times();
    const std::int64_t anchor = times0.empty() ? monotonic_ns() : times0.back();
    const std::int64_t interval_ns = static_cast<std::int64_t>(interval_s * 1e9);
    const std::int64_t w0 = anchor + interval_ns / 2;
    const std::int64_t w1 = w0 + intervals * interval_ns;
    // Count the events delivered over the same window as the requests.
    run_for(pool, static_cast<double>(w0 - monotonic_ns()) / 1e9, [] { return false; });
    pool.set_phase(pbl::Phase::kSteady);
    pool.set_window(0, UINT64_MAX);
    const pbl::ProcSample cpu0 = pbl::sample_processes(pids);
    run_for(pool, static_cast<double>(w1 - monotonic_ns()) / 1e9 + 0.05, [] { return false; });
    const pbl::ProcSample cpu1 = pbl::sample_processes(pids);
    publisher.stop_async();
    std::uint64_t in_window = 0;
    for (std::int64_t t : publisher.backend_request_times()) in_window += t >= w0 && t < w1;
    result["upstream"] = json{{"interval_s", interval_s},
                              {"intervals", intervals},
                              {"requests", in_window},
                              {"per_interval", static_cast<double>(in_window) / intervals},
                              {"requests_total", publisher.backend_requests()}};
    result["steady"] = phase_json(pool.stats(pbl::Phase::kSteady));
    result["server_cpu_s"] = cpu1.cpu_seconds - cpu0.cpu_seconds;
    result["streaming_end"] = pool.streaming();
    std::cerr << "[" << target_name << "] upstream requests in " << intervals
              << " intervals: " << in_window << " (" << pool.stats(pbl::Phase::kSteady).events
              << " events delivered meanwhile)\n";
  } else {
    // 4. Warm-up.
    const auto warm_count = static_cast<std::uint64_t>(std::llround(rate * warmup));
    if (warm_count) {
      publisher.run_async(rate, warm_count);
      run_for(pool, warmup + 30, [&] { return !publisher.running(); });
      publisher.join();
      idle(pool, 0.5);
    }

    // 5. Steady publishing.
    const auto count = static_cast<std::uint64_t>(std::llround(rate * duration));
    const std::uint64_t lo = publisher.published_seq() + 1;
    const std::uint64_t hi = lo + count - 1;
    const std::uint64_t errors0 = publisher.errors();
    const std::uint64_t backend0 = publisher.backend_requests();
    const std::size_t receivers = pool.streaming();
    pool.set_phase(pbl::Phase::kSteady);
    pool.set_window(lo, hi);
    publisher.reset_publish_rtt();
    publisher.reset_poll_stats();
    const pbl::ProcSample cpu0 = pbl::sample_processes(pids);
    const pbl::ProcSample extra0 = pbl::sample_processes(extra_pids);
    const pbl::ProcSample self0 = pbl::sample_self();
    const std::int64_t start_rt = realtime_ns();
    publisher.run_async(rate, count);
    run_for(pool, duration * 3 + 30, [&] { return !publisher.running(); });
    publisher.join();
    const std::int64_t publish_end_rt = realtime_ns();
    const std::uint64_t expected = count * receivers;
    const double straggler_timeout = args.num("straggler-timeout", 10);
    const std::int64_t wait_end =
        monotonic_ns() + static_cast<std::int64_t>(straggler_timeout * 1e9);
    while (pool.stats(pbl::Phase::kSteady).delivered < expected && monotonic_ns() < wait_end) {
      pool.poll(5);
    }
    const pbl::ProcSample cpu1 = pbl::sample_processes(pids);
    const pbl::ProcSample extra1 = pbl::sample_processes(extra_pids);
    const pbl::ProcSample self1 = pbl::sample_self();
    const pbl::PhaseStats& st = pool.stats(pbl::Phase::kSteady);
    // From the first publish to the last delivery, but never less than the
    // nominal publishing time (count / rate): a server that keeps up scores
    // exactly the offered rate.
    const double span_s = std::max(
        static_cast<double>(std::max(st.last_delivery_ns, publish_end_rt) - start_rt) / 1e9,
        static_cast<double>(count) / rate);
    json steady = phase_json(st);
    steady["published"] = count;
    steady["seq_lo"] = lo;
    steady["seq_hi"] = hi;
    steady["receivers"] = receivers;
    steady["expected"] = expected;
    steady["unseen_by_all"] = pool.unseen(lo, hi);
    steady["lost_by_clients"] = pool.lost_by_clients(pbl::Phase::kSteady);
    steady["publish_errors"] = publisher.errors() - errors0;
    steady["publish_last_error"] = publisher.last_error();
    steady["publish_s"] = static_cast<double>(publish_end_rt - start_rt) / 1e9;
    // nchan answers a publish after handing the message to its subscribers,
    // so a busy nchan slows the publisher down: report the rate achieved.
    steady["publish_rate"] =
        static_cast<double>(count) / std::max(static_cast<double>(publish_end_rt - start_rt) / 1e9,
                                              static_cast<double>(count) / rate);
    // Compressed streams not sampled are not parsed: their deliveries are
    // taken to be those of the checked connections, scaled up.
    const std::size_t checked = receivers - pool.encoded() + pool.inflated();
    const double deliveries = checked ? static_cast<double>(st.delivered) *
                                            static_cast<double>(receivers) /
                                            static_cast<double>(checked)
                                      : 0.0;
    steady["span_s"] = span_s;
    steady["deliveries_per_s"] = span_s > 0 ? deliveries / span_s : 0.0;
    steady["offered_per_s"] = rate * static_cast<double>(receivers);
    steady["latency"] = histogram_json(st.latency);
    steady["publish_rtt"] = histogram_json(publisher.publish_rtt());
    if (target == pbl::Target::kPollbridge)
      steady["upstream_fetch"] = poll_json(publisher.poll_stats());
    steady["backend_requests"] = publisher.backend_requests() - backend0;
    const double cpu = cpu1.cpu_seconds - cpu0.cpu_seconds;
    steady["server_cpu_s"] = cpu;
    steady["checked_receivers"] = checked;
    steady["expected_checked"] = count * checked;
    steady["encoded_receivers"] = pool.encoded();
    steady["content_encoding"] = pool.content_encoding();
    steady["deliveries_est"] = deliveries;
    steady["cpu_per_100k"] = deliveries > 0 ? cpu / deliveries * 1e5 : 0.0;
    steady["wire_bytes"] = st.wire_bytes;
    // Per delivered event (all of them when the server keeps up).
    steady["wire_bytes_per_event"] =
        deliveries > 0 ? static_cast<double>(st.wire_bytes) / deliveries : 0.0;
    if (st.inflated_wire > 0) {
      steady["inflate_ratio"] =
          static_cast<double>(st.inflated_wire) / static_cast<double>(st.inflated_bytes);
    }
    steady["loadgen_cpu_s"] = self1.cpu_seconds - self0.cpu_seconds;
    if (!extra_pids.empty() && extra0.ok && extra1.ok) {
      const double extra_cpu = extra1.cpu_seconds - extra0.cpu_seconds;
      steady["extra_cpu_s"] = extra_cpu;
      steady["extra_cpu_ms_per_event"] = count ? extra_cpu * 1e3 / static_cast<double>(count) : 0.0;
    }
    result["instances"] = ports.size();
    steady["streaming_end"] = pool.streaming();
    result["steady"] = steady;
    result["server_loaded"] = proc_json(cpu1);
    std::cerr << "[" << target_name << "] " << clients << " clients: delivered " << st.delivered
              << "/" << expected << ", p50 " << pbl::us_to_ms(st.latency.quantile_us(0.5))
              << " ms, p99 " << pbl::us_to_ms(st.latency.quantile_us(0.99)) << " ms, max "
              << pbl::us_to_ms(st.latency.max_us()) << " ms, gaps " << st.gaps << ", dups "
              << st.dups << ", server cpu " << cpu << " s\n";

    // 6. Reconnect storm.
    if (args.flag("storm")) {
      pool.set_phase(pbl::Phase::kStorm);
      const std::uint64_t slo = publisher.published_seq() + 1;
      pool.set_window(slo, UINT64_MAX);
      const std::size_t storm_clients = pool.streaming();
      publisher.reset_poll_stats();
      publisher.reset_publish_rtt();
      publisher.run_async(rate, 0);
      idle(pool, 0.5);
      const double spread = args.num("storm-spread", 1);
      pool.start_storm(spread);
      const bool all =
          run_for(pool, args.num("storm-timeout", 30), [&] { return pool.storm_done(); });
      idle(pool, 0.5);
      publisher.stop_async();
      const std::uint64_t shi = publisher.published_seq();
      pool.set_window(slo, shi);
      const std::uint64_t sexpected = (shi - slo + 1) * clients;
      run_for(pool, 5, [&] { return pool.stats(pbl::Phase::kStorm).delivered >= sexpected; });
      const pbl::PhaseStats& ss = pool.stats(pbl::Phase::kStorm);
      json storm = phase_json(ss);
      storm["clients"] = storm_clients;
      storm["spread_s"] = spread;
      storm["resumed"] = pool.storm_resumed();
      storm["all_resumed"] = all;
      storm["all_resumed_s"] =
          pool.storm_last_resume_ns()
              ? static_cast<double>(pool.storm_last_resume_ns() - pool.storm_start_ns()) / 1e9
              : -1.0;
      storm["resume"] = histogram_json(pool.storm_resume_times());
      storm["published"] = shi - slo + 1;
      storm["expected"] = sexpected;
      storm["unseen_by_all"] = pool.unseen(slo, shi);
      storm["publish_rtt"] = histogram_json(publisher.publish_rtt());
      storm["lost"] = pool.lost_by_clients(pbl::Phase::kStorm);
      if (target == pbl::Target::kPollbridge)
        storm["upstream_fetch"] = poll_json(publisher.poll_stats());
      storm["latency"] = histogram_json(ss.latency);
      result["storm"] = storm;
      std::cerr << "[" << target_name << "] storm: " << pool.storm_resumed() << "/" << clients
                << " resumed, all after " << storm["all_resumed_s"].get<double>() << " s, gaps "
                << ss.gaps << " (lost by clients " << storm["lost"].get<std::int64_t>()
                << ", changes never sent " << storm["unseen_by_all"].get<std::uint64_t>()
                << "), dups " << ss.dups << "\n";
    }
  }
  result["streaming_final"] = pool.streaming();
  result["setup"] = phase_json(pool.stats(pbl::Phase::kSetup));
  pool.close_all();
  finish(result, args, publisher);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) return 2;
  if (args.flag("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (args.flag("self-test")) return pbl::run_self_test() ? 0 : 1;
  if (!args.get("report").empty()) return pbl::print_report(args.get("report"), std::cout) ? 0 : 1;
  // Raise our own fd limit to the hard limit: N clients need N descriptors.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  try {
    return run(args);
  } catch (const std::exception& e) {
    std::cerr << "pb-loadgen: " << e.what() << "\n";
    return 1;
  }
}
