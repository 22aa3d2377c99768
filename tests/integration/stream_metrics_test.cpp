// ctest-labels: threaded
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
  // The gauge drops when the hub lets the connection go, which may be just
  // after the duration above is counted.
  EXPECT_TRUE(wait_until([&] {
    m = get(proxy.port(), "/metrics");
    return metric_series(m, "pollbridge_connections{state=\"sse\"}") == 0;
  })) << m;
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

// Counters never go down: a reaped instance and a replaced stream keep
// their counts in every _total series (before, /metrics summed the live
// instances only, so pollbridge_upstream_polls_total{stream="p"} vanished
// with its last instance).
TEST(StreamMetricsTest, TotalsSurviveReapsAndReplacements) {
  FakeBackend backend;
  backend.set_body(R"({"v":1})", "/p/1");
  backend.set_body(R"({"v":1})");
  TempDir dir;
  auto write = [&](const std::string& interval) {
    dir.write("pb.yaml",
              config_with("  - name: p\n    url: " + backend.url("/p/{id}") +
                          "\n    path: /events/p/{id}\n    params: { id: \"^[0-9]+$\" }\n"
                          "    interval: 50ms\n    linger: 100ms\n"
                          "  - name: s\n    url: " +
                          backend.url() + "\n    interval: " + interval + "\n"));
  };
  write("50ms");
  auto proxy = ProxyProcess::from_file(dir.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  {
    SseClient c(proxy.port(), "/events/p/1");
    ASSERT_TRUE(c.next(5s));
    backend.set_body(R"({"v":2})", "/p/1");
    ASSERT_TRUE(c.next(5s));
  }
  const std::vector<std::string> totals = {
      "pollbridge_upstream_polls_total",     "pollbridge_upstream_parses_total",
      "pollbridge_upstream_same_body_total", "pollbridge_upstream_body_bytes_total",
      "pollbridge_stream_events_total",      "pollbridge_upstream_not_modified_total",
      "pollbridge_upstream_failures_total"};
  auto read = [&](const std::string& stream) {
    const std::string m = get(proxy.port(), "/metrics");
    std::map<std::string, double> out;
    for (const auto& t : totals) out[t] = metric_series(m, t + "{stream=\"" + stream + "\"}");
    return out;
  };
  const auto before = read("p");
  ASSERT_GE(before.at("pollbridge_upstream_polls_total"), 2) << get(proxy.port(), "/metrics");
  ASSERT_GE(before.at("pollbridge_stream_events_total"), 2);
  // The client left: the instance is reaped after its linger.
  ASSERT_TRUE(wait_until(
      [&] {
        return metric_series(get(proxy.port(), "/metrics"),
                             "pollbridge_stream_instances{stream=\"p\"}") == 0;
      },
      5s))
      << get(proxy.port(), "/metrics");
  const auto after = read("p");
  for (const auto& t : totals) {
    EXPECT_GE(after.at(t), before.at(t)) << t << " dropped or vanished after the reap";
  }
  // A replaced stream (its interval changed) keeps counting from where it was.
  const auto s_before = read("s");
  ASSERT_GE(s_before.at("pollbridge_upstream_polls_total"), 1);
  write("60ms");
  httplib::Client h("127.0.0.1", proxy.port());
  auto r = h.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "");
  ASSERT_TRUE(r && r->status == 200);
  ASSERT_NE(r->body.find("\"changed\":[\"s\"]"), std::string::npos) << r->body;
  const auto s_after = read("s");
  for (const auto& t : totals) {
    EXPECT_GE(s_after.at(t), s_before.at(t)) << t << " dropped after the replacement";
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
