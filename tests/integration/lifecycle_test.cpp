// ctest-labels: threaded
// The instance lifecycle and the state store, tried from outside through
// the real binary: what a client sees when a multiplexed member is
// replaced, parameter values chosen by clients, one process per state
// directory, store errors told apart, a full disk, bounded state.
//
// Set PB_TEST_BINARY to run these against another build (an older commit
// shows which of the problems were real there).
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

std::string config(const std::string& state_dir, const std::string& streams) {
  return "server:\n"
         "  listen: \"127.0.0.1:0\"\n"
         "  heartbeat: 1s\n"
         "  retry: 500ms\n"
         "  admin_token: test-token\n"
         "  shutdown_timeout: 3s\n"
         "history: 100\n"
         "state: { dir: \"" +
         state_dir + "\" }\nstreams:\n" + streams;
}

std::string plain(const std::string& name, const std::string& url, const std::string& extra = "") {
  return "  - name: " + name + "\n    url: " + url + "\n    interval: 50ms\n" + extra;
}

std::string param(const std::string& url, const std::string& extra = "") {
  return "  - name: p\n    url: " + url +
         "\n    path: /events/p/{id}\n    params: { id: \".+\" }\n    interval: 50ms\n" + extra;
}

bool reload(int port) {
  httplib::Client h("127.0.0.1", port);
  auto r = h.Post("/admin/reload", {{"Authorization", "Bearer test-token"}}, "", "");
  return r && r->status == 200;
}

std::string get(int port, const std::string& path, int* status = nullptr) {
  httplib::Client h("127.0.0.1", port);
  auto r = h.Get(path);
  if (status) *status = r ? r->status : 0;
  return r ? r->body : std::string();
}

// UTF-8 as RFC 3629 defines it (no overlongs, no surrogates), and no NUL.
bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    std::size_t n = c < 0x80             ? 0
                    : (c & 0xE0) == 0xC0 ? 1
                    : (c & 0xF0) == 0xE0 ? 2
                    : (c & 0xF8) == 0xF0 ? 3
                                         : 4;
    if (n == 4 || i + n >= s.size() + (n == 0 ? 1 : 0)) return n == 0;
    unsigned cp = n == 0 ? c : c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    static const unsigned kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

class LifecycleTest : public ::testing::Test {
 protected:
  FakeBackend backend_;
  TempDir dir_;
};

TEST_F(LifecycleTest, AMuxClientIsClosedWhenAMemberStreamIsReplaced) {
  backend_.set_body(padded(R"({"a":1})"), "/a");
  backend_.set_body(padded(R"({"b":1})"), "/b");
  dir_.write("pb.yaml",
             config("", plain("a", backend_.url("/a")) + plain("b", backend_.url("/b"))));
  auto proxy = ProxyProcess::from_file(dir_.file("pb.yaml"));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  SseClient mux(proxy.port(), "/events?stream=a&stream=b");
  ASSERT_EQ(mux.take(2, 5s).size(), 2u);
  dir_.write("pb.yaml", config("", plain("a", backend_.url("/a"), "    max_body: 2MiB\n") +
                                       plain("b", backend_.url("/b"))));
  ASSERT_TRUE(reload(proxy.port()));
  EXPECT_TRUE(mux.wait_closed(5s))
      << "the multiplexed client stayed on a channel of the retired stream";
  // It resumes on the new instance with what it had.
  SseClient again(proxy.port(), "/events?stream=a&stream=b",
                  {{"Last-Event-ID", mux.last_event_id()}});
  backend_.set_body(padded(R"({"a":2})"), "/a");
  auto ev = again.next(5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch") << ev->data;
}

TEST_F(LifecycleTest, ParameterValuesAreValidUtf8WithoutNulAndNeverBecomeMetricLabels) {
  backend_.set_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"x":1})", "application/json");
  });
  auto proxy = ProxyProcess(config("", param(backend_.url("/p/{id}"))));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  for (const char* bad : {"/events/p/%ff%fe", "/events/p/a%00b", "/events/p/%c0%af"}) {
    SseClient c(proxy.port(), bad);
    EXPECT_EQ(c.status(), 400) << bad;
  }
  SseClient good(proxy.port(), "/events/p/caf%C3%A9");
  EXPECT_EQ(good.status(), 200);
  ASSERT_TRUE(good.next(5s));
  std::string streams = get(proxy.port(), "/streams");
  EXPECT_TRUE(valid_utf8(streams));
  EXPECT_NO_THROW(json::parse(streams));
  std::string metrics = get(proxy.port(), "/metrics");
  EXPECT_TRUE(valid_utf8(metrics));
  EXPECT_EQ(metrics.find("caf"), std::string::npos) << "a client's value became a label";
  EXPECT_NE(metrics.find("pollbridge_stream_instances{stream=\"p\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(LifecycleTest, ASecondProcessOnTheSameStateDirectoryFailsAndNamesTheFirst) {
  backend_.set_body(R"({"v":1})");
  std::string yaml = config(dir_.file("state"), plain("s", backend_.url()));
  ProxyProcess first(yaml);
  ASSERT_TRUE(first.started()) << first.stderr_text();
  ProxyProcess second(yaml);
  EXPECT_FALSE(second.started());
  EXPECT_EQ(second.wait(5s), 1);
  EXPECT_NE(second.stderr_text().find("pid " + std::to_string(first.pid())), std::string::npos)
      << second.stderr_text();
  // The first is untouched: its store was not marked clean by the second.
  SseClient c(first.port(), "/events/s");
  EXPECT_TRUE(c.next(5s));
}

TEST_F(LifecycleTest, AStoreLockedByAnotherProgramIsNotTakenForCorruption) {
  backend_.set_body(R"({"v":1})");
  std::string state = dir_.file("state");
  std::string yaml = config(state, plain("s", backend_.url()));
  std::string first_id;
  {
    ProxyProcess p(yaml);
    ASSERT_TRUE(p.started());
    SseClient c(p.port(), "/events/s");
    auto ev = c.next(5s);
    ASSERT_TRUE(ev);
    first_id = ev->id;
  }
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((state + "/pollbridge.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  ProxyProcess blocked(yaml);
  EXPECT_FALSE(blocked.started());
  EXPECT_EQ(blocked.wait(15s), 1);
  EXPECT_NE(blocked.stderr_text().find("locked"), std::string::npos) << blocked.stderr_text();
  sqlite3_close(other);
  for (const auto& e : fs::directory_iterator(state)) {
    EXPECT_EQ(e.path().filename().string().find("corrupt"), std::string::npos)
        << "a locked database was moved aside";
  }
  ProxyProcess after(yaml);
  ASSERT_TRUE(after.started()) << after.stderr_text();
  SseClient c(after.port(), "/events/s", {{"Last-Event-ID", first_id}});
  EXPECT_FALSE(c.next(500ms)) << "history and epoch were kept: nothing missed";
}

// Root ignores file modes, so the store is made unwritable with a
// read-only mount where the test may mount (as CI does); otherwise skipped.
class ReadOnlyStateTest : public LifecycleTest {
 protected:
  void SetUp() override {
    mnt_ = dir_.file("mnt");
    fs::create_directories(mnt_);
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=4m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  bool remount(bool read_only) {
    return ::mount("tmpfs", mnt_.c_str(), "tmpfs", MS_REMOUNT | (read_only ? MS_RDONLY : 0),
                   "size=4m") == 0;
  }
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(ReadOnlyStateTest, AnUnwritableStoreFailsStartAndMovesNothingAside) {
  backend_.set_body(R"({"v":1})");
  std::string yaml = config(mnt_ + "/state", plain("s", backend_.url()));
  {
    ProxyProcess p(yaml);
    ASSERT_TRUE(p.started()) << p.stderr_text();
  }
  ASSERT_TRUE(remount(true));
  ProxyProcess p(yaml);
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.wait(10s), 1);
  std::string err = p.stderr_text();
  EXPECT_TRUE(err.find("not writable") != std::string::npos ||
              err.find("read-only") != std::string::npos)
      << err;
  EXPECT_EQ(err.find("moved aside"), std::string::npos) << err;
  ASSERT_TRUE(remount(false));
  EXPECT_TRUE(fs::exists(mnt_ + "/state/pollbridge.db"));
  for (const auto& e : fs::directory_iterator(mnt_ + "/state")) {
    EXPECT_EQ(e.path().filename().string().find("corrupt"), std::string::npos);
  }
}

TEST_F(ReadOnlyStateTest, AFullDiskIsToldToClientsOnceAndIdsContinueWhenSpaceReturns) {
  backend_.set_body("{\"v\":0,\"pad\":\"" + std::string(2000, 'p') + "\"}");
  std::string yaml = config(mnt_ + "/state", plain("s", backend_.url()));
  ProxyProcess p(yaml);
  ASSERT_TRUE(p.started()) << p.stderr_text();
  SseClient c(p.port(), "/events/s");
  auto snap = c.next(5s);
  ASSERT_TRUE(snap);
  // Fill the file system.
  {
    std::ofstream fill(mnt_ + "/fill", std::ios::binary);
    std::string block(64 * 1024, 'x');
    while (fill.write(block.data(), block.size())) {
    }
  }
  for (int i = 1; i <= 20; ++i) {
    backend_.set_body("{\"v\":" + std::to_string(i) + ",\"pad\":\"" + std::string(2000, 'p') +
                      "\"}");
    std::size_t seen_before = backend_.requests();
    ASSERT_TRUE(wait_until([&] { return backend_.requests() >= seen_before + 2; }));
  }
  std::vector<SseEvent> seen;
  while (auto ev = c.next(500ms)) seen.push_back(*ev);
  // Whatever still fit in the database's free pages was sent with ids; once
  // nothing could be recorded, one status without an id said so.
  std::size_t told = 0;
  for (const auto& ev : seen) {
    if (ev.type == "status" && !ev.had_id) {
      ++told;
      EXPECT_EQ(json::parse(ev.data)["recording"], false) << ev.data;
    }
  }
  EXPECT_EQ(told, 1u) << "clients must hear once that events cannot be recorded";
  std::string err = p.stderr_text();
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = err.find("state store refused", at)) != std::string::npos; ++at) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << "logged once per state change, not per poll:\n" << err;
  // Every view of the stream says the same while nothing can be recorded
  // (POST .../poll?wait=true said "ok" here while the others said "stale").
  {
    httplib::Client h("127.0.0.1", p.port());
    auto polled =
        h.Post("/streams/s/poll?wait=true", {{"Authorization", "Bearer test-token"}}, "", "");
    ASSERT_TRUE(polled);
    EXPECT_EQ(json::parse(polled->body)["state"], "stale") << polled->body;
    auto listed = h.Get("/streams");
    ASSERT_TRUE(listed);
    const Json all = json::parse(listed->body);
    for (const auto& entry : all["streams"]) {
      if (entry["name"] == "s") {
        EXPECT_EQ(entry["state"], "stale") << listed->body;
      }
    }
    auto doc = h.Get("/streams/s");
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->get_header_value("X-Pollbridge-State"), "stale");
  }
  fs::remove(mnt_ + "/fill");
  // The same padding: a change of v alone is smaller than the document, so a
  // patch (no event is larger than the snapshot).
  backend_.set_body("{\"v\":99,\"pad\":\"" + std::string(2000, 'p') + "\"}");
  std::optional<SseEvent> ok, patch;
  for (int i = 0; i < 20 && !patch; ++i) {
    auto ev = c.next(1s);
    if (!ev) continue;
    if (ev->type == "status") ok = ev;
    if (ev->type == "patch") patch = ev;
  }
  ASSERT_TRUE(ok && patch);
  EXPECT_TRUE(ok->had_id);
  EXPECT_EQ(json::parse(ok->data)["state"], "ok");
  auto a = sse::parse_event_id(snap->id), b = sse::parse_event_id(patch->id);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->epoch, b->epoch);
  EXPECT_GT(b->seq, a->seq);
}

TEST_F(LifecycleTest, WithStateInMemoryAReloadedStreamKeepsItsEpoch) {
  backend_.set_body(padded(R"({"v":1})"));
  dir_.write("pb.yaml", config("", plain("s", backend_.url())));
  auto proxy = ProxyProcess::from_file(dir_.file("pb.yaml"));
  ASSERT_TRUE(proxy.started());
  SseClient c(proxy.port(), "/events/s");
  auto snap = c.next(5s);
  ASSERT_TRUE(snap);
  dir_.write("pb.yaml", config("", plain("s", backend_.url(), "    max_body: 2MiB\n")));
  ASSERT_TRUE(reload(proxy.port()));
  ASSERT_TRUE(c.wait_closed(5s));
  SseClient again(proxy.port(), "/events/s", {{"Last-Event-ID", snap->id}});
  backend_.set_body(padded(R"({"v":2})"));
  auto ev = again.next(5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch") << "a new epoch would have sent a snapshot";
  EXPECT_EQ(sse::parse_event_id(ev->id)->epoch, sse::parse_event_id(snap->id)->epoch);
}

TEST_F(LifecycleTest, ChurningParameterValuesLeavesBoundedState) {
  backend_.set_handler([](const httplib::Request& req, httplib::Response& res) {
    res.set_content("{\"path\":\"" + req.path + "\"}", "application/json");
  });
  std::string state = dir_.file("state");
  ProxyProcess proxy(config(state, param(backend_.url("/p/{id}"),
                                         "    idle: stop\n    linger: 0s\n    retention: 1s\n")));
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  for (int i = 0; i < 60; ++i) {
    SseClient c(proxy.port(), "/events/p/v" + std::to_string(i));
    ASSERT_TRUE(c.next(5s)) << i;
  }
  auto rows = [&] {
    sqlite3* db = nullptr;
    sqlite3_open_v2((state + "/pollbridge.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM streams", -1, &s, nullptr);
    int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
  };
  EXPECT_GT(rows(), 0);
  // Reaped within a janitor period; their rows go at the next sweep after
  // their retention (kSweepPeriod is 5 s).
  EXPECT_TRUE(wait_until([&] { return rows() == 0; }, 15s)) << rows() << " rows left";
  int status = 0;
  std::string streams = get(proxy.port(), "/streams", &status);
  EXPECT_EQ(json::parse(streams)["streams"].size(), 0u);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
