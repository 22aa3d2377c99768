// Ingest benchmark: parse time of large upstream documents with pollbridge's
// parser (src/json/document.h: ordered members, number text kept, duplicate
// names merged) beside nlohmann::json parsing the same bytes; then one
// document of --format-bytes in each upstream format (JSON, XML, CSV, HTML)
// through ingest::decode and select, beside the bare library doing only the
// parse (the floor; bench_formats.cpp). Prints Markdown tables (median of
// --runs runs per row); scripts/bench-ingest.sh builds and runs it.
//
//   pb-ingest-bench [--runs N] [--members 10000,100000,1000000] [--array N]
//                   [--format-bytes 1048576 (0: no format table)]
//
// Single-threaded; runs on the main thread only.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_formats.h"
#include "json/document.h"

namespace {

// Default number of timed runs per row (the median is reported).
constexpr int kDefaultRuns = 5;

// {"member0000000":0,"member0000001":1,...}: n distinct names, integers.
std::string object_with_members(std::size_t n) {
  std::string out;
  out.reserve(n * 24 + 2);
  out += '{';
  char buf[64];
  for (std::size_t i = 0; i < n; ++i) {
    const int len = std::snprintf(buf, sizeof buf, "%s\"member%07zu\":%zu", i ? "," : "", i, i);
    out.append(buf, static_cast<std::size_t>(len));
  }
  out += '}';
  return out;
}

// [{"id":0,"name":"item 0","price":12.50,"open":true},...]: a keyed array
// as items mode diffs it (fractions stay raw numbers in pollbridge).
std::string array_of_objects(std::size_t n) {
  std::string out;
  out.reserve(n * 64 + 2);
  out += '[';
  char buf[128];
  for (std::size_t i = 0; i < n; ++i) {
    const int len = std::snprintf(buf, sizeof buf,
                                  "%s{\"id\":%zu,\"name\":\"item %zu\",\"price\":%zu.50,"
                                  "\"open\":%s}",
                                  i ? "," : "", i, i, i % 1000, i % 2 ? "true" : "false");
    out.append(buf, static_cast<std::size_t>(len));
  }
  out += ']';
  return out;
}

// Median wall time of `runs` calls, in milliseconds.
double median_ms(int runs, const std::function<std::size_t()>& run) {
  std::vector<double> times;
  std::size_t sink = run();  // warm-up: the allocator's first pages
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    sink += run();
    const auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  if (sink == 0) std::fprintf(stderr, "(empty documents)\n");
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void row(const std::string& what, std::size_t count, const std::string& text, int runs) {
  // Parse and destroy, both: a stream drops its previous document each poll.
  const double ours = median_ms(runs, [&] { return pb::json::parse(text).size(); });
  const double theirs = median_ms(runs, [&] { return nlohmann::json::parse(text).size(); });
  std::printf("| %s | %.1f | %.1f | %.1f | %.2f | %.0f |\n", what.c_str(),
              static_cast<double>(text.size()) / (1 << 20), ours, theirs, ours / theirs,
              ours * 1e6 / static_cast<double>(count));
  std::fflush(stdout);
}

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = kDefaultRuns;
  std::vector<std::size_t> members = {10000, 100000, 1000000};
  std::size_t array = 100000;
  std::size_t format_bytes = 1u << 20;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--runs" && has_value) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--members" && has_value) {
      members = parse_list(argv[++i]);
    } else if (arg == "--array" && has_value) {
      array = std::stoul(argv[++i]);
    } else if (arg == "--format-bytes" && has_value) {
      format_bytes = std::stoul(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--runs N] [--members 10000,100000,1000000] [--array N (0: none)] "
                   "[--format-bytes N (0: none)]\n",
                   argv[0]);
      return 2;
    }
  }
  std::printf("Median of %d runs; parse and free.\n\n", runs);
  std::printf(
      "| document | MiB | pollbridge ms | nlohmann::json ms | ratio | pollbridge ns per "
      "member or element |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (std::size_t n : members) {
    row("object, " + std::to_string(n) + " members", n, object_with_members(n), runs);
  }
  if (array > 0) {
    row("array of " + std::to_string(array) + " objects (4 members each)", array,
        array_of_objects(array), runs);
  }
  if (format_bytes > 0) pb::bench::format_table(format_bytes, runs);
  return 0;
}
