// ctest-labels: threaded
// What an operator sees, through the real binary: the rate-limited log
// events (stale/recovered, slow clients, refused limits), the SSE access
// log, and the histograms and counters of /metrics, with bounded labels.
//
// Suites are named Stream* so that the TSan stage runs them too.
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <atomic>
#include <regex>
#include <sstream>

#include "json/document.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/metrics_text.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using json::Json;
using namespace std::chrono_literals;

// The JSON log lines of a process whose message is `msg`.
std::vector<Json> lines_with(const ProxyProcess& p, const std::string& msg) {
  std::vector<Json> out;
  std::istringstream in(p.stderr_text());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    Json j = json::parse(line);
    if (j["msg"] == msg) out.push_back(std::move(j));
  }
  return out;
}

bool has_line(const ProxyProcess& p, const std::string& msg) {
  return !lines_with(p, msg).empty();
}

std::string get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get(path);
  return r ? r->body : std::string();
}

std::string stream_config(const std::string& url, const std::string& stream_extra = "",
                          const std::string& top = "", const std::string& server = "") {
  return config_with("  - name: s\n    url: " + url + "\n" + stream_extra, top, server);
}

ProxyProcess json_proxy(const std::string& yaml) {
  return ProxyProcess(yaml, {"--log-format", "json"});
}

TEST(StreamLogTest, StaleAndRecoveredAreOneLineEachWhilePollsFailEvery10ms) {
  FakeBackend backend;
  backend.set_body(R"({"v":1})");
  auto proxy = json_proxy(
      stream_config(backend.url(), "    interval: 10ms\n    backoff_max: 10ms\n    timeout: 2s\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  ASSERT_TRUE(
      wait_until([&] { return get(proxy.port(), "/readyz").find("true") != std::string::npos; }));
  backend.set_failure(503);
  ASSERT_TRUE(wait_until(
      [&] {
        return metric_series(get(proxy.port(), "/metrics"),
                             "pollbridge_upstream_failures_total{stream=\"s\"}") >= 50;
      },
      20s))
      << "the stream did not fail 50 polls";
  auto stale = lines_with(proxy, "stream went stale");
  ASSERT_EQ(stale.size(), 1u) << proxy.stderr_text();
  EXPECT_EQ(stale[0]["level"], "warn");
  EXPECT_EQ(stale[0]["stream"], "s");
  EXPECT_EQ(stale[0]["instance"], "s");
  EXPECT_EQ(stale[0]["status"], 503);
  EXPECT_NE(stale[0]["reason"].get<std::string>().find("503"), std::string::npos);
  EXPECT_FALSE(has_line(proxy, "stream still stale")) << "the summary comes once a minute";
  const auto stale_for = std::chrono::steady_clock::now();
  backend.set_failure(0);
  ASSERT_TRUE(wait_until([&] { return has_line(proxy, "stream recovered"); }, 10s))
      << proxy.stderr_text();
  auto rec = lines_with(proxy, "stream recovered");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0]["stream"], "s");
  EXPECT_GE(rec[0]["failures"].get<int>(), 50);
  EXPECT_GT(rec[0]["duration_ms"].get<std::int64_t>(), 0);
  EXPECT_LE(rec[0]["duration_ms"].get<std::int64_t>(),
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  stale_for)
                    .count() +
                30000);
  EXPECT_EQ(lines_with(proxy, "stream went stale").size(), 1u);
}

TEST(StreamLogTest, AccessLogSaysWhoConnectedHowTheyStartedAndWhatTheyWereSent) {
  FakeBackend backend;
  backend.set_body(padded(R"({"v":1})"));
  auto proxy = json_proxy(stream_config(backend.url(), "    interval: 50ms\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  std::string last_id;
  std::size_t raw = 0;
  {
    SseClient c(proxy.port(), "/events/s");
    ASSERT_EQ(c.status(), 200);
    ASSERT_TRUE(c.next(5s));
    backend.set_body(padded(R"({"v":2})"));
    auto ev = c.next(5s);
    ASSERT_TRUE(ev);
    last_id = ev->id;
    raw = c.raw().size();
  }
  ASSERT_TRUE(wait_until([&] { return has_line(proxy, "client disconnected"); }, 10s))
      << proxy.stderr_text();
  auto in = lines_with(proxy, "client connected");
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0]["level"], "info");
  EXPECT_EQ(in[0]["stream"], "s");
  EXPECT_EQ(in[0]["start"], "snapshot");
  EXPECT_TRUE(
      std::regex_match(in[0]["client"].get<std::string>(), std::regex(R"(127\.0\.0\.1:[0-9]+)")))
      << in[0]["client"];
  auto out = lines_with(proxy, "client disconnected");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["client"], in[0]["client"]);
  EXPECT_EQ(out[0]["reason"], "closed");
  EXPECT_GE(out[0]["events"].get<int>(), 2) << "the snapshot and the patch";
  EXPECT_GT(out[0]["bytes"].get<std::size_t>(), raw) << "the body and the response head";
  EXPECT_GE(out[0]["duration_ms"].get<std::int64_t>(), 0);
  // A resume says so, with the id it resumed from.
  {
    SseClient again(proxy.port(), "/events/s", {{"Last-Event-ID", last_id}});
    ASSERT_EQ(again.status(), 200);
    ASSERT_TRUE(wait_until([&] { return lines_with(proxy, "client connected").size() == 2; }));
  }
  auto resumed = lines_with(proxy, "client connected")[1];
  EXPECT_EQ(resumed["start"], "resume");
  EXPECT_EQ(resumed["last_event_id"], last_id);
}

TEST(StreamLogTest, AccessLogIsSwitchedOffByLogAccessFalse) {
  FakeBackend backend;
  backend.set_body(R"({"v":1})");
  auto proxy = json_proxy(stream_config(backend.url(), "", "log:\n  access: false\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  {
    SseClient c(proxy.port(), "/events/s");
    ASSERT_TRUE(c.next(5s));
  }
  // A request after the disconnect was handled: its line would be there by now.
  ASSERT_TRUE(wait_until(
      [&] { return metric_series(get(proxy.port(), "/metrics"), "pollbridge_clients") == 0; }));
  EXPECT_FALSE(has_line(proxy, "client connected"));
  EXPECT_FALSE(has_line(proxy, "client disconnected"));
  EXPECT_TRUE(has_line(proxy, "started")) << "other lines are still written";
}

// A client that sends its request and never reads.
class StuckClient {
 public:
  explicit StuckClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    std::string req = "GET /events/s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ssize_t w = ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
    (void)w;
  }
  ~StuckClient() { ::close(fd_); }

 private:
  int fd_ = -1;
};

TEST(StreamLogTest, ClientsDroppedAsSlowAreLoggedThrottledPerStream) {
  // Every poll answers a new 200 KB document: every poll is a big event.
  std::atomic<int> version{0};
  FakeBackend backend;
  backend.set_handler([&](const httplib::Request&, httplib::Response& res) {
    std::string blob(200000, static_cast<char>('a' + (++version % 26)));
    res.set_content("{\"blob\":\"" + blob + "\"}", "application/json");
  });
  auto proxy = json_proxy(stream_config(backend.url(), "    interval: 50ms\n    timeout: 5s\n", "",
                                        "  client_backlog_bytes: 1MiB\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  std::vector<std::unique_ptr<StuckClient>> stuck;
  for (int i = 0; i < 3; ++i) stuck.push_back(std::make_unique<StuckClient>(proxy.port()));
  ASSERT_TRUE(wait_until(
      [&] {
        return metric_series(get(proxy.port(), "/metrics"),
                             "pollbridge_clients_evicted_total{reason=\"slow\"}") >= 3;
      },
      30s))
      << proxy.stderr_text();
  ASSERT_TRUE(wait_until([&] { return lines_with(proxy, "client disconnected").size() >= 3; }));
  auto dropped = lines_with(proxy, "client dropped as slow");
  ASSERT_EQ(dropped.size(), 1u) << "one line per stream per period, whatever the count";
  EXPECT_EQ(dropped[0]["level"], "warn");
  EXPECT_EQ(dropped[0]["stream"], "s");
  EXPECT_EQ(dropped[0]["reason"], "slow");
  EXPECT_GT(dropped[0]["behind"].get<int>(), 0);
  int slow = 0;
  for (const auto& l : lines_with(proxy, "client disconnected")) slow += l["reason"] == "slow";
  EXPECT_EQ(slow, 3) << "each eviction is in the access log";
}

TEST(StreamLogTest, RefusedLimitsAreLoggedOnceAPeriodWithTheirStatus) {
  FakeBackend backend;
  backend.set_body(R"({"v":1})");
  auto proxy = json_proxy(
      stream_config(backend.url(), "", "", "  max_clients: 1\n  max_connections_per_ip: 30\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  SseClient first(proxy.port(), "/events/s");
  ASSERT_TRUE(first.next(5s));
  for (int i = 0; i < 20; ++i) {
    SseClient refused(proxy.port(), "/events/s");
    EXPECT_EQ(refused.status(), 503);
  }
  ASSERT_TRUE(wait_until([&] { return has_line(proxy, "limit refused"); }));
  auto lines = lines_with(proxy, "limit refused");
  ASSERT_EQ(lines.size(), 1u) << "20 refusals, one line";
  EXPECT_EQ(lines[0]["limit"], "server.max_clients");
  EXPECT_EQ(lines[0]["status"], 503);
  EXPECT_EQ(lines[0]["client"], "127.0.0.1");
  // The front door's own limit, answered 429.
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 40; ++i) held.push_back(std::make_unique<RawConn>(proxy.port()));
  ASSERT_TRUE(wait_until([&] { return lines_with(proxy, "limit refused").size() == 2; }))
      << proxy.stderr_text();
  auto per_ip = lines_with(proxy, "limit refused")[1];
  EXPECT_EQ(per_ip["limit"], "server.max_connections_per_ip");
  EXPECT_EQ(per_ip["status"], 429);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
