// ctest-labels: threaded
// State that survives restarts, crashes and reloads, with the real binary:
// kill -9 in the middle of a sequence, clean SIGTERM, a corrupt state file,
// SIGHUP and POST /admin/reload.
#include <httplib.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "diff/json_patch.h"
#include "json/document.h"
#include "sse/event_id.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using json::Json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string persistent_config(const std::string& state_dir, const std::string& streams) {
  return "server:\n"
         "  listen: \"127.0.0.1:0\"\n"
         "  heartbeat: 1s\n"
         "  retry: 500ms\n"
         "  admin_token: test-token\n"
         "  shutdown_timeout: 3s\n"
         "history: 1000\n"
         "state: { dir: \"" +
         state_dir + "\" }\n" + "streams:\n" + streams;
}

std::string stream_entry(const std::string& name, const std::string& url,
                         const std::string& extra = "") {
  return "  - name: " + name + "\n    url: " + url + "\n    interval: 50ms\n" + extra;
}

// A client that keeps the document by applying what it receives, and checks
// that ids only move forward one step at a time within an epoch.
struct Follower {
  Json doc;
  std::string last_id;
  std::vector<SseEvent> seen;

  void apply(const SseEvent& ev) {
    if (ev.type == "snapshot") {
      doc = json::parse(ev.data);
    } else if (ev.type == "patch") {
      diff::apply_json_patch(doc, json::parse(ev.data));
    } else {
      ASSERT_EQ(ev.type, "status");
    }
    if (!last_id.empty()) {
      auto a = sse::parse_event_id(last_id), b = sse::parse_event_id(ev.id);
      ASSERT_TRUE(a && b);
      ASSERT_EQ(a->epoch, b->epoch) << "no new epoch after a crash on the same machine";
      if (ev.type != "snapshot") {
        ASSERT_EQ(b->seq, a->seq + 1) << "gap or duplicate between " << last_id << " and " << ev.id;
      }
    }
    last_id = ev.id;
    seen.push_back(ev);
  }
};

TEST(PersistenceTest, KillDashNineMidSequenceThenResumeLosesAndRepeatsNothing) {
  FakeBackend backend;
  TempDir dir;
  backend.set_body(padded(R"({"v":0,"list":[]})"));
  dir.write("pb.yaml", persistent_config(dir.file("state"), stream_entry("s", backend.url())));
  auto proxy = std::make_unique<ProxyProcess>(ProxyProcess::from_file(dir.file("pb.yaml")));
  ASSERT_TRUE(proxy->started()) << proxy->stderr_text();

  Follower f;
  auto client = std::make_unique<SseClient>(proxy->port(), "/events/s");
  auto body = [](int i) {
    std::string list;
    for (int k = 0; k < i; ++k) list += (k ? "," : "") + std::to_string(k);
    return padded("{\"v\":" + std::to_string(i) + ",\"list\":[" + list + "]}");
  };
  auto ev = client->next();
  ASSERT_TRUE(ev);
  f.apply(*ev);
  // Changes 1..8 with the proxy up; the client follows each one.
  for (int i = 1; i <= 8; ++i) {
    backend.set_body(body(i));
    auto e = client->next();
    ASSERT_TRUE(e) << i;
    f.apply(*e);
  }
  // Change 9 is published, then the proxy dies before the client reads it.
  backend.set_body(body(9));
  httplib::Client h("127.0.0.1", proxy->port());
  ASSERT_TRUE(wait_until([&] { return h.Get("/streams/s")->body == body(9); }));
  proxy->signal(SIGKILL);
  EXPECT_EQ(proxy->wait(5s), 128 + SIGKILL);
  // Changes while it is down: only the last state will be seen.
  backend.set_body(body(10));
  backend.set_body(body(11));
  proxy = std::make_unique<ProxyProcess>(ProxyProcess::from_file(dir.file("pb.yaml")));
  ASSERT_TRUE(proxy->started()) << proxy->stderr_text();
  // The client reconnects (to the new port) with the last id it got.
  client = std::make_unique<SseClient>(proxy->port(), "/events/s",
                                       SseClient::Headers{{"Last-Event-ID", f.last_id}});
  ASSERT_EQ(client->status(), 200);
  auto replay9 = client->next();
  ASSERT_TRUE(replay9);
  EXPECT_EQ(replay9->type, "patch") << "event 9 is replayed from the persisted history";
  f.apply(*replay9);
  EXPECT_TRUE(json::equal(f.doc, json::parse(body(9))));
  auto down = client->next();
  ASSERT_TRUE(down);
  f.apply(*down);
  EXPECT_TRUE(json::equal(f.doc, json::parse(body(11)))) << "what changed while down";
  for (int i = 12; i <= 14; ++i) {
    backend.set_body(body(i));
    auto e = client->next();
    ASSERT_TRUE(e) << i;
    f.apply(*e);
  }
  EXPECT_TRUE(json::equal(f.doc, json::parse(body(14))));
  // No id was issued twice for different content: a replay of the whole
  // history matches what the follower saw, event for event.
  auto all = SseClient(proxy->port(), "/events/s",
                       SseClient::Headers{{"Last-Event-ID", f.seen.front().id}});
  auto history = all.take(f.seen.size() - 1);
  ASSERT_EQ(history.size(), f.seen.size() - 1);
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].id, f.seen[i + 1].id);
    EXPECT_EQ(history[i].data, f.seen[i + 1].data);
  }
}

TEST(PersistenceTest, SigtermClosesClientsPersistsAndExitsZero) {
  FakeBackend backend;
  TempDir dir;
  backend.set_body(padded(R"({"v":1})"));
  dir.write("pb.yaml", persistent_config(dir.file("state"), stream_entry("s", backend.url())));
  auto proxy = std::make_unique<ProxyProcess>(ProxyProcess::from_file(dir.file("pb.yaml")));
  ASSERT_TRUE(proxy->started());
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<SseClient>(proxy->port(), "/events/s"));
  }
  std::string id;
  for (auto& c : clients) {
    auto e = c->next();
    ASSERT_TRUE(e);
    id = e->id;
  }
  auto t0 = std::chrono::steady_clock::now();
  proxy->signal(SIGTERM);
  for (auto& c : clients) EXPECT_TRUE(c->wait_closed(5s)) << "clients are told to reconnect";
  EXPECT_EQ(proxy->wait(10s), 0) << proxy->stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s) << "within shutdown_timeout + 1s";
  // After the restart the same id is known: nothing to replay.
  proxy = std::make_unique<ProxyProcess>(ProxyProcess::from_file(dir.file("pb.yaml")));
  ASSERT_TRUE(proxy->started());
  SseClient again(proxy->port(), "/events/s", {{"Last-Event-ID", id}});
  EXPECT_FALSE(again.next(400ms));
  backend.set_body(padded(R"({"v":2})"));
  auto e = again.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, "patch");
  EXPECT_EQ(sse::parse_event_id(e->id)->seq, sse::parse_event_id(id)->seq + 1);
}

TEST(PersistenceTest, CorruptStateFileIsMovedAsideAndTheProxyStarts) {
  FakeBackend backend;
  TempDir dir;
  backend.set_body(R"({"v":1})");
  fs::create_directories(dir.file("state"));
  {
    std::ofstream f(dir.file("state/pollbridge.db"));
    f << "this is not a database" << std::string(5000, '\x01');
  }
  dir.write("pb.yaml", persistent_config(dir.file("state"), stream_entry("s", backend.url())));
  ProxyProcess proxy = ProxyProcess::from_file(dir.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  EXPECT_NE(proxy.stderr_text().find("moved aside"), std::string::npos) << proxy.stderr_text();
  bool aside = false;
  for (const auto& e : fs::directory_iterator(dir.file("state"))) {
    aside = aside || e.path().filename().string().rfind("pollbridge.db.corrupt-", 0) == 0;
  }
  EXPECT_TRUE(aside);
  SseClient c(proxy.port(), "/events/s", {{"Last-Event-ID", "00000000-5"}});
  auto e = c.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, "snapshot");
}

TEST(PersistenceTest, ReloadKeepsUnchangedStreamsAndReplacesChangedOnes) {
  FakeBackend backend;
  TempDir dir;
  backend.set_body(padded(R"({"a":0})"), "/a");
  backend.set_body(padded(R"({"b":0})"), "/b");
  backend.set_body(R"({"c":0})", "/c");
  auto write = [&](const std::string& streams) {
    dir.write("pb.yaml", persistent_config(dir.file("state"), streams));
  };
  write(stream_entry("a", backend.url("/a")) + stream_entry("b", backend.url("/b")) +
        stream_entry("gone", backend.url("/c")));
  ProxyProcess proxy = ProxyProcess::from_file(dir.file("pb.yaml"));
  ASSERT_TRUE(proxy.started());
  SseClient a(proxy.port(), "/events/a"), b(proxy.port(), "/events/b"),
      gone(proxy.port(), "/events/gone");
  auto a0 = a.next(), b0 = b.next(), g0 = gone.next();
  ASSERT_TRUE(a0 && b0 && g0);

  // b changes (select), gone is removed, c is added; a is untouched.
  write(stream_entry("a", backend.url("/a")) +
        stream_entry("b", backend.url("/b"), "    ignore: [/ts]\n") +
        stream_entry("c", backend.url("/c")));
  proxy.signal(SIGHUP);
  EXPECT_TRUE(b.wait_closed(5s)) << "changed stream closes its clients";
  EXPECT_TRUE(gone.wait_closed(5s)) << "removed stream closes its clients";
  httplib::Client h("127.0.0.1", proxy.port());
  ASSERT_TRUE(wait_until([&] { return h.Get("/streams/c")->status == 200; }));
  EXPECT_EQ(h.Get("/events/gone")->status, 404);
  // a kept its client, its ids and its history.
  backend.set_body(padded(R"({"a":1})"), "/a");
  auto a1 = a.next();
  ASSERT_TRUE(a1);
  EXPECT_EQ(a1->type, "patch");
  EXPECT_EQ(sse::parse_event_id(a1->id)->seq, sse::parse_event_id(a0->id)->seq + 1);
  // b's client resumes on the new instance from where it was.
  backend.set_body(padded(R"({"b":1,"ts":5})"), "/b");
  SseClient b2(proxy.port(), "/events/b", {{"Last-Event-ID", b0->id}});
  auto b1 = b2.next();
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->type, "patch");
  EXPECT_EQ(sse::parse_event_id(b1->id)->epoch, sse::parse_event_id(b0->id)->epoch);
  EXPECT_EQ(b1->data, R"([{"op":"replace","path":"/b","value":1}])");

  // An invalid config is rejected and everything keeps running.
  dir.write("pb.yaml", "streams: [oops\n");
  auto r = h.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["reloaded"], false);
  EXPECT_NE(proxy.stderr_text().find("reload rejected"), std::string::npos);
  backend.set_body(padded(R"({"a":2})"), "/a");
  EXPECT_TRUE(a.next());
  EXPECT_EQ(h.Post("/admin/reload", "", "")->status, 401);

  // The admin endpoint reloads a valid file and says what changed.
  write(stream_entry("a", backend.url("/a")));
  auto ok = h.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  Json res = json::parse(ok->body);
  EXPECT_EQ(json::dump(res["kept"]), R"(["a"])");
  EXPECT_EQ(json::dump(res["removed"]), R"(["b","c"])");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
