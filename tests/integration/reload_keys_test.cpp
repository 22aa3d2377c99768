// ctest-labels: threaded
// What a reload says it did is what it did, through the real binary: the
// live keys (CORS, retry, heartbeat, history) take effect and are listed
// under "applied"; restart keys are named by their full path under
// "needs_restart" and their old values stay in force; an unchanged file
// lists nothing, whatever the command line overrides.
//
// Set PB_TEST_BINARY to run these against another build.
#include <httplib.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>

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

class ReloadKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_.set_body(R"({"n":0})"); }

  // One stream `s`; `server` and `top` are added to their sections.
  std::string config(const std::string& server, const std::string& top,
                     const std::string& state_dir = "") const {
    return "server:\n  listen: \"127.0.0.1:0\"\n  admin_token: test-token\n" + server + top +
           "state: { dir: \"" + state_dir +
           "\" }\nstreams:\n  - name: s\n    url: " + backend_.url() +
           "\n    interval: 50ms\n    diff: snapshot\n";
  }
  static Json reload(int port) {
    httplib::Client h("127.0.0.1", port);
    auto r = h.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "");
    if (!r || r->status != 200) return Json();
    return json::parse(r->body);
  }
  static std::vector<std::string> list(const Json& j, const char* key) {
    return j.contains(key) ? j[key].get<std::vector<std::string>>() : std::vector<std::string>{"?"};
  }
  // Publishes `n` changes of the document and waits for the client to see
  // each; returns their ids.
  std::vector<std::string> changes(SseClient& c, int from, int n) {
    std::vector<std::string> ids;
    for (int i = from; i < from + n; ++i) {
      backend_.set_body("{\"n\":" + std::to_string(i) + "}");
      auto e = c.next(5s);
      if (!e) break;
      ids.push_back(e->id);
    }
    return ids;
  }

  FakeBackend backend_;
  TempDir dir_;
};

TEST_F(ReloadKeysTest, LiveKeysTakeEffectAndAreListedAsApplied) {
  dir_.write("pb.yaml", config("  heartbeat: 1h\n  retry: 500ms\n"
                               "  cors_origins: [\"https://a.example\"]\n",
                               "history: 100\n"));
  ProxyProcess proxy = ProxyProcess::from_file(dir_.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  SseClient before(proxy.port(), "/events/s");
  ASSERT_EQ(before.status(), 200);
  ASSERT_TRUE(before.next(5s));  // the snapshot
  EXPECT_EQ(before.retry(), 500);

  dir_.write("pb.yaml", config("  heartbeat: 1s\n  retry: 2s\n"
                               "  cors_origins: [\"https://b.example\"]\n"
                               "  cors_credentials: true\n",
                               "history: 2\n"));
  const Json r = reload(proxy.port());
  ASSERT_TRUE(r.is_object()) << proxy.stderr_text();
  EXPECT_EQ(list(r, "applied"),
            (std::vector<std::string>{"history", "server.heartbeat", "server.retry",
                                      "server.cors_origins", "server.cors_credentials"}));
  EXPECT_EQ(list(r, "needs_restart"), std::vector<std::string>{});
  // The stream's history follows the top-level one live: it is kept, not
  // replaced (its open client stays).
  EXPECT_EQ(list(r, "kept"), std::vector<std::string>{"s"});
  EXPECT_EQ(list(r, "changed"), std::vector<std::string>{});

  // heartbeat: the connection opened before the reload now gets comments.
  EXPECT_TRUE(wait_until(
      [&] {
        before.next(300ms);
        return before.comments() > 0;
      },
      4s))
      << "no heartbeat on the open connection after heartbeat: 1s";

  // CORS: the new origin, with credentials; the old one no more.
  httplib::Client h("127.0.0.1", proxy.port());
  auto b = h.Get("/streams/s", {{"Origin", "https://b.example"}});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->get_header_value("Access-Control-Allow-Origin"), "https://b.example");
  EXPECT_EQ(b->get_header_value("Access-Control-Allow-Credentials"), "true");
  auto a = h.Get("/streams/s", {{"Origin", "https://a.example"}});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->has_header("Access-Control-Allow-Origin"));

  // retry: a new connection is told the new value.
  SseClient after(proxy.port(), "/events/s");
  ASSERT_EQ(after.status(), 200);
  ASSERT_TRUE(after.next(5s));
  EXPECT_EQ(after.retry(), 2000);

  // history: 2. Four changes later, the first one's id is older than what
  // is kept: resuming from it gets a snapshot, from the third the fourth.
  const auto ids = changes(after, 1, 4);
  ASSERT_EQ(ids.size(), 4u);
  SseClient old_resume(proxy.port(), "/events/s", {{"Last-Event-ID", ids[0]}});
  auto o = old_resume.next(5s);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type, "snapshot") << "history: 2 was not applied";
  SseClient recent(proxy.port(), "/events/s", {{"Last-Event-ID", ids[2]}});
  auto n = recent.next(5s);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->id, ids[3]);

  // The log line says the same.
  EXPECT_NE(proxy.stderr_text().find("applied=history,server.heartbeat,server.retry"),
            std::string::npos)
      << proxy.stderr_text();
}

TEST_F(ReloadKeysTest, RestartKeysAreNamedByPathAndKeepTheirValues) {
  TempDir first, second;
  dir_.write("pb.yaml", config("  max_clients: 100\n", "", first.path()));
  ProxyProcess proxy = ProxyProcess::from_file(dir_.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  dir_.write("pb.yaml", config("  max_clients: 1\n  workers: 3\n  admin_listen: \"127.0.0.1:0\"\n",
                               "", second.path()));
  for (int round = 0; round < 2; ++round) {  // and again: still waiting
    const Json r = reload(proxy.port());
    ASSERT_TRUE(r.is_object()) << proxy.stderr_text();
    EXPECT_EQ(list(r, "needs_restart"),
              (std::vector<std::string>{"server.workers", "server.max_clients",
                                        "server.admin_listen", "state.dir"}));
    EXPECT_EQ(list(r, "applied"), std::vector<std::string>{});
  }
  // The values in force are the start's: two clients where max_clients: 1
  // would refuse the second; the admin endpoints still on the main
  // listener; the state still in the first directory.
  SseClient one(proxy.port(), "/events/s");
  SseClient two(proxy.port(), "/events/s");
  EXPECT_EQ(one.status(), 200);
  EXPECT_EQ(two.status(), 200);
  EXPECT_TRUE(reload(proxy.port()).is_object());
  EXPECT_TRUE(std::filesystem::is_empty(second.path()));
  EXPECT_FALSE(std::filesystem::is_empty(first.path()));
}

TEST_F(ReloadKeysTest, AnUnchangedFileListsNothingWhateverTheCommandLine) {
  // The file says another port, a state directory and log level debug; the
  // command line overrides all three.
  dir_.write("pb.yaml",
             "server:\n  listen: \"127.0.0.1:9\"\n  admin_token: test-token\n"
             "log: { level: debug }\nstate: { dir: \"" +
                 dir_.path() + "/state\" }\nstreams:\n  - name: s\n    url: " + backend_.url() +
                 "\n    interval: 50ms\n");
  ProxyProcess proxy = ProxyProcess::from_file(
      dir_.file("pb.yaml"), {"--listen", "127.0.0.1:0", "--memory", "--log-level", "info"});
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  const Json r = reload(proxy.port());
  ASSERT_TRUE(r.is_object()) << proxy.stderr_text();
  EXPECT_EQ(list(r, "applied"), std::vector<std::string>{});
  EXPECT_EQ(list(r, "needs_restart"), std::vector<std::string>{});
  EXPECT_EQ(list(r, "changed"), std::vector<std::string>{});
  EXPECT_EQ(list(r, "kept"), std::vector<std::string>{"s"});
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/state"));
  EXPECT_EQ(proxy.stderr_text().find(" DEBUG "), std::string::npos) << "--log-level lost";
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
