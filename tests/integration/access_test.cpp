// ctest-labels: threaded
// Access control through the real binary (docs/security.md): every read of
// stream data checked the same way, with the exact status and challenge,
// tokens never echoed, the query token removed before anything sees it,
// expiry closing an open stream, claim binding, the per-client instance
// cap, and the policy reloaded on SIGHUP. Tokens are made by OpenSSL
// directly (tests/support/jwt_forge), independent of the verifier.
#include <httplib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

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

const std::string kSecret = "0123456789abcdef0123456789abcdef-e2e";
const std::string kStatic = "static-read-token-0123456789";
constexpr const char* kHs = R"({"alg":"HS256","typ":"JWT"})";

Json claims(Json streams, long long exp_in = 300, std::string sub = "42") {
  return Json{{"sub", sub},
              {"iss", "https://id.test"},
              {"aud", "pollbridge"},
              {"exp", unix_now_s() + exp_in},
              {"iat", unix_now_s() - 5},
              {"streams", std::move(streams)}};
}

std::string token(const Json& c, const std::string& secret = kSecret) {
  return sign_hmac("HS256", secret, kHs, c.dump());
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Big enough that a change is a patch (no event is larger than its snapshot).
    backend_.set_body(doc(0), "/a");
    backend_.set_body(doc(0), "/b");
    backend_.set_body(doc(0), "/open");
  }
  static std::string doc(int v) {
    return "{\"v\":" + std::to_string(v) + ",\"pad\":\"" + std::string(64, 'p') + "\"}";
  }
  std::string config(const std::string& extra_auth = "", const std::string& extra_streams = "") {
    return "server:\n  listen: \"127.0.0.1:0\"\n  heartbeat: 1s\n  admin_token: test-token\n"
           "state: { dir: \"\" }\n"
           "auth:\n  jwt:\n    keys: [ { alg: HS256, secret: \"" +
           kSecret +
           "\" } ]\n    issuer: https://id.test\n    audience: pollbridge\n    leeway: 0s\n"
           "  tokens: [\"" +
           kStatic + "\"]\n  cookie: pb_token\n  query_param: access_token\n" + extra_auth +
           "streams:\n"
           "  - name: open\n    url: " +
           backend_.url("/open") +
           "\n    auth: none\n    interval: 100ms\n"
           "  - name: a\n    url: " +
           backend_.url("/a") +
           "\n    interval: 100ms\n"
           "  - name: b\n    url: " +
           backend_.url("/b") +
           "\n    interval: 100ms\n"
           "  - name: customer\n    url: " +
           backend_.url("/c/{id}") +
           "\n    path: /events/customer/{id}\n    params: { id: \"[0-9]+\" }\n"
           "    bind: { id: sub }\n    interval: 1h\n" +
           extra_streams;
  }
  void start(const std::string& yaml) {
    proxy_ = std::make_unique<ProxyProcess>(yaml);
    ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  }
  httplib::Result get(const std::string& target, httplib::Headers h = {}) {
    httplib::Client c("127.0.0.1", proxy_->port());
    c.set_read_timeout(20, 0);  // a loaded machine, not a bound under test
    c.set_connection_timeout(10, 0);
    return c.Get(target, h);
  }
  static httplib::Headers bearer(const std::string& t) {
    return {{"Authorization", "Bearer " + t}};
  }

  FakeBackend backend_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(AccessTest, EveryReadPathRefusesWithoutAValidCredential) {
  start(config());
  for (const char* target : {"/events/a", "/events?stream=a", "/streams/a"}) {
    auto r = get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 401) << target;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"pollbridge\"") << target;
  }
  // A stream with auth: none is open to everyone.
  SseClient open(proxy_->port(), "/events/open");
  EXPECT_EQ(open.status(), 200);
}

TEST_F(AccessTest, BrokenTokensGet401WithTheirReasonAndAreNeverEchoed) {
  start(config());
  auto rsa = rsa_2048();
  Json good = claims({"a"});
  Json expired = claims({"a"}, -60);
  expired["iat"] = unix_now_s() - 120;  // issued before it expired
  Json future = good;
  future["nbf"] = unix_now_s() + 600;
  Json issuer = good;
  issuer["iss"] = "https://evil.test";
  Json audience = good;
  audience["aud"] = "someone-else";
  std::string valid = token(good);
  std::string tampered = valid;
  {
    // Same signature, another payload: streams "*".
    auto dot1 = valid.find('.');
    auto dot2 = valid.find('.', dot1 + 1);
    tampered = valid.substr(0, dot1 + 1) + b64u(claims({"*"}).dump()) + valid.substr(dot2);
  }
  struct Case {
    std::string name, token, error;
  } cases[] = {
      {"forged", token(good, "another-secret-that-is-long-enough!"), "invalid_token"},
      {"expired", token(expired), "invalid_token"},
      {"not yet valid", token(future), "invalid_token"},
      {"wrong issuer", token(issuer), "invalid_token"},
      {"wrong audience", token(audience), "invalid_token"},
      {"alg none", b64u(R"({"alg":"none","typ":"JWT"})") + "." + b64u(good.dump()) + ".",
       "invalid_token"},
      {"HS256 keyed with an RSA public key", sign_hmac("HS256", public_pem(rsa), kHs, good.dump()),
       "invalid_token"},
      {"tampered payload", tampered, "invalid_token"},
  };
  for (const auto& c : cases) {
    for (const char* target : {"/events/a", "/streams/a", "/events?stream=a"}) {
      auto r = get(target, bearer(c.token));
      ASSERT_TRUE(r) << c.name;
      EXPECT_EQ(r->status, 401) << c.name << " " << target;
      EXPECT_NE(r->get_header_value("WWW-Authenticate").find("error=\"" + c.error + "\""),
                std::string::npos)
          << c.name << ": " << r->get_header_value("WWW-Authenticate");
      EXPECT_EQ(r->body.find(c.token), std::string::npos) << c.name;
    }
  }
  // The valid one reads.
  auto ok = get("/streams/a", bearer(valid));
  ASSERT_TRUE(wait_until([&] {
    ok = get("/streams/a", bearer(valid));
    return ok && ok->status == 200;
  })) << (ok ? ok->status : -1);
  EXPECT_EQ(Json::parse(ok->body)["v"], 0);
  // Refusals are counted by reason; the tokens are nowhere in the output.
  auto m = get("/metrics", bearer("test-token"));  // protected streams: the admin token
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("pollbridge_auth_failures_total{reason=\"expired\"} 3"), std::string::npos)
      << m->body;
  for (const auto& c : cases) {
    EXPECT_EQ(m->body.find(c.token), std::string::npos);
    EXPECT_EQ(proxy_->stderr_text().find(c.token), std::string::npos) << c.name;
  }
}

TEST_F(AccessTest, ATokenForAIsRefusedOnBEverywhereAndAMuxWithBIsRefusedWhole) {
  start(config());
  std::string t = token(claims({"a"}));
  SseClient a(proxy_->port(), "/events/a", {{"Authorization", "Bearer " + t}});
  EXPECT_EQ(a.status(), 200);
  for (const char* target :
       {"/events/b", "/streams/b", "/events?stream=a&stream=b", "/events?stream=b&stream=a"}) {
    auto r = get(target, bearer(t));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << target;
    EXPECT_NE(r->get_header_value("WWW-Authenticate").find("error=\"insufficient_scope\""),
              std::string::npos);
    EXPECT_EQ(r->body.find("\"v\""), std::string::npos) << "no document in a refusal";
  }
  // A mux of streams the token covers, and one open stream, is admitted.
  SseClient mux(proxy_->port(), "/events?stream=a&stream=open", {{"Authorization", "Bearer " + t}});
  EXPECT_EQ(mux.status(), 200);
  // A static token reads everything.
  SseClient all(proxy_->port(), "/events?stream=a&stream=b",
                {{"Authorization", "Bearer " + kStatic}});
  EXPECT_EQ(all.status(), 200);
}

TEST_F(AccessTest, TheListingShowsOnlyWhatTheCallerMayRead) {
  start(config());
  auto names = [&](httplib::Headers h) {
    std::set<std::string> out;
    auto r = get("/streams", h);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->status : -1) << " " << (r ? r->body : "");
    if (!r || r->status != 200) return out;
    const Json body = Json::parse(r->body);
    for (const auto& s : body["streams"]) out.insert(s["name"].get<std::string>());
    return out;
  };
  EXPECT_EQ(names({}), (std::set<std::string>{"open"}));
  EXPECT_EQ(names(bearer(token(claims({"a"})))), (std::set<std::string>{"open", "a"}));
  EXPECT_EQ(names(bearer(kStatic)), (std::set<std::string>{"open", "a", "b"}));
}

TEST_F(AccessTest, TheQueryTokenIsRemovedBeforeAnythingSeesIt) {
  const std::string marker = "QUERYTOKENMARK";
  // A JWT whose text cannot appear by chance: its sub holds the marker.
  std::string t = token(claims({"a"}, 300, marker));
  start(config());
  // Also a refused one in the query: neither may show anywhere.
  std::string bad = token(claims({"a"}, 300, marker + "2"));  // does not cover b
  SseClient c(proxy_->port(), "/events/a?access_token=" + t + "&x=1");
  ASSERT_EQ(c.status(), 200) << proxy_->stderr_text();
  auto refused = get("/events/b?access_token=" + bad);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->body.find(bad), std::string::npos);
  auto list = get("/streams?access_token=" + t);
  ASSERT_TRUE(list);
  EXPECT_NE(list->body.find("\"a\""), std::string::npos) << "the query token authenticates";
  // Upstream requests never carry it either.
  ASSERT_TRUE(wait_until([&] { return backend_.requests() > 3; }));
  for (const auto& r : backend_.seen()) {
    EXPECT_EQ(r.query.find(t), std::string::npos);
    for (const auto& [k, v] : r.headers) EXPECT_EQ(v.find(t), std::string::npos) << k;
  }
  proxy_->signal(SIGTERM);
  proxy_->wait(10s);
  EXPECT_EQ(proxy_->stderr_text().find(t), std::string::npos);
  EXPECT_EQ(proxy_->stdout_text().find(t), std::string::npos);
  EXPECT_EQ(proxy_->stderr_text().find(bad), std::string::npos);
}

TEST_F(AccessTest, AnOpenStreamEndsWhenItsTokenExpires) {
  start(config());
  std::string t = token(claims({"a"}, 2));
  SseClient c(proxy_->port(), "/events/a", {{"Authorization", "Bearer " + t}});
  ASSERT_EQ(c.status(), 200);
  auto snap = c.next();
  ASSERT_TRUE(snap);
  const auto opened = std::chrono::steady_clock::now();
  // Heartbeats (1 s) keep coming until the token's exp; then the stream ends.
  ASSERT_TRUE(wait_until(
      [&] {
        c.next(200ms);
        return c.eof();
      },
      10s));
  auto lasted = std::chrono::steady_clock::now() - opened;
  EXPECT_LT(lasted, 5s);
  // Reconnecting with the same token is refused as expired; a fresh one resumes.
  auto again = get("/events/a", bearer(t));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  SseClient fresh(
      proxy_->port(), "/events/a",
      {{"Authorization", "Bearer " + token(claims({"a"}))}, {"Last-Event-ID", snap->id}});
  EXPECT_EQ(fresh.status(), 200);
}

TEST_F(AccessTest, ABoundParameterMustEqualTheClaim) {
  start(config());
  backend_.set_body(doc(42), "/c/42");
  std::string t = token(claims({"customer/*"}, 300, "42"));
  SseClient mine(proxy_->port(), "/events/customer/42", {{"Authorization", "Bearer " + t}});
  EXPECT_EQ(mine.status(), 200);
  auto other = get("/events/customer/43", bearer(t));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403);
  // Nothing was made or polled for the refused value.
  for (const auto& r : backend_.seen()) EXPECT_NE(r.path, "/c/43");
}

TEST_F(AccessTest, OneClientCannotTakeEveryInstance) {
  start(config("", "  - name: p\n    url: " + backend_.url("/p/{id}") +
                       "\n    path: /events/p/{id}\n    params: { id: \"[0-9]+\" }\n"
                       "    max_instances: 8\n    interval: 1h\n"));
  std::string alice = token(claims({"p/*"}, 300, "alice"));
  std::string bob = token(claims({"p/*"}, 300, "bob"));
  // A quarter of max_instances per subject by default: two.
  std::vector<std::unique_ptr<SseClient>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(
        std::make_unique<SseClient>(proxy_->port(), "/events/p/" + std::to_string(i),
                                    SseClient::Headers{{"Authorization", "Bearer " + alice}}));
    EXPECT_EQ(held.back()->status(), 200);
  }
  auto third = get("/events/p/9", bearer(alice));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(third->get_header_value("Retry-After"), "5");
  // Another subject is not affected.
  SseClient b(proxy_->port(), "/events/p/9", {{"Authorization", "Bearer " + bob}});
  EXPECT_EQ(b.status(), 200);
}

TEST_F(AccessTest, KeysAreReadAgainOnSighup) {
  TempDir dir;
  std::string path = dir.file("pb.yaml");
  { std::ofstream(path) << config(); }
  proxy_ = std::make_unique<ProxyProcess>(ProxyProcess::from_file(path));
  ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text();
  std::string old_t = token(claims({"a"}));
  auto r = get("/streams/a", bearer(old_t));
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 401);
  const std::string rotated = "a-rotated-secret-0123456789abcdef-xyz";
  std::string text = config();
  text.replace(text.find(kSecret), kSecret.size(), rotated);
  { std::ofstream(path) << text; }
  proxy_->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    auto x = get("/streams/a", bearer(old_t));
    return x && x->status == 401;
  }));
  SseClient fresh(proxy_->port(), "/events/a",
                  {{"Authorization", "Bearer " + token(claims({"a"}), rotated)}});
  EXPECT_EQ(fresh.status(), 200);
  EXPECT_EQ(proxy_->stderr_text().find(rotated), std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
