// The front-door runs of pb-loadgen (scripts/bench-fanout.sh tables 1 and 3):
//
//  * connect rate (--mode connect): N SSE clients connect (at most
//    --connect-concurrency handshakes in flight) until every one has its
//    response head; repeated --repeat times on fresh connections.
//  * held connections (--mode held): N/2 idle keep-alive connections (one
//    request answered) and N/2 slowloris connections (half a head) are held
//    while newcomers time their first SSE event; the server's RSS and
//    threads are sampled before and with everything held.
//  * then (--waiting N, run_held_waiting) N waiting long-polls (a request
//    with the newest position, which the server parks until an event that
//    does not come), and after them N idle SSE subscribers, each batch with
//    the server's RSS delta per connection and its threads.
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
  std::size_t waiting = 0;         // held: waiting long-polls (and SSE subscribers)
  std::string longpoll_path;       // held: their path, query included
  std::string sse_path;            // held: the idle SSE subscribers' path
  bool longpoll_position = false;  // fetch pollbridge's last_id for the position
  double settle_s = 1;
};

nlohmann::json run_connect_rate(const FrontDoorRun& run);
nlohmann::json run_held(const FrontDoorRun& run);
nlohmann::json run_held_waiting(const FrontDoorRun& run);

}  // namespace pbl
