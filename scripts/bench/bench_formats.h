// The ingest benchmark's format table: a document of about `bytes` in each
// upstream format (JSON, XML, CSV, HTML), the same rows in each, through
// ingest::decode and select as a poll does, beside the bare library doing
// only the parse (the floor): nlohmann::json, libxml2's xmlReadMemory and
// htmlReadMemory, the CSV reader alone.
//
// Single-threaded; the benchmark's main thread.
#pragma once

#include <cstddef>

namespace pb::bench {

// Prints the Markdown table (median wall time of `runs` runs, CPU time per
// poll averaged over them).
void format_table(std::size_t bytes, int runs);

}  // namespace pb::bench
