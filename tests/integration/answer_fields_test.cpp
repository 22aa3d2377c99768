// ctest-labels: threaded
// The framing fields of answers through the real binary, on raw sockets
// (RFC 9110 8.6, 9.3.2): every route answers a HEAD with the fields its GET
// would get and no content. A HEAD names a length only where it is the
// GET's (a document, the browser client), never for an event stream or a
// long-poll, whose GET has none to announce; no HEAD offers ranges that no
// GET serves; a 304 and a 204 name no length at all. Every answer carries
// Date (RFC 9110 6.6.1), whoever wrote it: a worker, the hub's stream head,
// the connection loop's errors and its long-poll answers.
#include <gtest/gtest.h>

#include <memory>

#include "common/time_format.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

// One request on its own connection (closed after it); its one response.
RawResponse ask(int port, const std::string& method, const std::string& target) {
  RawConn c(port);
  EXPECT_TRUE(c.connected());
  c.send(method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(c.read_until_closed(5s)) << method << " " << target;
  auto all = parse_responses(c.received(), method == "HEAD");
  EXPECT_EQ(all.size(), 1u) << method << " " << target << "\n" << c.received();
  return all.empty() ? RawResponse{} : all.front();
}

// A proxy with one stream `s` (a fixed document) and CORS for one origin,
// its document already there.
class AnswerFieldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_body(R"({"v":1})");
    proxy_ = std::make_unique<ProxyProcess>(
        one_stream_config(backend_.url(), "", "", "  cors_origins: [\"https://app.example\"]\n"));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    port_ = proxy_->port();
    ASSERT_TRUE(wait_until([&] { return ask(port_, "GET", "/streams/s").status == 200; }));
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
  int port_ = 0;
};

TEST_F(AnswerFieldsTest, HeadAnswersWhatItsGetWouldAndNoMore) {
  const int port = port_;

  // Whose GET has a length: the HEAD names the same one.
  // (Not /streams: its body, counters and ages, changes between two asks.)
  for (const std::string target : {"/streams/s", "/pollbridge.js", "/healthz"}) {
    const RawResponse get = ask(port, "GET", target);
    const RawResponse head = ask(port, "HEAD", target);
    ASSERT_EQ(get.status, 200) << target;
    EXPECT_EQ(head.status, 200) << target;
    EXPECT_TRUE(head.body.empty()) << target;
    EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size())) << target;
    EXPECT_EQ(head.header("Content-Type"), get.header("Content-Type")) << target;
    EXPECT_FALSE(head.has_header("Accept-Ranges")) << target << "\n" << head.head;
  }
  // Whose GET has none (a stream ends with its connection; a long-poll's
  // length depends on the events then): the HEAD names none either.
  for (const std::string target : {"/events/s", "/events?stream=s", "/events/s?transport=long-poll",
                                   "/events?stream=s&transport=long-poll"}) {
    const RawResponse head = ask(port, "HEAD", target);
    EXPECT_EQ(head.status, 200) << target;
    EXPECT_FALSE(head.has_header("Content-Length")) << target << "\n" << head.head;
    EXPECT_FALSE(head.has_header("Accept-Ranges")) << target << "\n" << head.head;
    EXPECT_TRUE(head.has_header("Content-Type")) << target;
  }
  EXPECT_EQ(ask(port, "HEAD", "/events/s").header("Content-Type"),
            "text/event-stream; charset=utf-8");
  EXPECT_EQ(ask(port, "HEAD", "/events/s?transport=long-poll").header("Content-Type"),
            "application/json");
  // 304 (RFC 9110 8.6: no length but its 200's; none at all here) and the
  // CORS preflight's 204 (never a length).
  for (const std::string target : {"/streams/s", "/pollbridge.js"}) {
    const std::string etag = ask(port, "GET", target).header("ETag");
    ASSERT_FALSE(etag.empty()) << target;
    RawConn c304(port);
    c304.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag +
              "\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(c304.read_until_closed(5s));
    const auto got = parse_responses(c304.received());
    ASSERT_EQ(got.size(), 1u) << c304.received();
    EXPECT_EQ(got[0].status, 304) << target;
    EXPECT_EQ(got[0].header("ETag"), etag) << target;
    EXPECT_FALSE(got[0].has_header("Content-Length")) << target << "\n" << got[0].head;
  }
  RawConn preflight(port);
  preflight.send(
      "OPTIONS /events/s HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
      "Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(preflight.read_until_closed(5s));
  const auto pre = parse_responses(preflight.received());
  ASSERT_EQ(pre.size(), 1u) << preflight.received();
  EXPECT_EQ(pre[0].status, 204);
  EXPECT_FALSE(pre[0].has_header("Content-Length")) << pre[0].head;
  // A kept-alive connection goes on after a HEAD without a length: the
  // next answer is read as the next answer, not as the HEAD's content.
  RawConn c(port);
  c.send(
      "HEAD /events/s HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /streams/s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(c.read_until_closed(5s));
  const std::string& got = c.received();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  const std::size_t second = got.find("HTTP/1.1 200 OK\r\n", 1);
  ASSERT_NE(second, std::string::npos) << got;
  EXPECT_NE(got.find(R"({"v":1})", second), std::string::npos) << got;
}

// Date is an HTTP date within a few seconds of now.
void expect_date_now(const RawResponse& r, const std::string& what) {
  ASSERT_TRUE(r.has_header("Date")) << what << "\n" << r.head;
  auto when = parse_http_date(r.header("Date"));
  ASSERT_TRUE(when) << what << ": " << r.header("Date");
  const auto off = std::chrono::system_clock::now() - *when;
  EXPECT_LT(std::chrono::abs(off), std::chrono::seconds(5)) << what << ": " << r.header("Date");
}

TEST_F(AnswerFieldsTest, EveryAnswerCarriesDateWhoeverWroteIt) {
  const int port = port_;
  // Workers (through cpp-httplib): 200, HEAD, 304, 404, 405.
  const RawResponse doc = ask(port, "GET", "/streams/s");
  expect_date_now(doc, "GET /streams/s");
  expect_date_now(ask(port, "HEAD", "/events/s"), "HEAD /events/s");
  expect_date_now(ask(port, "GET", "/nope"), "404");
  expect_date_now(ask(port, "POST", "/streams"), "405");
  RawConn c304(port);
  c304.send("GET /streams/s HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + doc.header("ETag") +
            "\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(c304.read_until_closed(5s));
  const auto got304 = parse_responses(c304.received());
  ASSERT_EQ(got304.size(), 1u);
  EXPECT_EQ(got304[0].status, 304);
  expect_date_now(got304[0], "304");
  // The connection loop's own error (a malformed head: 400).
  RawConn bad(port);
  bad.send("GET /streams/s HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n");
  ASSERT_TRUE(bad.read_until_closed(5s));
  const auto got400 = parse_responses(bad.received());
  ASSERT_EQ(got400.size(), 1u) << bad.received();
  EXPECT_EQ(got400[0].status, 400);
  expect_date_now(got400[0], "the loop's 400");
  // The event stream's head (written by the hub, not cpp-httplib).
  RawConn sse(port);
  sse.send("GET /events/s HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(sse.read_until("\r\n\r\n", 5s));
  RawResponse stream_head;
  stream_head.head = sse.received().substr(0, sse.received().find("\r\n\r\n"));
  expect_date_now(stream_head, "the event stream's head");
  // Long-polls on one kept-alive connection: the first from a worker, the
  // later ones from the connection loop (with its kept head), all dated.
  RawConn lp(port);
  std::string last;
  for (int i = 0; i < 3; ++i) {
    const std::size_t before = lp.received().size();
    lp.send("GET /events/s?transport=long-poll" + last + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(lp.read_responses(static_cast<std::size_t>(i) + 1, 5s)) << lp.received();
    const auto all = parse_responses(lp.received());
    ASSERT_EQ(all.size(), static_cast<std::size_t>(i) + 1);
    EXPECT_EQ(all.back().status, 200);
    expect_date_now(all.back(), "long-poll " + std::to_string(i));
    (void)before;
    last = "&lastEventId=bogus-" + std::to_string(i);  // answered at once: a snapshot
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
