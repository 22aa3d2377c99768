// The rate-limited log events (stale/recovered, throttled repeats), the
// private ids of per-user instances and the config's log: section, on the
// real objects with a captured sink and a hand-driven clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "json/document.h"
#include "log/log.h"
#include "log/private_id.h"
#include "log/throttle.h"
#include "support/file_local.h"
#include "upstream/health_log.h"

namespace pb {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

// Captures every line written while it lives, as JSON objects.
class CapturedLog {
 public:
  CapturedLog() {
    log::configure(log::Format::kJson, log::Level::kDebug);
    log::set_sink([this](std::string_view line) { lines_.push_back(json::parse(line)); });
  }
  ~CapturedLog() {
    log::set_sink({});
    log::configure(log::Format::kText, log::Level::kInfo);
  }
  std::vector<json::Json> with(const std::string& msg) const {
    std::vector<json::Json> out;
    for (const auto& l : lines_) {
      if (l["msg"] == msg) out.push_back(l);
    }
    return out;
  }
  std::size_t size() const { return lines_.size(); }

 private:
  std::vector<json::Json> lines_;
};

TEST(HealthLogTest, OneLineWhenStaleASummaryAMinuteAndOneWhenRecovered) {
  CapturedLog captured;
  upstream::HealthLog health("orders", "orders");
  auto t = std::chrono::system_clock::time_point(1000h);
  const auto start = t;
  // A failing poll every 10 ms for five minutes: 30,000 failures.
  for (int i = 0; i < 30000; ++i) {
    health.failure(i % 2 ? "HTTP 503" : "cannot connect", i % 2 ? 503 : 0, t);
    t += 10ms;
  }
  auto stale = captured.with("stream went stale");
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0]["level"], "warn");
  EXPECT_EQ(stale[0]["stream"], "orders");
  EXPECT_EQ(stale[0]["reason"], "cannot connect");
  EXPECT_EQ(stale[0]["status"], 0);
  auto still = captured.with("stream still stale");
  // One per kStaleSummaryPeriod (60 s) of the 300 s.
  ASSERT_EQ(still.size(), 4u);
  EXPECT_EQ(still[0]["failures"], 6000);
  EXPECT_EQ(still[0]["duration_ms"], 60000);
  EXPECT_EQ(still[0]["reason"], "cannot connect") << "the latest failure's";
  EXPECT_EQ(still[0]["status"], 0);
  EXPECT_GT(still[0]["reason_changes"].get<int>(), 0);
  EXPECT_EQ(captured.size(), 5u) << "never a line per failed poll";

  health.success(t);
  auto rec = captured.with("stream recovered");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["level"], "info");
  EXPECT_EQ(rec[0]["duration_ms"],
            std::chrono::duration_cast<std::chrono::milliseconds>(t - start).count());
  EXPECT_EQ(rec[0]["failures"], 30000);
  // Healthy polls say nothing.
  health.success(t + 1s);
  health.success(t + 2s);
  EXPECT_EQ(captured.size(), 6u);
  // A new outage is a new state change.
  health.failure("HTTP 500", 500, t + 3s);
  EXPECT_EQ(captured.with("stream went stale").size(), 2u);
}

TEST(LogThrottleTest, OneLinePerKeyPerPeriodAndTheNextCountsTheSkipped) {
  log::Throttle throttle(10s);
  auto t = log::Throttle::Clock::time_point(100h);
  std::uint64_t skipped = 99;
  EXPECT_TRUE(throttle.allow("a", t, skipped));
  EXPECT_EQ(skipped, 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(throttle.allow("a", t + 5ms * i, skipped));
  EXPECT_TRUE(throttle.allow("b", t, skipped)) << "keys are independent";
  EXPECT_TRUE(throttle.allow("a", t + 10s, skipped));
  EXPECT_EQ(skipped, 1000u);
  EXPECT_FALSE(throttle.allow("a", t + 11s, skipped));
}

TEST(PrivateIdTest, StableWithinTheProcessAndSaysNothingOfItsInput) {
  const std::string address = "orders/alice@example.com";
  std::string id = log::private_id(address);
  EXPECT_EQ(id, log::private_id(address));
  EXPECT_NE(id, log::private_id("orders/bob@example.com"));
  ASSERT_EQ(id.size(), 14u);
  EXPECT_EQ(id.rfind("u-", 0), 0u);
  EXPECT_EQ(id.find("alice"), std::string::npos);
  EXPECT_EQ(log::instance_field(address, false), address);
  EXPECT_EQ(log::instance_field(address, true), id);
}

TEST(LogConfigTest, SectionSetsFormatLevelAndAccess) {
  auto cfg = config::parse_config(
      "log: { format: json, level: warn, access: false }\n"
      "streams:\n  - name: s\n    url: http://127.0.0.1:1/x\n",
      "pb.yaml", [](const std::string&) { return std::optional<std::string>(); });
  EXPECT_EQ(cfg.log.format, "json");
  EXPECT_EQ(cfg.log.level, "warn");
  EXPECT_FALSE(cfg.log.access);
  auto defaults =
      config::parse_config("streams:\n  - name: s\n    url: http://127.0.0.1:1/x\n", "pb.yaml",
                           [](const std::string&) { return std::optional<std::string>(); });
  EXPECT_EQ(defaults.log.format, "text");
  EXPECT_EQ(defaults.log.level, "info");
  EXPECT_TRUE(defaults.log.access);
}

TEST(LogConfigTest, UnknownValuesAreRefusedWithTheirPosition) {
  try {
    config::parse_config(
        "log:\n  format: xml\n  level: loud\n  acces: true\n"
        "streams:\n  - name: s\n    url: http://127.0.0.1:1/x\n",
        "pb.yaml", [](const std::string&) { return std::optional<std::string>(); });
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    std::string all = e.what();
    EXPECT_NE(all.find("pb.yaml:2:11: log.format: expected text or json"), std::string::npos)
        << all;
    EXPECT_NE(all.find("pb.yaml:3:10: log.level: expected debug, info, warn or error"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("pb.yaml:4:3"), std::string::npos) << all;
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
