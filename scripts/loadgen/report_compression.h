// The compression table of the benchmark report (bench-fanout.sh
// RUNS=compression): for each client count and stream shape, pollbridge and
// nginx+nchan each with plain and gzip clients, side by side, and the
// issue's targets computed from them.
//
// Single-threaded: called by `pb-loadgen --report` on its main thread.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

namespace pbl {

// `runs`: the results labelled "compression: <shape>", in the order run.
void print_compression(std::ostream& out, const std::vector<nlohmann::json>& runs);

}  // namespace pbl
