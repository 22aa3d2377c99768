// A Prometheus histogram with fixed buckets: observe() is a few relaxed
// atomic adds, so it can sit on a hot path (a hub write, a publish).
// Buckets are chosen per quantity by the caller (see the k*Buckets below),
// in the unit exposed (seconds).
//
// Threads: observe() and snapshot() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace pb::metrics {

class Histogram {
 public:
  // `bounds`: ascending upper bounds of the buckets (+Inf is implied).
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double value);

  struct Snapshot {
    std::vector<std::uint64_t> buckets;  // cumulative, one per bound, then +Inf
    std::uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};  // sum in nano-units (sum in seconds × 1e9)
};

// Writes the _bucket/_sum/_count lines of one series; `labels` is either
// empty or `name="value",...` (already escaped), without braces.
void write_histogram(std::ostream& out, const std::string& name, const std::string& labels,
                     const Histogram& h);

// Buckets for the quantities pollbridge measures (seconds).
// Upstream requests: a fast local API is a few ms, a slow legacy one seconds.
inline const std::vector<double> kPollBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                 0.25,  0.5,    1,     2.5,  5,     10,   30};
// Work inside pollbridge (response received → event queued; queued →
// written to the last client): micro- to milliseconds.
inline const std::vector<double> kInternalBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
// SSE connection lifetimes: a page view to days.
inline const std::vector<double> kConnectionBuckets = {1,    10,    60,    300,   900,
                                                       3600, 14400, 43200, 86400, 604800};

}  // namespace pb::metrics
