// ctest-labels: threaded
// Held connections cost no thread and delay nobody: through the real binary,
// hundreds of connections that sent nothing, half a request head, or went
// idle after a keep-alive request (and, on the TLS port, stalled in the
// middle of a handshake or after it) are held open while a newcomer gets its
// SSE snapshot, /healthz and a document at once, and the process's thread
// count (/proc/<pid>/status) does not move.
#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/sse_client.h"
#include "support/test_certs.h"
#include "support/tls_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

// Of each kind of held connection.
constexpr int kEach = 150;
// "At once": far below the old front door's seconds, far above a slow
// sanitizer build's milliseconds.
constexpr auto kAtOnce = 2s;

const std::string kGet = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

// Every held connection still open (none was dropped to make room).
void expect_all_open(std::vector<RawConn>& held) {
  int closed = 0;
  for (auto& c : held) {
    c.read_some(0ms);
    closed += c.peer_closed() ? 1 : 0;
  }
  EXPECT_EQ(closed, 0);
}

TEST(FrontDoorHeldTest, HeldPlainConnectionsDelayNobodyAndCostNoThread) {
  FakeBackend backend;
  backend.set_body(R"({"held":true})");
  ProxyProcess proxy(one_stream_config(backend.url()));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const int port = proxy.port();
  {
    SseClient warm(port, "/events/s");  // every thread the proxy makes exists now
    ASSERT_TRUE(warm.next());
  }
  const int threads = process_threads(proxy.pid());

  std::vector<RawConn> held;
  for (int i = 0; i < kEach; ++i) held.emplace_back(port);  // silent
  for (int i = 0; i < kEach; ++i) {
    held.emplace_back(port);
    held.back().send("GET /events/s HTTP/1.1\r\nHost: x\r\n");  // half a head
  }
  for (int i = 0; i < kEach; ++i) {
    held.emplace_back(port);
    held.back().send(kGet);
  }
  for (int i = 2 * kEach; i < 3 * kEach; ++i) {
    ASSERT_TRUE(held[static_cast<std::size_t>(i)].read_responses(1, 5s));  // now idle
  }

  for (int round = 0; round < 3; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    SseClient sse(port, "/events/s");
    ASSERT_EQ(sse.status(), 200);
    auto snap = sse.next(kAtOnce);
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->type, "snapshot");
    RawConn c(port);
    c.send(kGet + "GET /streams/s HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_responses(2, kAtOnce));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, kAtOnce);
  }
  EXPECT_EQ(process_threads(proxy.pid()), threads);
  expect_all_open(held);
}

TEST(FrontDoorHeldTest, StalledTlsHandshakesAndIdleTlsConnectionsDelayNobody) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  FakeBackend backend;
  backend.set_body(R"({"held":"tls"})");
  ProxyProcess proxy(
      one_stream_config(backend.url(), "", "",
                        "  tls: { cert: \"" + certs.cert + "\", key: \"" + certs.key + "\" }\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const int port = proxy.port();
  TlsClientOptions tls;
  tls.ca_file = certs.ca;
  {
    SseClient warm(tls, port, "/events/s");
    ASSERT_TRUE(warm.next());
  }
  const int threads = process_threads(proxy.pid());

  std::vector<RawConn> held;
  for (int i = 0; i < kEach; ++i) held.emplace_back(port);  // silent
  for (int i = 0; i < kEach; ++i) {
    // A TLS record header announcing a ClientHello that never comes.
    held.emplace_back(port);
    held.back().send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  }
  std::vector<std::unique_ptr<TlsConn>> idle;
  for (int i = 0; i < kEach / 2; ++i) {
    idle.push_back(std::make_unique<TlsConn>(port, tls));
    ASSERT_TRUE(idle.back()->ok()) << idle.back()->error();
    ASSERT_TRUE(idle.back()->send(kGet));
    std::string got;
    ASSERT_GT(idle.back()->recv(got, 5s), 0);  // answered, now idle
  }
  for (int i = 0; i < kEach / 2; ++i) {
    idle.push_back(std::make_unique<TlsConn>(port, tls));
    ASSERT_TRUE(idle.back()->ok()) << idle.back()->error();
    ASSERT_TRUE(idle.back()->send("GET /healthz HTTP/1.1\r\n"));  // slowloris over TLS
  }

  auto t0 = std::chrono::steady_clock::now();
  SseClient sse(tls, port, "/events/s");
  ASSERT_EQ(sse.status(), 200);
  auto snap = sse.next(kAtOnce);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->data, R"({"held":"tls"})");
  std::string err;
  std::string r = https_request(
      port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tls, &err);
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kAtOnce);
  EXPECT_EQ(process_threads(proxy.pid()), threads);
  expect_all_open(held);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
