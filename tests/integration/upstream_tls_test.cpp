// ctest-labels: threaded
// TLS to upstreams through the real binary, with a private CA made by the
// openssl command line: ca_file adds to the system trust store (which stays
// loaded), a client certificate gives mutual TLS, tls_verify: false is named
// in a warning at every start, and upstreams behind a forward proxy are
// reached through HTTP_PROXY / HTTPS_PROXY, except those in NO_PROXY.
//
// The suite is named PollerTls* so that the TSan stage runs it too.
#include <httplib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "json/document.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/http_proxy.h"
#include "support/proxy_process.h"
#include "support/streams_view.h"
#include "support/test_ca.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using json::Json;
using namespace std::chrono_literals;

// An https backend on port 0 answering GET /doc with `body`; with
// `client_ca` it requires a client certificate signed by that CA.
class TlsBackend {
 public:
  TlsBackend(const CertFiles& cert, const std::string& body, const std::string& client_ca = "")
      : server_(cert.cert.c_str(), cert.key.c_str(),
                client_ca.empty() ? nullptr : client_ca.c_str()) {
    server_.Get("/doc", [this, body](const httplib::Request&, httplib::Response& res) {
      ++requests_;
      res.set_content(body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TlsBackend() {
    server_.stop();
    thread_.join();
  }
  bool valid() const { return server_.is_valid() && port_ > 0; }
  std::string url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(port_) + "/doc";
  }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

// Waits until every named stream has finished a poll; returns their entries.
std::map<std::string, Json> settled(int port, std::size_t n) {
  std::map<std::string, Json> out;
  wait_until(
      [&] {
        out = streams_by_name(port);
        std::size_t done = 0;
        for (auto& [name, s] : out) done += s["state"] != "pending";
        return out.size() == n && done == n;
      },
      kSlowdown * 10s);
  return out;
}

std::string entry(const std::string& name, const std::string& url, const std::string& extra = "") {
  return "  - name: " + name + "\n    url: " + url + "\n    interval: 200ms\n" + extra;
}

std::size_t certificates_in(const std::string& pem_file) {
  std::ifstream in(pem_file);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) n += line.rfind("-----BEGIN CERTIFICATE-----", 0) == 0;
  return n;
}

TEST(PollerTlsTest, CaFileIsAddedToTheSystemStoreAndTlsVerifyFalseIsWarnedAbout) {
  TestCa ca;
  TlsBackend backend(ca.server("backend", {"127.0.0.1"}), R"({"tls":true})");
  ASSERT_TRUE(backend.valid());
  ProxyProcess proxy(
      config_with(
          entry("trusted", backend.url(), "    ca_file: " + ca.cert() + "\n") +
          entry("untrusted", backend.url()) +
          entry("unverified", backend.url(), "    tls_verify: false\n") +
          entry("wrong-name", backend.url("localhost"), "    ca_file: " + ca.cert() + "\n")),
      {"--log-level", "debug"});
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  auto s = settled(proxy.port(), 4);
  EXPECT_EQ(s["trusted"]["state"], "ok") << s["trusted"].dump();
  EXPECT_EQ(s["unverified"]["state"], "ok") << s["unverified"].dump();
  EXPECT_EQ(s["untrusted"]["state"], "stale");
  EXPECT_EQ(s["untrusted"].value("reason", ""),
            "TLS certificate verification failed: unable to get local issuer certificate");
  // Both poll the same backend over kept-alive connections every 200 ms: a
  // connection verified with ca_file is never handed to the stream without
  // it (libcurl would, were ca_file known only to the TLS context). Several
  // more polls of each (the failing one backs off) prove it.
  const auto trusted_polls = s["trusted"]["polls"].get<std::uint64_t>();
  const auto untrusted_polls = s["untrusted"]["polls"].get<std::uint64_t>();
  EXPECT_TRUE(wait_until(
      [&] {
        auto now = streams_by_name(proxy.port());
        return now["trusted"]["polls"].get<std::uint64_t>() >= trusted_polls + 5 &&
               now["untrusted"]["polls"].get<std::uint64_t>() >= untrusted_polls + 1;
      },
      kSlowdown * 10s));
  s = settled(proxy.port(), 4);
  EXPECT_EQ(s["untrusted"]["state"], "stale");
  EXPECT_FALSE(s["untrusted"].contains("last_success")) << s["untrusted"].dump();
  EXPECT_EQ(s["trusted"]["failures"], 0) << s["trusted"].dump();
  // The certificate is for 127.0.0.1 and "localhost" is a DNS name in it:
  // verified too. (A name missing from it is refused, below.)
  EXPECT_EQ(s["wrong-name"]["state"], "ok") << s["wrong-name"].dump();
  EXPECT_EQ(httplib::Client("127.0.0.1", proxy.port()).Get("/streams/trusted")->body,
            R"({"tls":true})");

  // The system CAs are still loaded beside ca_file: the trust store of the
  // stream with ca_file holds every certificate of Debian's bundle plus one.
  const std::string log = proxy.stderr_text();
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(log, m,
                        std::regex("upstream trust store stream=trusted "
                                   "system_certificates=(\\d+) ca_file_certificates=(\\d+)")))
      << log;
  const std::size_t bundle = certificates_in("/etc/ssl/certs/ca-certificates.crt");
  EXPECT_GE(bundle, 50u) << "Debian's ca-certificates bundle";
  EXPECT_EQ(std::stoul(m[1]), bundle);
  EXPECT_EQ(std::stoul(m[2]), 1u);
  // tls_verify: false is named in a warning at start.
  EXPECT_NE(log.find("WARN tls_verify is false: this stream's upstream certificate is not "
                     "verified"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("stream=unverified"), std::string::npos);
}

TEST(PollerTlsTest, NameNotInTheCertificateIsRefused) {
  TestCa ca;
  TlsBackend backend(ca.server("backend", {"127.0.0.2"}, {"elsewhere.example"}), "{}");
  ASSERT_TRUE(backend.valid());
  ProxyProcess proxy(config_with(entry("s", backend.url(), "    ca_file: " + ca.cert() + "\n")));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  auto s = settled(proxy.port(), 1);
  EXPECT_EQ(s["s"]["state"], "stale");
  EXPECT_NE(s["s"].value("reason", "").find("TLS"), std::string::npos) << s["s"].dump();
}

TEST(PollerTlsTest, ClientCertificateGivesMutualTls) {
  TestCa ca;
  TestCa other("another CA");
  TlsBackend backend(ca.server("backend", {"127.0.0.1"}), R"({"mtls":true})", ca.cert());
  ASSERT_TRUE(backend.valid());
  CertFiles mine = ca.client("pollbridge");
  CertFiles foreign = other.client("stranger");
  const std::string trust = "    ca_file: " + ca.cert() + "\n";
  ProxyProcess proxy(config_with(
      entry("with-cert", backend.url(),
            trust + "    client_cert: " + mine.cert + "\n    client_key: " + mine.key + "\n") +
      entry("without-cert", backend.url(), trust) +
      entry(
          "foreign-cert", backend.url(),
          trust + "    client_cert: " + foreign.cert + "\n    client_key: " + foreign.key + "\n")));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  auto s = settled(proxy.port(), 3);
  EXPECT_EQ(s["with-cert"]["state"], "ok") << s["with-cert"].dump();
  EXPECT_EQ(httplib::Client("127.0.0.1", proxy.port()).Get("/streams/with-cert")->body,
            R"({"mtls":true})");
  EXPECT_EQ(s["without-cert"]["state"], "stale");
  EXPECT_EQ(s["foreign-cert"]["state"], "stale");
}

TEST(PollerTlsTest, MismatchedClientKeyFailsAtStartWithItsPosition) {
  TestCa ca;
  CertFiles a = ca.client("a");
  CertFiles b = ca.client("b");
  std::string out;
  TempDir dir;
  dir.write("pb.yaml",
            config_with(entry("s", "https://127.0.0.1:1/doc",
                              "    client_cert: " + a.cert + "\n    client_key: " + b.key + "\n")));
  EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("pb.yaml")}, &out), 1);
  EXPECT_NE(out.find("pb.yaml:13:17: streams[0].client_key: " + b.key +
                     " does not match the certificate in " + a.cert),
            std::string::npos)
      << out;
  dir.write("pb.yaml", config_with(entry("s", "https://127.0.0.1:1/doc",
                                         "    client_cert: " + a.cert + "\n")));
  EXPECT_EQ(run_pollbridge({"--check", "--config", dir.file("pb.yaml")}, &out), 1);
  EXPECT_NE(out.find("streams[0].client_cert: needs client_key"), std::string::npos) << out;
}

TEST(PollerTlsTest, ProxiesFromTheEnvironmentAreUsedExceptForNoProxy) {
  FakeBackend plain;
  plain.set_body(R"({"via":"proxy"})");
  FakeBackend direct;
  direct.set_body(R"({"via":"direct"})");
  TestCa ca;
  TlsBackend secure(ca.server("backend", {"127.0.0.1"}), R"({"via":"tunnel"})");
  ASSERT_TRUE(secure.valid());
  HttpProxy proxy_server;
  const std::string direct_url = "http://localhost:" + std::to_string(direct.port()) + "/doc";
  ProxyProcess proxy(config_with(entry("plain", plain.url()) + entry("direct", direct_url) +
                                 entry("secure", secure.url(), "    ca_file: " + ca.cert() + "\n")),
                     {},
                     // Upper case: libcurl alone ignores HTTP_PROXY; pollbridge reads both.
                     {{"HTTP_PROXY", proxy_server.url()},
                      {"HTTPS_PROXY", proxy_server.url()},
                      {"NO_PROXY", "localhost"}});
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  auto s = settled(proxy.port(), 3);
  for (const char* name : {"plain", "direct", "secure"}) {
    EXPECT_EQ(s[name]["state"], "ok") << name << ": " << s[name].dump();
  }
  httplib::Client h("127.0.0.1", proxy.port());
  EXPECT_EQ(h.Get("/streams/plain")->body, R"({"via":"proxy"})");
  EXPECT_EQ(h.Get("/streams/secure")->body, R"({"via":"tunnel"})");
  EXPECT_EQ(h.Get("/streams/direct")->body, R"({"via":"direct"})");
  bool forwarded = false;
  bool tunnelled = false;
  for (const auto& line : proxy_server.seen()) {
    forwarded = forwarded || line == "GET " + plain.url();
    tunnelled = tunnelled || line == "CONNECT 127.0.0.1:" + std::to_string(secure.port());
    EXPECT_EQ(line.find(std::to_string(direct.port())), std::string::npos)
        << "NO_PROXY host went through the proxy: " << line;
  }
  EXPECT_TRUE(forwarded);
  EXPECT_TRUE(tunnelled);
  EXPECT_GT(direct.requests(), 0u);
  EXPECT_NE(proxy.stderr_text().find("upstream requests may go through a proxy"),
            std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
