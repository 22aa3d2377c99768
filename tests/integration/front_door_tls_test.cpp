// ctest-labels: threaded
// TLS served by pollbridge itself, through the real binary and real TLS
// clients, with certificates made by the openssl command line: HTTPS and
// ALPN, plain HTTP on the TLS port, old protocol versions refused, bad
// certificates and keys refused at --check, start-up and reload (with the
// config position), rotation on SIGHUP without dropping streams, mutual TLS,
// and 200 TLS clients that each receive every event.
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

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
namespace fs = std::filesystem;

const std::string kGetClose = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

class FrontDoorTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << certs_.error();
    tls_.ca_file = certs_.ca;
    backend_.set_body(R"({"v":0})");
  }
  std::string tls_server(const std::string& cert, const std::string& key,
                         const std::string& extra = "") {
    return "  tls: { cert: \"" + cert + "\", key: \"" + key + "\"" + extra + " }\n";
  }
  std::string config(const std::string& server, const std::string& stream_extra = "") {
    return one_stream_config(backend_.url(), stream_extra, "", server);
  }
  bool get_ok(int port, const TlsClientOptions& o, std::string* subject = nullptr) {
    TlsConn c(port, o);
    if (!c.ok()) return false;
    if (subject) *subject = c.peer_subject();
    c.send(kGetClose);
    return c.read_all(5s).rfind("HTTP/1.1 200", 0) == 0;
  }

  TestCerts certs_;
  TlsClientOptions tls_;
  FakeBackend backend_;
};

TEST_F(FrontDoorTlsTest, ServesHttpsWithAlpnHttp11AndKeepAlive) {
  ProxyProcess proxy(config(tls_server(certs_.cert, certs_.key)));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  TlsClientOptions h2 = tls_;
  h2.alpn = "h2,http/1.1";
  TlsConn c(proxy.port(), h2);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.alpn(), "http/1.1");
  EXPECT_EQ(c.peer_subject(), "/CN=localhost");
  // Two requests on the one session.
  std::string got;
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (got.find("ok\n") == std::string::npos && c.recv(got, 5s) > 0) {
  }
  ASSERT_TRUE(c.send(kGetClose));
  std::string rest = c.read_all(5s);
  auto rs = parse_responses(got + rest);
  ASSERT_EQ(rs.size(), 2u) << got << rest;
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[1].status, 200);
  EXPECT_EQ(rs[1].header("Connection"), "close");
}

TEST_F(FrontDoorTlsTest, PlainHttpOnTheTlsPortGets400AndIsNeverServed) {
  ProxyProcess proxy(config(tls_server(certs_.cert, certs_.key)));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  RawConn c(proxy.port());
  c.send("GET /streams/s HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.read_until_closed(5s));
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 1u) << c.received();
  EXPECT_EQ(rs[0].status, 400);
  EXPECT_NE(rs[0].body.find("HTTPS"), std::string::npos);
  EXPECT_EQ(c.received().find("\"v\""), std::string::npos);
}

TEST_F(FrontDoorTlsTest, Tls11IsRefusedAndMinVersion13RefusesTls12) {
  ProxyProcess proxy(config(tls_server(certs_.cert, certs_.key)));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  TlsClientOptions old = tls_;
  old.max_version = TLS1_1_VERSION;
  TlsConn refused(proxy.port(), old);
  EXPECT_FALSE(refused.ok());
  TlsClientOptions v12 = tls_;
  v12.max_version = TLS1_2_VERSION;
  EXPECT_TRUE(get_ok(proxy.port(), v12));

  ProxyProcess strict(config(tls_server(certs_.cert, certs_.key, ", min_version: \"1.3\"")));
  ASSERT_TRUE(strict.started()) << strict.stderr_text();
  EXPECT_FALSE(get_ok(strict.port(), v12));
  EXPECT_TRUE(get_ok(strict.port(), tls_));

  std::string out;
  TempDir dir;
  dir.write("old.yaml", config(tls_server(certs_.cert, certs_.key, ", min_version: \"1.1\"")));
  EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("old.yaml")}, &out), 1);
  EXPECT_NE(out.find("old.yaml:"), std::string::npos) << out;
  EXPECT_NE(out.find("TLS 1.0 and 1.1"), std::string::npos) << out;
}

TEST_F(FrontDoorTlsTest, BadCertificatesAndKeysFailCheckAndStartWithTheirPosition) {
  TempDir dir;
  dir.write("garbage.pem", "not a certificate\n");
  struct Case {
    std::string cert, key, expect;
  };
  // (The log escapes the quotes around file names.)
  const std::vector<Case> cases = {
      {certs_.cert, certs_.other_key, "does not match the certificate"},
      {certs_.expired, certs_.key, "expired.pem\\\" expired on"},
      {dir.file("garbage.pem"), certs_.key, "holds no usable PEM certificate"},
      {certs_.cert, dir.file("garbage.pem"), "holds no usable PEM private key"},
      {dir.file("missing.pem"), certs_.key, "does not exist"},
  };
  for (const auto& c : cases) {
    dir.write("p.yaml", config(tls_server(c.cert, c.key)));
    std::string out;
    EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("p.yaml")}, &out), 1) << c.expect;
    // file:line:col of the value in the config.
    EXPECT_NE(out.find(dir.file("p.yaml") + ":6:"), std::string::npos) << out;
    EXPECT_NE(out.find(c.expect), std::string::npos) << out;
    ProxyProcess p(config(tls_server(c.cert, c.key)));
    EXPECT_FALSE(p.started());
    EXPECT_EQ(p.wait(5s), 1);
    EXPECT_NE(p.stderr_text().find(c.expect), std::string::npos) << p.stderr_text();
  }
}

TEST_F(FrontDoorTlsTest, SighupRotatesTheCertificateWithoutDroppingStreams) {
  TempDir dir;
  fs::copy_file(certs_.cert, dir.file("live.pem"));
  // Documents big enough that a change is a patch (no event is larger than
  // the snapshot it replaces).
  auto padded = [](int v) {
    return "{\"v\":" + std::to_string(v) + ",\"pad\":\"" + std::string(64, 'p') + "\"}";
  };
  backend_.set_body(padded(0));
  fs::copy_file(certs_.key, dir.file("live.key"));
  ProxyProcess proxy(config(tls_server(dir.file("live.pem"), dir.file("live.key"))));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  SseClient open(tls_, proxy.port(), "/events/s");
  ASSERT_EQ(open.status(), 200);
  ASSERT_TRUE(open.next());
  std::string subject;
  ASSERT_TRUE(get_ok(proxy.port(), tls_, &subject));
  EXPECT_EQ(subject, "/CN=localhost");

  // A bad key at reload is refused; the running certificate stays.
  fs::copy_file(certs_.other_key, dir.file("live.key"), fs::copy_options::overwrite_existing);
  proxy.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return proxy.stderr_text().find("reload rejected") != std::string::npos;
  })) << proxy.stderr_text();
  ASSERT_TRUE(get_ok(proxy.port(), tls_, &subject));
  EXPECT_EQ(subject, "/CN=localhost");

  // The new pair: new connections get it, the open stream goes on.
  fs::copy_file(certs_.cert2, dir.file("live.pem"), fs::copy_options::overwrite_existing);
  fs::copy_file(certs_.key2, dir.file("live.key"), fs::copy_options::overwrite_existing);
  proxy.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return proxy.stderr_text().find("TLS certificate reloaded") != std::string::npos;
  })) << proxy.stderr_text();
  ASSERT_TRUE(get_ok(proxy.port(), tls_, &subject));
  EXPECT_EQ(subject, "/CN=rotated");
  backend_.set_body(padded(1));
  auto ev = open.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch");
  EXPECT_FALSE(open.eof());

  // POST /admin/reload reports a refused certificate as 400 with the reason.
  fs::copy_file(certs_.expired, dir.file("live.pem"), fs::copy_options::overwrite_existing);
  fs::copy_file(certs_.key, dir.file("live.key"), fs::copy_options::overwrite_existing);
  std::string r = https_request(proxy.port(),
                                "POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                "test-token\r\nConnection: close\r\n\r\n",
                                tls_);
  EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
  EXPECT_NE(r.find("expired"), std::string::npos) << r;
  ASSERT_TRUE(get_ok(proxy.port(), tls_, &subject));
  EXPECT_EQ(subject, "/CN=rotated");
}

TEST_F(FrontDoorTlsTest, ClientCaRequiresACertificateItSigned) {
  ProxyProcess proxy(
      config(tls_server(certs_.cert, certs_.key, ", client_ca: \"" + certs_.ca + "\"")));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  EXPECT_FALSE(get_ok(proxy.port(), tls_));
  TlsClientOptions mine = tls_;
  mine.cert_file = certs_.client_cert;
  mine.key_file = certs_.client_key;
  EXPECT_TRUE(get_ok(proxy.port(), mine));
  TlsClientOptions rogue = tls_;
  rogue.cert_file = certs_.rogue_cert;
  rogue.key_file = certs_.rogue_key;
  EXPECT_FALSE(get_ok(proxy.port(), rogue));
}

TEST_F(FrontDoorTlsTest, TwoHundredTlsClientsReceiveEveryEvent) {
  ProxyProcess proxy(config(tls_server(certs_.cert, certs_.key), "    diff: snapshot\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<SseClient>(tls_, proxy.port(), "/events/s"));
    ASSERT_EQ(clients.back()->status(), 200) << i;
  }
  for (auto& c : clients) {
    auto snap = c->next();
    ASSERT_TRUE(snap);
    ASSERT_EQ(snap->data, R"({"v":0})");
  }
  constexpr int kEvents = 5;
  for (int v = 1; v <= kEvents; ++v) {
    backend_.set_body("{\"v\":" + std::to_string(v) + ",\"pad\":\"" + std::string(3000, 'p') +
                      "\"}");
    // Every client sees this version before the next one is made.
    for (auto& c : clients) {
      auto ev = c->next();
      ASSERT_TRUE(ev);
      ASSERT_EQ(ev->data.rfind("{\"v\":" + std::to_string(v) + ",", 0), 0u) << ev->data;
    }
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
