// Header values reach pollbridge as the client sent them. cpp-httplib 0.11.4
// percent-decodes every request header value, so a forwarded header
// `X-User: a%0D%0AInjected: yes` of a per-user stream became two header
// lines in the upstream request (request splitting), found while building
// the differential test of the two request parsers (issue 18).
#include <gtest/gtest.h>

#include <mutex>

#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_backend.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

TEST(HeaderValueAttackTest, EncodedLineBreaksInAForwardedHeaderNeverSplitTheUpstreamRequest) {
  RawBackend backend;
  std::mutex mu;
  std::vector<RawRequest> seen;
  backend.route("/doc", [&](RawConnection& c, const RawRequest& r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(r);
    }
    return RawBackend::ok(c, R"({"a":1})");
  });
  ProxyProcess proxy(config_with("  - name: u\n    url: " + backend.url("/doc") +
                                 "\n    interval: 1h\n    auth: upstream\n"
                                 "    forward_headers: [X-User]\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();

  const std::string value = "a%0D%0AInjected: yes%0d%0aX-Other:%20b%00c";
  RawConn c(proxy.port());
  c.send("GET /events/u HTTP/1.1\r\nHost: x\r\nX-User: " + value + "\r\n\r\n");
  ASSERT_TRUE(c.read_until("event: snapshot", 10s)) << c.received();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(seen.empty());
  for (const auto& r : seen) {
    EXPECT_EQ(r.headers.count("injected"), 0u) << "the upstream request was split";
    EXPECT_EQ(r.headers.count("x-other"), 0u);
    auto it = r.headers.find("x-user");
    ASSERT_NE(it, r.headers.end());
    EXPECT_EQ(it->second, value) << "the value is forwarded exactly as sent";
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
