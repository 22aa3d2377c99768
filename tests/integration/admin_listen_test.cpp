// server.admin_listen through the real binary: the admin endpoints move to
// their own listener (token still required there, compared in constant
// time) and the main listener no longer answers them.
#include <httplib.h>

#include <gtest/gtest.h>

#include <regex>

#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

TEST(AdminListenTest, AdminEndpointsLiveOnlyOnTheAdminListener) {
  FakeBackend backend;
  backend.set_body(R"({"a":1})");
  ProxyProcess proxy(
      "server:\n  listen: \"127.0.0.1:0\"\n  admin_listen: \"127.0.0.1:0\"\n"
      "  admin_token: \"admin-secret-token\"\n"
      "state: { dir: \"\" }\nstreams:\n  - name: s\n    url: " +
      backend.url() + "\n    interval: 1h\n");
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  std::smatch m;
  std::string out;
  ASSERT_TRUE(wait_until([&] {
    out = proxy.stdout_text();
    return std::regex_search(out, m, std::regex(R"(admin listening on [^:]+:(\d+))"));
  })) << out;
  const int admin_port = std::stoi(m[1]);
  ASSERT_NE(admin_port, proxy.port());

  httplib::Client main("127.0.0.1", proxy.port());
  httplib::Client admin("127.0.0.1", admin_port);
  const httplib::Headers token{{"Authorization", "Bearer admin-secret-token"}};
  // The main listener: the API, but no admin endpoint, even with the token.
  auto r = main.Post("/admin/reload", token, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = main.Post("/streams/s/poll", token, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(main.Get("/healthz")->status, 200);
  // The admin listener: token required, wrong ones refused.
  r = admin.Post("/streams/s/poll", "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = admin.Post("/streams/s/poll", {{"Authorization", "Bearer admin-secret-tokeX"}}, "",
                 "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  const auto before = backend.requests();
  r = admin.Post("/streams/s/poll?wait=true", token, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_GT(backend.requests(), before);
  r = admin.Post("/admin/reload", token, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // Stream data is not served there.
  EXPECT_EQ(admin.Get("/streams/s")->status, 404);
  EXPECT_EQ(admin.Get("/metrics")->status, 200);
  // Read-only there as on the main listener: HEAD too, other methods 405.
  for (const char* path : {"/healthz", "/metrics", "/readyz"}) {
    auto head = admin.Head(path);
    ASSERT_TRUE(head) << path;
    EXPECT_EQ(head->status, admin.Get(path)->status) << path;
    auto post = admin.Post(path, token, "", "text/plain");
    ASSERT_TRUE(post) << path;
    EXPECT_EQ(post->status, 405) << path;
    EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD") << path;
  }
  // The console (docs/console.md) is on the admin listener only.
  EXPECT_EQ(main.Get("/admin/")->status, 404);
  EXPECT_EQ(main.Get("/admin/state", token)->status, 404);
  EXPECT_EQ(admin.Get("/admin/")->status, 200);
  EXPECT_EQ(admin.Get("/admin/state", token)->status, 200);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
