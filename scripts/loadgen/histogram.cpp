#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace pbl {

Histogram::Histogram() : buckets_(kBuckets, 0) {}

void Histogram::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

std::size_t Histogram::index_of(std::uint64_t us) {
  const std::uint64_t cap = (std::uint64_t{1} << kMaxBits) - 1;
  if (us > cap) us = cap;
  if (us < kLinear) return static_cast<std::size_t>(us);
  const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(us));  // >= kSubBits + 1
  const unsigned shift = msb - kSubBits;
  const std::uint64_t sub = (us >> shift) - (std::uint64_t{1} << kSubBits);
  return static_cast<std::size_t>(kLinear + (msb - kSubBits - 1) * (std::uint64_t{1} << kSubBits) +
                                  sub);
}

std::uint64_t Histogram::lower_bound_of(std::size_t index) {
  if (index < kLinear) return index;
  const std::uint64_t rel = index - kLinear;
  const unsigned octave = static_cast<unsigned>(rel >> kSubBits);  // 0 => msb = kSubBits + 1
  const std::uint64_t sub = rel & ((std::uint64_t{1} << kSubBits) - 1);
  const unsigned msb = octave + kSubBits + 1;
  const unsigned shift = msb - kSubBits;
  return ((std::uint64_t{1} << kSubBits) + sub) << shift;
}

std::uint64_t Histogram::width_of(std::size_t index) {
  if (index < kLinear) return 1;
  const unsigned octave = static_cast<unsigned>((index - kLinear) >> kSubBits);
  return std::uint64_t{1} << (octave + 1);
}

void Histogram::record_us(std::int64_t us) {
  const std::uint64_t v = us < 0 ? 0 : static_cast<std::uint64_t>(us);
  ++buckets_[index_of(v)];
  ++count_;
  sum_ += v;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
}

std::uint64_t Histogram::quantile_us(double q) const {
  if (count_ == 0) return 0;
  q = std::min(1.0, std::max(0.0, q));
  std::uint64_t rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const std::uint64_t mid = lower_bound_of(i) + width_of(i) / 2;
      return std::min(std::max(mid, min_), max_);
    }
  }
  return max_;
}

}  // namespace pbl
