// ctest-labels: threaded
// End-to-end behaviour of one stream: the real pollbridge binary in front of
// a fake legacy backend, read by a real SSE client.
#include <httplib.h>

#include <gtest/gtest.h>

#include "diff/json_patch.h"
#include "diff/merge_patch.h"
#include "json/document.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using json::Json;
using namespace std::chrono_literals;

class SseStreamTest : public ::testing::Test {
 protected:
  void start(const std::string& extra = "", const std::string& top = "") {
    proxy_ = std::make_unique<ProxyProcess>(one_stream_config(backend_.url(), extra, top));
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  std::unique_ptr<SseClient> connect(const SseClient::Headers& h = {},
                                     const std::string& target = "/events/s") {
    return std::make_unique<SseClient>(proxy_->port(), target, h);
  }
  // Waits until the proxy has published `n` events in total.
  void wait_events(std::uint64_t n) {
    httplib::Client c("127.0.0.1", proxy_->port());
    ASSERT_TRUE(wait_until([&] {
      auto r = c.Get("/streams");
      return r && json::parse(r->body)["streams"][0]["events"].get<std::uint64_t>() >= n;
    })) << "proxy did not publish "
        << n << " events";
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(SseStreamTest, FirstEventIsSnapshotWithHeadersAndRetry) {
  backend_.set_body(R"({"b":1.10,"a":[1,2,3],"big":123456789012345678901234567890})");
  start();
  auto c = connect();
  ASSERT_EQ(c->status(), 200);
  EXPECT_EQ(c->header("Content-Type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(c->header("Cache-Control"), "no-cache");
  EXPECT_EQ(c->header("X-Accel-Buffering"), "no");
  EXPECT_FALSE(c->has_header("Content-Encoding"));
  EXPECT_FALSE(c->has_header("Content-Length"));
  auto ev = c->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(c->retry(), 500);
  EXPECT_EQ(c->raw().rfind("retry: 500\n\n", 0), 0u) << "retry comes first";
  EXPECT_EQ(ev->type, "snapshot");
  EXPECT_FALSE(ev->id.empty());
  // Key order and the numbers' text survive.
  EXPECT_EQ(ev->data, R"({"b":1.10,"a":[1,2,3],"big":123456789012345678901234567890})");
}

TEST_F(SseStreamTest, ChangeBecomesOnePatchThatReproducesTheDocument) {
  backend_.set_body(padded(R"({"items":[{"id":1,"n":"a"},{"id":2,"n":"b"}],"count":2})"));
  start("    key: id\n");
  auto c = connect();
  auto snap = c->next();
  ASSERT_TRUE(snap);
  const std::string next =
      padded(R"({"items":[{"id":1,"n":"a"},{"id":3,"n":"c"},{"id":2,"n":"B"}],"count":3})");
  backend_.set_body(next);
  auto ev = c->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch");
  Json doc = json::parse(snap->data);
  Json patch = json::parse(ev->data);
  ASSERT_TRUE(patch.is_array());
  diff::apply_json_patch(doc, patch);
  EXPECT_TRUE(json::equal(doc, json::parse(next))) << json::dump(doc);
  // nlohmann's applier agrees.
  Json doc2 = json::parse(snap->data).patch(patch);
  EXPECT_TRUE(json::equal(doc2, json::parse(next)));
  EXPECT_NE(ev->id, snap->id);
  // Exactly one event for one change.
  EXPECT_FALSE(c->next(400ms));
}

TEST_F(SseStreamTest, SemanticallyEqualResponsesCauseNoEvent) {
  backend_.set_body(R"({"a":1,"b":[1,2],"c":1.5})");
  start();
  auto c = connect();
  ASSERT_TRUE(c->next());
  backend_.set_body("{ \"c\" : 1.50 ,\n \"b\":[1, 2], \"a\": 1 }");
  std::size_t before = backend_.requests();
  ASSERT_TRUE(wait_until([&] { return backend_.requests() >= before + 3; }));
  EXPECT_FALSE(c->next(300ms));
}

TEST_F(SseStreamTest, OnePollLoopWhateverTheNumberOfClients) {
  backend_.set_body(R"({"a":1})");
  start();
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(connect());
  for (auto& c : clients) ASSERT_TRUE(c->next());
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);  // a measurement window: at most so many polls in it
  // interval 100ms: about 10 polls in a second, not 20 times that.
  std::size_t n = backend_.requests_since(t0);
  EXPECT_GE(n, 3u);  // generous: sanitizer builds on a busy machine are slow
  EXPECT_LE(n, 12u);
}

TEST_F(SseStreamTest, ResumeWithLastEventIdReplaysExactlyTheMissedEvents) {
  backend_.set_body(padded(R"({"v":0})"));
  start();
  auto watcher = connect();
  auto a = connect();
  auto snap = a->next();
  ASSERT_TRUE(snap);
  ASSERT_TRUE(watcher->next());
  a->close();
  std::vector<SseEvent> seen;
  for (int i = 1; i <= 3; ++i) {
    backend_.set_body(padded("{\"v\":" + std::to_string(i) + "}"));
    auto ev = watcher->next();
    ASSERT_TRUE(ev);
    seen.push_back(*ev);
  }
  auto b = connect({{"Last-Event-ID", snap->id}});
  auto replay = b->take(3);
  ASSERT_EQ(replay.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(replay[i].id, seen[i].id);
    EXPECT_EQ(replay[i].type, "patch");
    EXPECT_EQ(replay[i].data, seen[i].data);
  }
  EXPECT_FALSE(b->next(300ms)) << "no duplicate, no snapshot after a replay";
  // And the stream goes on from there.
  backend_.set_body(padded(R"({"v":4})"));
  auto live = b->next();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->data, R"([{"op":"replace","path":"/v","value":4}])");
}

TEST_F(SseStreamTest, QueryLastEventIdWorksForTheFirstConnection) {
  backend_.set_body(padded(R"({"v":0})"));
  start();
  auto a = connect();
  auto snap = a->next();
  ASSERT_TRUE(snap);
  backend_.set_body(padded(R"({"v":1})"));
  auto ev = a->next();
  ASSERT_TRUE(ev);
  auto b = connect({}, "/events/s?lastEventId=" + snap->id);
  auto replay = b->next();
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->id, ev->id);
  EXPECT_EQ(replay->type, "patch");
  // The header wins over the query (EventSource reconnects keep the URL).
  auto c = connect({{"Last-Event-ID", ev->id}}, "/events/s?lastEventId=" + snap->id);
  EXPECT_FALSE(c->next(300ms));
}

TEST_F(SseStreamTest, CaughtUpIdGetsNothingButLiveEvents) {
  backend_.set_body(padded(R"({"v":0})"));
  start();
  auto a = connect();
  auto snap = a->next();
  ASSERT_TRUE(snap);
  auto b = connect({{"Last-Event-ID", snap->id}});
  EXPECT_FALSE(b->next(300ms));
  backend_.set_body(padded(R"({"v":1})"));
  auto ev = b->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch");
}

TEST_F(SseStreamTest, EvictedUnknownOrForeignIdGetsAFreshSnapshot) {
  backend_.set_body(R"({"v":0})");
  start("", "");
  // history is 100 in the config; use a stream-level override of 2.
  proxy_.reset();
  proxy_ = std::make_unique<ProxyProcess>(one_stream_config(backend_.url(), "    history: 2\n"));
  ASSERT_TRUE(proxy_->started());
  auto a = connect();
  auto snap = a->next();
  ASSERT_TRUE(snap);
  SseEvent last;
  for (int i = 1; i <= 4; ++i) {
    backend_.set_body("{\"v\":" + std::to_string(i) + "}");
    auto ev = a->next();
    ASSERT_TRUE(ev);
    last = *ev;
  }
  for (const std::string& id :
       {snap->id, std::string("garbage"), std::string("deadbeef-1"), std::string("")}) {
    auto b = id.empty() ? connect() : connect({{"Last-Event-ID", id}});
    auto ev = b->next();
    ASSERT_TRUE(ev) << id;
    EXPECT_EQ(ev->type, "snapshot") << id;
    EXPECT_EQ(ev->data, R"({"v":4})");
    EXPECT_EQ(ev->id, last.id);
    EXPECT_FALSE(b->next(200ms)) << "nothing after the snapshot";
  }
}

TEST_F(SseStreamTest, HistoryIsBoundedInBytesToo) {
  auto body = [](int i) {
    return "{\"v\":" + std::to_string(i) + ",\"pad\":\"" + std::string(700, 'x') + "\"}";
  };
  backend_.set_body(body(0));
  start("    diff: snapshot\n", "history_bytes: 4KiB\n");
  auto a = connect();
  auto snap = a->next();
  ASSERT_TRUE(snap);
  std::vector<SseEvent> evs;
  for (int i = 1; i <= 6; ++i) {
    backend_.set_body(body(i));
    auto e = a->next();
    ASSERT_TRUE(e);
    evs.push_back(*e);
  }
  // Each event holds ~1.5 KiB (data and its encoding): 4 KiB keeps two.
  auto recent = connect({{"Last-Event-ID", evs[3].id}});
  auto r = recent->take(2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].id, evs[4].id);
  EXPECT_EQ(r[1].id, evs[5].id);
  auto old = connect({{"Last-Event-ID", evs[0].id}});
  auto o = old->next();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type, "snapshot");
  EXPECT_EQ(o->id, evs[5].id);
}

TEST_F(SseStreamTest, FailingUpstreamSendsStatusAndKeepsTheLastDocument) {
  backend_.set_body(padded(R"({"v":1})"));
  start();
  auto c = connect();
  auto snap = c->next();
  ASSERT_TRUE(snap);
  backend_.set_failure(503);
  auto st = c->next();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->type, "status");
  Json s = json::parse(st->data);
  EXPECT_EQ(s["state"], "stale");
  EXPECT_EQ(s["http_status"], 503);
  EXPECT_NE(s["reason"].get<std::string>().find("503"), std::string::npos);
  // The last good document is still served, marked stale.
  httplib::Client h("127.0.0.1", proxy_->port());
  auto doc = h.Get("/streams/s");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  EXPECT_EQ(doc->body, padded(R"({"v":1})"));
  EXPECT_EQ(doc->get_header_value("X-Pollbridge-State"), "stale");
  // A new client gets the document and the staleness.
  auto late = connect();
  auto l1 = late->next();
  auto l2 = late->next();
  ASSERT_TRUE(l1 && l2);
  EXPECT_EQ(l1->type, "snapshot");
  EXPECT_EQ(l1->data, padded(R"({"v":1})"));
  EXPECT_EQ(l2->type, "status");
  EXPECT_EQ(json::parse(l2->data)["state"], "stale");
  // Repeated failures with the same reason do not repeat the event.
  EXPECT_FALSE(c->next(400ms));
  // Recovery: status ok, then the change.
  backend_.set_failure(0);
  backend_.set_body(padded(R"({"v":2})"));
  auto ok = c->next();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->type, "status");
  EXPECT_EQ(json::parse(ok->data)["state"], "ok");
  auto patch = c->next();
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->type, "patch");
}

TEST_F(SseStreamTest, RefusedConnectionAndNonJsonBodyAreReportedAsStatus) {
  backend_.set_body(R"({"v":1})");
  start();
  auto c = connect();
  ASSERT_TRUE(c->next());
  backend_.set_body("<html>oops</html>", "/doc", "text/html");
  auto st = c->next();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->type, "status");
  EXPECT_NE(json::parse(st->data)["reason"].get<std::string>().find("not JSON"), std::string::npos)
      << st->data;
  backend_.stop();
  auto st2 = c->next();
  ASSERT_TRUE(st2);
  EXPECT_EQ(st2->type, "status");
  EXPECT_NE(json::parse(st2->data)["reason"].get<std::string>().find("connect"), std::string::npos)
      << st2->data;
  // The proxy is still serving.
  httplib::Client h("127.0.0.1", proxy_->port());
  auto r = h.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  backend_.restart();
  backend_.set_body(R"({"v":1})");
  auto ok = c->next();
  ASSERT_TRUE(ok);
  EXPECT_EQ(json::parse(ok->data)["state"], "ok");
}

TEST_F(SseStreamTest, HeartbeatCommentsKeepIdleConnectionsAlive) {
  backend_.set_body(R"({"v":1})");
  start();
  auto c = connect();
  ASSERT_TRUE(c->next());
  EXPECT_FALSE(c->next(2500ms));
  EXPECT_GE(c->comments(), 1);
}

TEST_F(SseStreamTest, TwoHundredConcurrentClientsReceiveEveryEvent) {
  backend_.set_body(padded(R"({"v":0})"));
  start();
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(connect());
    ASSERT_EQ(clients.back()->status(), 200) << "client " << i;
  }
  for (auto& c : clients) ASSERT_TRUE(c->next()) << "snapshot";
  const int kChanges = 5;
  for (int i = 1; i <= kChanges; ++i) {
    backend_.set_body(padded("{\"v\":" + std::to_string(i) + "}"));
    wait_events(static_cast<std::uint64_t>(i + 1));
  }
  std::vector<std::string> ids;
  for (std::size_t k = 0; k < clients.size(); ++k) {
    auto evs = clients[k]->take(kChanges);
    ASSERT_EQ(evs.size(), static_cast<std::size_t>(kChanges)) << "client " << k;
    for (int i = 0; i < kChanges; ++i) {
      EXPECT_EQ(evs[i].data,
                "[{\"op\":\"replace\",\"path\":\"/v\",\"value\":" + std::to_string(i + 1) + "}]");
      if (k == 0) {
        ids.push_back(evs[i].id);
      } else {
        EXPECT_EQ(evs[i].id, ids[i]);
      }
    }
  }
}

TEST_F(SseStreamTest, MergePatchAndSnapshotModes) {
  backend_.set_body(padded(R"({"a":{"b":1,"c":2},"d":[1]})"));
  start("    diff: merge-patch\n");
  auto c = connect();
  auto snap = c->next();
  ASSERT_TRUE(snap);
  backend_.set_body(padded(R"({"a":{"b":1,"c":3},"e":true})"));
  auto ev = c->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "merge-patch");
  Json doc = json::parse(snap->data);
  diff::apply_merge_patch(doc, json::parse(ev->data));
  EXPECT_TRUE(json::equal(doc, json::parse(padded(R"({"a":{"b":1,"c":3},"e":true})"))));

  proxy_.reset();
  start("    diff: snapshot\n");
  auto s = connect();
  ASSERT_TRUE(s->next());
  backend_.set_body(R"({"z":1})");
  auto sev = s->next();
  ASSERT_TRUE(sev);
  EXPECT_EQ(sev->type, "snapshot");
  EXPECT_EQ(sev->data, R"({"z":1})");
}

TEST_F(SseStreamTest, TextModeFramesMultiLineBodiesAsDataLines) {
  backend_.set_body("line one\nline two\r\nline three\rend", "/doc", "text/plain");
  start("    diff: text\n");
  auto c = connect();
  auto ev = c->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "snapshot");
  // Every line break became a data: line; the client joins them with LF.
  EXPECT_EQ(ev->data, "line one\nline two\nline three\nend");
  EXPECT_NE(c->raw().find("data: line one\ndata: line two\ndata: line three\ndata: end\n\n"),
            std::string::npos);
  // A body trying to inject fields stays data.
  backend_.set_body("x\n\nid: 999\nevent: evil\ndata: y", "/doc", "text/plain");
  auto ev2 = c->next();
  ASSERT_TRUE(ev2);
  EXPECT_EQ(ev2->type, "snapshot");
  EXPECT_NE(ev2->id, "999");
  EXPECT_EQ(ev2->data, "x\n\nid: 999\nevent: evil\ndata: y");
}

TEST_F(SseStreamTest, HttpErrorsAreClear) {
  backend_.set_body(R"({"v":1})");
  start();
  httplib::Client h("127.0.0.1", proxy_->port());
  auto r = h.Get("/events/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("no stream named nope"), std::string::npos);
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH"}) {
    httplib::Request req;
    req.method = m;
    req.path = "/events/s";
    auto res = h.send(req);
    ASSERT_TRUE(res) << m;
    EXPECT_EQ(res->status, 405) << m;
    EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");
  }
  // Other resources are read-only too, and a bodiless POST is answered at
  // once (not after httplib's read timeout).
  auto t0 = std::chrono::steady_clock::now();
  httplib::Request post;
  post.method = "POST";
  post.path = "/streams";
  auto pr = h.send(post);
  ASSERT_TRUE(pr);
  EXPECT_EQ(pr->status, 405);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  httplib::Request del;
  del.method = "DELETE";
  del.path = "/nowhere";
  EXPECT_EQ(h.send(del)->status, 404);
  // A bad request leaves the others alone.
  auto c = connect();
  ASSERT_TRUE(c->next());
  EXPECT_EQ(h.Get("/events/nope")->status, 404);
  backend_.set_body(R"({"v":2})");
  EXPECT_TRUE(c->next());
}

TEST_F(SseStreamTest, DocumentEndpointHasEtagAnd304) {
  backend_.set_body(R"({"v":1})");
  start();
  httplib::Client h("127.0.0.1", proxy_->port());
  ASSERT_TRUE(wait_until([&] { return h.Get("/streams/s")->status == 200; }));
  auto r = h.Get("/streams/s");
  EXPECT_EQ(r->body, R"({"v":1})");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  std::string etag = r->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto r304 = h.Get("/streams/s", {{"If-None-Match", etag}});
  EXPECT_EQ(r304->status, 304);
  EXPECT_EQ(r304->body, "");
  EXPECT_EQ(h.Get("/streams/s", {{"If-None-Match", "\"other\", " + etag}})->status, 304);
  EXPECT_EQ(h.Get("/streams/s", {{"If-None-Match", "\"other\""}})->status, 200);
  // "*" matches any current representation (RFC 9110 13.1.2); a '*' inside
  // an entity tag is one of its characters, not that wildcard.
  EXPECT_EQ(h.Get("/streams/s", {{"If-None-Match", "*"}})->status, 304);
  EXPECT_EQ(h.Get("/streams/s", {{"If-None-Match", "\"a*b\""}})->status, 200);
  EXPECT_EQ(h.Get("/streams/s", {{"If-None-Match", "W/\"*\""}})->status, 200);
  std::string lm = r->get_header_value("Last-Modified");
  ASSERT_FALSE(lm.empty());
  EXPECT_EQ(h.Get("/streams/s", {{"If-Modified-Since", lm}})->status, 304);
  EXPECT_EQ(h.Get("/streams/s", {{"If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"}})->status,
            200);
  // If-None-Match decides when both are sent.
  EXPECT_EQ(
      h.Get("/streams/s", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", lm}})->status,
      200);
  backend_.set_body(R"({"v":2})");
  ASSERT_TRUE(wait_until([&] { return h.Get("/streams/s")->body == R"({"v":2})"; }));
  auto changed = h.Get("/streams/s", {{"If-None-Match", etag}});
  EXPECT_EQ(changed->status, 200);
  EXPECT_NE(changed->get_header_value("ETag"), etag);
  auto list = h.Get("/streams");
  Json l = json::parse(list->body);
  EXPECT_EQ(l["streams"][0]["name"], "s");
  EXPECT_EQ(l["streams"][0]["state"], "ok");
  EXPECT_EQ(h.Get("/healthz")->status, 200);
  EXPECT_EQ(h.Get("/streams/nope")->status, 404);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
