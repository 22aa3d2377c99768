// The front door's part of /metrics (Prometheus text format): connections
// by state, accepts, limits hit, requests refused by the loop by status, TLS
// handshakes and kernel TLS.
//
// Threads: any (reads atomics).
#pragma once

#include <ostream>
#include <string>

#include "hub/hub.h"
#include "server/http_server.h"

namespace pb::server {

void write_front_door_metrics(std::ostream& o, const HttpServer& server, const hub::Stats& hub);

// "available" or "unavailable": whether this kernel offers kTLS (for the log).
std::string kernel_tls_status();

}  // namespace pb::server
