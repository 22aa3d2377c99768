// The example alert rules (examples/prometheus/alerts.yml): promtool parses
// them, and its rule unit tests (alerts_test.yml) show that the stale-stream
// alerts fire on the series pollbridge exports, and only then.
#include <stdio.h>

#include <gtest/gtest.h>

#include <string>
#include "support/file_local.h"

#ifndef PB_SOURCE_DIR
#error "PB_SOURCE_DIR must name the source tree"
#endif

namespace pb::testing {
namespace PB_FILE_LOCAL {

// Runs a shell command; its exit status and combined output.
int run(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char chunk[4096];
  std::size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) out->append(chunk, n);
  return pclose(p);
}

const std::string kDir = std::string(PB_SOURCE_DIR) + "/examples/prometheus";

TEST(PrometheusExampleTest, AlertRulesParse) {
  std::string out;
  ASSERT_EQ(run("promtool check rules " + kDir + "/alerts.yml", &out), 0)
      << "promtool (is it installed? scripts/deps.sh test): " << out;
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

TEST(PrometheusExampleTest, StaleStreamAlertsFireWhenAndOnlyWhenAStreamStaysStale) {
  std::string out;
  // promtool resolves rule_files relative to the test file's folder.
  ASSERT_EQ(run("promtool test rules " + kDir + "/alerts_test.yml", &out), 0) << out;
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
