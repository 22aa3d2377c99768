// ctest-labels: threaded
// Attack: many `auth: upstream` admissions with made-up credentials against
// a slow upstream (issue 18, item 7). An admission waits for the upstream's
// answer to its credentials; it used to wait inside an HTTP worker, so a
// handful of them stopped every other route (/healthz waited seconds).
// Now a waiting admission is parked on the connection loop without a
// thread, one client address may have at most
// server.max_pending_admissions_per_client of them (429 past it), and every
// admission still ends as the upstream says (200 stream or 401).
#include <httplib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Client addresses (127.0.0.2 ...) and admissions from each: more
// admissions than workers, exactly the cap per address.
// (At most 64 in all: the fake upstream has 64 threads to hold them.)
constexpr int kAddresses = 10;
constexpr int kPerAddress = 6;
constexpr int kAdmissions = kAddresses * kPerAddress;
constexpr int kWorkers = 4;
// The longest an upstream answer is held back if the test never opens the
// gate (the stream's timeout is longer, so the poll never times out).
constexpr auto kGateCap = 8s;
// What /healthz may take while the admissions wait: generous for a loaded
// 2-core machine (the issue asks 100 ms of a plain build), and far below
// what the old code took (until the upstream answered: the gate).
const auto kHealthBound = 1000ms * (kSlowdown > 1 ? 2 : 1);

std::string from_address(int i) {
  return "127.0.0." + std::to_string(2 + i);
}

std::string admission(const std::string& credential) {
  return "GET /events/mine HTTP/1.1\r\nHost: pb\r\nAccept: text/event-stream\r\n"
         "Authorization: Bearer " +
         credential + "\r\n\r\n";
}

int status_of(const std::string& received) {
  auto r = parse_responses(received, true);
  return r.empty() ? 0 : r.front().status;
}

// The upstream: holds every answer until the test opens the gate, then
// admits "good-*" credentials and refuses the rest with 401.
class SlowUpstream {
 public:
  SlowUpstream() {
    backend_.set_handler([this](const httplib::Request& req, httplib::Response& res) {
      ++seen_;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, kGateCap, [this] { return open_; });
      }
      if (req.get_header_value("Authorization").rfind("Bearer good-", 0) == 0) {
        res.set_content("{\"user\":\"" + req.get_header_value("Authorization").substr(7) + "\"}",
                        "application/json");
      } else {
        res.status = 401;
        res.set_content("{\"error\":\"who are you\"}", "application/json");
      }
    });
  }
  ~SlowUpstream() { open(); }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int seen() const { return seen_.load(); }
  std::string url() const { return backend_.url("/mine"); }

 private:
  FakeBackend backend_;
  std::atomic<int> seen_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

std::string config(const std::string& url) {
  return config_with("  - name: mine\n    url: " + url +
                         "\n    forward_headers: [Authorization]\n    auth: upstream\n"
                         "    interval: 30s\n    timeout: 15s\n    max_instances: 1000\n"
                         "    max_connections_per_host: 256\n",
                     "",
                     "  workers: " + std::to_string(kWorkers) +
                         "\n  max_pending_admissions_per_client: " + std::to_string(kPerAddress) +
                         "\n");
}

// One request on a fresh connection: its status, and how long it took.
std::pair<int, Clock::duration> timed_get(int port, const std::string& path) {
  RawConn c(port);
  const auto t0 = Clock::now();
  // The admin token: /metrics of protected streams needs it.
  c.send("GET " + path +
         " HTTP/1.1\r\nHost: pb\r\nAuthorization: Bearer test-token\r\nConnection: close\r\n\r\n");
  c.read_responses(1, 10s);
  return {status_of(c.received()), Clock::now() - t0};
}

TEST(AdmissionAttackTest, WaitingAdmissionsHoldNoWorkerAndAreCappedPerClient) {
  SlowUpstream upstream;
  ProxyProcess proxy(config(upstream.url()));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const long rss_start = rss_kib(proxy.pid());

  // Made-up credentials, many more admissions than workers, from several
  // addresses; half of them the upstream will admit.
  std::vector<RawConn> conns;
  for (int a = 0; a < kAddresses; ++a) {
    for (int i = 0; i < kPerAddress; ++i) {
      const int n = a * kPerAddress + i;
      conns.emplace_back(proxy.port(), "127.0.0.1", from_address(a));
      ASSERT_TRUE(conns.back().connected());
      conns.back().send(admission((n % 2 == 0 ? "good-" : "bad-") + std::to_string(n)));
    }
  }
  // Every admission reached the upstream at once (one poll each), none
  // waiting for a worker.
  EXPECT_TRUE(wait_until([&] { return upstream.seen() >= kAdmissions; }, 5000ms * kSlowdown))
      << upstream.seen() << " of " << kAdmissions << " admissions polled";

  // Every other route answers at once while they all wait.
  for (const char* path : {"/healthz", "/healthz", "/streams", "/metrics", "/healthz"}) {
    auto [status, took] = timed_get(proxy.port(), path);
    EXPECT_EQ(status, 200) << path;
    EXPECT_LT(took, kHealthBound)
        << path << " took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
        << " ms";
  }

  // One address past its cap: exactly 429, at once, with Retry-After.
  {
    RawConn over(proxy.port(), "127.0.0.1", from_address(0));
    const auto t0 = Clock::now();
    over.send(admission("good-one-too-many"));
    ASSERT_TRUE(over.read_responses(1, 10s)) << over.received();
    EXPECT_LT(Clock::now() - t0, kHealthBound);
    auto r = parse_responses(over.received());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 429) << over.received();
    EXPECT_EQ(r[0].header("Retry-After"), "5");
    EXPECT_NE(r[0].body.find("max_pending_admissions_per_client"), std::string::npos);
  }
  // Nothing was answered before the upstream was.
  for (auto& c : conns) {
    c.read_some(1ms);
    EXPECT_TRUE(c.received().empty()) << c.received();
  }

  // The upstream answers: each admission ends as it says.
  upstream.open();
  for (int n = 0; n < kAdmissions; ++n) {
    RawConn& c = conns[static_cast<std::size_t>(n)];
    if (n % 2 == 0) {
      EXPECT_TRUE(c.read_until("event: snapshot", 10s * kSlowdown)) << n << ": " << c.received();
      EXPECT_EQ(status_of(c.received()), 200) << n;
      EXPECT_NE(c.received().find("good-" + std::to_string(n)), std::string::npos);
    } else {
      EXPECT_TRUE(c.read_responses(1, 10s * kSlowdown)) << n << ": " << c.received();
      EXPECT_EQ(status_of(c.received()), 401) << n << ": " << c.received();
      EXPECT_EQ(c.received().find("who are you"), std::string::npos);  // never the upstream's body
    }
  }

  // The slots were given back: the capped address is admitted again.
  {
    RawConn again(proxy.port(), "127.0.0.1", from_address(0));
    again.send(admission("good-again"));
    EXPECT_TRUE(again.read_until("event: snapshot", 10s * kSlowdown)) << again.received();
    EXPECT_EQ(status_of(again.received()), 200);
  }
  const long rss_end = rss_kib(proxy.pid());
  EXPECT_LT(rss_end - rss_start, 64 * 1024) << rss_start << " -> " << rss_end << " KiB";
}

TEST(AdmissionAttackTest, PendingAdmissionCapAndIpv6PrefixAreCheckedWithTheirPosition) {
  struct Case {
    std::string line, expect;
  };
  const std::vector<Case> cases = {
      {"  max_pending_admissions_per_client: 0\n", "0 is out of range 1..1000000"},
      {"  ipv6_prefix: 0\n", "0 is out of range 1..128"},
      {"  ipv6_prefix: 129\n", "129 is out of range 1..128"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    dir.write("p.yaml", config_with("  - name: s\n    url: http://127.0.0.1:9/doc\n", "", c.line));
    std::string out;
    EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("p.yaml")}, &out), 1) << c.line;
    // The value's position: line 6 (after listen, heartbeat, retry,
    // admin_token), column 3 plus the key.
    EXPECT_NE(out.find(dir.file("p.yaml") + ":6:"), std::string::npos) << out;
    EXPECT_NE(out.find(c.expect), std::string::npos) << out;
  }
  dir.write("ok.yaml", config_with("  - name: s\n    url: http://127.0.0.1:9/doc\n", "",
                                   "  ipv6_prefix: 48\n  max_pending_admissions_per_client: 4\n"));
  std::string out;
  EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("ok.yaml")}, &out), 0) << out;
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
