// ctest-labels: threaded
// OAuth2 client credentials (oauth2:) and login sessions (login:) through
// the real binary, against a fake token endpoint (expiring, revocable
// tokens; a refusal with RFC 6749 error codes) and a fake form-login
// application (302 + Set-Cookie, expiring sessions). Counted: token
// requests per client (reuse, expiry, one request for concurrent
// instances), logins (re-login once, rate-limited when broken).
#include <httplib.h>
#include <cstdint>

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/streams_view.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using Plain = nlohmann::json;

const std::string kSecret = "s3cr3t-client-Secret";
const std::string kPassword = "pa55-w0rd-Secret";

struct AuthApp {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> token_requests;  // by client_id
  std::map<std::string, std::string> tokens;  // token -> client_id
  std::map<std::string, std::chrono::steady_clock::time_point> expires;
  int next_token = 0;
  bool hold_tokens = false;  // the token endpoint waits until released
  int logins = 0;            // login requests, whatever the password
  int good_logins = 0;       // with the right password (the `app` stream's)
  int bad_logins = 0;        // with a wrong one (the `broken` stream's)
  int app_requests = 0;
  std::set<std::string> sessions;

  static std::string client_of(const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Basic ", 0) != 0) return req.get_param_value("client_id");
    // "c1:secret", base64 (the ids and secret need no form-encoding).
    static const std::string kTable =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    // Unsigned and cut to the bits still to be read: a long header never
    // shifts past the type (UBSan).
    std::uint32_t val = 0;
    int bits = -8;
    for (char c : auth.substr(6)) {
      const auto pos = kTable.find(c);
      if (pos == std::string::npos) break;
      val = ((val << 6) | static_cast<std::uint32_t>(pos)) & 0xFFFFFFu;
      bits += 6;
      if (bits >= 0) {
        out += static_cast<char>((val >> bits) & 0xFF);
        bits -= 8;
      }
    }
    const auto colon = out.find(':');
    if (colon == std::string::npos || out.substr(colon + 1) != kSecret) return "";
    return out.substr(0, colon);
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(mu);
    if (req.path == "/token") {
      const std::string client = client_of(req);
      ++token_requests[client];
      cv.notify_all();
      cv.wait_for(lock, 5s, [&] { return !hold_tokens; });
      if (client.empty() || req.get_param_value("grant_type") != "client_credentials") {
        res.status = 401;
        res.set_content(
            R"({"error":"invalid_client","error_description":"secret )" + kSecret + R"( unknown"})",
            "application/json");
        return;
      }
      const std::string token = "tok-" + std::to_string(++next_token) + "-Secret";
      tokens[token] = client;
      const int lifetime = client == "short" ? 1 : 3600;
      expires[token] = std::chrono::steady_clock::now() + std::chrono::seconds(lifetime);
      res.set_content(
          Plain{{"access_token", token}, {"token_type", "bearer"}, {"expires_in", lifetime}}.dump(),
          "application/json");
      return;
    }
    if (req.path == "/api") {
      const std::string auth = req.get_header_value("Authorization");
      const std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      auto it = expires.find(token);
      if (it == expires.end() || it->second < std::chrono::steady_clock::now()) {
        res.status = 401;
        return;
      }
      res.set_content(Plain{{"client", tokens[token]}, {"q", req.get_param_value("q")}}.dump(),
                      "application/json");
      return;
    }
    if (req.path == "/login") {
      ++logins;
      if (req.get_param_value("password") != kPassword) {
        ++bad_logins;
        res.status = 302;
        res.set_header("Location", "/login?failed=1");
        return;
      }
      ++good_logins;
      const std::string sid = "sid-" + std::to_string(logins) + "-Secret";
      sessions.insert(sid);
      res.status = 302;
      res.set_header("Location", "/app");
      res.set_header("Set-Cookie", "SESSION=" + sid + "; Path=/; HttpOnly");
      return;
    }
    if (req.path == "/app") {
      ++app_requests;
      const std::string cookie = req.get_header_value("Cookie");
      const auto at = cookie.find("SESSION=");
      const std::string sid = at == std::string::npos ? "" : cookie.substr(at + 8);
      if (!sessions.count(sid.substr(0, sid.find(';')))) {
        res.status = 302;
        res.set_header("Location", "/login");
        return;
      }
      res.set_content(R"({"report":"ok"})", "application/json");
      return;
    }
    res.status = 404;
  }
  int tokens_for(const std::string& client) {
    std::lock_guard<std::mutex> lock(mu);
    return token_requests[client];
  }
};

class UpstreamAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    app_ = new AuthApp;
    backend_ = new FakeBackend;
    backend_->set_handler(
        [](const httplib::Request& req, httplib::Response& res) { app_->handle(req, res); });
    const std::string base = "http://127.0.0.1:" + std::to_string(backend_->port());
    auto oauth = [&](const std::string& client, const std::string& extra = "") {
      return "    oauth2: { token_url: \"" + base + "/token\", client_id: " + client +
             ", client_secret: \"${CLIENT_SECRET}\"" + extra + " }\n";
    };
    const std::string login =
        "    login: { url: \"" + base + "/login\", body: \"user=ops&password=${APP_PASSWORD}\" }\n";
    proxy_ = new ProxyProcess(
        config_with(
            "  - name: one\n    url: " + base + "/api?q=one\n    interval: 1h\n" + oauth("c1") +  //
            "  - name: short\n    url: " + base + "/api?q=short\n    interval: 1h\n" +
            oauth("short", ", auth: post") +  //
            "  - name: bad\n    url: " + base + "/api?q=bad\n    interval: 1h\n" +
            "    oauth2: { token_url: \"" + base +
            "/token\", client_id: c9, client_secret: wrong }\n"
            "  - name: shared\n    path: /events/shared/{q}\n    params: { q: \"[a-z]+\" }\n"
            "    url: " +
            base + "/api?q={q}\n    interval: 1h\n    timeout: 8s\n" + oauth("c2") +
            "  - name: app\n    url: " + base + "/app\n    interval: 200ms\n" + login +
            "  - name: broken\n    url: " + base + "/app\n    interval: 1h\n" +
            "    login: { url: \"" + base + "/login\", body: \"password=nope\" }\n"),
        {}, {{"CLIENT_SECRET", kSecret}, {"APP_PASSWORD", kPassword}});
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete backend_;
    delete app_;
  }
  void SetUp() override { ASSERT_TRUE(proxy_->started()) << proxy_->stderr_text(); }
  static void poll(const std::string& name) {
    httplib::Client http("127.0.0.1", proxy_->port());
    auto r = http.Post("/streams/" + name + "/poll?wait=true",
                       {{"Authorization", "Bearer test-token"}}, "", "text/plain");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  static Plain entry(const std::string& name) {
    auto all = streams_by_name(proxy_->port());
    auto it = all.find(name);
    return it == all.end() ? Plain() : Plain::parse(json::dump(it->second));
  }
  static Plain document(const std::string& name) {
    httplib::Client http("127.0.0.1", proxy_->port());
    auto r = http.Get("/streams/" + name);
    if (!r || r->status != 200) return Plain();
    return Plain::parse(r->body);
  }

  static AuthApp* app_;
  static FakeBackend* backend_;
  static ProxyProcess* proxy_;
};
AuthApp* UpstreamAuthTest::app_ = nullptr;
FakeBackend* UpstreamAuthTest::backend_ = nullptr;
ProxyProcess* UpstreamAuthTest::proxy_ = nullptr;

TEST_F(UpstreamAuthTest, ATokenIsReusedUntilItExpiresAndARevokedOneIsRenewedOnce) {
  for (int i = 0; i < 4; ++i) poll("one");
  EXPECT_EQ(entry("one")["state"], "ok") << entry("one").dump();
  EXPECT_EQ(document("one")["client"], "c1");
  EXPECT_EQ(app_->tokens_for("c1"), 1);  // 5 polls (with the first), 1 token

  // Revoked upstream: the poll's 401 gets one new token and one retry.
  {
    std::lock_guard<std::mutex> lock(app_->mu);
    app_->expires.clear();
  }
  poll("one");
  EXPECT_EQ(entry("one")["state"], "ok") << entry("one").dump();
  EXPECT_EQ(app_->tokens_for("c1"), 2);

  // A token for 1 s (renewed 100 ms early), form-posted credentials.
  poll("short");
  EXPECT_EQ(document("short")["client"], "short");
  const int before = app_->tokens_for("short");
  EXPECT_GE(before, 1);
  ASSERT_TRUE(wait_until(
      [&] {
        poll("short");
        return app_->tokens_for("short") > before;
      },
      5000ms * kSlowdown));
  EXPECT_EQ(entry("short")["state"], "ok");
}

TEST_F(UpstreamAuthTest, ARefusalCarriesItsErrorCodeAndNoSecret) {
  poll("bad");
  const Plain e = entry("bad");
  EXPECT_EQ(e["reason"], "oauth2 token: HTTP 401 invalid_client") << e.dump();
  EXPECT_EQ(e.dump().find("Secret"), std::string::npos);
}

TEST_F(UpstreamAuthTest, ConcurrentInstancesShareOneTokenRequest) {
  {
    std::lock_guard<std::mutex> lock(app_->mu);
    app_->hold_tokens = true;
  }
  std::vector<std::unique_ptr<SseClient>> clients;
  for (const char* q : {"a", "b", "c"}) {
    clients.push_back(
        std::make_unique<SseClient>(proxy_->port(), std::string("/events/shared/") + q));
  }
  // Every instance has begun its first poll (the first one holds the token
  // request, the others wait for it).
  ASSERT_TRUE(wait_until(
      [&] {
        auto all = streams_by_name(proxy_->port());
        int begun = 0;
        for (const auto& [name, s] : all) {
          if (name.rfind("shared/", 0) == 0 && s.value("polls", 0) >= 1) ++begun;
        }
        return begun == 3;
      },
      5000ms * kSlowdown));
  {
    std::lock_guard<std::mutex> lock(app_->mu);
    app_->hold_tokens = false;
    app_->cv.notify_all();
  }
  for (auto& c : clients) {
    auto ev = c->next(5000ms * kSlowdown);
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(ev->type, "snapshot");
  }
  EXPECT_EQ(app_->tokens_for("c2"), 1);
}

TEST_F(UpstreamAuthTest, AFormLoginSessionIsRenewedOnceWhenItExpires) {
  // Polled every 200 ms: re-logins are allowed once per interval. Counted
  // with the right password only: the `broken` stream logs in to the same
  // app, its first poll at a random point of the first second.
  poll("app");
  EXPECT_EQ(document("app"), Plain::parse(R"({"report":"ok"})"));
  int logins = 0;
  {
    std::lock_guard<std::mutex> lock(app_->mu);
    logins = app_->good_logins;
    app_->sessions.clear();  // every session expires
  }
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard<std::mutex> lock(app_->mu);
        return app_->good_logins > logins && !app_->sessions.empty();
      },
      5000ms * kSlowdown));
  poll("app");
  EXPECT_EQ(entry("app")["state"], "ok") << entry("app").dump();
  std::lock_guard<std::mutex> lock(app_->mu);
  EXPECT_EQ(app_->good_logins, logins + 1);
}

TEST_F(UpstreamAuthTest, ABrokenLoginIsRateLimited) {
  int logins = 0;
  {
    std::lock_guard<std::mutex> lock(app_->mu);
    logins = app_->bad_logins;
  }
  for (int i = 0; i < 4; ++i) poll("broken");
  const Plain e = entry("broken");
  EXPECT_EQ(e["state"], "stale");
  EXPECT_NE(e["reason"].get<std::string>().find("login:"), std::string::npos) << e.dump();
  std::lock_guard<std::mutex> lock(app_->mu);
  // One login per interval (1h), however many polls.
  EXPECT_LE(app_->bad_logins, logins + 1);
}

TEST_F(UpstreamAuthTest, SecretsAreNotInStreamsMetricsOrLogs) {
  poll("one");
  poll("app");
  httplib::Client http("127.0.0.1", proxy_->port());
  auto streams = http.Get("/streams");
  auto metrics = http.Get("/metrics", {{"Authorization", "Bearer test-token"}});
  ASSERT_TRUE(streams && metrics);
  for (const std::string& text :
       {streams->body, metrics->body, proxy_->stderr_text(), proxy_->stdout_text()}) {
    EXPECT_EQ(text.find("Secret"), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos);
    EXPECT_EQ(text.find(kPassword), std::string::npos);
  }
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
