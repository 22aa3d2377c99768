#include "metrics/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <thread>
#include <vector>
#include "support/file_local.h"

namespace pb::metrics {
namespace PB_FILE_LOCAL {

TEST(HistogramTest, CountsLandInTheFirstBucketAtOrAboveTheValue) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 50.0}) h.observe(v);
  auto s = h.snapshot();
  ASSERT_EQ(s.buckets.size(), 4u);
  EXPECT_EQ(s.buckets[0], 2u);  // le=0.1 is inclusive
  EXPECT_EQ(s.buckets[1], 4u);
  EXPECT_EQ(s.buckets[2], 5u);
  EXPECT_EQ(s.buckets[3], 6u);
  EXPECT_EQ(s.count, 6u);
  EXPECT_NEAR(s.sum, 56.65, 1e-6);
}

TEST(HistogramTest, WritesPrometheusSeriesWithLabels) {
  Histogram h({0.5});
  h.observe(0.25);
  h.observe(2);
  std::ostringstream o;
  write_histogram(o, "pb_x_seconds", "stream=\"a\"", h);
  EXPECT_EQ(o.str(),
            "pb_x_seconds_bucket{stream=\"a\",le=\"0.5\"} 1\n"
            "pb_x_seconds_bucket{stream=\"a\",le=\"+Inf\"} 2\n"
            "pb_x_seconds_sum{stream=\"a\"} 2.25\n"
            "pb_x_seconds_count{stream=\"a\"} 2\n");
}

TEST(HistogramTest, ObservationsFromManyThreadsAreAllCounted) {
  Histogram h(kInternalBuckets);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.observe(0.001 * (i % 7));
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(h.snapshot().count, 40000u);
  EXPECT_EQ(h.snapshot().buckets.back(), 40000u);
}

TEST(HistogramTest, NegativeAndNanValuesCountAsZero) {
  Histogram h({1});
  h.observe(-3);
  h.observe(std::nan(""));
  EXPECT_EQ(h.snapshot().buckets[0], 2u);
  EXPECT_EQ(h.snapshot().sum, 0);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::metrics
