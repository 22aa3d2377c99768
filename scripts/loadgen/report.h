// Renders the JSON lines that fan-out runs append to a results file as the
// markdown tables of docs/benchmarks.md (pollbridge beside nginx+nchan).
#pragma once

#include <ostream>
#include <string>

namespace pbl {
bool print_report(const std::string& jsonl_path, std::ostream& out);
}
