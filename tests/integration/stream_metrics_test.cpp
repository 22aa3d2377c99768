// /metrics through the real binary: the histograms (poll duration, publish
// delay, fan-out, connection duration), events by type, bounded labels, and
// the page parsed by Prometheus' own promtool.
//
// Suites are named Stream* so that the TSan stage runs them too.
#include <httplib.h>
#include <stdio.h>

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/metrics_text.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

std::string get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get(path);
  return r ? r->body : std::string();
}

std::string stream_config(const std::string& url, const std::string& stream_extra = "") {
  return config_with("  - name: s\n    url: " + url + "\n" + stream_extra);
}

TEST(StreamMetricsTest, HistogramsAndEventTypesAreExposed) {
  FakeBackend backend;
  backend.set_body(padded(R"({"v":1})"));
  auto proxy = ProxyProcess(stream_config(backend.url(), "    interval: 50ms\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  {
    SseClient c(proxy.port(), "/events/s");
    ASSERT_TRUE(c.next(5s));
    backend.set_body(padded(R"({"v":2})"));
    auto ev = c.next(5s);
    ASSERT_TRUE(ev);
    ASSERT_EQ(ev->type, "patch");
  }
  std::string m;
  ASSERT_TRUE(wait_until([&] {
    m = get(proxy.port(), "/metrics");
    return metric_series(m, "pollbridge_sse_connection_duration_seconds_count") == 1;
  })) << m;
  for (const char* h :
       {"pollbridge_upstream_poll_duration_seconds", "pollbridge_publish_delay_seconds",
        "pollbridge_fanout_seconds", "pollbridge_sse_connection_duration_seconds"}) {
    EXPECT_NE(m.find(std::string("# TYPE ") + h + " histogram\n"), std::string::npos) << h;
  }
  double polls = metric_series(m, "pollbridge_upstream_poll_duration_seconds_count{stream=\"s\"}");
  EXPECT_GE(polls, 2);
  EXPECT_EQ(metric_series(
                m, "pollbridge_upstream_poll_duration_seconds_bucket{stream=\"s\",le=\"+Inf\"}"),
            polls);
  EXPECT_LE(metric_series(
                m, "pollbridge_upstream_poll_duration_seconds_bucket{stream=\"s\",le=\"0.001\"}"),
            polls);
  EXPECT_GE(metric_series(m, "pollbridge_publish_delay_seconds_count{stream=\"s\"}"), 2);
  EXPECT_EQ(metric_series(m, "pollbridge_events_total{stream=\"s\",type=\"snapshot\"}"), 1);
  EXPECT_EQ(metric_series(m, "pollbridge_events_total{stream=\"s\",type=\"patch\"}"), 1);
  EXPECT_EQ(metric_series(m, "pollbridge_events_total{stream=\"s\",type=\"status\"}"), 0);
  EXPECT_GE(metric_series(m, "pollbridge_fanout_seconds_count"), 1)
      << "the patch was written to its one client";
  // Kept names stay.
  EXPECT_GE(metric_series(m, "pollbridge_stream_events_total{stream=\"s\"}"), 2);
  EXPECT_EQ(metric_series(m, "pollbridge_connections{state=\"sse\"}"), 0);
  EXPECT_EQ(metric_series(m, "pollbridge_tls_handshakes_total{result=\"failed\"}"), 0);
}

TEST(StreamMetricsTest, ManyParameterValuesAddNoLabels) {
  FakeBackend backend;
  backend.set_handler([](const httplib::Request& req, httplib::Response& res) {
    res.set_content("{\"path\":\"" + req.path + "\"}", "application/json");
  });
  auto proxy = ProxyProcess(config_with(
      "  - name: p\n    url: " + backend.url("/p/{id}") +
      "\n    path: /events/p/{id}\n    params: { id: \"[a-z0-9]+\" }\n    interval: 50ms\n"
      "    max_instances: 100\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const int kValues = 40;
  for (int i = 0; i < kValues; ++i) {
    SseClient c(proxy.port(), "/events/p/secretvalue" + std::to_string(i));
    ASSERT_EQ(c.status(), 200);
    ASSERT_TRUE(c.next(5s));
  }
  std::string m = get(proxy.port(), "/metrics");
  EXPECT_EQ(m.find("secretvalue"), std::string::npos) << "a parameter value became a label";
  // Every series with a stream label names the stream, and each metric has
  // exactly as many series as with one instance.
  std::regex stream_label(R"(stream="([^"]*)\")");
  std::map<std::string, int> per_name;
  std::istringstream in(m);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch sm;
    if (std::regex_search(line, sm, stream_label)) {
      EXPECT_EQ(sm[1], "p") << line;
      ++per_name[line.substr(0, line.find(' '))];
    }
  }
  for (const auto& [series_name, count] : per_name) EXPECT_EQ(count, 1) << series_name;
  EXPECT_EQ(metric_series(m, "pollbridge_stream_instances{stream=\"p\"}"), kValues);
  EXPECT_EQ(metric_series(m, "pollbridge_events_total{stream=\"p\",type=\"snapshot\"}"), kValues);
  EXPECT_LE(m.size(), 64u * 1024) << "the page does not grow with the values";
}

TEST(StreamMetricsTest, PromtoolAcceptsTheMetricsPage) {
  FakeBackend backend;
  backend.set_body(padded(R"({"v":1})"));
  auto proxy = ProxyProcess(stream_config(backend.url(), "    interval: 50ms\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  {
    SseClient c(proxy.port(), "/events/s");
    ASSERT_TRUE(c.next(5s));
  }
  TempDir dir;
  dir.write("metrics.txt", get(proxy.port(), "/metrics"));
  // promtool (Debian's prometheus package, scripts/deps.sh test) parses the
  // exposition format strictly and lints names, types and help texts.
  std::string cmd = "promtool check metrics < " + dir.file("metrics.txt") + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char chunk[4096];
  std::size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) out.append(chunk, n);
  int status = pclose(p);
  ASSERT_EQ(status, 0) << "promtool (is it installed? scripts/deps.sh test): " << out;
  EXPECT_EQ(out, "") << "lint findings";
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
