// ctest-labels: threaded
// Reload's order of operations, held at its named points (App::Options::
// test_point) in a real App in process: a real listener on port 0, a real
// fake backend, real HTTP and TLS clients. The order is the security
// contract of src/app/app.h: everything is checked before anything
// changes; the access policy is in force before the streams change.
#include "app/app.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <future>
#include <string>
#include <vector>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/latch.h"
#include "support/proxy_process.h"
#include "support/test_certs.h"
#include "support/tls_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

const std::string kToken = "reload-order-token-0123456789";

// The points reached, in order; a latch can hold the reload at one of them.
class Points {
 public:
  void reached(std::string_view point) {
    {
      std::lock_guard<std::mutex> l(mu_);
      seen_.emplace_back(point);
    }
    if (point == hold_at_) hold_.wait();
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  std::string hold_at_;
  Latch hold_;

 private:
  std::mutex mu_;
  std::vector<std::string> seen_;
};

class AppReloadTest : public ::testing::Test {
 protected:
  AppReloadTest() {
    backend_.set_body(R"({"v":1})", "/s");
    backend_.set_body(R"({"v":2})", "/t");
    // App::start() blocks the signals it waits for in the calling thread;
    // the test's own mask comes back at the end.
    pthread_sigmask(SIG_SETMASK, nullptr, &mask_);
  }
  ~AppReloadTest() override {
    if (app_) app_->stop();
    pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
  }

  // `tls`: the server.tls line; `auth`: an auth section; `t`: the second
  // stream too.
  std::string config(const std::string& tls, bool auth, bool t) const {
    std::string y = "server:\n  listen: \"127.0.0.1:0\"\n" + tls + "state: { dir: \"\" }\n";
    if (auth) y += "auth:\n  tokens: [\"" + kToken + "\"]\n";
    y += "streams:\n  - name: s\n    url: " + backend_.url("/s") + "\n    interval: 100ms\n";
    if (t) y += "  - name: t\n    url: " + backend_.url("/t") + "\n    interval: 100ms\n";
    return y;
  }

  void start(const std::string& yaml) {
    dir_.write("pollbridge.yaml", yaml);
    app::App::Options options;
    options.test_point = [this](std::string_view p) { points_.reached(p); };
    app_ = std::make_unique<app::App>(dir_.file("pollbridge.yaml"), app::Overrides{}, options);
    ASSERT_EQ(app_->start(), 0);
  }

  // GET `path` over plain HTTP: the status (0 when unanswered).
  int get(const std::string& path, bool token) const {
    httplib::Client c("127.0.0.1", app_->port());
    c.set_read_timeout(5, 0);
    httplib::Headers h;
    if (token) h.emplace("Authorization", "Bearer " + kToken);
    auto r = c.Get(path.c_str(), h);
    return r ? r->status : 0;
  }

  FakeBackend backend_;
  TempDir dir_;
  Points points_;
  std::unique_ptr<app::App> app_;
  sigset_t mask_;
};

TEST_F(AppReloadTest, ThePolicyIsInForceBeforeTheStreamsChange) {
  start(config("", false, false));
  ASSERT_TRUE(wait_until([&] { return get("/streams/s", false) == 200; }))
      << get("/streams/s", false);

  // The new file requires a token and adds stream t. Held between the
  // policy and the streams:
  dir_.write("pollbridge.yaml", config("", true, true));
  points_.hold_at_ = "reload:policy";
  auto reloaded = std::async(std::launch::async, [&] { return app_->reload(); });
  ASSERT_TRUE(points_.hold_.reached());
  // the old streams are served only under the new policy,
  EXPECT_EQ(get("/streams/s", false), 401);
  EXPECT_EQ(get("/streams/s", true), 200);
  // and the new stream is not there yet.
  EXPECT_EQ(get("/streams/t", true), 404);
  points_.hold_.open();
  app::ReloadAnswer answer = reloaded.get();
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(points_.seen(), (std::vector<std::string>{"reload:checked", "reload:policy",
                                                      "reload:streams", "reload:sessions"}));
  EXPECT_TRUE(wait_until([&] { return get("/streams/t", true) == 200; }));
  EXPECT_EQ(get("/streams/t", false), 401);
}

TEST_F(AppReloadTest, ACertificateThatDoesNotLoadRejectsTheReloadBeforeAnythingChanges) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  auto tls = [](const std::string& cert, const std::string& key) {
    return "  tls: { cert: \"" + cert + "\", key: \"" + key + "\" }\n";
  };
  start(config(tls(certs.cert, certs.key), false, false));
  TlsClientOptions client;
  client.ca_file = certs.ca;
  auto status = [&](const std::string& path) {
    std::string error;
    const std::string r = https_request(
        app_->port(), "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        client, &error);
    return r.size() >= 12 ? std::atoi(r.c_str() + 9) : 0;
  };
  ASSERT_TRUE(wait_until([&] { return status("/streams/s") == 200; }));

  // A valid config (a token now required, a new stream) whose certificate
  // file is not a certificate.
  dir_.write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  dir_.write("pollbridge.yaml", config(tls(dir_.file("garbage.pem"), certs.key), true, true));
  app::ReloadAnswer answer = app_->reload();
  EXPECT_EQ(answer.status, 400) << answer.body;
  EXPECT_NE(answer.body.find("\"reloaded\":false"), std::string::npos) << answer.body;
  // Nothing of the new file took effect, not even its first step.
  EXPECT_TRUE(points_.seen().empty());
  EXPECT_EQ(status("/streams/s"), 200);
  EXPECT_EQ(status("/streams/t"), 404);

  // Access keys that do not build reject it the same way.
  dir_.write("pollbridge.yaml", config(tls(certs.cert, certs.key), false, true) +
                                    "auth:\n  jwt:\n    keys: [ { alg: RS256, file: \"" +
                                    dir_.file("garbage.pem") + "\" } ]\n");
  answer = app_->reload();
  EXPECT_EQ(answer.status, 400) << answer.body;
  EXPECT_TRUE(points_.seen().empty());
  EXPECT_EQ(status("/streams/t"), 404);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
