// Attacks on the size of an answer (issue 18, item 1): cpp-httplib 0.11.4
// answers a multi-range request with one full copy of the body per range,
// so `Range: bytes=-,-,-,...` turned a small answer into megabytes. No
// request header may make an answer larger than its plain answer: every GET
// route is asked plainly, then with each header an attacker could use, and
// the answers are compared byte for byte (property test).
#include <gtest/gtest.h>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

// What a compressed answer may add to its plain body: a gzip or brotli
// frame's fixed overhead for a small body that does not compress.
constexpr std::size_t kEncodingAllowance = 64;

// `Range: bytes=-,-,...` with `n` ranges (an 8 KB head with 4,000).
std::string many_ranges(std::size_t n) {
  std::string v = "bytes=";
  for (std::size_t i = 0; i < n; ++i) v += i ? ",-" : "-";
  return v;
}

class ResponseSizeAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A document of some size, so that a copy per range would show.
    std::string doc = "{\"items\":[";
    for (int i = 0; i < 200; ++i) doc += (i ? "," : "") + std::to_string(i * 7919);
    doc += "]}";
    backend_.set_body(doc);
    dir_.write("index.html", "<!doctype html><title>x</title>" + std::string(2000, 'x'));
    std::string server = "  max_header_bytes: 64KiB\n  static_dir: \"" + dir_.path() + "\"\n";
    proxy_ = std::make_unique<ProxyProcess>(one_stream_config(backend_.url(), "", "", server));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    ASSERT_TRUE(wait_until([&] { return get("/streams/s").status == 200; }));
  }

  RawResponse get(const std::string& path, const std::string& headers = "") {
    RawConn c(proxy_->port());
    c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + "\r\n");
    c.read_until_closed(10s);
    auto rs = parse_responses(c.received());
    return rs.size() == 1 ? rs[0] : RawResponse{};
  }

  TempDir dir_;
  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

const char* kRoutes[] = {"/streams/s", "/streams",       "/metrics", "/healthz",
                         "/readyz",    "/pollbridge.js", "/",        "/index.html"};

TEST_F(ResponseSizeAttackTest, FourThousandRangesGetThePlainAnswerOnEveryRoute) {
  const std::string attack = "Range: " + many_ranges(4000) + "\r\n";
  for (const char* route : kRoutes) {
    RawResponse plain = get(route);
    ASSERT_EQ(plain.status, 200) << route;
    RawResponse r = get(route, attack);
    EXPECT_EQ(r.status, 200) << route << ": ranges are ignored, never 206";
    EXPECT_FALSE(r.has_header("Content-Range")) << route;
    // /metrics and /readyz move between two reads; the others are equal.
    EXPECT_LE(r.body.size(), plain.body.size() + 256) << route;
    EXPECT_GE(r.body.size() + 256, plain.body.size()) << route;
  }
}

TEST_F(ResponseSizeAttackTest, MalformedAndHugeRangesAreIgnoredNot416) {
  for (const std::string range :
       {"bytes=abc", "bytes=0-18446744073709551615", "bytes=5-1", "items=0-1", "bytes=0-0,-1"}) {
    for (const char* route : {"/streams/s", "/pollbridge.js", "/index.html"}) {
      RawResponse plain = get(route);
      RawResponse r = get(route, "Range: " + range + "\r\nIf-Range: \"x\"\r\n");
      EXPECT_EQ(r.status, 200) << route << " " << range;
      EXPECT_FALSE(r.has_header("Content-Range")) << route << " " << range;
      EXPECT_EQ(r.body.size(), plain.body.size()) << route << " " << range;
    }
  }
}

// The property: whatever the request headers, an answer's body is never
// larger than the plain answer's (plus a compression frame's overhead).
TEST_F(ResponseSizeAttackTest, NoRequestHeaderMakesAnyAnswerLarger) {
  const std::vector<std::string> header_sets = {
      "Range: bytes=0-1,0-1,0-1\r\n",
      "Range: bytes=0-\r\nRange: bytes=0-\r\n",
      "If-Range: \"nope\"\r\nRange: bytes=-,-,-\r\n",
      "Accept-Encoding: gzip\r\n",
      "Accept-Encoding: br\r\n",
      "Accept-Encoding: gzip, deflate, br\r\nRange: bytes=-,-\r\n",
      "Accept-Encoding: gzip\r\nAccept-Encoding: br\r\n",
      "If-None-Match: *\r\n",
      "If-None-Match: \"a\", \"b\"\r\nIf-None-Match: W/\"c\"\r\n",
      "Accept: text/event-stream\r\nAccept: application/json\r\n",
      "Origin: http://a.example\r\nOrigin: http://b.example\r\n",
  };
  for (const char* route : kRoutes) {
    RawResponse plain = get(route);
    ASSERT_EQ(plain.status, 200) << route;
    for (const auto& h : header_sets) {
      RawResponse r = get(route, h);
      EXPECT_TRUE(r.status == 200 || r.status == 304) << route << " with " << h << r.status;
      EXPECT_LE(r.body.size(), plain.body.size() + kEncodingAllowance + 256)
          << route << " with " << h;
      EXPECT_LE(r.head.size(), plain.head.size() + 256) << route << " with " << h;
    }
  }
}

TEST_F(ResponseSizeAttackTest, ClientsThatDoNotReadHoldNoAmplifiedAnswers) {
  const long before = rss_kib(proxy_->pid());
  // /metrics: before the fix, about 49 MB per request (4,000 copies).
  const std::string attack =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nRange: " + many_ranges(4000) + "\r\n\r\n";
  // Ten connections each pipeline two attacks and never read.
  std::vector<RawConn> conns;
  for (int i = 0; i < 10; ++i) {
    conns.emplace_back(proxy_->port());
    for (int k = 0; k < 2; ++k) conns.back().send(attack);
  }
  // Asserts that nothing happens over a period: the answers the clients do
  // not read never grow the process.
  std::this_thread::sleep_for(1000ms);
  EXPECT_EQ(get("/healthz").status, 200);
  const long after = rss_kib(proxy_->pid());
  // Before the fix: hundreds of MiB held. After: a few plain answers per
  // connection.
  EXPECT_LT(after - before, 40 * 1024) << "RSS grew from " << before << " to " << after << " KiB";
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
