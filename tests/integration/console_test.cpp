// ctest-labels: threaded
// The operator's console's server side (docs/console.md) through the real
// binary: the page under /admin/ with its Content-Security-Policy, the data
// endpoints refused without the admin token, secrets masked in a stream's
// detail, "poll now" reaching the upstream, and nothing at /admin/ while
// server.admin_token is empty. The page itself is tested in Chromium
// (tests/js/console.test.mjs).
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

const httplib::Headers kAdmin{{"Authorization", "Bearer console-admin-token"}};

TEST(ConsoleTest, PageDataAndPollNeedTheTokenAndSecretsAreMasked) {
  FakeBackend backend;
  backend.set_body(R"({"orders":[1,2]})");
  ProxyProcess proxy(
      "server:\n  listen: \"127.0.0.1:0\"\n  admin_token: \"console-admin-token\"\n"
      "state: { dir: \"\" }\nstreams:\n  - name: s\n    url: \"" +
      backend.url() +
      "?api_key=query-secret-1&page=2\"\n    interval: 1h\n    headers:\n"
      "      Authorization: \"Bearer header-secret-2\"\n      X-Api-Key: \"header-secret-3\"\n"
      "      Accept: \"application/json\"\n");
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  httplib::Client c("127.0.0.1", proxy.port());

  // The page: served without the token (it holds no data), locked down.
  auto r = c.Get("/admin/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_NE(r->body.find("console.js"), std::string::npos);
  EXPECT_EQ(c.Get("/admin/console.js")->status, 200);
  EXPECT_EQ(c.Get("/admin/console.css")->status, 200);
  EXPECT_EQ(c.Get("/admin/nothing.js")->status, 404);
  EXPECT_EQ(c.Get("/admin")->status, 301);

  // Data: 401 without the token or with a wrong one, and no stream named.
  for (const httplib::Headers& h :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer console-admin-tokeX"}}}) {
    r = c.Get("/admin/state", h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body.find("\"s\""), std::string::npos) << r->body;
    EXPECT_EQ(c.Get("/admin/streams/s", h)->status, 401);
    EXPECT_EQ(c.Post("/admin/streams/s/poll", h, "", "text/plain")->status, 401);
  }

  // The overview lists the stream once it has polled. A poll's duration is
  // recorded when the poll is done, just after its document was published
  // (and the state became ok): wait for both.
  ASSERT_TRUE(wait_until([&] {
    auto s = c.Get("/admin/state", kAdmin);
    return s && s->status == 200 && s->body.find("\"state\":\"ok\"") != std::string::npos &&
           !json::parse(s->body)["streams"][0]["durations"].empty();
  }));
  json::Json state = json::parse(c.Get("/admin/state", kAdmin)->body);
  ASSERT_EQ(state["streams"].size(), 1u);
  EXPECT_EQ(state["streams"][0]["id"].get<std::string>(), "s");
  EXPECT_EQ(state["streams"][0]["kind"].get<std::string>(), "plain");
  EXPECT_GE(state["streams"][0]["durations"].size(), 1u);

  // The detail: the document, and the config with every secret masked.
  r = c.Get("/admin/streams/s", kAdmin);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  for (const char* secret : {"query-secret-1", "header-secret-2", "header-secret-3"}) {
    EXPECT_EQ(r->body.find(secret), std::string::npos) << secret << " in " << r->body;
  }
  json::Json detail = json::parse(r->body);
  EXPECT_EQ(detail["document"].get<std::string>(), R"({"orders":[1,2]})");
  EXPECT_NE(detail["config"]["url"].get<std::string>().find("?api_key=***&page=***"),
            std::string::npos);
  EXPECT_EQ(detail["config"]["headers"][2]["value"].get<std::string>(), "application/json");
  EXPECT_EQ(detail["config"]["headers"][0]["value"].get<std::string>(), "***");
  // The upstream's last answer, with the headers a poll keeps.
  EXPECT_EQ(detail["upstream"]["status"], 200) << r->body;
  EXPECT_TRUE(detail["upstream"]["headers"].contains("Content-Type")) << r->body;

  // The overview as an event stream: 401 without the token; a snapshot, then
  // patches (now_ms moves every second) that apply to it, ids in sequence.
  {
    SseClient refused(proxy.port(), "/admin/events");
    EXPECT_EQ(refused.status(), 401);
    SseClient feed(proxy.port(), "/admin/events",
                   {{"Authorization", "Bearer console-admin-token"}});
    ASSERT_EQ(feed.status(), 200);
    auto snap = feed.next();
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->type, "snapshot");
    json::Json doc = json::parse(snap->data);
    EXPECT_EQ(doc["streams"][0]["id"].get<std::string>(), "s");
    auto patch = feed.next(std::chrono::milliseconds(3000));
    ASSERT_TRUE(patch);
    EXPECT_EQ(patch->type, "patch");
    const auto seq = [](const std::string& id) {
      return std::stoull(id.substr(id.rfind('-') + 1));
    };
    EXPECT_EQ(seq(patch->id), seq(snap->id) + 1);
    diff::apply_json_patch(doc, json::parse(patch->data));
    EXPECT_EQ(doc["streams"][0]["id"].get<std::string>(), "s");
  }

  // Poll now: one more upstream request.
  const auto before = backend.requests();
  r = c.Post("/admin/streams/s/poll", kAdmin, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(wait_until([&] { return backend.requests() == before + 1; }));
  EXPECT_EQ(c.Post("/admin/streams/nope/poll", kAdmin, "", "text/plain")->status, 404);
}

TEST(ConsoleTest, AbsentWithoutAnAdminToken) {
  FakeBackend backend;
  backend.set_body(R"({"a":1})");
  ProxyProcess proxy(
      "server:\n  listen: \"127.0.0.1:0\"\nstate: { dir: \"\" }\nstreams:\n"
      "  - name: s\n    url: " +
      backend.url() + "\n    interval: 1h\n");
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  httplib::Client c("127.0.0.1", proxy.port());
  for (const char* path : {"/admin/", "/admin/console.js", "/admin/state", "/admin/streams/s"}) {
    auto r = c.Get(path, kAdmin);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
  }
}

TEST(ConsoleTest, PerUserInstancesHaveAnOpaqueLabelAndCanBePolled) {
  FakeBackend backend;
  backend.set_body(R"({"mine":true})");
  ProxyProcess proxy(
      "server:\n  listen: \"127.0.0.1:0\"\n  admin_token: \"console-admin-token\"\n"
      "state: { dir: \"\" }\nstreams:\n  - name: mine\n    url: " +
      backend.url() + "\n    forward_headers: [X-User]\n    interval: 1h\n");
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  {
    // No user yet: no instance, and the stream is listed as idle.
    httplib::Client c("127.0.0.1", proxy.port());
    auto r = c.Get("/admin/state", kAdmin);
    ASSERT_TRUE(r);
    json::Json state = json::parse(r->body);
    EXPECT_EQ(state["streams"].size(), 0u);
    ASSERT_EQ(state["idle"].size(), 1u);
    EXPECT_EQ(state["idle"][0]["stream"].get<std::string>(), "mine");
    EXPECT_EQ(state["idle"][0]["kind"].get<std::string>(), "per-user");
  }
  SseClient alice(proxy.port(), "/events/mine", {{"X-User", "alice-identity-42"}});
  ASSERT_EQ(alice.status(), 200);
  ASSERT_TRUE(alice.next());  // polled: the instance exists
  httplib::Client c("127.0.0.1", proxy.port());
  auto r = c.Get("/admin/state", kAdmin);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body.find("alice"), std::string::npos) << r->body;
  json::Json state = json::parse(r->body);
  ASSERT_EQ(state["streams"].size(), 1u);
  const std::string id = state["streams"][0]["id"].get<std::string>();
  EXPECT_EQ(state["streams"][0]["kind"].get<std::string>(), "per-user");
  EXPECT_EQ(state["idle"].size(), 0u);
  EXPECT_EQ(id.rfind("u-", 0), 0u) << id;
  r = c.Get("/admin/streams/" + id, kAdmin);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.find("alice"), std::string::npos) << r->body;
  const auto before = backend.requests();
  r = c.Post("/admin/streams/" + id + "/poll", kAdmin, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(wait_until([&] { return backend.requests() == before + 1; }));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
