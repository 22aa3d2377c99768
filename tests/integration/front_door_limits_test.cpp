// ctest-labels: threaded
// Every front-door limit through the real binary, on raw sockets, each with
// the exact status it must get: the whole-head deadline (408), the head size
// (431), the body size (413) and deadline (408), idle keep-alive and the
// request budget, max_connections (503) over every state,
// max_connections_per_ip (429), a taken port, and running out of
// descriptors.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kGet = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

class FrontDoorLimitsTest : public ::testing::Test {
 protected:
  void start(const std::string& server) {
    backend_.set_body(R"({"a":1})");
    proxy_ = std::make_unique<ProxyProcess>(one_stream_config(backend_.url(), "", "", server));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  int port() const { return proxy_->port(); }
  // A served request on a fresh connection.
  bool served() {
    RawConn c(port());
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.read_until_closed(5s);
    auto rs = parse_responses(c.received());
    return rs.size() == 1 && rs[0].status == 200;
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(FrontDoorLimitsTest, HeaderTimeoutIsOneDeadlineForTheWholeHead) {
  start("  header_timeout: 600ms\n");
  RawConn c(port());
  auto t0 = Clock::now();
  // One byte every 100 ms for up to 4 s: a deadline that restarted with
  // every byte would never fire while this goes on.
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::size_t i = 0;
  while (Clock::now() - t0 < 4s && !c.peer_closed()) {
    c.send(std::string(1, i < head.size() ? head[i] : 'a'));
    ++i;
    if (c.read_some(100ms)) break;
  }
  ASSERT_TRUE(c.read_until_closed(5s));
  auto elapsed = Clock::now() - t0;
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 1u) << c.received();
  EXPECT_EQ(rs[0].status, 408);
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_GE(elapsed, 550ms);
  EXPECT_LT(elapsed, 3s) << "the deadline moved with the bytes";
}

TEST_F(FrontDoorLimitsTest, SilentConnectionIsClosedUnansweredAtTheHeadDeadline) {
  start("  header_timeout: 300ms\n");
  RawConn c(port());
  auto t0 = Clock::now();
  ASSERT_TRUE(c.read_until_closed(5s));
  EXPECT_EQ(c.received(), "");
  EXPECT_GE(Clock::now() - t0, 250ms);
}

TEST_F(FrontDoorLimitsTest, OversizedHeadGets431) {
  start("  max_header_bytes: 1KiB\n");
  // A complete head that is too large, and an endless one.
  for (const std::string& req :
       {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: " + std::string(5000, 'e')}) {
    RawConn c(port());
    c.send(req);
    ASSERT_TRUE(c.read_until_closed(5s));
    auto rs = parse_responses(c.received());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 431);
  }
  // Just under the cap is served.
  RawConn ok(port());
  ok.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(900, 'b') + "\r\n\r\n");
  ASSERT_TRUE(ok.read_responses(1, 5s));
  EXPECT_EQ(parse_responses(ok.received())[0].status, 200);
}

TEST_F(FrontDoorLimitsTest, OversizedBodyGets413BeforeItIsSent) {
  start("  max_request_body: 1KiB\n");
  for (const char* length : {"100000000000", "99999999999999999999999", "1025"}) {
    RawConn c(port());
    c.send(std::string("POST /admin/reload HTTP/1.1\r\nHost: x\r\nContent-Length: ") + length +
           "\r\n\r\n");
    ASSERT_TRUE(c.read_until_closed(5s)) << length;  // no body was sent at all
    auto rs = parse_responses(c.received());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].status, 413) << length;
  }
  // A client that keeps sending its large body still reads the 413.
  RawConn big(port());
  big.send("POST /admin/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n");
  big.send(std::string(100000, 'x'));
  ASSERT_TRUE(big.read_until("HTTP/1.1 413", 5s)) << big.received();
}

TEST_F(FrontDoorLimitsTest, SlowBodyGets408AtTheBodyDeadline) {
  start("  body_timeout: 500ms\n");
  RawConn c(port());
  auto t0 = Clock::now();
  c.send("POST /admin/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  ASSERT_TRUE(c.read_until_closed(5s));
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 408);
  EXPECT_GE(Clock::now() - t0, 450ms);
}

TEST_F(FrontDoorLimitsTest, IdleKeepAliveClosesAfterTheTimeoutAndTheBudgetEndsTheConnection) {
  start("  keepalive_timeout: 400ms\n  keepalive_requests: 3\n");
  RawConn idle(port());
  idle.send(kGet);
  ASSERT_TRUE(idle.read_responses(1, 5s));
  auto t0 = Clock::now();
  ASSERT_TRUE(idle.read_until_closed(5s));
  EXPECT_GE(Clock::now() - t0, 350ms);
  auto first = parse_responses(idle.received());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].header("Keep-Alive"), "timeout=1, max=3");  // whole seconds, up

  RawConn c(port());
  c.send(kGet + kGet);
  ASSERT_TRUE(c.read_responses(2, 5s));
  c.send(kGet);
  ASSERT_TRUE(c.read_until_closed(5s));
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_FALSE(rs[1].has_header("Connection"));
  EXPECT_EQ(rs[2].header("Connection"), "close");
  EXPECT_FALSE(rs[2].has_header("Keep-Alive"));
}

TEST_F(FrontDoorLimitsTest, MaxConnectionsCountsEveryStateAndAnswers503) {
  start("  max_connections: 4\n");
  // One SSE stream, one idle keep-alive, one silent, one half a head.
  SseClient sse(port(), "/events/s");
  ASSERT_EQ(sse.status(), 200);
  RawConn idle(port());
  idle.send(kGet);
  ASSERT_TRUE(idle.read_responses(1, 5s));
  auto silent = std::make_unique<RawConn>(port());
  RawConn slow(port());
  slow.send("GET /healthz HTTP/1.1\r\n");
  ASSERT_TRUE(wait_until([&] {
    RawConn probe(port());
    probe.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    probe.read_until_closed(2s);
    auto rs = parse_responses(probe.received());
    return rs.size() == 1 && rs[0].status == 503;
  }));
  RawConn refused(port());
  refused.send(kGet);
  ASSERT_TRUE(refused.read_until_closed(5s));
  auto rs = parse_responses(refused.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 503);
  EXPECT_EQ(rs[0].header("Retry-After"), "5");
  EXPECT_NE(rs[0].body.find("server.max_connections"), std::string::npos);
  // Everyone held is still served.
  idle.send(kGet);
  EXPECT_TRUE(idle.read_responses(2, 5s));
  // One leaves: a newcomer gets in.
  silent.reset();
  EXPECT_TRUE(wait_until([&] { return served(); }));
}

TEST_F(FrontDoorLimitsTest, MaxConnectionsPerIpAnswers429AndOtherAddressesGetIn) {
  start("  max_connections_per_ip: 2\n");
  RawConn a(port());
  RawConn b(port());
  a.send(kGet);
  b.send(kGet);
  ASSERT_TRUE(a.read_responses(1, 5s));
  ASSERT_TRUE(b.read_responses(1, 5s));
  RawConn third(port());
  third.send(kGet);
  ASSERT_TRUE(third.read_until_closed(5s));
  auto rs = parse_responses(third.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 429);
  EXPECT_NE(rs[0].body.find("server.max_connections_per_ip"), std::string::npos);
  RawConn other(port(), "127.0.0.1", "127.0.0.2");
  ASSERT_TRUE(other.connected());
  other.send(kGet);
  ASSERT_TRUE(other.read_responses(1, 5s));
  EXPECT_EQ(parse_responses(other.received())[0].status, 200);
}

TEST_F(FrontDoorLimitsTest, ATakenPortFailsStartUnlessBothShareItWithReusePort) {
  start("");
  ProxyProcess second(one_stream_config(backend_.url()),
                      {"--listen", "127.0.0.1:" + std::to_string(port())});
  EXPECT_FALSE(second.started());
  EXPECT_EQ(second.wait(5s), 1);
  EXPECT_NE(second.stderr_text().find("already in use"), std::string::npos) << second.stderr_text();

  ProxyProcess a(one_stream_config(backend_.url(), "", "", "  reuse_port: true\n"));
  ASSERT_TRUE(a.started()) << a.stderr_text();
  ProxyProcess b(one_stream_config(backend_.url(), "", "", "  reuse_port: true\n"),
                 {"--listen", "127.0.0.1:" + std::to_string(a.port())});
  EXPECT_TRUE(b.started()) << b.stderr_text();
}

TEST_F(FrontDoorLimitsTest, RunningOutOfDescriptorsNeverStopsAccepting) {
  // The proxy runs with a limit of 64 descriptors, soft and hard (it raises
  // its soft limit toward the hard one at start, so both are lowered).
  backend_.set_body(R"({"a":1})");
  proxy_ = std::make_unique<ProxyProcess>(
      one_stream_config(backend_.url(), "", "", "  max_connections: 100000\n"),
      std::vector<std::string>{}, ProxyProcess::Env{{"PB_TEST_RLIMIT_NOFILE", "64"}});
  ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  // The first poll is done before the descriptors run out. (Under UBSan a
  // type's first dynamic check calls pipe(2) to probe memory; out of
  // descriptors it fails and reports a false "invalid vptr": the first event
  // of the process, made while exhausted, did that.)
  ASSERT_TRUE(wait_until([&] {
    RawConn c(port());
    c.send("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.read_until_closed(5s);
    auto rs = parse_responses(c.received());
    return rs.size() == 1 && rs[0].status == 200;
  }));

  std::vector<RawConn> held;
  for (int i = 0; i < 120; ++i) held.emplace_back(port());
  // Those past the limit are closed at once rather than left hanging.
  ASSERT_TRUE(wait_until([&] {
    int closed = 0;
    for (auto& c : held) {
      c.read_some(1ms);
      closed += c.peer_closed() ? 1 : 0;
    }
    return closed >= 40;
  }));
  held.clear();
  EXPECT_TRUE(wait_until([&] { return served(); }, kSlowdown * 10s));
  RawConn m(port());
  m.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(m.read_responses(1, 5s));
  EXPECT_NE(m.received().find("pollbridge_connections_refused_total{reason=\"shed\"} "),
            std::string::npos);
  EXPECT_EQ(m.received().find("pollbridge_connections_refused_total{reason=\"shed\"} 0\n"),
            std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
