#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config/duration.h"
#include "support/file_local.h"

namespace pb::config {
namespace PB_FILE_LOCAL {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Duration parsed(const std::string& text) {
  Duration d{-1};
  EXPECT_TRUE(parse_duration(text, d)) << text;
  return d;
}

std::string why_not(const std::string& text) {
  Duration d{-1};
  std::string why;
  EXPECT_FALSE(parse_duration(std::string_view(text), d, why)) << text;
  EXPECT_EQ(d, Duration{-1}) << "out must stay untouched for " << text;
  return why;
}

TEST(DurationTest, SingleUnits) {
  EXPECT_EQ(parsed("250ms"), milliseconds(250));
  EXPECT_EQ(parsed("2s"), seconds(2));
  EXPECT_EQ(parsed("1m"), minutes(1));
  EXPECT_EQ(parsed("1h"), hours(1));
  EXPECT_EQ(parsed("0s"), Duration(0));
  EXPECT_EQ(parsed("0ms"), Duration(0));
  EXPECT_EQ(parsed("90s"), seconds(90));
  EXPECT_EQ(parsed("007s"), seconds(7));
}

TEST(DurationTest, Combinations) {
  EXPECT_EQ(parsed("1m30s"), seconds(90));
  EXPECT_EQ(parsed("1h30m"), minutes(90));
  EXPECT_EQ(parsed("1h2m3s4ms"), hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(parsed("1s500ms"), milliseconds(1500));
  EXPECT_EQ(parsed("2h15s"), hours(2) + seconds(15));
}

TEST(DurationTest, BareNumberNeedsAUnit) {
  EXPECT_EQ(why_not("5"), "needs a unit: ms, s, m or h");
  EXPECT_EQ(why_not("0"), "needs a unit: ms, s, m or h");
  EXPECT_EQ(why_not("1m30"), "needs a unit: ms, s, m or h");
}

TEST(DurationTest, RejectsEmptyNegativeAndFractions) {
  EXPECT_EQ(why_not(""), "is empty");
  EXPECT_EQ(why_not("-1s"), "must not be negative");
  EXPECT_EQ(why_not("1.5s"), "has a fraction; use a smaller unit instead (1500ms, not 1.5s)");
}

TEST(DurationTest, RejectsUnknownUnits) {
  EXPECT_EQ(why_not("5sec"), "has an unknown unit \"sec\" (use ms, s, m or h)");
  EXPECT_EQ(why_not("1d"), "has an unknown unit \"d\" (use ms, s, m or h)");
  EXPECT_EQ(why_not("1S"), "has an unknown unit \"S\" (use ms, s, m or h)");
  EXPECT_EQ(why_not("2us"), "has an unknown unit \"us\" (use ms, s, m or h)");
}

TEST(DurationTest, RejectsMalformedText) {
  const std::string not_a_duration = "is not a duration (examples: 250ms, 2s, 1m30s, 1h)";
  EXPECT_EQ(why_not("s"), not_a_duration);
  EXPECT_EQ(why_not(" 1s"), not_a_duration);
  EXPECT_EQ(why_not("1s "), not_a_duration);
  EXPECT_EQ(why_not("1m 30s"), not_a_duration);
  EXPECT_EQ(why_not("+1s"), not_a_duration);
  EXPECT_EQ(why_not("1_000ms"), not_a_duration);
}

TEST(DurationTest, UnitsGoFromLargestToSmallestOnce) {
  const std::string order =
      "lists its units out of order; write the largest first, each once (1h30m)";
  EXPECT_EQ(why_not("30s1m"), order);
  EXPECT_EQ(why_not("1s1s"), order);
  EXPECT_EQ(why_not("1ms1s"), order);
}

TEST(DurationTest, RejectsOverflow) {
  EXPECT_EQ(why_not("99999999999999999999999ms"), "is too large");
  EXPECT_EQ(why_not("9223372036854775807h"), "is too large");
  EXPECT_EQ(why_not("9223372036854775s9223372036854775807ms"), "is too large");
  EXPECT_EQ(parsed("9223372036854775807ms"), Duration(9223372036854775807LL));
}

TEST(DurationTest, FormatsTheCanonicalForm) {
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(seconds(90)), "1m30s");
  EXPECT_EQ(format_duration(hours(24)), "24h");
  EXPECT_EQ(format_duration(milliseconds(3723004)), "1h2m3s4ms");
  EXPECT_EQ(format_duration(milliseconds(-1500)), "-1s500ms");
}

TEST(DurationTest, FormatRoundTrips) {
  for (long long ms : {1LL, 999LL, 1000LL, 61001LL, 3600000LL, 86399999LL}) {
    EXPECT_EQ(parsed(format_duration(Duration(ms))), Duration(ms)) << ms;
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::config
