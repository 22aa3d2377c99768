// The long-poll fan-out run of pb-loadgen (--mode longpoll, bench-fanout.sh
// RUNS=longpoll): N long-poll clients (LongPollPool) connect and send their
// first request; the server's memory is sampled; the publisher warms up,
// then publishes `rate` changes per second for `duration` seconds, and the
// run waits for stragglers. Reported as the SSE fan-out run is: deliveries
// per second, latency from the change's timestamp to the answer's arrival,
// gaps / duplicates, the server's CPU per 100k deliveries, plus requests and
// empty answers per delivery.
//
// Threads: the caller's (the epoll loop); the publisher runs its own.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "longpoll_pool.h"
#include "publisher.h"

namespace pbl {

struct LongPollRun {
  LongPollOptions pool;
  std::vector<pid_t> server_pids;
  double rate = 10;
  double duration = 10;
  double warmup = 2;
  double settle = 1;
  double connect_timeout = 120;
  double straggler_timeout = 10;
};

// Fills `result` (the run's JSON line) with "connected", "server_idle",
// "rss_per_client_kib", "steady" ...; returns false if it could not start.
bool run_longpoll(const LongPollRun& run, Publisher& publisher, nlohmann::json& result);

}  // namespace pbl
