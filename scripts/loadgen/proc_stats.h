// Reads what the benchmark reports about a server from /proc: CPU time
// (utime + stime), memory and thread count, summed over a set of processes
// (pollbridge's one pid, or nginx's worker pids).
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>

namespace pbl {

struct ProcSample {
  double cpu_seconds = 0;  // utime + stime
  long rss_kib = 0;        // VmRSS
  long pss_kib = 0;        // Pss from smaps_rollup (shared pages split fairly)
  long threads = 0;        // Threads:
  std::vector<long> fds;   // open descriptors, per pid (how nginx split the clients)
  bool ok = false;         // every pid was readable
};

ProcSample sample_processes(const std::vector<pid_t>& pids);
ProcSample sample_self();

// "123,456" or "123 456" -> pids; empty list on bad input.
std::vector<pid_t> parse_pid_list(const std::string& text);

// Reads a pid list from a file (one or more pids separated by spaces, commas
// or newlines). Empty if the file does not exist yet.
std::vector<pid_t> read_pid_file(const std::string& path);

}  // namespace pbl
