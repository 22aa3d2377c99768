// The histograms of /metrics (and the per-type event counters that live
// with them): upstream poll duration and publish delay per stream, fan-out
// time and SSE connection duration from the hub. docs/operations.md lists
// every metric.
//
// Threads: any (reads atomics; the stream registry under its own mutex).
#pragma once

#include <ostream>

#include "hub/hub.h"

namespace pb::server {

void write_histogram_metrics(std::ostream& o, const hub::Hub& hub);

}  // namespace pb::server
