// The connection loop's framing rules (server/request_head): where a head
// ends, however it arrives, and every ambiguous form refused with its status.
#include "server/request_head.h"

#include <gtest/gtest.h>

#include <string>
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

// Scans `text` fed one byte at a time, as a slow client sends it.
HeadScanner::Result scan_bytewise(const std::string& text, std::size_t& skip, std::size_t& head) {
  HeadScanner s;
  HeadScanner::Result r = HeadScanner::kIncomplete;
  for (std::size_t n = 1; n <= text.size() && r == HeadScanner::kIncomplete; ++n) {
    r = s.scan(std::string_view(text).substr(0, n), skip, head);
  }
  return r;
}

int status_of(const std::string& head, RequestHead* out = nullptr) {
  RequestHead h;
  std::string why;
  int s = parse_request_head(head, h, why);
  if (out) *out = h;
  return s;
}

TEST(RequestHeadTest, TheHeadEndsAtTheFirstBlankLineHoweverItArrives) {
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n";
  std::size_t skip = 0;
  std::size_t head = 0;
  HeadScanner whole;
  ASSERT_EQ(whole.scan(req, skip, head), HeadScanner::kComplete);
  EXPECT_EQ(skip, 0u);
  EXPECT_EQ(head, 27u);
  ASSERT_EQ(scan_bytewise(req, skip, head), HeadScanner::kComplete);
  EXPECT_EQ(head, 27u);
}

TEST(RequestHeadTest, EmptyLinesBeforeTheRequestLineAreSkipped) {
  std::size_t skip = 0;
  std::size_t head = 0;
  ASSERT_EQ(scan_bytewise("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", skip, head),
            HeadScanner::kComplete);
  EXPECT_EQ(skip, 4u);
  EXPECT_EQ(head, 27u);
}

TEST(RequestHeadTest, BareLfAndLoneCrAreRefusedWhileScanning) {
  std::size_t skip = 0;
  std::size_t head = 0;
  EXPECT_EQ(scan_bytewise("GET / HTTP/1.1\nHost: x\r\n\r\n", skip, head), HeadScanner::kBad);
  EXPECT_EQ(scan_bytewise("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", skip, head),
            HeadScanner::kBad);
  EXPECT_EQ(scan_bytewise("GET / HTTP/1.1\r\nHost: x\r\n\n", skip, head), HeadScanner::kBad);
}

TEST(RequestHeadTest, FramingAndConnectionAreRead) {
  RequestHead h;
  ASSERT_EQ(status_of("POST /a HTTP/1.1\r\nHost: x\r\ncontent-length: 0012\r\n\r\n", &h), 0);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.method, "POST");
  ASSERT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n", &h), 0);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(status_of("GET / HTTP/1.0\r\n\r\n", &h), 0);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(status_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), 0);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(status_of("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n\r\n", &h), 0);
  EXPECT_TRUE(h.expect_continue);
  // A length past 2^64 saturates (and is then over any limit: 413).
  ASSERT_EQ(
      status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                &h),
      0);
  EXPECT_EQ(h.content_length, UINT64_MAX);
}

TEST(RequestHeadTest, AmbiguousOrMalformedHeadsGetTheirStatus) {
  const std::string h11 = "GET / HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(status_of(h11 + "Content-Length: 1\r\nContent-Length: 1\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "Transfer-Encoding: chunked\r\n\r\n"), 411);
  EXPECT_EQ(status_of(h11 + "Transfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(status_of(h11 + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "Content-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "Content-Length: 0x10\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "Content-Length:\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "X-A : b\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "X-A: b\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "X-A: b\x01\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + std::string("X-A: b\0c\r\n\r\n", 13)), 400);
  EXPECT_EQ(status_of(h11 + "No colon\r\n\r\n"), 400);
  EXPECT_EQ(status_of(h11 + "Expect: something\r\n\r\n"), 417);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET / HTTX/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server

namespace pb::server {
namespace PB_FILE_LOCAL {

TEST(RequestHeadTest, EmptyLinesCountAndOnlyTwoAreTolerated) {
  std::size_t skip = 0;
  std::size_t head = 0;
  EXPECT_EQ(scan_bytewise("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", skip, head),
            HeadScanner::kBadLeading);
  // Bytes of empty lines are counted in seen() while the head is incomplete.
  HeadScanner s;
  EXPECT_EQ(s.scan("\r\n\r\nGET", skip, head), HeadScanner::kIncomplete);
  EXPECT_EQ(s.seen(), 7u);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
