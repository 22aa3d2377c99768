// Attacks through parameter values (issue 18, item 3 and the '@' of item
// 10): with a pattern that allows dots, `..` reached the upstream as a dot
// segment (/api/customers/../orders). A value is one path segment, always:
// empty, `.`, `..` (in any encoding) and `@` are 400 whatever the pattern
// says, and the upstream sees the segment percent-encoded, never
// normalised.
#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

class PathParamAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"ok":true})", "application/json");
    });
    proxy_ = std::make_unique<ProxyProcess>(
        config_with("  - name: byid\n    url: " + backend_.url("/api/customers/{id}/orders") +
                    "\n    path: /events/byid/{id}\n    params: { id: \"^[A-Za-z0-9._%-]+$\" }\n"
                    "    interval: 1h\n"
                    "  - name: any\n    url: " +
                    backend_.url("/api/any/{v}") +
                    "\n    path: /events/any/{v}\n    params: { v: \".*\" }\n    interval: 1h\n"));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }

  int status_of(const std::string& target) {
    RawConn c(proxy_->port());
    c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.read_until(std::string("\r\n\r\n"), 5s);
    auto rs = parse_responses(c.received(), true);
    return rs.empty() ? -1 : rs[0].status;
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(PathParamAttackTest, DotSegmentsInAnyEncodingGet400AndNeverReachTheUpstream) {
  for (const std::string v : {"..", ".", "%2e%2e", "%2E.", ".%2e", "%2e", "%2E%2E"}) {
    EXPECT_EQ(status_of("/events/byid/" + v), 400) << v;
    EXPECT_EQ(status_of("/streams/byid/" + v), 400) << v;
  }
  for (const auto& r : backend_.seen()) {
    EXPECT_EQ(r.path.find("/."), std::string::npos) << r.path;
  }
}

TEST_F(PathParamAttackTest, EmptyAndAtSignValuesGet400) {
  EXPECT_EQ(status_of("/events/any/a@b"), 400);
  EXPECT_EQ(status_of("/events/any/a%40" + std::string(32, 'f')), 400);
  EXPECT_EQ(status_of("/events/byid/a%40b"), 400);
}

TEST_F(PathParamAttackTest, AValueWithDotsIsOneEncodedSegment) {
  // Dots inside a value are fine: the upstream gets exactly one segment.
  EXPECT_EQ(status_of("/events/byid/sku...v1.2"), 200);
  ASSERT_TRUE(wait_until([&] {
    for (const auto& r : backend_.seen()) {
      if (r.path == "/api/customers/sku...v1.2/orders") return true;
    }
    return false;
  }));
  // '%' and '/' in a value are encoded: never a separator upstream.
  EXPECT_EQ(status_of("/events/any/a%252Fb"), 200);
  ASSERT_TRUE(wait_until([&] {
    for (const auto& r : backend_.seen()) {
      if (r.path == "/api/any/a%2Fb") return true;  // httplib decodes %25 once
    }
    return false;
  }));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
