// ctest-labels: threaded
// Per-user streams through the real binary (docs/security.md): a stream
// with forward_headers is polled with each client's own values, clients
// with the same values share one poll and one history, different values
// never share anything, and auth: upstream admits a client only after the
// upstream's first 2xx for its values.
#include <httplib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// The legacy API: /mine answers the session's own document, 403 for a
// session it refuses, 401 without one.
class PerUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_handler([this](const httplib::Request& req, httplib::Response& res) {
      std::string cookie = req.get_header_value("Cookie");
      std::string user;
      if (cookie.find("session=alice") != std::string::npos) user = "alice";
      if (cookie.find("session=bob") != std::string::npos) user = "bob";
      if (cookie.find("session=mallory") != std::string::npos) user = "mallory";
      std::lock_guard<std::mutex> lock(mu_);
      if (user.empty() || refused_.count(user)) {
        res.status = user.empty() ? 401 : 403;
        res.set_content("{\"error\":\"no\"}", "application/json");
        return;
      }
      ++polls_[user];
      res.set_content("{\"user\":\"" + user + "\",\"orders\":" + std::to_string(orders_[user]) +
                          ",\"pad\":\"" + std::string(64, 'p') + "\"}",
                      "application/json");
    });
    refused_.insert("mallory");
  }
  std::string config(const std::string& stream_extra = "") {
    return "server:\n  listen: \"127.0.0.1:0\"\n  heartbeat: 1s\n"
           "state: { dir: \"\" }\n"
           "auth:\n  tokens: [\"static-read-token-0123456789\"]\n  cookie: pb_token\n"
           "streams:\n  - name: mine\n    url: " +
           backend_.url("/mine") +
           "\n    forward_headers: [Cookie]\n    auth: upstream\n    interval: 200ms\n" +
           stream_extra;
  }
  void start(const std::string& yaml) {
    proxy_ = std::make_unique<ProxyProcess>(yaml);
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  static SseClient::Headers cookie(const std::string& v) { return {{"Cookie", v}}; }
  int polls(const std::string& user) {
    std::lock_guard<std::mutex> lock(mu_);
    return polls_[user];
  }
  void set_orders(const std::string& user, int n) {
    std::lock_guard<std::mutex> lock(mu_);
    orders_[user] = n;
  }
  void refuse(const std::string& user) {
    std::lock_guard<std::mutex> lock(mu_);
    refused_.insert(user);
  }

  std::mutex mu_;
  std::map<std::string, int> polls_, orders_;
  std::set<std::string> refused_;
  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(PerUserTest, UsersNeverSeeEachOthersDocumentsAndSharePollsOnlyWithThemselves) {
  start(config());
  SseClient alice1(proxy_->port(), "/events/mine", cookie("session=alice"));
  SseClient alice2(proxy_->port(), "/events/mine", cookie("theme=dark; session=alice"));
  SseClient bob(proxy_->port(), "/events/mine", cookie("session=bob"));
  ASSERT_EQ(alice1.status(), 200);
  ASSERT_EQ(bob.status(), 200);
  auto a = alice1.next();
  auto b = bob.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Json::parse(a->data)["user"], "alice");
  EXPECT_EQ(Json::parse(b->data)["user"], "bob");
  EXPECT_NE(a->id, b->id) << "no shared id sequence";
  // "theme=dark; session=alice" is another Cookie value: another instance.
  ASSERT_EQ(alice2.status(), 200);
  auto a2 = alice2.next();
  ASSERT_TRUE(a2);
  EXPECT_EQ(Json::parse(a2->data)["user"], "alice");

  // Two clients with the very same values share one poll: the upstream sees
  // one request per interval for them, not one per client.
  SseClient alice3(proxy_->port(), "/events/mine", cookie("session=alice"));
  ASSERT_EQ(alice3.status(), 200);
  auto a3 = alice3.next();
  ASSERT_TRUE(a3);
  EXPECT_EQ(a3->id, a->id) << "the same instance and history";
  int before = polls("alice");
  std::this_thread::sleep_for(2s);  // a measurement window, not synchronization
  int during = polls("alice") - before;
  // Two instances for alice (two Cookie values) at 200 ms: about 20 polls
  // in 2 s, never one per client (30).
  EXPECT_LE(during, 26) << during;
  EXPECT_GE(during, 8) << during;

  // A change reaches only its user.
  set_orders("bob", 7);
  auto change = bob.next(3s);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->type, "patch");
  auto quiet = alice1.next(700ms);
  EXPECT_TRUE(!quiet || quiet->type != "patch") << "alice must not get bob's change";

  // GET /streams/mine: the caller's own document, never for shared caches;
  // GET /streams lists no per-user instance.
  httplib::Client http("127.0.0.1", proxy_->port());
  auto doc = http.Get("/streams/mine", {{"Cookie", "session=bob"}});
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  EXPECT_EQ(Json::parse(doc->body)["user"], "bob");
  EXPECT_EQ(doc->get_header_value("Cache-Control"), "private, no-cache");
  auto list = http.Get("/streams", {{"Authorization", "Bearer static-read-token-0123456789"}});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->body.find("alice"), std::string::npos) << list->body;
  EXPECT_EQ(list->body.find("\"mine"), std::string::npos) << list->body;
}

TEST_F(PerUserTest, TheUpstreamDecidesWhoIsAdmitted) {
  start(config());
  httplib::Client http("127.0.0.1", proxy_->port());
  http.set_read_timeout(5, 0);
  // No forwarded credential at all: refused before anything is polled.
  auto none = http.Get("/events/mine");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  // The upstream refuses mallory: the same status, never a document.
  auto m = http.Get("/events/mine", {{"Cookie", "session=mallory"}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 403);
  EXPECT_EQ(m->body.find("mallory"), std::string::npos);
  EXPECT_EQ(m->body.find("orders"), std::string::npos);
  EXPECT_NE(m->get_header_value("Content-Type").find("application/json"), std::string::npos);
  // Unknown session: the upstream's 401.
  auto u = http.Get("/events/mine", {{"Cookie", "session=nobody"}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, 401);
  EXPECT_FALSE(u->get_header_value("WWW-Authenticate").empty());
}

TEST_F(PerUserTest, AUserTheUpstreamStartsRefusingGetsAStatusAndIsClosed) {
  start(config());
  SseClient alice(proxy_->port(), "/events/mine", cookie("session=alice"));
  ASSERT_EQ(alice.status(), 200);
  ASSERT_TRUE(alice.next());
  SseClient bob(proxy_->port(), "/events/mine", cookie("session=bob"));
  ASSERT_EQ(bob.status(), 200);
  ASSERT_TRUE(bob.next());
  refuse("alice");
  bool saw_status = false;
  ASSERT_TRUE(wait_until(
      [&] {
        auto ev = alice.next(300ms);
        if (ev && ev->type == "status") saw_status = true;
        return alice.eof();
      },
      10s));
  EXPECT_TRUE(saw_status);
  // Bob is not disturbed, and alice is now refused at the door.
  EXPECT_FALSE(bob.eof());
  set_orders("bob", 3);
  auto change = bob.next(3s);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->type, "patch");
  httplib::Client http("127.0.0.1", proxy_->port());
  auto again = http.Get("/events/mine", {{"Cookie", "session=alice"}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 403);
}

TEST_F(PerUserTest, PollbridgesOwnTokenCookieIsNeverForwarded) {
  start(config());
  SseClient alice(proxy_->port(), "/events/mine",
                  cookie("pb_token=static-read-token-0123456789; session=alice"));
  ASSERT_EQ(alice.status(), 200);
  ASSERT_TRUE(alice.next());
  for (const auto& r : backend_.seen()) {
    std::string c;
    for (const auto& [k, v] : r.headers) {
      if (k == "Cookie") c = v;
    }
    EXPECT_EQ(c.find("pb_token"), std::string::npos) << c;
    EXPECT_EQ(c.find("static-read-token"), std::string::npos) << c;
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
