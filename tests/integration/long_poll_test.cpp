// ctest-labels: threaded
// The long-poll transport (docs/protocol.md, "Long-poll") through the real
// binary: the snapshot at once without a position, a wait ended by the next
// event or by server.longpoll_timeout on one kept-alive connection, every
// missed event at once, unknown and other-epoch ids, formats, multiplexed
// envelopes and composite ids, status events, refusals; waiting long-polls
// counted in server.max_clients and in /metrics; a reload that revokes a
// waiting long-poll's token answers it 401.
//
// Documents are checked by an independent implementation of RFC 6902 and
// RFC 7386 (nlohmann::json), not by pollbridge's own appliers.
#include <httplib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/metrics_text.h"
#include "support/proxy_process.h"
#include "support/raw_http.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

std::string doc(int v) {
  return padded("{\"v\":" + std::to_string(v) + ",\"list\":[1,2,3],\"name\":\"n\"}");
}

// One long-poll request on a connection that stays open between requests.
std::string request(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

// What a document becomes after one long-poll event (by the RFCs).
Plain applied(const Plain& doc, const Plain& ev) {
  const std::string type = ev["event"];
  if (type == "snapshot") return ev["data"];
  if (type == "patch") return doc.patch(ev["data"]);
  Plain out = doc;
  out.merge_patch(ev["data"]);
  return out;
}

class LongPollTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    backend_ = new FakeBackend;
    bodies_ = {{"a", doc(0)}, {"b", doc(0)}, {"t", "plain text 0"}};
    for (const auto& [name, body] : bodies_) backend_->set_body(body, "/" + name);
    auto stream = [](const std::string& name, const std::string& path, const std::string& diff) {
      return "  - name: " + name + "\n    url: " + backend_->url(path) +
             "\n    interval: 1h\n    diff: " + diff + "\n";
    };
    proxy_ = new ProxyProcess(config_with(stream("a", "/a", "json-patch") +
                                              stream("b", "/b", "json-patch") +
                                              stream("t", "/t", "text"),
                                          "", "  longpoll_timeout: 1s\n"));
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
  }
  void SetUp() override {
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
    http_->set_read_timeout(10 * kSlowdown, 0);
    // Every stream has its first document (first polls are spread over a
    // second after start).
    for (const char* name : {"a", "b", "t"}) {
      ASSERT_TRUE(wait_until(
          [&] {
            auto r = http_->Get(std::string("/streams/") + name);
            return r && r->status == 200;
          },
          10s * kSlowdown))
          << name;
    }
  }
  // Polls now (the streams are polled only when asked, and once at start).
  void poll(const std::string& name) {
    auto r = http_->Post("/streams/" + name + "/poll?wait=true",
                         {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  static std::string body_of(const std::string& name) { return bodies_[name]; }
  void change(const std::string& name, const std::string& body) {
    bodies_[name] = body;
    backend_->set_body(body, "/" + name);
    poll(name);
  }
  Plain get(const std::string& target, httplib::Headers h = {}) {
    auto r = http_->Get(target, h);
    EXPECT_TRUE(r);
    if (!r) return Plain();
    EXPECT_EQ(r->status, 200) << target << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
    return Plain::parse(r->body);
  }
  // The current position and document of `name`.
  std::pair<std::string, Plain> current(const std::string& name) {
    Plain first = get("/events/" + name + "?transport=long-poll");
    EXPECT_EQ(first["events"].size(), 1u) << first.dump();
    return {first["last_id"], first["events"][0]["data"]};
  }

  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
  static std::map<std::string, std::string> bodies_;
  std::unique_ptr<httplib::Client> http_;
};

FakeBackend* LongPollTest::backend_ = nullptr;
ProxyProcess* LongPollTest::proxy_ = nullptr;
std::map<std::string, std::string> LongPollTest::bodies_;

TEST_F(LongPollTest, NoPositionGetsTheSnapshotAtOnce) {
  Plain a = get("/events/a?transport=long-poll");
  ASSERT_EQ(a["events"].size(), 1u) << a.dump();
  EXPECT_EQ(a["events"][0]["event"], "snapshot");
  EXPECT_EQ(a["events"][0]["data"], Plain::parse(body_of("a")));
  EXPECT_EQ(a["last_id"], a["events"][0]["id"]);
  // A text stream's snapshot is its text, as a JSON string.
  Plain t = get("/events/t?transport=long-poll");
  ASSERT_EQ(t["events"].size(), 1u) << t.dump();
  EXPECT_EQ(t["events"][0]["data"], body_of("t"));
}

TEST_F(LongPollTest, AWaitEndsAtTheNextEventOrTheTimeoutOnOneKeptAliveConnection) {
  auto [last, document] = current("a");
  RawConn c(proxy_->port());
  ASSERT_TRUE(c.send(request("/events/a?transport=long-poll&lastEventId=" + last)));
  // Nothing after the position: it waits (no answer while nothing changes).
  EXPECT_FALSE(c.read_some(300ms));
  change("a", doc(1));
  ASSERT_TRUE(c.read_responses(1, 5s * kSlowdown)) << c.received();
  auto rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 1u);
  ASSERT_EQ(rs[0].status, 200);
  Plain body = Plain::parse(rs[0].body);
  ASSERT_EQ(body["events"].size(), 1u) << rs[0].body;
  EXPECT_EQ(body["events"][0]["event"], "patch");
  EXPECT_EQ(applied(document, body["events"][0]), Plain::parse(doc(1)));
  const std::string next = body["last_id"];
  EXPECT_NE(next, last);
  // The next long-poll on the same connection: nothing happens, so it is
  // answered empty with the same position once longpoll_timeout (1 s) passed.
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(request("/events/a?transport=long-poll", "Last-Event-ID: " + next + "\r\n")));
  ASSERT_TRUE(c.read_responses(2, 5s * kSlowdown)) << c.received();
  const auto waited = std::chrono::steady_clock::now() - asked;
  rs = parse_responses(c.received());
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(Plain::parse(rs[1].body), Plain::parse(R"({"events":[],"last_id":")" + next + "\"}"));
  EXPECT_GE(waited, 900ms);
  EXPECT_FALSE(c.peer_closed());
}

TEST_F(LongPollTest, EveryMissedEventComesAtOnceInOrder) {
  auto [last, document] = current("a");
  for (int v = 10; v < 13; ++v) change("a", doc(v));
  Plain body = get("/events/a?transport=long-poll&lastEventId=" + last);
  ASSERT_EQ(body["events"].size(), 3u) << body.dump();
  Plain d = document;
  for (const auto& ev : body["events"]) d = applied(d, ev);
  EXPECT_EQ(d, Plain::parse(doc(12)));
  EXPECT_EQ(body["last_id"], body["events"][2]["id"]);
  // The same through ?format=merge-patch: merge patches only when they are
  // faithful, else a snapshot; either way the same document.
  Plain merged = get("/events/a?transport=long-poll&format=merge-patch&lastEventId=" + last);
  Plain m = document;
  for (const auto& ev : merged["events"]) m = applied(m, ev);
  EXPECT_EQ(m, Plain::parse(doc(12)));
}

TEST_F(LongPollTest, AnUnknownOrOtherEpochIdGetsTheSnapshot) {
  for (const std::string id : {"0123abcd-5", "nonsense", "ffffffff-99999"}) {
    Plain body = get("/events/b?transport=long-poll&lastEventId=" + id);
    ASSERT_EQ(body["events"].size(), 1u) << id << ": " << body.dump();
    EXPECT_EQ(body["events"][0]["event"], "snapshot") << id;
    EXPECT_EQ(body["events"][0]["data"], Plain::parse(body_of("b")));
  }
}

TEST_F(LongPollTest, MultiplexedEnvelopesCompositeIdsAndAWaitOnEveryStream) {
  Plain first = get("/events?stream=a&stream=b&transport=long-poll");
  ASSERT_EQ(first["events"].size(), 2u) << first.dump();
  EXPECT_EQ(first["events"][0]["data"]["stream"], "a");
  EXPECT_EQ(first["events"][1]["data"]["stream"], "b");
  EXPECT_EQ(first["events"][1]["data"]["data"], Plain::parse(body_of("b")));
  const std::string last = first["last_id"];
  EXPECT_NE(last.find(','), std::string::npos) << last;
  // Waiting on both: a change of b ends it, in b's envelope.
  RawConn c(proxy_->port());
  ASSERT_TRUE(c.send(request("/events?stream=a&stream=b&transport=long-poll&lastEventId=" + last)));
  EXPECT_FALSE(c.read_some(200ms));
  change("b", doc(21));
  ASSERT_TRUE(c.read_responses(1, 5s * kSlowdown)) << c.received();
  Plain body = Plain::parse(parse_responses(c.received())[0].body);
  ASSERT_EQ(body["events"].size(), 1u) << body.dump();
  EXPECT_EQ(body["events"][0]["data"]["stream"], "b");
  Plain unwrapped = Plain::object();
  unwrapped["event"] = body["events"][0]["event"];
  unwrapped["data"] = body["events"][0]["data"]["data"];
  Plain b = applied(first["events"][1]["data"]["data"], unwrapped);
  EXPECT_EQ(b, Plain::parse(doc(21)));
  // a's part of the position did not move.
  const std::string next = body["last_id"];
  EXPECT_EQ(next.substr(0, next.find(',')), last.substr(0, last.find(',')));
}

TEST_F(LongPollTest, AStatusEventReachesAWaitingLongPoll) {
  auto [last, document] = current("b");
  RawConn c(proxy_->port());
  ASSERT_TRUE(c.send(request("/events/b?transport=long-poll&lastEventId=" + last)));
  backend_->set_failure(500);
  auto r = http_->Post("/streams/b/poll?wait=true", {{"Authorization", "Bearer test-token"}}, "",
                       "text/plain");
  backend_->set_failure(0);
  ASSERT_TRUE(c.read_responses(1, 5s * kSlowdown)) << c.received();
  Plain body = Plain::parse(parse_responses(c.received())[0].body);
  ASSERT_FALSE(body["events"].empty()) << body.dump();
  EXPECT_EQ(body["events"][0]["event"], "status");
  EXPECT_EQ(body["events"][0]["data"]["state"], "stale");
  poll("b");  // recovered, for the other cases
}

TEST_F(LongPollTest, RefusalsAreTheSameAsOnSse) {
  auto r = http_->Get("/events/a?transport=smoke-signals");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = http_->Get("/events/nope?transport=long-poll");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = http_->Get("/events/a?transport=long-poll&format=no-such-format");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// Its own process: server.max_clients 1 and static tokens that a reload
// takes away.
TEST(LongPollLimitsTest, AWaitingLongPollIsAClientAndARevokedOneIsAnswered401) {
  FakeBackend backend;
  backend.set_body(doc(0));
  auto config = [&](const std::string& tokens) {
    return config_with("  - name: s\n    url: " + backend.url() + "\n    interval: 1h\n",
                       "auth:\n  tokens: [ " + tokens + " ]\n",
                       "  longpoll_timeout: 30s\n  max_clients: 1\n");
  };
  ProxyProcess proxy(config("\"token-a-0123456789abcdef\", \"token-b-0123456789abcdef\""));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  httplib::Client http("127.0.0.1", proxy.port());
  const httplib::Headers a = {{"Authorization", "Bearer token-a-0123456789abcdef"}};
  auto first = http.Get("/events/s?transport=long-poll", a);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const std::string last = Plain::parse(first->body)["last_id"];

  RawConn waiting(proxy.port());
  ASSERT_TRUE(waiting.send(request("/events/s?transport=long-poll&lastEventId=" + last,
                                   "Authorization: Bearer token-a-0123456789abcdef\r\n")));
  auto metric = [&](const std::string& name) {
    auto r = http.Get("/metrics", {{"Authorization", "Bearer test-token"}});
    return r ? metric_series(r->body, name) : -1.0;
  };
  ASSERT_TRUE(
      wait_until([&] { return metric("pollbridge_longpoll_waiting") == 1.0; }, 5s * kSlowdown));
  // The one client allowed is the waiting long-poll.
  auto refused = http.Get("/events/s?transport=long-poll", a);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);

  // A reload that no longer knows token a answers the waiting request 401.
  { std::ofstream(proxy.config_path()) << config("\"token-b-0123456789abcdef\""); }
  auto reloaded =
      http.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "text/plain");
  ASSERT_TRUE(reloaded);
  ASSERT_EQ(reloaded->status, 200) << reloaded->body;
  ASSERT_TRUE(waiting.read_responses(1, 3s * kSlowdown)) << waiting.received();
  EXPECT_EQ(parse_responses(waiting.received())[0].status, 401) << waiting.received();
  EXPECT_TRUE(
      wait_until([&] { return metric("pollbridge_longpoll_waiting") == 0.0; }, 5s * kSlowdown));

  // A client that leaves while it waits gives its place back at once.
  {
    RawConn gone(proxy.port());
    ASSERT_TRUE(gone.send(request("/events/s?transport=long-poll&lastEventId=" + last,
                                  "Authorization: Bearer token-b-0123456789abcdef\r\n")));
    ASSERT_TRUE(
        wait_until([&] { return metric("pollbridge_longpoll_waiting") == 1.0; }, 5s * kSlowdown));
  }
  EXPECT_TRUE(
      wait_until([&] { return metric("pollbridge_longpoll_waiting") == 0.0; }, 5s * kSlowdown));
  auto again = http.Get("/events/s?transport=long-poll",
                        {{"Authorization", "Bearer token-b-0123456789abcdef"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
