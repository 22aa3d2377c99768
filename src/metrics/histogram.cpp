#include "metrics/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pb::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double value) {
  if (!(value >= 0)) value = 0;  // NaN and negatives (a clock step) count as 0
  std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                           bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double ns = std::min(value * 1e9, 1e18);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.buckets.push_back(running);
  }
  // The +Inf bucket is the count, so that the two always agree.
  s.count = running;
  s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void write_histogram(std::ostream& out, const std::string& name, const std::string& labels,
                     const Histogram& h) {
  Histogram::Snapshot s = h.snapshot();
  const std::string sep = labels.empty() ? "" : labels + ",";
  for (std::size_t i = 0; i < h.bounds().size(); ++i) {
    out << name << "_bucket{" << sep << "le=\"" << number(h.bounds()[i]) << "\"} " << s.buckets[i]
        << '\n';
  }
  out << name << "_bucket{" << sep << "le=\"+Inf\"} " << s.count << '\n';
  out << name << "_sum" << (labels.empty() ? "" : "{" + labels + "}") << ' ' << number(s.sum)
      << '\n';
  out << name << "_count" << (labels.empty() ? "" : "{" + labels + "}") << ' ' << s.count << '\n';
}

}  // namespace pb::metrics
