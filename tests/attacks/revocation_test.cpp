// ctest-labels: threaded
// Revoked credentials stop streaming (docs/security.md, "Revocation"):
// every reload decides each open SSE session again under the new policy,
// and one no longer admitted is closed within a second, logged with the
// reason `revoked`, while every other session goes on. Also: a JWT whose
// exp is past year 2262 (what a nanosecond clock holds) keeps its session
// open instead of overflowing into an immediate "expired".
//
// Through the real binary; reloads through POST /admin/reload (it answers
// once the sessions have been judged); tokens made by OpenSSL directly
// (tests/support/jwt_forge).
#include <httplib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/jwt_forge.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kSecret1 = "0123456789abcdef0123456789abcdef-one";
const std::string kSecret2 = "0123456789abcdef0123456789abcdef-two";
const std::string kStaticA = "static-token-alice-0123456789";
const std::string kStaticB = "static-token-bob-0123456789ab";
constexpr const char* kHs = R"({"alg":"HS256","typ":"JWT"})";
// How soon after the reload answered a revoked session must be closed.
constexpr auto kRevokeBound = std::chrono::milliseconds(1000 * kSlowdown);

std::string jwt(const std::string& secret, Json claims) {
  if (!claims.contains("exp")) claims["exp"] = unix_now_s() + 300;
  claims["iat"] = unix_now_s() - 5;
  claims["sub"] = "user";
  return sign_hmac("HS256", secret, kHs, claims.dump());
}

SseClient::Headers bearer(const std::string& t) {
  return {{"Authorization", "Bearer " + t}};
}

std::string doc(int v) {
  return "{\"v\":" + std::to_string(v) + ",\"pad\":\"" + std::string(64, 'p') + "\"}";
}

class RevocationAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_body(doc(0), "/a");
    backend_.set_body(doc(0), "/b");
  }

  // The same streams every time (a reload keeps them and their sessions):
  // only the auth section changes.
  std::string config(const std::vector<std::string>& tokens,
                     const std::vector<std::string>& secrets,
                     const std::string& streams_claim = "streams") {
    std::string t, k;
    for (const auto& x : tokens) t += (t.empty() ? "\"" : ", \"") + x + "\"";
    for (const auto& s : secrets)
      k += (k.empty() ? "" : ", ") + ("{ alg: HS256, secret: \"" + s + "\" }");
    return "server:\n  listen: \"127.0.0.1:0\"\n  heartbeat: 1s\n  admin_token: test-token\n"
           "state: { dir: \"\" }\n"
           "auth:\n  jwt:\n    keys: [ " +
           k + " ]\n    leeway: 0s\n    streams_claim: " + streams_claim + "\n" +
           (t.empty() ? "" : "  tokens: [ " + t + " ]\n") +
           "streams:\n"
           "  - name: a\n    url: " +
           backend_.url("/a") +
           "\n    interval: 50ms\n"
           "  - name: b\n    url: " +
           backend_.url("/b") + "\n    interval: 50ms\n";
  }
  void start(const std::string& yaml) {
    proxy_ = std::make_unique<ProxyProcess>(yaml, std::vector<std::string>{"--log-format", "json"});
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  // Rewrites the config and reloads it; returns once the reload answered.
  void reload(const std::string& yaml) {
    { std::ofstream(proxy_->config_path()) << yaml; }
    httplib::Client c("127.0.0.1", proxy_->port());
    c.set_read_timeout(20, 0);
    auto r = c.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    Json body = Json::parse(r->body);
    ASSERT_TRUE(body["changed"].empty()) << "the streams must be kept: " << r->body;
  }
  std::unique_ptr<SseClient> open(const std::string& target, const std::string& token) {
    auto c = std::make_unique<SseClient>(proxy_->port(), target, bearer(token));
    EXPECT_EQ(c->status(), 200) << target;
    auto first = c->next();
    EXPECT_TRUE(first) << target;
    return c;
  }
  // A session still open gets the next change.
  void expect_receives(SseClient& c, int v) {
    backend_.set_body(doc(v), "/a");
    bool seen = false;
    for (int i = 0; i < 20 && !seen && !c.eof(); ++i) {
      auto e = c.next(500ms * kSlowdown);
      seen = e && e->data.find(std::to_string(v)) != std::string::npos;
    }
    EXPECT_TRUE(seen) << "a session the reload still admits keeps receiving events";
    EXPECT_FALSE(c.eof());
  }
  // The access log's "client disconnected" lines with this reason.
  std::size_t disconnected(const std::string& reason) const {
    std::size_t n = 0;
    std::istringstream in(proxy_->stderr_text());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] != '{') continue;
      Json j = Json::parse(line, nullptr, false);
      n += j.is_object() && j["msg"] == "client disconnected" && j["reason"] == reason;
    }
    return n;
  }
  int status_of(const std::string& target, const std::string& token) {
    httplib::Client c("127.0.0.1", proxy_->port());
    c.set_read_timeout(20, 0);
    auto r = c.Get(target, {{"Authorization", "Bearer " + token}});
    return r ? r->status : -1;
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(RevocationAttackTest, AStaticTokenRemovedByReloadClosesItsOpenSessions) {
  start(config({kStaticA, kStaticB}, {kSecret1}));
  auto plain = open("/events/a", kStaticA);
  auto mux = open("/events?stream=a&stream=b", kStaticA);
  auto kept = open("/events/a", kStaticB);
  reload(config({kStaticB}, {kSecret1}));
  // Both of A's sessions, plain and multiplexed, end within a second.
  EXPECT_TRUE(plain->wait_closed(kRevokeBound)) << "a revoked token kept streaming";
  EXPECT_TRUE(mux->wait_closed(kRevokeBound)) << "a revoked token kept streaming (multiplexed)";
  // B's token is still listed: untouched.
  expect_receives(*kept, 1);
  // The access log says why.
  EXPECT_TRUE(wait_until([&] { return disconnected("revoked") == 2; }, 5s))
      << proxy_->stderr_text();
  EXPECT_EQ(proxy_->stderr_text().find(kStaticA), std::string::npos);
  // And the token no longer opens anything.
  EXPECT_EQ(status_of("/events/a", kStaticA), 401);
}

TEST_F(RevocationAttackTest, AJwtKeyRemovedByReloadClosesItsSessions) {
  start(config({}, {kSecret1, kSecret2}));
  auto old_key = open("/events/a", jwt(kSecret1, {{"streams", {"a", "b"}}}));
  auto old_mux = open("/events?stream=b&stream=a", jwt(kSecret1, {{"streams", "*"}}));
  auto new_key = open("/events/a", jwt(kSecret2, {{"streams", {"a"}}}));
  reload(config({}, {kSecret2}));
  EXPECT_TRUE(old_key->wait_closed(kRevokeBound)) << "a token of a removed key kept streaming";
  EXPECT_TRUE(old_mux->wait_closed(kRevokeBound));
  expect_receives(*new_key, 2);
  EXPECT_TRUE(wait_until([&] { return disconnected("revoked") == 2; }, 5s))
      << proxy_->stderr_text();
}

TEST_F(RevocationAttackTest, AGrantNarrowedByReloadClosesTheSession) {
  start(config({}, {kSecret1}));
  // Read by "streams" now, by "scope" after the reload: one token's grant
  // no longer covers stream a, the other's still does.
  auto narrowed = open("/events/a", jwt(kSecret1, {{"streams", {"a"}}, {"scope", "b"}}));
  auto narrowed_mux =
      open("/events?stream=a&stream=b", jwt(kSecret1, {{"streams", "a b"}, {"scope", "b"}}));
  auto still = open("/events/a", jwt(kSecret1, {{"streams", {"a"}}, {"scope", "a b"}}));
  reload(config({}, {kSecret1}, "scope"));
  EXPECT_TRUE(narrowed->wait_closed(kRevokeBound)) << "a stream no longer granted kept streaming";
  EXPECT_TRUE(narrowed_mux->wait_closed(kRevokeBound));
  expect_receives(*still, 3);
  EXPECT_TRUE(wait_until([&] { return disconnected("revoked") == 2; }, 5s))
      << proxy_->stderr_text();
}

TEST_F(RevocationAttackTest, AJwtValidUntilYear9999KeepsItsSessionOpen) {
  start(config({}, {kSecret1}));
  // 9999-12-31T23:59:59Z: past what a nanosecond std::chrono clock holds.
  // Before the clamp this overflowed and closed the session as expired
  // within the first tick (65 ms), and the client reconnected in a loop.
  auto c = open("/events/a", jwt(kSecret1, {{"streams", {"a"}}, {"exp", 253402300799LL}}));
  EXPECT_FALSE(c->wait_closed(2s)) << "closed as expired: the exp overflowed";
  expect_receives(*c, 4);
  EXPECT_EQ(disconnected("expired"), 0u);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
