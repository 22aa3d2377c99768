// Compression encoded once per event, through the real binary
// (docs/protocol.md "Compression"): compressed and plain SSE clients of one
// stream get the same events, the compressed ones decoded incrementally as
// bytes arrive and each event readable as soon as it is sent; a client that
// did not ask (or refused with q=0) gets plain bytes; `server.compression:
// []` (reloaded) turns it off; /streams/{name} has one ETag per coding; the
// shared pieces are made once per feed event, not per client; and TLS.
// One proxy is shared by the cases of the first suite.
#include <httplib.h>
#include <signal.h>

#include <fstream>

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

// A document of a few KiB (over the 1 KiB threshold of HTTP answers) that
// compresses well; `v` changes one member.
std::string document(int v) {
  std::string items;
  for (int i = 0; i < 60; ++i) {
    items += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) +
             ",\"name\":\"item number " + std::to_string(i) + "\",\"status\":\"open\"}";
  }
  return "{\"v\":" + std::to_string(v) + ",\"items\":[" + items + "]}";
}

std::string server_section(const std::string& compression) {
  return "  compression: " + compression + "\n";
}

class CompressionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new FakeBackend();
    backend_->set_body(document(0));
    proxy_ = new ProxyProcess(config("[gzip, deflate]"));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
    proxy_ = nullptr;
    backend_ = nullptr;
  }
  static std::string config(const std::string& compression) {
    return one_stream_config(backend_->url(), "", "", server_section(compression));
  }
  void SetUp() override { ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text(); }

  std::unique_ptr<SseClient> connect(const std::string& accept_encoding,
                                     const std::string& target = "/events/s") {
    SseClient::Headers h;
    if (!accept_encoding.empty()) h.emplace_back("Accept-Encoding", accept_encoding);
    return std::make_unique<SseClient>(proxy_->port(), target, h);
  }
  static std::string metrics() {
    httplib::Client c("127.0.0.1", proxy_->port());
    auto r = c.Get("/metrics");
    return r ? r->body : std::string();
  }
  static double metric(const std::string& series) { return metric_series(metrics(), series); }
  // Waits until the compressed sessions are what the test has open (closed
  // ones are uncounted by their hub thread, a moment after they close).
  static bool sessions_are(int gzip, int deflate) {
    return wait_until([&] {
      std::string m = metrics();
      return metric_series(m, "pollbridge_compressed_sessions{coding=\"gzip\"}") == gzip &&
             metric_series(m, "pollbridge_compressed_sessions{coding=\"deflate\"}") == deflate;
    });
  }
  static void change(int v) { backend_->set_body(document(v)); }

  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
  static int version_;  // of the document the backend serves
};

FakeBackend* CompressionTest::backend_ = nullptr;
ProxyProcess* CompressionTest::proxy_ = nullptr;
int CompressionTest::version_ = 0;

TEST_F(CompressionTest, CompressedAndPlainClientsGetTheSameEventsEachAsSoonAsSent) {
  auto plain = connect("");
  auto gzip = connect("gzip, deflate, br");
  auto gzip2 = connect("x-gzip");
  auto deflate = connect("deflate");
  std::vector<SseClient*> all = {plain.get(), gzip.get(), gzip2.get(), deflate.get()};
  for (SseClient* c : all) {
    ASSERT_EQ(c->status(), 200);
    EXPECT_NE(c->header("Vary").find("Accept-Encoding"), std::string::npos);
  }
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_EQ(gzip->header("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip2->header("Content-Encoding"), "gzip");
  EXPECT_EQ(deflate->header("Content-Encoding"), "deflate");
  auto first = plain->next();
  ASSERT_TRUE(first);
  for (SseClient* c : {gzip.get(), gzip2.get(), deflate.get()}) {
    auto ev = c->next();
    ASSERT_TRUE(ev) << c->header("Content-Encoding");
    EXPECT_EQ(ev->type, first->type);
    EXPECT_EQ(ev->data, first->data);
    EXPECT_EQ(c->retry(), 500) << "the retry line is in the compressed opening";
  }
  ASSERT_TRUE(sessions_are(2, 1));
  const double before = metric("pollbridge_compressed_events_total");
  for (int i = 0; i < 3; ++i) {
    change(++version_);
    // Each event is read with a short bounded wait after the change: none is
    // held in a compressor until the next one.
    auto want = plain->next(2s * kSlowdown);
    ASSERT_TRUE(want) << "change " << i;
    for (SseClient* c : {gzip.get(), gzip2.get(), deflate.get()}) {
      auto got = c->next(1s * kSlowdown);
      ASSERT_TRUE(got) << c->header("Content-Encoding") << " change " << i;
      EXPECT_EQ(got->id, want->id);
      EXPECT_EQ(got->type, want->type);
      EXPECT_EQ(got->data, want->data);
    }
  }
  // Encoded once: one piece per event of the feed, for three compressed
  // clients (gzip and deflate share them).
  EXPECT_EQ(metric("pollbridge_compressed_events_total") - before, 3);
  EXPECT_LT(gzip->wire_bytes() * 3, gzip->raw().size()) << "compressed on the wire";
  EXPECT_EQ(plain->wire_bytes(), plain->raw().size());
  // A compressed client resuming from the snapshot's id gets the replay
  // (one piece per event) and then the live events.
  SseClient resumed(proxy_->port(), "/events/s",
                    {{"Accept-Encoding", "gzip"}, {"Last-Event-ID", first->id}});
  ASSERT_EQ(resumed.header("Content-Encoding"), "gzip");
  auto replay = resumed.take(3);
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay.back().id, plain->last_event_id());
  // A heartbeat goes out compressed too: the stream still decodes after it.
  EXPECT_FALSE(gzip->next(1500ms));
  EXPECT_GT(gzip->comments(), 0);
  change(++version_);
  auto want = plain->next(2s * kSlowdown);
  ASSERT_TRUE(want);
  auto got = gzip->next(1s * kSlowdown);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, want->data);
  auto live = resumed.next(1s * kSlowdown);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->id, want->id);
  EXPECT_EQ(live->data, want->data);
}

TEST_F(CompressionTest, AClientThatDidNotAskOrRefusedGetsPlainBytes) {
  for (const char* ae : {"", "gzip;q=0", "br", "identity", "gzip;q=0, deflate;q=0"}) {
    auto c = connect(ae);
    ASSERT_EQ(c->status(), 200) << ae;
    EXPECT_FALSE(c->has_header("Content-Encoding")) << ae;
    auto ev = c->next();
    ASSERT_TRUE(ev) << ae;
    EXPECT_EQ(c->raw().rfind("retry: 500\n\n", 0), 0u) << ae;
  }
  // HEAD says what GET would.
  httplib::Client h("127.0.0.1", proxy_->port());
  auto head = h.Head("/events/s", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->get_header_value("Content-Encoding"), "gzip");
  EXPECT_NE(head->get_header_value("Vary").find("Accept-Encoding"), std::string::npos);
}

TEST_F(CompressionTest, AMultiplexedChannelIsCompressedOncePerEvent) {
  auto plain = connect("", "/events?stream=s");
  auto gzip = connect("gzip", "/events?stream=s");
  auto gzip2 = connect("gzip", "/events?stream=s");
  ASSERT_EQ(gzip->header("Content-Encoding"), "gzip");
  auto first = plain->next();
  ASSERT_TRUE(first);
  for (SseClient* c : {gzip.get(), gzip2.get()}) {
    auto ev = c->next();
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->data, first->data);
  }
  ASSERT_TRUE(sessions_are(2, 0));
  const double before = metric("pollbridge_compressed_events_total");
  change(++version_);
  auto want = plain->next(2s * kSlowdown);
  ASSERT_TRUE(want);
  for (SseClient* c : {gzip.get(), gzip2.get()}) {
    auto got = c->next(1s * kSlowdown);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, want->id);
    EXPECT_EQ(got->data, want->data);
  }
  EXPECT_EQ(metric("pollbridge_compressed_events_total") - before, 1);
}

TEST_F(CompressionTest, TheDocumentHasOneEntityTagPerCoding) {
  ASSERT_TRUE(connect("")->next());  // the stream has its document
  httplib::Client c("127.0.0.1", proxy_->port());
  c.set_decompress(false);
  auto plain = c.Get("/streams/s");
  auto gz = c.Get("/streams/s", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(plain && gz);
  ASSERT_EQ(plain->status, 200);
  ASSERT_EQ(gz->status, 200);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(gz->body.size() * 3, plain->body.size());
  EXPECT_EQ(gz->get_header_value("Content-Length"), std::to_string(gz->body.size()));
  EXPECT_NE(gz->get_header_value("Vary").find("Accept-Encoding"), std::string::npos);
  // HEAD says what GET would.
  auto head = c.Head("/streams/s", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(head->get_header_value("ETag"), gz->get_header_value("ETag"));
  const std::string plain_tag = plain->get_header_value("ETag");
  const std::string gz_tag = gz->get_header_value("ETag");
  EXPECT_NE(plain_tag, gz_tag);
  // If-None-Match matches only the representation held.
  auto same = c.Get("/streams/s", {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz_tag}});
  ASSERT_TRUE(same);
  if (same->get_header_value("ETag") == gz_tag) {
    EXPECT_EQ(same->status, 304);
  }  // else: the document changed meanwhile
  auto other = c.Get("/streams/s", {{"If-None-Match", gz_tag}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_FALSE(other->has_header("Content-Encoding"));
  // Refused by q=0: plain, under the plain tag.
  auto refused = c.Get("/streams/s", {{"Accept-Encoding", "gzip;q=0, br"}});
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->has_header("Content-Encoding"));
  // A small answer stays plain.
  auto small = c.Get("/healthz", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(small);
  EXPECT_FALSE(small->has_header("Content-Encoding"));
}

TEST_F(CompressionTest, ALongPollAnswerIsCompressedForAClientThatAsks) {
  httplib::Client c("127.0.0.1", proxy_->port());
  c.set_decompress(false);
  auto gz = c.Get("/events/s?transport=long-poll", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gz);
  ASSERT_EQ(gz->status, 200) << gz->body;
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_NE(gz->get_header_value("Vary").find("Accept-Encoding"), std::string::npos);
  auto plain = c.Get("/events/s?transport=long-poll");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_LT(gz->body.size() * 3, plain->body.size());
}

// Last of the suite: it reloads the shared proxy (and puts it back).
TEST_F(CompressionTest, CompressionOffInTheConfigGivesPlainBytes) {
  { std::ofstream(proxy_->config_path()) << config("[]"); }
  proxy_->signal(SIGHUP);
  httplib::Client c("127.0.0.1", proxy_->port());
  c.set_decompress(false);
  ASSERT_TRUE(wait_until([&] {
    auto r = c.Get("/streams/s", {{"Accept-Encoding", "gzip"}});
    return r && r->status == 200 && !r->has_header("Content-Encoding");
  })) << proxy_->stderr_text();
  auto script = c.Get("/pollbridge.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(script);
  EXPECT_FALSE(script->has_header("Content-Encoding"));
  auto sse = connect("gzip");
  ASSERT_EQ(sse->status(), 200);
  EXPECT_FALSE(sse->has_header("Content-Encoding"));
  EXPECT_EQ(sse->header("Vary").find("Accept-Encoding"), std::string::npos);
  ASSERT_TRUE(sse->next());
  { std::ofstream(proxy_->config_path()) << config("[gzip, deflate]"); }
  proxy_->signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] {
    auto r = c.Get("/streams/s", {{"Accept-Encoding", "gzip"}});
    return r && r->status == 200 && r->has_header("Content-Encoding");
  }));
}

TEST(CompressionTlsTest, ACompressedStreamOverTls) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  FakeBackend backend;
  backend.set_body(document(0));
  ProxyProcess proxy(
      one_stream_config(backend.url(), "", "",
                        "  tls: { cert: \"" + certs.cert + "\", key: \"" + certs.key + "\" }\n"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  TlsClientOptions tls;
  tls.ca_file = certs.ca;
  SseClient plain(tls, proxy.port(), "/events/s");
  SseClient gzip(tls, proxy.port(), "/events/s", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gzip.status(), 200);
  EXPECT_EQ(gzip.header("Content-Encoding"), "gzip");
  EXPECT_NE(gzip.header("Vary").find("Accept-Encoding"), std::string::npos);
  auto first = plain.next();
  auto got = gzip.next();
  ASSERT_TRUE(first && got);
  EXPECT_EQ(got->data, first->data);
  backend.set_body(document(1));
  auto want = plain.next(2s * kSlowdown);
  ASSERT_TRUE(want);
  auto next = gzip.next(1s * kSlowdown);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, want->id);
  EXPECT_EQ(next->data, want->data);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
