// The pieces every table of the benchmark report is made of (report.cpp,
// report_compression.cpp): number formatting, cells read from a run's JSON
// result by JSON pointer, a markdown table of named rows over columns (one
// run each), and the rows several tables share (latency, deliveries, load).
//
// Single-threaded: called by `pb-loadgen --report` on its main thread.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace pbl::report {

using nlohmann::json;

std::string fixed(double v, int digits);
// Rounded to an integer, with thousands separators: 12,345.
std::string grouped(double v);
// The number at `pointer`, or `def` when there is none.
double num(const json& j, const char* pointer, double def = -1);
// The number at `pointer`, formatted (digits < 0: grouped), or "–".
std::string cell(const json& j, const char* pointer, int digits);
// Two cells with a separator: "a / b".
std::string cells(const json& j, const char* a, const char* sep, const char* b, int digits);
// x ÷ y with two digits, "–" unless both are positive.
std::string ratio(double x, double y);

using Row = std::pair<std::string, std::function<std::string(const json&)>>;
using Rows = std::vector<Row>;
using Columns = std::vector<std::pair<std::string, const json*>>;

// | | col… | then one line per row.
void table(std::ostream& out, const Columns& columns, const Rows& rows);
// The columns pollbridge and nginx+nchan of one run each, as present.
Columns target_columns(const std::map<std::string, json>& by_target);

// Rows shared by the tables. `phase` is the JSON pointer of the measured
// phase: "/steady" or "/storm".
Row connected_row(const char* name);
Row latency_row(const char* phase, const char* which);  // which: p50, p99, max
Row deliveries_row();
Row delivered_row(const char* phase);
Row publish_rtt_row(const char* phase);
Row upstream_fetch_row(const char* phase);
Row cpu_row();
Row load_row();

}  // namespace pbl::report
