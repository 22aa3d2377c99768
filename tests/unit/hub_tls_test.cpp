// ctest-labels: threaded
// The hub's TLS transport in process: a real pb::hub::Hub writing through
// real OpenSSL sessions over AF_UNIX socket pairs (certificates from the
// openssl command line), read by OpenSSL clients. The hub side gets a tiny
// send buffer, so writes block half-way and must be retried with the same
// bytes: the stream that arrives must be exactly the preamble and every event,
// in order, whether the events were coalesced into one record (small ones) or
// written from their shared buffer (large ones).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.h"
#include "hub/hub.h"
#include "support/file_local.h"
#include "support/test_certs.h"
#include "support/util.h"

namespace pb::hub {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using pb::testing::wait_until;

Buffer buf(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// Event k: between 40 bytes and 40 KB, every byte depending on k and its
// position (a byte written twice or skipped changes the stream).
std::string event(int k) {
  static const std::size_t kSizes[] = {40, 300, 90, 17000, 55, 4096, 40000, 700, 16384, 61};
  std::size_t size = kSizes[static_cast<std::size_t>(k) % 10];
  std::string s = "id: " + std::to_string(k) + "\ndata: ";
  while (s.size() + 2 < size) s.push_back(static_cast<char>('a' + (s.size() * 7 + k * 13) % 26));
  return s + "\n\n";
}

struct TlsPair {
  int hub_fd = -1;
  int peer_fd = -1;
  SSL* server = nullptr;  // goes to the hub inside a Transport
  SSL* client = nullptr;
};

class HubTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << certs_.error();
    sctx_ = SSL_CTX_new(TLS_server_method());
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(sctx_, certs_.cert.c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(sctx_, certs_.key.c_str(), SSL_FILETYPE_PEM), 1);
    // As the server's context sets them (server/tls_context.cpp).
    SSL_CTX_set_mode(sctx_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    cctx_ = SSL_CTX_new(TLS_client_method());
  }
  void TearDown() override {
    SSL_CTX_free(sctx_);
    SSL_CTX_free(cctx_);
  }

  // A connected pair with the handshake done (blocking, both sides at once).
  TlsPair pair(int hub_sndbuf) {
    TlsPair p;
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    p.hub_fd = sv[0];
    p.peer_fd = sv[1];
    p.server = SSL_new(sctx_);
    p.client = SSL_new(cctx_);
    SSL_set_fd(p.server, p.hub_fd);
    SSL_set_fd(p.client, p.peer_fd);
    std::thread srv([&] { EXPECT_EQ(SSL_accept(p.server), 1); });
    EXPECT_EQ(SSL_connect(p.client), 1);
    srv.join();
    ::setsockopt(p.hub_fd, SOL_SOCKET, SO_SNDBUF, &hub_sndbuf, sizeof hub_sndbuf);
    return p;
  }

  pb::testing::TestCerts certs_;
  SSL_CTX* sctx_ = nullptr;
  SSL_CTX* cctx_ = nullptr;
};

// Bytes written by the hub that the peer has not read.
int unread(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

TEST_F(HubTlsTest, EveryByteArrivesInOrderThroughBlockedRetriedAndCoalescedWrites) {
  ManualClock clock;
  Options o;
  o.threads = 2;
  o.backlog_bytes = 64u << 20;
  o.clock = &clock;
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  constexpr int kClients = 3;
  constexpr int kEvents = 300;
  std::vector<TlsPair> pairs;
  for (int i = 0; i < kClients; ++i) pairs.push_back(pair(4096));
  std::string expected = "HTTP/1.1 200 OK\r\n\r\nretry: 1\n\n";
  for (auto& p : pairs) {
    ASSERT_TRUE(hub.attach(feed, Transport::tls(p.hub_fd, p.server),
                           {buf("HTTP/1.1 200 OK\r\n\r\n"), buf("retry: 1\n\n")}, nullptr));
  }
  for (int k = 0; k < kEvents; ++k) {
    hub.publish(feed, buf(event(k)));
    expected += event(k);
  }
  // The clients start reading only once the hub has written to every socket:
  // with far more to write than a socket holds, it is blocked.
  ASSERT_TRUE(wait_until([&] {
    for (auto& p : pairs) {
      if (unread(p.peer_fd) <= 0) return false;
    }
    return true;
  }));
  std::vector<std::thread> readers;
  std::vector<std::string> got(kClients);
  for (int i = 0; i < kClients; ++i) {
    readers.emplace_back([&, i] {
      char chunk[8192];
      while (got[static_cast<std::size_t>(i)].size() < expected.size()) {
        int n = SSL_read(pairs[static_cast<std::size_t>(i)].client, chunk, sizeof chunk);
        if (n <= 0) break;
        got[static_cast<std::size_t>(i)].append(chunk, static_cast<std::size_t>(n));
        // A slow reader at first (pacing, not waiting for time): the hub's
        // writes block and are retried many times.
        if (got[static_cast<std::size_t>(i)].size() < 200000) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (auto& t : readers) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(got[static_cast<std::size_t>(i)].size(), expected.size());
    EXPECT_TRUE(got[static_cast<std::size_t>(i)] == expected) << "client " << i;
  }
  // Byte counts reach the stats at the hub's next tick.
  const std::uint64_t total = static_cast<std::uint64_t>(kClients) * expected.size();
  clock.advance(1s);
  EXPECT_TRUE(wait_until([&] { return hub.stats().bytes_written >= total; }));
  Stats s = hub.stats();
  EXPECT_EQ(s.clients, kClients);
  EXPECT_EQ(s.tls_clients, kClients);
  EXPECT_EQ(s.ktls_clients, 0);  // no kernel TLS on socket pairs
  EXPECT_EQ(s.bytes_written, total);
  hub.stop(0ms);
  for (auto& p : pairs) {
    SSL_free(p.client);
    ::close(p.peer_fd);
  }
}

TEST_F(HubTlsTest, APeerCloseNotifyEndsTheSession) {
  Hub hub(Options{});
  hub.start();
  FeedId feed = hub.create_feed();
  TlsPair p = pair(65536);
  std::atomic<int> closed{0};
  ASSERT_TRUE(hub.attach(feed, Transport::tls(p.hub_fd, p.server), {buf("hello")},
                         [&] { closed.fetch_add(1); }));
  char got[5];
  ASSERT_EQ(SSL_read(p.client, got, 5), 5);
  SSL_shutdown(p.client);  // the browser goes away politely
  EXPECT_TRUE(wait_until([&] { return closed.load() == 1; }));
  EXPECT_EQ(closed.load(), 1);
  EXPECT_EQ(hub.stats().tls_clients, 0);
  hub.stop(0ms);
  SSL_free(p.client);
  ::close(p.peer_fd);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::hub
