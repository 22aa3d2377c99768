// ctest-labels: threaded
// Parameterized streams, multiplexed connections, idle polling, items mode,
// immediate polls and number fidelity, end to end through the real binary.
#include <httplib.h>

#include <gtest/gtest.h>

#include "diff/json_patch.h"
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

class StreamFeaturesTest : public ::testing::Test {
 protected:
  void start(const std::string& yaml) {
    proxy_ = std::make_unique<ProxyProcess>(yaml);
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", proxy_->port());
  }
  std::unique_ptr<SseClient> connect(const std::string& target, const SseClient::Headers& h = {}) {
    return std::make_unique<SseClient>(proxy_->port(), target, h);
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(StreamFeaturesTest, ParameterizedStreamsShareOneInstancePerParameterSet) {
  backend_.set_handler([](const httplib::Request& req, httplib::Response& res) {
    res.set_content("{\"customer\":\"" + req.get_param_value("customer") + "\"}",
                    "application/json");
  });
  start(
      config_with("  - name: orders\n"
                  "    path: /events/orders/{customer}\n"
                  "    url: " +
                  backend_.url("/orders?customer={customer}") +
                  "\n"
                  "    params: { customer: \"^[0-9a-z ]{1,12}$\" }\n"
                  "    interval: 200ms\n"
                  "    max_instances: 2\n"));
  auto a1 = connect("/events/orders/42");
  auto a2 = connect("/events/orders/42");
  auto b = connect("/events/orders/a%20b");
  auto e1 = a1->next(), e2 = a2->next(), e3 = b->next();
  ASSERT_TRUE(e1 && e2 && e3);
  EXPECT_EQ(e1->data, R"({"customer":"42"})");
  EXPECT_EQ(e2->id, e1->id) << "same instance, same ids";
  EXPECT_EQ(e3->data, R"({"customer":"a b"})") << "value is URL-encoded upstream";
  bool encoded = false;
  for (const auto& r : backend_.seen()) encoded = encoded || r.query == "customer=a b";
  EXPECT_TRUE(encoded);
  // Two clients on one parameter set: one poll per interval, not two.
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);  // a measurement window: at most so many polls in it
  std::size_t n42 = 0;
  for (const auto& r : backend_.seen()) n42 += r.at >= t0 && r.query == "customer=42";
  EXPECT_GE(n42, 3u);
  EXPECT_LE(n42, 6u);
  // Invalid values are refused before anything is polled.
  auto bad = http_->Get("/events/orders/x;drop");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("does not match"), std::string::npos);
  auto toolong = http_->Get("/events/orders/1234567890123");
  EXPECT_EQ(toolong->status, 400);
  // The number of live instances is capped.
  auto third = http_->Get("/events/orders/7");
  EXPECT_EQ(third->status, 503);
  EXPECT_NE(third->body.find("max_instances"), std::string::npos);
  // The instance's document is served by its address.
  EXPECT_EQ(http_->Get("/streams/orders/42")->body, R"({"customer":"42"})");
}

TEST_F(StreamFeaturesTest, SeveralStreamsOnOneConnectionWithCompositeResume) {
  backend_.set_body(padded(R"({"a":0})"), "/a");
  backend_.set_body(padded(R"({"b":0})"), "/b");
  start(config_with("  - name: a\n    url: " + backend_.url("/a") +
                    "\n    interval: 100ms\n"
                    "  - name: b\n    url: " +
                    backend_.url("/b") + "\n    interval: 100ms\n"));
  // Both documents exist before connecting: the snapshots then come in
  // request order (otherwise each arrives when its first poll lands).
  ASSERT_TRUE(wait_until([&] {
    return http_->Get("/streams/a")->status == 200 && http_->Get("/streams/b")->status == 200;
  }));
  auto c = connect("/events?stream=a&stream=b");
  ASSERT_EQ(c->status(), 200);
  auto s1 = c->next(), s2 = c->next();
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(s1->type, "snapshot");
  EXPECT_EQ(json::dump(json::parse(s1->data)),
            R"({"stream":"a","data":)" + padded(R"({"a":0})") + "}");
  EXPECT_EQ(json::dump(json::parse(s2->data)),
            R"({"stream":"b","data":)" + padded(R"({"b":0})") + "}");
  std::string resume = s2->id;
  EXPECT_NE(resume.find(','), std::string::npos) << "composite id: " << resume;
  backend_.set_body(padded(R"({"b":1})"), "/b");
  auto p = c->next();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "patch");
  EXPECT_EQ(json::parse(p->data)["stream"], "b");
  c->close();
  // Missed events of both streams come back on one resume.
  auto watcher = connect("/events?stream=a&stream=b", {{"Last-Event-ID", p->id}});
  backend_.set_body(padded(R"({"a":2})"), "/a");
  auto w1 = watcher->next();
  ASSERT_TRUE(w1);
  backend_.set_body(padded(R"({"b":2})"), "/b");
  auto w2 = watcher->next();
  ASSERT_TRUE(w2);
  auto r = connect("/events?stream=a&stream=b", {{"Last-Event-ID", resume}});
  auto evs = r->take(3);
  ASSERT_EQ(evs.size(), 3u);
  // The replay is grouped per stream (each in its own order): a's missed
  // change, then b's two.
  std::vector<std::string> got;
  for (const auto& e : evs) got.push_back(json::dump(json::parse(e.data)));
  EXPECT_EQ(got[0], json::dump(json::parse(w1->data)));
  EXPECT_EQ(got[1], json::dump(json::parse(p->data)));
  EXPECT_EQ(got[2], json::dump(json::parse(w2->data)));
  EXPECT_EQ(evs[2].id, w2->id) << "ends at the same composite id as live clients";
  EXPECT_FALSE(r->next(300ms));
  // Too many streams or none is a 400; an unknown one a 404. (A repeated
  // identical stream=a is folded into one by the query parser.)
  std::string many = "/events?stream=a";
  for (int i = 0; i < 40; ++i) many += "&stream=x" + std::to_string(i);
  EXPECT_EQ(http_->Get(many)->status, 400);
  EXPECT_EQ(http_->Get("/events?stream=a&stream=zz")->status, 404);
  EXPECT_EQ(http_->Get("/events")->status, 400);
}

TEST_F(StreamFeaturesTest, IdleStreamsStopPollingAndTheFirstClientRestartsThem) {
  backend_.set_body(padded(R"({"v":1})"));
  start(config_with("  - name: s\n    url: " + backend_.url() +
                    "\n    interval: 100ms\n    idle: stop\n    linger: 300ms\n"));
  // Nobody listens: polling stops after the linger.
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http_->Get("/streams");
        return r && json::parse(r->body)["streams"][0]["polling"] == false;
      },
      5s));
  std::size_t before = backend_.requests();
  std::this_thread::sleep_for(600ms);  // asserts that nothing happens over a period
  EXPECT_EQ(backend_.requests(), before) << "no polls while idle";
  // The last document is still served, with its age.
  auto doc = http_->Get("/streams/s");
  EXPECT_EQ(doc->status, 200);
  EXPECT_EQ(doc->body, padded(R"({"v":1})"));
  EXPECT_TRUE(doc->has_header("Age"));
  // A client wakes it up at once.
  backend_.set_body(padded(R"({"v":2})"));
  auto c = connect("/events/s");
  auto snap = c->next();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->data, padded(R"({"v":1})"));
  auto patch = c->next(2s);
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->type, "patch");
  EXPECT_GT(backend_.requests(), before);
}

TEST_F(StreamFeaturesTest, FirstPollsOfManyStreamsAreSpreadOut) {
  backend_.set_body(R"({"v":1})");
  std::string streams;
  for (int i = 0; i < 20; ++i) {
    streams += "  - name: s" + std::to_string(i) +
               "\n    url: " + backend_.url("/doc?n=" + std::to_string(i)) + "\n    interval: 1s\n";
  }
  start(config_with(streams));
  ASSERT_TRUE(wait_until([&] { return backend_.requests() >= 20; }, 5s));
  auto seen = backend_.seen();
  auto first = seen.front().at, last = seen.front().at;
  for (std::size_t i = 0; i < 20; ++i) {
    first = std::min(first, seen[i].at);
    last = std::max(last, seen[i].at);
  }
  // Uniform over a second: 20 polls inside 200 ms would be a 1-in-10^12 event.
  EXPECT_GT(last - first, 200ms);
}

TEST_F(StreamFeaturesTest, KeepPolicyPollsWithoutClients) {
  backend_.set_body(R"({"v":1})");
  start(config_with("  - name: s\n    url: " + backend_.url() +
                    "\n    interval: 100ms\n    idle: keep\n    linger: 100ms\n"));
  // Past the linger (three polls at 100 ms are 200 ms after the first), and
  // still polling without a client.
  ASSERT_TRUE(wait_until([&] { return backend_.requests() >= 3; }, 5s));
  std::size_t before = backend_.requests();
  EXPECT_TRUE(wait_until([&] { return backend_.requests() >= before + 2; }, 5s));
}

TEST_F(StreamFeaturesTest, ItemsModeEmitsOneEventPerChangedElement) {
  // Element 9 never changes (and gives no event).
  const std::string still = R"({"id":9,"note":")" + std::string(80, '.') + R"("})";
  backend_.set_body(R"({"data":{"list":[{"id":1,"s":"new"},{"id":2,"s":"new"},{"id":3,"s":"x"},)" +
                    still + "]}}");
  start(config_with("  - name: s\n    url: " + backend_.url() +
                    "\n    interval: 100ms\n    diff: items\n    key: id\n"
                    "    select: /data/list\n"));
  auto c = connect("/events/s");
  auto snap = c->next();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->data,
            R"([{"id":1,"s":"new"},{"id":2,"s":"new"},{"id":3,"s":"x"},)" + still + "]");
  backend_.set_body(R"({"data":{"list":[{"id":2,"s":"done"},{"id":3,"s":"x"},{"id":4,"s":"new"},)" +
                    still + "]}}");
  auto evs = c->take(3);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[0].type, "deleted");
  EXPECT_EQ(evs[0].data, R"({"key":1})");
  EXPECT_EQ(evs[1].type, "updated");
  Json u = json::parse(evs[1].data);
  EXPECT_EQ(u["key"], 2);
  EXPECT_EQ(json::dump(u["value"]), R"({"id":2,"s":"done"})");
  EXPECT_EQ(json::dump(u["patch"]), R"([{"op":"replace","path":"/s","value":"done"}])");
  EXPECT_EQ(evs[2].type, "created");
  EXPECT_EQ(json::dump(json::parse(evs[2].data)["value"]), R"({"id":4,"s":"new"})");
  EXPECT_FALSE(c->next(300ms)) << "elements 3 and 9 did not change";
  // Ids are distinct and increasing.
  EXPECT_NE(evs[0].id, evs[1].id);
  EXPECT_NE(evs[1].id, evs[2].id);
}

TEST_F(StreamFeaturesTest, ItemsModeKeepsItemEventsOnAShortListNotOnAPathologicalChange) {
  // Issue 18 item 13: the created event is larger than the whole 2-element
  // list, and used to be folded into a snapshot; a client listening for
  // created saw nothing while the list was short.
  auto list = [](int v) {
    std::string out = "[";
    for (int i = 0; i < 3000; ++i) {
      out +=
          (i ? ",{\"id\":" : "{\"id\":") + std::to_string(i) + ",\"v\":" + std::to_string(v) + "}";
    }
    return out + "]";
  };
  backend_.set_body(R"([{"id":1},{"id":2}])", "/short");
  backend_.set_body(list(0), "/long");
  const std::string items = "\n    interval: 100ms\n    diff: items\n    key: id\n";
  start(config_with("  - name: short\n    url: " + backend_.url("/short") + items +
                    "  - name: long\n    url: " + backend_.url("/long") + items));
  auto c = connect("/events/short");
  auto l = connect("/events/long");
  ASSERT_EQ(c->status(), 200);
  ASSERT_EQ(l->status(), 200);
  auto snap = c->next();
  auto long_snap = l->next();
  ASSERT_TRUE(snap && long_snap);
  EXPECT_EQ(snap->type, "snapshot");
  EXPECT_EQ(long_snap->data, list(0));
  backend_.set_body(R"([{"id":1},{"id":2},{"id":3,"what":"a new order"}])", "/short");
  auto ev = c->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "created") << ev->data;
  EXPECT_EQ(ev->data, R"({"key":3,"index":2,"value":{"id":3,"what":"a new order"}})");
  // Pathological: 3000 tiny elements all rewritten, each updated event about
  // 6 times its element, past 4 x the document + 4 KiB: one snapshot.
  backend_.set_body(list(1), "/long");
  auto rewrite = l->next();
  ASSERT_TRUE(rewrite);
  EXPECT_EQ(rewrite->type, "snapshot");
  EXPECT_EQ(rewrite->data, list(1));
  EXPECT_FALSE(l->next(300ms)) << "one event for the whole change";
}

TEST_F(StreamFeaturesTest, KeyAwarePatchIsOneOperationForOneInsertInALargeArray) {
  std::string list;
  for (int i = 0; i < 1000; ++i) list += (i ? "," : "") + ("{\"id\":" + std::to_string(i) + "}");
  backend_.set_body("{\"items\":[" + list + "]}");
  start(config_with("  - name: s\n    url: " + backend_.url() +
                    "\n    interval: 100ms\n    key: id\n"));
  auto c = connect("/events/s");
  auto snap = c->next();
  ASSERT_TRUE(snap);
  std::string inserted = "{\"items\":[{\"id\":-1}," + list + "]}";
  backend_.set_body(inserted);
  auto ev = c->next();
  ASSERT_TRUE(ev);
  Json patch = json::parse(ev->data);
  EXPECT_EQ(patch.size(), 1u) << ev->data.substr(0, 300);
  Json doc = json::parse(snap->data);
  diff::apply_json_patch(doc, patch);
  EXPECT_TRUE(json::equal(doc, json::parse(inserted)));
}

TEST_F(StreamFeaturesTest, NumbersRoundTripByteForByte) {
  const std::string body =
      R"({"price":1.10,"big":123456789012345678901234567890,"u64":18446744073709551615,)"
      R"("exp":1e3,"neg":-0.000,"E":2.5E-7})";
  backend_.set_body(body);
  start(config_with("  - name: s\n    url: " + backend_.url() + "\n    interval: 100ms\n"));
  auto c = connect("/events/s");
  auto snap = c->next();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->data, body);
  backend_.set_body(
      R"({"price":1.10,"big":123456789012345678901234567891,"u64":18446744073709551615,)"
      R"("exp":1e3,"neg":-0.000,"E":2.5E-7})");
  auto ev = c->next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->data, R"([{"op":"replace","path":"/big","value":123456789012345678901234567891}])");
  EXPECT_EQ(http_->Get("/streams/s")->body.find("1.10"), 9u);
}

TEST_F(StreamFeaturesTest, ImmediatePollNeedsTheAdminToken) {
  backend_.set_body(padded(R"({"v":1})"));
  start(config_with("  - name: s\n    url: " + backend_.url() + "\n    interval: 1h\n"));
  auto c = connect("/events/s");
  ASSERT_TRUE(c->next());
  backend_.set_body(padded(R"({"v":2})"));
  EXPECT_FALSE(c->next(300ms)) << "interval is an hour";
  EXPECT_EQ(http_->Post("/streams/s/poll")->status, 401);
  EXPECT_EQ(http_->Post("/streams/s/poll", {{"Authorization", "Bearer wrong"}}, "", "")->status,
            401);
  auto r = http_->Post("/streams/s/poll", {{"Authorization", "Bearer test-token"}}, "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  auto ev = c->next(2s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch");
  EXPECT_EQ(
      http_->Post("/streams/nope/poll", {{"Authorization", "Bearer test-token"}}, "", "")->status,
      404);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
