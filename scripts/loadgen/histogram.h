// Latency histogram with log-linear buckets: exact to the microsecond below
// 1.024 ms, then 512 buckets per power of two (relative width <= 0.2%: at
// most 64 us wide below 65 ms, 1 ms wide around 1 s). Fixed size (128 KiB),
// no allocation while recording.
//
// Not thread-safe: recorded and read by the load client's epoll thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pbl {

class Histogram {
 public:
  Histogram();

  void record_us(std::int64_t us);  // negative values count as 0
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t max_us() const { return max_; }
  std::uint64_t min_us() const { return count_ ? min_ : 0; }
  double mean_us() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value at quantile q in [0, 1] (midpoint of its bucket, never above max).
  std::uint64_t quantile_us(double q) const;

  // Bucket layout, exposed for the self-test.
  static std::size_t index_of(std::uint64_t us);
  static std::uint64_t lower_bound_of(std::size_t index);
  static std::uint64_t width_of(std::size_t index);

 private:
  static constexpr unsigned kSubBits = 9;                   // 512 sub-buckets per octave
  static constexpr std::uint64_t kLinear = 2u << kSubBits;  // exact below 1024 us
  static constexpr unsigned kMaxBits = 40;                  // clamp at ~12.7 days
  static constexpr std::size_t kBuckets =
      kLinear + (kMaxBits - kSubBits - 1) * (std::size_t{1} << kSubBits);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

}  // namespace pbl
