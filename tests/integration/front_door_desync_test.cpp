// ctest-labels: threaded
// HTTP desync through the real binary, on raw sockets: a request smuggled in
// the body of every kind of request pollbridge answers (every POST, OPTIONS,
// every 405 and 404, a GET, a HEAD, an SSE request) is never answered; each
// connection gets exactly one response. Ambiguous framing is refused with the
// status it must get, and a closing response really closes.
#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

// What the smuggled request would return: the stream's document.
const std::string kSecret = "smuggled-document-7f3a";
const std::string kSmuggled = "GET /streams/s HTTP/1.1\r\nHost: x\r\n\r\n";

class FrontDoorDesyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_body("{\"secret\":\"" + kSecret + "\"}");
    proxy_ = std::make_unique<ProxyProcess>(
        one_stream_config(backend_.url(), "", "", "  cors_origins: [\"https://app.example\"]\n"));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    // The document exists, so a smuggled GET /streams/s would be answered.
    ASSERT_TRUE(wait_until([&] {
      RawConn c(proxy_->port());
      c.send(kSmuggled);
      return c.read_until(kSecret, 500ms);
    }));
  }

  // Sends `head` (without its blank line) with the smuggled request as its
  // Content-Length body, ends the sending side, and returns every response
  // the connection got before the proxy closed it.
  std::vector<RawResponse> smuggle(const std::string& head) {
    RawConn c(proxy_->port());
    EXPECT_TRUE(c.connected());
    c.send(head + "Content-Length: " + std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled);
    c.shutdown_write();
    EXPECT_TRUE(c.read_until_closed(5s)) << head;
    EXPECT_EQ(c.received().find(kSecret), std::string::npos) << head << "\n" << c.received();
    return parse_responses(c.received(), head.rfind("HEAD ", 0) == 0);
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(FrontDoorDesyncTest, SmuggledRequestInAnyBodyIsNeverAnswered) {
  struct Case {
    std::string head;
    int status;
  };
  const std::vector<Case> cases = {
      {"POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n", 200},
      {"POST /admin/reload HTTP/1.1\r\nHost: x\r\n", 401},
      {"POST /streams/s/poll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n", 202},
      {"POST /streams/s/poll?wait=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n",
       200},
      {"POST /streams/s/poll HTTP/1.1\r\nHost: x\r\n", 401},
      {"OPTIONS /events/s HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n", 204},
      {"OPTIONS /streams HTTP/1.1\r\nHost: x\r\n", 405},
      {"POST /events/s HTTP/1.1\r\nHost: x\r\n", 405},
      {"POST /events HTTP/1.1\r\nHost: x\r\n", 405},
      {"PUT /streams HTTP/1.1\r\nHost: x\r\n", 405},
      {"POST /streams/s HTTP/1.1\r\nHost: x\r\n", 405},
      {"DELETE /healthz HTTP/1.1\r\nHost: x\r\n", 405},
      {"PATCH /readyz HTTP/1.1\r\nHost: x\r\n", 405},
      {"POST /metrics HTTP/1.1\r\nHost: x\r\n", 405},
      {"POST /nowhere HTTP/1.1\r\nHost: x\r\n", 404},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\n", 200},
      {"GET /nowhere HTTP/1.1\r\nHost: x\r\n", 404},
      {"HEAD /streams HTTP/1.1\r\nHost: x\r\n", 200},
  };
  for (const auto& c : cases) {
    auto rs = smuggle(c.head);
    ASSERT_EQ(rs.size(), 1u) << c.head;
    EXPECT_EQ(rs[0].status, c.status) << c.head << rs[0].head;
  }
}

TEST_F(FrontDoorDesyncTest, SmuggledRequestInTheBodyOfAnSseRequestIsNeverAnswered) {
  RawConn c(proxy_->port());
  c.send("GET /events/s HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled);
  ASSERT_TRUE(c.read_until("event: snapshot", 5s));
  c.read_some(500ms);  // time for a wrong second answer to arrive
  EXPECT_EQ(c.received().find("HTTP/1.1", 1), std::string::npos) << c.received();
  EXPECT_EQ(c.received().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(FrontDoorDesyncTest, AmbiguousFramingIsRefusedAndNothingAfterItIsRead) {
  struct Case {
    std::string request;
    int status;
  };
  const std::string body = "0\r\n\r\n" + kSmuggled;
  const std::vector<Case> cases = {
      // Chunked bodies are refused (411), with or without a second coding.
      {"POST /streams/s/poll HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
       411},
      {"POST /admin/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + body,
       501},
      // CL.TE and TE.CL.
      {"POST /admin/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n" +
           body,
       400},
      {"POST /admin/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
       "5\r\n\r\n" +
           body,
       400},
      // Two lengths, even equal ones; a length that is not a number.
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n" +
           kSmuggled,
       400},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n" + kSmuggled, 400},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1,1\r\n\r\n" + kSmuggled, 400},
      // Lines that other parsers read differently.
      {"GET /healthz HTTP/1.1\r\nHost: x\nContent-Length: 36\r\n\r\n" + kSmuggled, 400},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 36\r\n\r\n" + kSmuggled, 400},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n Content-Length: 36\r\n\r\n" + kSmuggled,
       400},
      {"GET /healthz HTTP/1.1\r\nHost: x\rContent-Length: 36\r\n\r\n" + kSmuggled, 400},
      // No Host in HTTP/1.1; two Hosts; an unknown version.
      {"GET /healthz HTTP/1.1\r\n\r\n" + kSmuggled, 400},
      {"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + kSmuggled, 400},
      {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n" + kSmuggled, 505},
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n" + kSmuggled, 417},
  };
  for (const auto& c : cases) {
    RawConn conn(proxy_->port());
    conn.send(c.request);
    ASSERT_TRUE(conn.read_until_closed(5s)) << c.request;
    auto rs = parse_responses(conn.received());
    ASSERT_EQ(rs.size(), 1u) << c.request << "\n" << conn.received();
    EXPECT_EQ(rs[0].status, c.status) << c.request;
    EXPECT_EQ(rs[0].header("Connection"), "close");
    EXPECT_FALSE(rs[0].has_header("Keep-Alive"));
    EXPECT_EQ(conn.received().find(kSecret), std::string::npos);
  }
}

TEST_F(FrontDoorDesyncTest, ConnectionCloseIsSentAloneAndTheConnectionReallyCloses) {
  RawConn c(proxy_->port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(c.read_until_closed(5s));  // without the client closing first
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_FALSE(rs[0].has_header("Keep-Alive"));

  // HTTP/1.0 without keep-alive closes too; with it, the connection stays.
  RawConn old(proxy_->port());
  old.send("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old.read_until_closed(5s));
  EXPECT_EQ(parse_responses(old.received()).size(), 1u);
  RawConn kept(proxy_->port());
  kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(kept.read_responses(1, 5s));
  kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(kept.read_responses(2, 5s));
  EXPECT_FALSE(kept.peer_closed());
}

TEST_F(FrontDoorDesyncTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  RawConn c(proxy_->port());
  // Three requests and a POST with a body in one write, then one more.
  c.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /streams/s HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /streams/s/poll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
      "Content-Length: 4\r\n\r\nabcd"
      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.read_responses(4, 5s)) << c.received();
  c.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.read_responses(5, 5s)) << c.received();
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 5u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, "ok\n");
  EXPECT_EQ(rs[1].status, 200);
  EXPECT_NE(rs[1].body.find(kSecret), std::string::npos);
  EXPECT_EQ(rs[2].status, 202);
  EXPECT_EQ(rs[3].status, 404);
  EXPECT_EQ(rs[4].status, 200);
  EXPECT_FALSE(c.peer_closed());
}

TEST_F(FrontDoorDesyncTest, ExpectContinueIsAnsweredBeforeTheBodyIsRead) {
  RawConn c(proxy_->port());
  c.send(
      "POST /streams/s/poll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
      "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(c.read_until("HTTP/1.1 100 Continue\r\n\r\n", 5s));
  c.send("hello");
  ASSERT_TRUE(c.read_responses(2, 5s));
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 100);
  EXPECT_EQ(rs[1].status, 202);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
