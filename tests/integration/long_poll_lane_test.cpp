// ctest-labels: threaded
// The long-poll lane (server/long_poll_session.h): a kept-alive connection's
// later long-polls of one shape, and the end of every wait, are answered by
// the connection loop without a worker. Through the real binary:
//
//   * the loop's answers carry exactly the headers a worker's answer has
//     (CORS, gzip, Vary, Keep-Alive), and the lane is taken (its counter);
//   * what the loop must not decide goes to a worker again: another
//     credential on the same connection (401), a token a reload took away
//     (401), a JWT that expired between two requests (401), a full
//     server.max_clients (503);
//   * a request pipelined behind a waiting one is answered after it, in
//     order; a client that leaves while waiting gives its place back.
//
// Documents are checked with nlohmann::json and bodies inflated with zlib,
// independent of pollbridge's own code.
#include <httplib.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/time_format.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"
#include "support/metrics_text.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/sse_client.h"
#include "support/test_certs.h"
#include "support/tls_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

const std::string kSecret = "lane-secret-0123456789abcdef0123456789";
const std::string kTokenA = "lane-token-a-0123456789abcdef";
const std::string kTokenB = "lane-token-b-0123456789abcdef";
constexpr const char* kHs = R"({"alg":"HS256","typ":"JWT"})";

// A document big enough that its snapshot answer is compressed (1 KiB+).
std::string doc(int v) {
  std::string items;
  for (int i = 0; i < 40; ++i) {
    items += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) + ",\"name\":\"item\"}";
  }
  return "{\"v\":" + std::to_string(v) + ",\"items\":[" + items + "]}";
}

std::string request(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "";
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

// The head's fields but Content-Length, in order; the Date field's value
// (which two answers a second apart differ in) checked to be an HTTP date
// and shown as "Date: *".
std::string fields_but_length(const RawResponse& r) {
  std::string out;
  std::size_t pos = r.head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < r.head.size()) {
    std::size_t end = r.head.find("\r\n", pos + 2);
    std::string line = r.head.substr(pos + 2, end == std::string::npos ? end : end - pos - 2);
    if (line.rfind("Date: ", 0) == 0) {
      EXPECT_TRUE(parse_http_date(line.substr(6))) << line;
      line = "Date: *";
    }
    if (line.rfind("Content-Length:", 0) != 0) out += line + "\n";
    pos = end;
  }
  return out;
}

class LongPollLaneTest : public ::testing::Test {
 protected:
  static std::string config(const std::string& tokens) {
    return config_with("  - name: a\n    url: " + backend_->url("/a") +
                           "\n    interval: 1h\n    diff: json-patch\n",
                       "auth:\n  jwt:\n    keys: [ { alg: HS256, secret: \"" + kSecret +
                           "\" } ]\n    leeway: 0s\n  tokens: [ " + tokens + " ]\n",
                       "  longpoll_timeout: 30s\n  cors_origins: [\"https://app.example\"]\n");
  }
  static void SetUpTestSuite() {
    backend_ = new FakeBackend;
    backend_->set_body(doc(0), "/a");
    proxy_ = new ProxyProcess(config("\"" + kTokenA + "\", \"" + kTokenB + "\""));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
  }
  void SetUp() override {
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
    http_->set_read_timeout(10 * kSlowdown, 0);
    ASSERT_TRUE(wait_until(
        [&] {
          auto r = http_->Get("/streams/a", {{"Authorization", "Bearer " + kTokenA}});
          return r && r->status == 200;
        },
        10s * kSlowdown));
  }
  double metric(const std::string& name) {
    auto r = http_->Get("/metrics", {{"Authorization", "Bearer test-token"}});
    return r ? metric_series(r->body, name) : -1.0;
  }
  void change(int v) {
    backend_->set_body(doc(v), "/a");
    auto r = http_->Post("/streams/a/poll?wait=true", {{"Authorization", "Bearer test-token"}}, "",
                         "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // Sends `req` on `c` and reads its answer (the n-th on the connection).
  static RawResponse exchange(RawConn& c, const std::string& req, std::size_t n) {
    EXPECT_TRUE(c.send(req));
    EXPECT_TRUE(c.read_responses(n, 5s * kSlowdown)) << c.received();
    auto rs = parse_responses(c.received());
    return rs.size() >= n ? rs[n - 1] : RawResponse{};
  }

  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
  std::unique_ptr<httplib::Client> http_;
};

FakeBackend* LongPollLaneTest::backend_ = nullptr;
ProxyProcess* LongPollLaneTest::proxy_ = nullptr;

TEST_F(LongPollLaneTest, TheLoopAnswersWithTheHeadersAWorkerWrites) {
  const std::string extra = "Authorization: Bearer " + kTokenA +
                            "\r\nOrigin: https://app.example\r\nAccept-Encoding: gzip\r\n";
  const double before = metric("pollbridge_longpoll_loop_runs_total");
  RawConn c(proxy_->port());
  // The first request runs on a worker, the second (same shape) on the loop.
  RawResponse worker = exchange(c, request("/events/a?transport=long-poll", extra), 1);
  RawResponse loop = exchange(c, request("/events/a?transport=long-poll", extra), 2);
  ASSERT_EQ(worker.status, 200) << worker.head;
  ASSERT_EQ(loop.status, 200) << loop.head;
  EXPECT_EQ(fields_but_length(loop), fields_but_length(worker));
  EXPECT_EQ(loop.header("Content-Encoding"), "gzip");
  EXPECT_EQ(loop.header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(loop.header("Content-Length"), std::to_string(loop.body.size()));
  EXPECT_EQ(gunzip(loop.body), gunzip(worker.body));
  Plain snapshot = Plain::parse(gunzip(loop.body));
  ASSERT_EQ(snapshot["events"].size(), 1u);
  const std::string last = snapshot["last_id"];
  EXPECT_GE(metric("pollbridge_longpoll_loop_runs_total"), before + 1);

  // A wait begun and ended on the loop: the next event, as a patch.
  ASSERT_TRUE(c.send(request("/events/a?transport=long-poll&lastEventId=" + last, extra)));
  EXPECT_FALSE(c.read_some(200ms));
  change(1);
  ASSERT_TRUE(c.read_responses(3, 5s * kSlowdown)) << c.received();
  RawResponse patch = parse_responses(c.received())[2];
  ASSERT_EQ(patch.status, 200);
  Plain events =
      Plain::parse(patch.header("Content-Encoding") == "gzip" ? gunzip(patch.body) : patch.body);
  ASSERT_EQ(events["events"].size(), 1u) << events.dump();
  EXPECT_EQ(Plain(snapshot["events"][0]["data"]).patch(events["events"][0]["data"]),
            Plain::parse(doc(1)));
  EXPECT_EQ(patch.header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(patch.header("Keep-Alive"), worker.header("Keep-Alive"));
  EXPECT_FALSE(c.peer_closed());

  // Small answers (a patch, never compressed): the worker's, the loop's
  // first and the loop's later ones (a kept head) are written alike.
  RawConn d(proxy_->port());
  const std::string again = request("/events/a?transport=long-poll&lastEventId=" + last, extra);
  std::vector<RawResponse> small;
  for (std::size_t n = 1; n <= 3; ++n) small.push_back(exchange(d, again, n));
  for (const RawResponse& r : small) {
    ASSERT_EQ(r.status, 200) << r.head;
    EXPECT_FALSE(r.has_header("Content-Encoding"));
    EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
    EXPECT_EQ(fields_but_length(r), fields_but_length(small[0]));
    EXPECT_EQ(r.body, small[0].body);
  }
  // The last one closes: Connection: close, no Keep-Alive.
  RawResponse closing = exchange(
      d,
      request("/events/a?transport=long-poll&lastEventId=" + last, extra + "Connection: close\r\n"),
      4);
  EXPECT_EQ(closing.header("Connection"), "close");
  EXPECT_FALSE(closing.has_header("Keep-Alive"));
  EXPECT_EQ(closing.body, small[0].body);
}

TEST_F(LongPollLaneTest, AnotherCredentialOnTheSameConnectionIsDecidedAgain) {
  RawConn c(proxy_->port());
  RawResponse ok = exchange(
      c, request("/events/a?transport=long-poll", "Authorization: Bearer " + kTokenA + "\r\n"), 1);
  ASSERT_EQ(ok.status, 200);
  // Same target, a forged token, then none at all: never the first one's
  // admission.
  RawResponse forged = exchange(
      c, request("/events/a?transport=long-poll", "Authorization: Bearer " + kTokenA + "x\r\n"), 2);
  EXPECT_EQ(forged.status, 401) << forged.head;
  RawConn d(proxy_->port());
  ASSERT_EQ(
      exchange(
          d, request("/events/a?transport=long-poll", "Authorization: Bearer " + kTokenA + "\r\n"),
          1)
          .status,
      200);
  EXPECT_EQ(exchange(d, request("/events/a?transport=long-poll"), 2).status, 401);
}

TEST_F(LongPollLaneTest, AJwtThatExpiredBetweenTwoRequestsIsRefused401) {
  const long long exp = unix_now_s() + 2;
  const std::string jwt = sign_hmac("HS256", kSecret, kHs,
                                    Plain{{"sub", "u1"}, {"exp", exp}, {"streams", {"a"}}}.dump());
  RawConn c(proxy_->port());
  const std::string req =
      request("/events/a?transport=long-poll", "Authorization: Bearer " + jwt + "\r\n");
  ASSERT_EQ(exchange(c, req, 1).status, 200);
  ASSERT_EQ(exchange(c, req, 2).status, 200);  // the loop's, while it is valid
  while (unix_now_s() <= exp) std::this_thread::sleep_for(50ms);
  RawResponse late = exchange(c, req, 3);
  EXPECT_EQ(late.status, 401) << late.head;
}

TEST_F(LongPollLaneTest, APipelinedRequestIsAnsweredAfterTheWaitingOneInOrder) {
  const std::string auth = "Authorization: Bearer " + kTokenB + "\r\n";
  RawConn c(proxy_->port());
  RawResponse first = exchange(c, request("/events/a?transport=long-poll", auth), 1);
  ASSERT_EQ(first.status, 200);
  const std::string last = Plain::parse(first.body)["last_id"];
  // Two requests in one write: a wait (on the loop), and behind it a request
  // without a position.
  ASSERT_TRUE(c.send(request("/events/a?transport=long-poll&lastEventId=" + last, auth) +
                     request("/events/a?transport=long-poll", auth)));
  EXPECT_FALSE(c.read_some(300ms));
  change(7);
  ASSERT_TRUE(c.read_responses(3, 5s * kSlowdown)) << c.received();
  auto rs = parse_responses(c.received());
  Plain waited = Plain::parse(rs[1].body);
  Plain behind = Plain::parse(rs[2].body);
  ASSERT_EQ(waited["events"].size(), 1u);
  EXPECT_EQ(waited["events"][0]["event"], "patch");
  EXPECT_EQ(behind["events"][0]["event"], "snapshot");
  EXPECT_EQ(behind["events"][0]["data"], Plain::parse(doc(7)));

  // Leaving while parked on the loop gives the place back.
  const std::string now_at = behind["last_id"];
  {
    RawConn gone(proxy_->port());
    ASSERT_EQ(exchange(gone, request("/events/a?transport=long-poll", auth), 1).status, 200);
    ASSERT_TRUE(gone.send(request("/events/a?transport=long-poll&lastEventId=" + now_at, auth)));
    ASSERT_TRUE(
        wait_until([&] { return metric("pollbridge_longpoll_waiting") == 1.0; }, 5s * kSlowdown));
  }
  EXPECT_TRUE(
      wait_until([&] { return metric("pollbridge_longpoll_waiting") == 0.0; }, 5s * kSlowdown));
}

// Last: it reloads the suite's process without token a.
TEST_F(LongPollLaneTest, ZATokenAReloadTookAwayIsRefusedOnTheNextRequest) {
  const std::string req =
      request("/events/a?transport=long-poll", "Authorization: Bearer " + kTokenA + "\r\n");
  RawConn c(proxy_->port());
  ASSERT_EQ(exchange(c, req, 1).status, 200);
  ASSERT_EQ(exchange(c, req, 2).status, 200);
  { std::ofstream(proxy_->config_path()) << config("\"" + kTokenB + "\""); }
  auto reloaded =
      http_->Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "text/plain");
  ASSERT_TRUE(reloaded);
  ASSERT_EQ(reloaded->status, 200) << reloaded->body;
  EXPECT_EQ(exchange(c, req, 3).status, 401);
}

// Its own process: server.max_clients 1.
TEST(LongPollLaneLimitsTest, AFullServerRefusesTheNextRequestOfAKeptAliveConnection) {
  FakeBackend backend;
  backend.set_body(doc(0));
  ProxyProcess proxy(config_with("  - name: s\n    url: " + backend.url() + "\n    interval: 1h\n",
                                 "", "  max_clients: 1\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  RawConn c(proxy.port());
  ASSERT_TRUE(c.send(request("/events/s?transport=long-poll")));
  ASSERT_TRUE(c.read_responses(1, 5s * kSlowdown)) << c.received();
  ASSERT_EQ(parse_responses(c.received())[0].status, 200);
  // The one client allowed is now an SSE subscriber.
  SseClient sse(proxy.port(), "/events/s");
  ASSERT_TRUE(sse.next(5s * kSlowdown));
  ASSERT_TRUE(c.send(request("/events/s?transport=long-poll")));
  ASSERT_TRUE(c.read_responses(2, 5s * kSlowdown)) << c.received();
  EXPECT_EQ(parse_responses(c.received())[1].status, 503);
}

// Reads from `c` until `n` whole responses arrived (or the time is up).
bool read_tls_responses(TlsConn& c, std::string& in, std::size_t n,
                        std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (parse_responses(in).size() < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left <= 0ms || c.recv(in, left) <= 0) return false;
  }
  return true;
}

// Its own process: the lane on a TLS connection (its reads go through the
// TLS session; a wait watched on the raw socket).
TEST(LongPollLaneTlsTest, LaterLongPollsAndAWaitOnOneTlsConnection) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  FakeBackend backend;
  backend.set_body(doc(0));
  ProxyProcess proxy(config_with(
      "  - name: s\n    url: " + backend.url() + "\n    interval: 100ms\n    diff: json-patch\n",
      "", "  tls: { cert: \"" + certs.cert + "\", key: \"" + certs.key + "\" }\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  TlsClientOptions tls;
  tls.ca_file = certs.ca;
  TlsConn c(proxy.port(), tls);
  ASSERT_TRUE(c.ok()) << c.error();
  std::string in;
  // A worker's answer, then the loop's, then a wait on the loop.
  ASSERT_TRUE(c.send(request("/events/s?transport=long-poll")));
  ASSERT_TRUE(read_tls_responses(c, in, 1, 5s * kSlowdown)) << in;
  ASSERT_TRUE(c.send(request("/events/s?transport=long-poll")));
  ASSERT_TRUE(read_tls_responses(c, in, 2, 5s * kSlowdown)) << in;
  auto rs = parse_responses(in);
  ASSERT_EQ(rs[1].status, 200);
  EXPECT_EQ(rs[1].body, rs[0].body);
  const std::string last = Plain::parse(rs[1].body)["last_id"];
  ASSERT_TRUE(c.send(request("/events/s?transport=long-poll&lastEventId=" + last)));
  EXPECT_FALSE(read_tls_responses(c, in, 3, 300ms));
  backend.set_body(doc(1));
  ASSERT_TRUE(read_tls_responses(c, in, 3, 5s * kSlowdown)) << in;
  Plain events = Plain::parse(parse_responses(in)[2].body);
  ASSERT_EQ(events["events"].size(), 1u) << events.dump();
  EXPECT_EQ(Plain(Plain::parse(rs[0].body)["events"][0]["data"]).patch(events["events"][0]["data"]),
            Plain::parse(doc(1)));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
