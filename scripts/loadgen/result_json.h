// The pieces of a run's JSON result that every kind of run writes the same
// way: a latency histogram, a sample of the server's processes, a phase's
// counts, and the machine's load average.
//
// Single-threaded: the load client's main thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "histogram.h"
#include "proc_stats.h"
#include "seq_check.h"

namespace pbl {

// count, p50/p90/p99/p999/max/mean in ms.
nlohmann::json histogram_json(const Histogram& h);
// cpu_s, rss_kib, pss_kib, threads, fds, ok.
nlohmann::json proc_json(const ProcSample& s);
// events, delivered, gaps, dups, bad_events, disconnects, connect_errors.
nlohmann::json phase_json(const PhaseStats& s);
// The 1-minute load average (-1 if unreadable): the machine may be shared,
// and a busy box changes every number in the table.
double loadavg1();
inline double us_to_ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

}  // namespace pbl
