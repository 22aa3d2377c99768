#include "longpoll_run.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "proc_stats.h"
#include "result_json.h"

namespace pbl {
namespace {

using nlohmann::json;

template <typename Pred>
bool run_for(LongPollPool& pool, double seconds, Pred until) {
  const std::int64_t end = monotonic_ns() + static_cast<std::int64_t>(seconds * 1e9);
  while (monotonic_ns() < end) {
    if (until()) return true;
    pool.poll(5);
  }
  return until();
}

}  // namespace

bool run_longpoll(const LongPollRun& run, Publisher& publisher, json& result) {
  const char* name = run.pool.target == Target::kNchan ? "nchan" : "pollbridge";
  LongPollPool pool(run.pool);
  std::string error;
  if (!pool.init(error)) {
    std::cerr << "pb-loadgen: " << error << "\n";
    return false;
  }
  const std::size_t clients = run.pool.clients;
  const ProcSample base = sample_processes(run.server_pids);
  const std::int64_t t0 = monotonic_ns();
  pool.connect_all();
  // Every client has its request at the server (pollbridge answers the first
  // one, without a position, at once with the snapshot: then the next).
  const bool all = run_for(pool, run.connect_timeout, [&] { return pool.waiting() == clients; });
  result["connect_s"] = static_cast<double>(monotonic_ns() - t0) / 1e9;
  result["connected"] = pool.waiting();
  std::cerr << "[" << name << "] " << pool.waiting() << "/" << clients
            << " long-poll clients waiting";
  if (!pool.last_error().empty()) std::cerr << " (last error: " << pool.last_error() << ")";
  std::cerr << "\n";
  if (!all) result["error"] = "not all clients connected: " + pool.last_error();

  run_for(pool, run.settle, [] { return false; });
  const ProcSample idle = sample_processes(run.server_pids);
  result["server_idle"] = proc_json(idle);
  if (base.ok && idle.ok && pool.waiting() > 0) {
    result["rss_per_client_kib"] =
        static_cast<double>(idle.rss_kib - base.rss_kib) / static_cast<double>(pool.waiting());
  }

  // Warm-up: nchan's clients get their first message (and so their position).
  const auto warm = static_cast<std::uint64_t>(std::llround(run.rate * run.warmup));
  if (warm) {
    publisher.run_async(run.rate, warm);
    run_for(pool, run.warmup + 30, [&] { return !publisher.running(); });
    publisher.join();
    run_for(pool, 0.5, [] { return false; });
  }

  const auto count = static_cast<std::uint64_t>(std::llround(run.rate * run.duration));
  const std::uint64_t lo = publisher.published_seq() + 1;
  const std::uint64_t hi = lo + count - 1;
  const std::uint64_t errors0 = publisher.errors();
  const std::size_t receivers = pool.waiting();
  pool.set_phase(Phase::kSteady);
  pool.set_window(lo, hi);
  publisher.reset_publish_rtt();
  const ProcSample cpu0 = sample_processes(run.server_pids);
  const ProcSample self0 = sample_self();
  const std::int64_t start_rt = realtime_ns();
  publisher.run_async(run.rate, count);
  run_for(pool, run.duration * 3 + 30, [&] { return !publisher.running(); });
  publisher.join();
  const std::int64_t publish_end_rt = realtime_ns();
  const std::uint64_t expected = count * receivers;
  const std::int64_t wait_end =
      monotonic_ns() + static_cast<std::int64_t>(run.straggler_timeout * 1e9);
  while (pool.stats(Phase::kSteady).delivered < expected && monotonic_ns() < wait_end) {
    pool.poll(5);
  }
  const ProcSample cpu1 = sample_processes(run.server_pids);
  const ProcSample self1 = sample_self();
  const PhaseStats& st = pool.stats(Phase::kSteady);
  const LongPollCounts& n = pool.counts(Phase::kSteady);
  const double span_s =
      std::max(static_cast<double>(std::max(st.last_delivery_ns, publish_end_rt) - start_rt) / 1e9,
               static_cast<double>(count) / run.rate);
  json steady{{"events", st.events},
              {"delivered", st.delivered},
              {"gaps", st.gaps},
              {"dups", st.dups},
              {"bad_events", st.bad_events},
              {"disconnects", st.disconnects},
              {"connect_errors", st.connect_errors}};
  steady["published"] = count;
  steady["receivers"] = receivers;
  steady["expected"] = expected;
  steady["unseen_by_all"] = pool.unseen(lo, hi);
  steady["lost_by_clients"] = pool.lost_by_clients(Phase::kSteady);
  steady["publish_errors"] = publisher.errors() - errors0;
  steady["span_s"] = span_s;
  steady["deliveries_per_s"] = span_s > 0 ? static_cast<double>(st.delivered) / span_s : 0.0;
  steady["offered_per_s"] = run.rate * static_cast<double>(receivers);
  steady["latency"] = histogram_json(st.latency);
  steady["publish_rtt"] = histogram_json(publisher.publish_rtt());
  steady["requests"] = n.requests;
  steady["answers"] = n.answers;
  steady["empty_answers"] = n.empty_answers;
  steady["reconnects"] = n.reconnects;
  steady["events_per_answer"] =
      n.answers ? static_cast<double>(st.events) / static_cast<double>(n.answers) : 0.0;
  const double cpu = cpu1.cpu_seconds - cpu0.cpu_seconds;
  steady["server_cpu_s"] = cpu;
  steady["cpu_per_100k"] = st.delivered ? cpu / static_cast<double>(st.delivered) * 1e5 : 0.0;
  steady["loadgen_cpu_s"] = self1.cpu_seconds - self0.cpu_seconds;
  steady["waiting_end"] = pool.waiting();
  result["steady"] = steady;
  result["server_loaded"] = proc_json(cpu1);
  std::cerr << "[" << name << "] " << clients << " long-poll clients: delivered " << st.delivered
            << "/" << expected << ", p50 " << us_to_ms(st.latency.quantile_us(0.5)) << " ms, p99 "
            << us_to_ms(st.latency.quantile_us(0.99)) << " ms, gaps " << st.gaps << ", dups "
            << st.dups << ", requests " << n.requests << ", server cpu " << cpu << " s\n";
  pool.close_all();
  return true;
}

}  // namespace pbl
