// The rewrites of a buffered request before cpp-httplib reads it
// (server/request_rewrite): no Range or If-Range in any case of spelling,
// nothing else touched, and header values exactly as sent.
#include "server/request_rewrite.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>
#include "support/file_local.h"

namespace pb::server {
namespace PB_FILE_LOCAL {

TEST(RequestRewriteTest, RangeFieldsAreRemovedAndNothingElse) {
  const std::string req =
      "GET /a HTTP/1.1\r\nHost: x\r\nrange: bytes=-,-\r\nX-Range: keep\r\nIF-RANGE: \"e\"\r\n"
      "Range: bytes=0-1\r\nContent-Length: 14\r\n\r\nRange: in-body";
  EXPECT_EQ(without_range_headers(req),
            "GET /a HTTP/1.1\r\nHost: x\r\nX-Range: keep\r\nContent-Length: 14\r\n\r\n"
            "Range: in-body");
  EXPECT_EQ(without_range_headers("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
}

TEST(RequestRewriteTest, RawHeaderValuesAreTheBytesSentWithoutOptionalWhitespace) {
  std::vector<std::pair<std::string, std::string>> seen;
  for_each_raw_header(
      "GET / HTTP/1.1\r\nHost: x\r\nX-User: \t a%0D%0Ab \r\nEmpty:   \r\nCookie: a=%41\r\n\r\nbody",
      [&](std::string_view n, std::string_view v) { seen.emplace_back(n, v); });
  std::vector<std::pair<std::string, std::string>> want = {
      {"Host", "x"}, {"X-User", "a%0D%0Ab"}, {"Cookie", "a=%41"}};
  EXPECT_EQ(seen, want);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::server
