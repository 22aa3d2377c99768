// Attacks on the front door's reading of a request head (issue 18, item 2):
// empty lines before the request line were not counted against
// server.max_header_bytes, so 64 MiB of CRLF were buffered on one
// connection (RSS +94 MiB), bounded only by header_timeout.
#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

class RequestHeadAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_body(R"({"a":1})");
    proxy_ = std::make_unique<ProxyProcess>(
        one_stream_config(backend_.url(), "", "", "  header_timeout: 30s\n"));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(RequestHeadAttackTest, EndlessEmptyLinesGet400AndAreNotBuffered) {
  const long before = rss_kib(proxy_->pid());
  std::vector<RawConn> conns;
  for (int i = 0; i < 8; ++i) conns.emplace_back(proxy_->port());
  const std::string mib(1 << 20, '\0');
  std::string crlf;
  crlf.reserve(mib.size());
  while (crlf.size() < mib.size()) crlf += "\r\n";
  // Up to 8 MiB per connection: refused after the third empty line, so the
  // sends fail once the connection is closed.
  for (auto& c : conns) {
    for (int k = 0; k < 8 && !c.peer_closed(); ++k) {
      if (!c.send(crlf)) break;
    }
  }
  for (auto& c : conns) {
    c.read_until_closed(10s);
    auto rs = parse_responses(c.received());
    ASSERT_GE(rs.size(), 1u) << "no answer: " << c.received().substr(0, 200);
    EXPECT_EQ(rs[0].status, 400);
  }
  const long after = rss_kib(proxy_->pid());
  EXPECT_LT(after - before, 16 * 1024) << "RSS grew from " << before << " to " << after << " KiB";
}

TEST_F(RequestHeadAttackTest, EmptyLinesCountAgainstTheHeadLimit) {
  // Two empty lines are tolerated (RFC 9112 2.2), and they count: with a
  // head just under max_header_bytes (16 KiB by default) they tip it over.
  RawConn ok(proxy_->port());
  ok.send("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ok.read_until_closed(5s);
  auto rs = parse_responses(ok.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);

  // Padding in header lines of 4 KiB (httplib refuses a line over 8 KiB).
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  const std::string end = "Connection: close\r\n\r\n";
  const std::size_t limit = 16 << 10;
  std::string pad;
  for (int i = 0; pad.size() + 4096 < limit - head.size() - end.size(); ++i) {
    pad += "X-Pad" + std::to_string(i) + ": " + std::string(4096 - 10, 'a') + "\r\n";
  }
  const std::size_t rest = limit - head.size() - end.size() - pad.size();
  pad += "X-Last: " + std::string(rest - 10, 'b') + "\r\n";
  ASSERT_EQ(head.size() + pad.size() + end.size(), limit);
  RawConn fits(proxy_->port());
  fits.send(head + pad + end);
  fits.read_until_closed(5s);
  rs = parse_responses(fits.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);

  RawConn over(proxy_->port());
  over.send("\r\n\r\n" + head + pad + end);
  over.read_until_closed(5s);
  rs = parse_responses(over.received());
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 431);
}

TEST_F(RequestHeadAttackTest, ThreeEmptyLinesBeforeARequestGet400) {
  RawConn c(proxy_->port());
  c.send("\r\n\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  c.read_until_closed(5s);
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 1u) << c.received();
  EXPECT_EQ(rs[0].status, 400);
  EXPECT_TRUE(c.peer_closed());
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
