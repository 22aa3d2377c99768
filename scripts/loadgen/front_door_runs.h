// The front-door runs of pb-loadgen (scripts/bench-fanout.sh tables 1 and 3):
//
//  * connect rate (--mode connect): N SSE clients connect (at most
//    --connect-concurrency handshakes in flight) until every one has its
//    response head; repeated --repeat times on fresh connections.
//  * held connections (--mode held): N/2 idle keep-alive connections (one
//    request answered) and N/2 slowloris connections (half a head) are held
//    while newcomers time their first SSE event; the server's RSS and
//    threads are sampled before and with everything held.
//
// Threads: the caller's.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client_pool.h"

namespace pbl {

struct FrontDoorRun {
  PoolOptions pool;                // host, port, path, clients, tls, concurrency
  std::vector<pid_t> server_pids;  // sampled for RSS and threads
  int repeat = 3;                  // connect: rounds
  int newcomers = 5;               // held: newcomers timed
  std::string idle_path = "/healthz";
  double settle_s = 1;
};

nlohmann::json run_connect_rate(const FrontDoorRun& run);
nlohmann::json run_held(const FrontDoorRun& run);

}  // namespace pbl
