// ctest-labels: threaded
// The poller against a real fake backend, on a manual clock: what it
// asks the backend, what it does with each kind of answer, and how long it
// waits before the next poll.
#include "upstream/poller.h"

#include <gtest/gtest.h>

#include <zlib.h>

#include "common/clock.h"
#include "common/time_format.h"
#include "config/url.h"
#include "ingest/ingest.h"
#include "json/document.h"
#include "stream/local_coordinator.h"
#include "stream/memory_store.h"
#include "support/fake_backend.h"
#include "support/file_local.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using upstream::Duration;

class PollerTest : public ::testing::Test {
 protected:
  void make(config::DiffMode mode = config::DiffMode::kJsonPatch) {
    cfg_.name = "s";
    cfg_.url = backend_.url();
    cfg_.interval = 1000ms;
    cfg_.timeout = 2000ms;
    cfg_.backoff_max = 60000ms;
    cfg_.diff = mode;
    stream::Stream::Options opts;
    opts.diff.mode = mode;
    opts.history = 100;
    stream_ =
        std::make_unique<stream::Stream>("s", "s", opts, &store_, &local_, clock_.system_now());
    config::UrlParts parts;
    std::string why;
    ASSERT_TRUE(config::parse_url(cfg_.url, parts, why)) << why;
    upstream::Url url{parts.scheme, parts.host, parts.port, parts.target};
    ingest_ = std::make_unique<ingest::Ingest>(cfg_, *stream_);
    poller_ = std::make_unique<upstream::Poller>(cfg_, url, *ingest_, clock_);
  }
  std::string last_id() {
    MutexLock lock(stream_->mutex());
    return stream_->last_id_locked();
  }
  std::string snapshot_doc() {
    auto snap = stream_->snapshot();
    return snap ? snap->data : std::string();
  }

  FakeBackend backend_;
  config::StreamConfig cfg_;
  stream::MemoryStore store_;
  stream::LocalCoordinator local_;
  std::unique_ptr<stream::Stream> stream_;
  std::unique_ptr<ingest::Ingest> ingest_;
  std::unique_ptr<upstream::Poller> poller_;
  ManualClock clock_{Clock::Steady::now(), *parse_http_date("Sun, 22 Nov 2026 00:00:00 GMT")};
};

TEST_F(PollerTest, NotModifiedCostsNoParseAndNoEvent) {
  backend_.set_etag(true);
  backend_.set_body(R"({"a":1})");
  make();
  EXPECT_EQ(poller_->poll_once(), 1000ms);
  EXPECT_EQ(poller_->counters().parses, 1u);
  std::string id = last_id();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(poller_->poll_once(), 1000ms);
  auto c = poller_->counters();
  EXPECT_EQ(c.not_modified, 3u);
  EXPECT_EQ(c.parses, 1u);
  EXPECT_EQ(last_id(), id);
  // The validator was sent.
  EXPECT_FALSE(backend_.last().headers.find("If-None-Match") == backend_.last().headers.end());
  backend_.set_body(R"({"a":2})");
  poller_->poll_once();
  EXPECT_EQ(poller_->counters().parses, 2u);
  EXPECT_NE(last_id(), id);
}

// A store that refuses appends while `refuse` is set (as a full disk or an
// unreachable Redis does).
class RefusingStore : public stream::MemoryStore {
 public:
  void append(const std::string& key, const stream::Commit& commit) override {
    if (refuse) throw stream::StoreError(stream::StoreErrorKind::kIo, "no space left");
    MemoryStore::append(key, commit);
  }
  bool refuse = false;
};

// A change the store could not record is polled again within
// kUnrecordedRetry, not an interval later: it reaches clients soon after
// the store is back.
TEST_F(PollerTest, AChangeTheStoreCouldNotRecordIsPolledAgainSoon) {
  RefusingStore store;
  cfg_.name = "s";
  cfg_.url = backend_.url();
  cfg_.interval = 60000ms;
  cfg_.timeout = 2000ms;
  cfg_.backoff_max = 60000ms;
  stream::Stream::Options opts;
  stream::LocalCoordinator local;
  stream::Stream s("r", "s", opts, &store, &local, clock_.system_now());
  config::UrlParts parts;
  std::string why;
  ASSERT_TRUE(config::parse_url(cfg_.url, parts, why)) << why;
  ingest::Ingest in(cfg_, s);
  upstream::Poller p(cfg_, {parts.scheme, parts.host, parts.port, parts.target}, in, clock_);
  backend_.set_body(R"({"a":1})");
  EXPECT_EQ(p.poll_once(), 60000ms);
  store.refuse = true;
  backend_.set_body(R"({"a":2})");
  EXPECT_EQ(p.poll_once(), upstream::kUnrecordedRetry);
  EXPECT_EQ(json::parse(s.snapshot()->data)["a"], 1);
  store.refuse = false;
  EXPECT_EQ(p.poll_once(), 60000ms);
  EXPECT_EQ(json::parse(s.snapshot()->data)["a"], 2);
}

TEST_F(PollerTest, LastModifiedIsSentBack) {
  backend_.set_last_modified(true);
  backend_.set_body(R"({"a":1})");
  make();
  poller_->poll_once();
  poller_->poll_once();
  auto h = backend_.last().headers;
  ASSERT_NE(h.find("If-Modified-Since"), h.end());
  EXPECT_EQ(h.find("If-Modified-Since")->second, "Sun, 22 Nov 2026 00:00:00 GMT");
  EXPECT_EQ(poller_->counters().not_modified, 1u);
}

TEST_F(PollerTest, IdenticalBodyWithoutValidatorsIsNotParsed) {
  backend_.set_body(R"({"a":1})");
  make();
  poller_->poll_once();
  poller_->poll_once();
  poller_->poll_once();
  auto c = poller_->counters();
  EXPECT_EQ(c.parses, 1u);
  EXPECT_EQ(c.same_body, 2u);
}

TEST_F(PollerTest, RetryAfterSecondsIsObeyed) {
  backend_.set_failure(429, {{"Retry-After", "120"}});
  make();
  Duration d = poller_->poll_once();
  EXPECT_GE(d, 120s);
  EXPECT_LE(d, 121s);
  EXPECT_FALSE(stream_->status().ok);
  EXPECT_EQ(stream_->status().http_status, 429);
}

TEST_F(PollerTest, RetryAfterHttpDateIsObeyedAgainstTheClock) {
  backend_.set_failure(503, {{"Retry-After", "Sun, 22 Nov 2026 00:05:00 GMT"}});
  make();
  Duration d = poller_->poll_once();
  EXPECT_GE(d, 300s);
  EXPECT_LE(d, 301s);
  clock_.advance(200s);
  d = poller_->poll_once();
  EXPECT_GE(d, 100s);
  EXPECT_LE(d, 101s) << "the same date is nearer now";
}

TEST_F(PollerTest, ErrorsBackOffExponentiallyWithJitterAndSuccessResets) {
  backend_.set_failure(500);
  make();
  Duration prev_ceiling = 1000ms;
  for (int i = 1; i <= 8; ++i) {
    Duration d = poller_->poll_once();
    Duration ceiling = std::min<Duration>(1000ms * (1 << i), 60000ms);
    EXPECT_GE(d, ceiling / 2) << "failure " << i;
    EXPECT_LE(d, ceiling) << "failure " << i;
    EXPECT_GE(ceiling, prev_ceiling);
    prev_ceiling = ceiling;
  }
  backend_.set_failure(0);
  backend_.set_body(R"({"a":1})");
  EXPECT_EQ(poller_->poll_once(), 1000ms);
  EXPECT_TRUE(stream_->status().ok);
}

TEST_F(PollerTest, AsksForCompressionAndDecodesGzip) {
  const std::string body = R"({"big":")" + std::string(5000, 'x') + R"("})";
  backend_.set_handler([&](const httplib::Request& req, httplib::Response& res) {
    // Compress by hand so the test does not depend on the server's choice.
    z_stream zs{};
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    std::string out(compressBound(body.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    zs.avail_in = static_cast<uInt>(body.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    EXPECT_NE(req.get_header_value("Accept-Encoding").find("gzip"), std::string::npos);
    EXPECT_NE(req.get_header_value("Accept-Encoding").find("br"), std::string::npos);
    res.set_header("Content-Encoding", "gzip");
    // A content type httplib's server does not compress again on its own.
    res.set_content(out, "application/x-legacy");
  });
  make();
  poller_->poll_once();
  EXPECT_TRUE(stream_->status().ok) << stream_->status().reason;
  EXPECT_EQ(snapshot_doc(), body);
  EXPECT_LT(poller_->counters().body_bytes, 6000u);
}

TEST_F(PollerTest, OversizedBodyIsRefusedWithStatus) {
  backend_.set_body(R"({"a":")" + std::string(100000, 'x') + R"("})");
  make();
  cfg_.max_body = 10000;
  poller_->poll_once();
  EXPECT_FALSE(stream_->status().ok);
  EXPECT_NE(stream_->status().reason.find("max_body"), std::string::npos);
  EXPECT_EQ(poller_->counters().parses, 0u);
  // A body that fits afterwards recovers.
  backend_.set_body(R"({"a":1})");
  poller_->poll_once();
  EXPECT_TRUE(stream_->status().ok);
}

TEST_F(PollerTest, SelectAndIgnoreShapeTheDocument) {
  backend_.set_body(R"({"meta":{"ts":1},"data":{"list":[1],"requestId":"a","a/b":1}})");
  make();
  cfg_.select = "/data";
  cfg_.ignore = {"/requestId", "/a~1b"};
  poller_ = nullptr;
  config::UrlParts parts;
  std::string why;
  config::parse_url(cfg_.url, parts, why);
  ingest_ = std::make_unique<ingest::Ingest>(cfg_, *stream_);
  poller_ = std::make_unique<upstream::Poller>(
      cfg_, upstream::Url{parts.scheme, parts.host, parts.port, parts.target}, *ingest_, clock_);
  poller_->poll_once();
  EXPECT_EQ(snapshot_doc(), R"({"list":[1]})");
  std::string id = last_id();
  // A change in an ignored or unselected field is no change.
  backend_.set_body(R"({"meta":{"ts":2},"data":{"list":[1],"requestId":"b","a/b":2}})");
  poller_->poll_once();
  EXPECT_EQ(last_id(), id);
  backend_.set_body(R"({"meta":{"ts":2},"data":{"requestId":"b"}})");
  poller_->poll_once();
  EXPECT_NE(last_id(), id);
  // A missing select target is a failure that keeps the document.
  backend_.set_body(R"({"other":1})");
  poller_->poll_once();
  EXPECT_FALSE(stream_->status().ok);
  EXPECT_EQ(snapshot_doc(), "{}");
}

TEST_F(PollerTest, PostWithBodyAndHeaders) {
  backend_.set_body(R"({"a":1})");
  cfg_.method = "POST";
  cfg_.body = R"({"q":1})";
  cfg_.headers = {{"Authorization", "Bearer abc"}};
  make();
  cfg_.method = "POST";
  poller_->poll_once();
  auto r = backend_.last();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.body, R"({"q":1})");
  EXPECT_EQ(r.headers.find("Authorization")->second, "Bearer abc");
  EXPECT_EQ(r.headers.find("Content-Type")->second, "application/json");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
