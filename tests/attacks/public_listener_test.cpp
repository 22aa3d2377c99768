// What the public listener tells anyone (issue 18, item 6): with `auth:`
// and admin_listen configured, /metrics and /readyz on the main listener
// gave every protected stream's name, counters and state.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

const std::string kAuth = "auth:\n  tokens: [\"reader-token-0123456789\"]\n";

RawResponse get(int port, const std::string& path, const std::string& headers = "") {
  RawConn c(port);
  c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + "\r\n");
  c.read_until_closed(10s);
  auto rs = parse_responses(c.received());
  return rs.size() == 1 ? rs[0] : RawResponse{};
}

// Two streams: "secret-orders" answers, "secret-pending" never does (so
// /readyz has a pending stream to name).
std::string streams(const FakeBackend& ok, const FakeBackend& slow) {
  return "  - name: secret-orders\n    url: " + ok.url() +
         "\n    interval: 100ms\n"
         "  - name: secret-pending\n    url: " +
         slow.url() + "\n    interval: 1h\n    timeout: 30s\n";
}

class PublicListenerAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ok_.set_body(R"({"a":1})");
    slow_.set_delay(20s);
    slow_.set_body(R"({"b":1})");
  }
  FakeBackend ok_;
  FakeBackend slow_;
};

TEST_F(PublicListenerAttackTest, WithAdminListenMetricsAndStreamNamesStayOffTheMainListener) {
  ProxyProcess proxy(config_with(streams(ok_, slow_), kAuth, "  admin_listen: \"127.0.0.1:0\"\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  std::smatch m;
  std::string out;
  ASSERT_TRUE(wait_until([&] {
    out = proxy.stdout_text();
    return std::regex_search(out, m, std::regex(R"(admin listening on [^:]+:(\d+))"));
  })) << out;
  const int admin_port = std::stoi(m[1]);

  RawResponse metrics = get(proxy.port(), "/metrics");
  EXPECT_EQ(metrics.status, 404);
  EXPECT_EQ(metrics.body.find("secret"), std::string::npos) << metrics.body;
  // Not even with the admin token: /metrics lives on the admin listener.
  EXPECT_EQ(get(proxy.port(), "/metrics", "Authorization: Bearer test-token\r\n").status, 404);

  RawResponse ready = get(proxy.port(), "/readyz");
  EXPECT_EQ(ready.status, 503);  // secret-pending has not answered yet
  EXPECT_NE(ready.body.find("\"ready\":false"), std::string::npos) << ready.body;
  EXPECT_EQ(ready.body.find("secret"), std::string::npos) << ready.body;

  // The admin listener has both, with the names.
  RawResponse admin_ready = get(admin_port, "/readyz");
  EXPECT_EQ(admin_ready.status, 503);
  EXPECT_NE(admin_ready.body.find("secret-pending"), std::string::npos) << admin_ready.body;
  RawResponse admin_metrics = get(admin_port, "/metrics");
  EXPECT_EQ(admin_metrics.status, 200);
  EXPECT_NE(admin_metrics.body.find("secret-orders"), std::string::npos);
}

TEST_F(PublicListenerAttackTest, WithAuthMetricsNeedTheAdminTokenUnlessPublicMetrics) {
  {
    ProxyProcess proxy(config_with(streams(ok_, slow_), kAuth));
    ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
    RawResponse anon = get(proxy.port(), "/metrics");
    EXPECT_EQ(anon.status, 401);
    EXPECT_EQ(anon.body.find("secret"), std::string::npos);
    // A stream reader's token is not the admin token.
    EXPECT_EQ(
        get(proxy.port(), "/metrics", "Authorization: Bearer reader-token-0123456789\r\n").status,
        401);
    RawResponse admin = get(proxy.port(), "/metrics", "Authorization: Bearer test-token\r\n");
    EXPECT_EQ(admin.status, 200);
    EXPECT_NE(admin.body.find("secret-orders"), std::string::npos);
    RawResponse ready = get(proxy.port(), "/readyz");
    EXPECT_EQ(ready.body.find("secret"), std::string::npos) << ready.body;
    RawResponse ready_admin = get(proxy.port(), "/readyz", "Authorization: Bearer test-token\r\n");
    EXPECT_NE(ready_admin.body.find("secret-pending"), std::string::npos) << ready_admin.body;
  }
  {
    ProxyProcess proxy(config_with(streams(ok_, slow_), kAuth, "  public_metrics: true\n"));
    ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
    RawResponse anon = get(proxy.port(), "/metrics");
    EXPECT_EQ(anon.status, 200);
    EXPECT_NE(anon.body.find("secret-orders"), std::string::npos);
  }
}

TEST_F(PublicListenerAttackTest, WithoutAccessControlMetricsStayPublic) {
  ProxyProcess proxy(config_with(streams(ok_, slow_)));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  RawResponse metrics = get(proxy.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(get(proxy.port(), "/readyz").body.find("secret-pending"), std::string::npos);
}

TEST_F(PublicListenerAttackTest, AccessControlAddedByReloadClosesMetrics) {
  ProxyProcess proxy(config_with(streams(ok_, slow_)));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  EXPECT_EQ(get(proxy.port(), "/metrics").status, 200);
  {
    std::ofstream f(proxy.config_path(), std::ios::trunc);
    f << config_with(streams(ok_, slow_), kAuth);
  }
  RawResponse reload = [&] {
    RawConn c(proxy.port());
    c.send(
        "POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n");
    c.read_until_closed(10s);
    auto rs = parse_responses(c.received());
    return rs.size() == 1 ? rs[0] : RawResponse{};
  }();
  ASSERT_EQ(reload.status, 200) << reload.body;
  RawResponse anon = get(proxy.port(), "/metrics");
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.body.find("secret"), std::string::npos);
  EXPECT_EQ(get(proxy.port(), "/readyz").body.find("secret"), std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
