// ctest-labels: threaded
// The TLS part of /metrics through the real binary: handshakes that succeed,
// fail (a protocol version the server refuses) and plain HTTP on the TLS
// port are each counted under their result, and an SSE client over TLS is
// counted among the connections by state.
//
// Named FrontDoor* so that the TSan stage runs it too.
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
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

TEST(FrontDoorTlsMetricsTest, HandshakesAreCountedByResultAndTlsClientsByState) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  FakeBackend backend;
  backend.set_body(R"({"v":0})");
  ProxyProcess proxy(
      one_stream_config(backend.url(), "", "",
                        "  tls: { cert: \"" + certs.cert + "\", key: \"" + certs.key + "\" }\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  TlsClientOptions tls;
  tls.ca_file = certs.ca;
  auto metrics = [&] {
    TlsConn c(proxy.port(), tls);
    EXPECT_TRUE(c.ok()) << c.error();
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return c.read_all(5s);
  };
  std::string before = metrics();
  const double ok0 = metric_series(before, "pollbridge_tls_handshakes_total{result=\"ok\"}");
  EXPECT_GE(ok0, 0);
  EXPECT_EQ(metric_series(before, "pollbridge_tls_handshakes_total{result=\"failed\"}"), 0);
  EXPECT_EQ(metric_series(before, "pollbridge_tls_handshakes_total{result=\"plain_http\"}"), 0);

  TlsClientOptions old = tls;
  old.max_version = TLS1_1_VERSION;  // refused by the server
  for (int i = 0; i < 3; ++i) {
    TlsConn refused(proxy.port(), old);
    EXPECT_FALSE(refused.ok());
  }
  RawConn plain(proxy.port());
  plain.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(plain.read_until_closed(5s));
  SseClient sse(tls, proxy.port(), "/events/s");
  ASSERT_EQ(sse.status(), 200);
  ASSERT_TRUE(sse.next(5s));

  std::string after;
  ASSERT_TRUE(wait_until([&] {
    after = metrics();
    return metric_series(after, "pollbridge_tls_handshakes_total{result=\"failed\"}") == 3;
  })) << after;
  EXPECT_EQ(metric_series(after, "pollbridge_tls_handshakes_total{result=\"plain_http\"}"), 1);
  // The first /metrics, the SSE client's, and this one (counted once done).
  EXPECT_GE(metric_series(after, "pollbridge_tls_handshakes_total{result=\"ok\"}"), ok0 + 2);
  EXPECT_EQ(metric_series(after, "pollbridge_connections{state=\"sse\"}"), 1);
  EXPECT_EQ(metric_series(after, "pollbridge_clients_tls{ktls=\"false\"}") +
                metric_series(after, "pollbridge_clients_tls{ktls=\"true\"}"),
            1);
  EXPECT_GE(metric_series(after, "pollbridge_connections{state=\"handling\"}"), 1)
      << "the /metrics request itself";
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
