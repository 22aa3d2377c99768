// What /metrics reports per configured stream that must outlive the stream's
// instances: poll durations, the time from a response to its events being
// queued to the hub, events by type. Labelled by the stream's name only:
// every instance of a parameterized or per-user stream adds into the same
// series, so nothing a client chooses (parameter values, credentials)
// becomes a label, and a reaped instance's counts are kept.
//
// Threads: any (histograms and counters are atomics; the registry's map is
// under a mutex taken when a poller is made and when /metrics is written).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/histogram.h"

namespace pb::metrics {

// The event types pollbridge publishes (docs/protocol.md); anything else
// counts as "other", so the label set stays fixed.
constexpr std::array<const char*, 8> kEventTypes = {"snapshot", "patch",   "merge-patch", "created",
                                                    "updated",  "deleted", "status",      "other"};

struct StreamMetrics {
  // Upstream request: sent → response received (or failed).
  Histogram poll_duration{kPollBuckets};
  // Response received → each of its events queued to the hub (parse,
  // select/ignore, diff, store commit, encoding).
  Histogram publish_delay{kInternalBuckets};
  std::array<std::atomic<std::uint64_t>, kEventTypes.size()> events{};
  // The upstream counters of every instance the stream has had: a reaped
  // or replaced instance's requests stay counted.
  std::atomic<std::uint64_t> polls{0};
  std::atomic<std::uint64_t> not_modified{0};
  std::atomic<std::uint64_t> same_body{0};
  std::atomic<std::uint64_t> parses{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> body_bytes{0};

  void count_event(std::string_view type);
};

// The series of stream `name`, made on first use; the same object for
// every instance of the stream, for the life of the process.
std::shared_ptr<StreamMetrics> stream_metrics(const std::string& name);

// Writes the histograms and counters of every stream seen so far.
void write_stream_metrics(std::ostream& out);

// Every stream seen so far, by name (for the counters /metrics sums with
// the live instances' gauges). The pointers stay valid for the process.
std::vector<std::pair<std::string, const StreamMetrics*>> all_stream_metrics();

// The Prometheus label value escaping (backslash, quote, newline).
std::string label_value(std::string_view v);

}  // namespace pb::metrics
