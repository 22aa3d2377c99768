// Ids after a crash and a reboot (issue 18, item 8), through the real binary:
// when the state store was not closed cleanly and the machine rebooted since
// (without state.fsync), the last commits may be lost, so the ids they used
// could be handed out again for other data. Every saved instance must get a
// new epoch, including a parameterized instance that nobody asks for until a
// later run. The reboot is simulated with the POLLBRIDGE_TEST_BOOT_ID test
// hook (docs/operations.md); the crash is a SIGKILL.
#include <signal.h>

#include <gtest/gtest.h>

#include "sse/event_id.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;

std::string parameterized_config(const std::string& state_dir, const std::string& url) {
  return "server:\n"
         "  listen: \"127.0.0.1:0\"\n"
         "  heartbeat: 1s\n"
         "  retry: 500ms\n"
         "  admin_token: test-token\n"
         "  shutdown_timeout: 3s\n"
         "history: 100\n"
         "state: { dir: \"" +
         state_dir +
         "\" }\n"
         "streams:\n"
         "  - name: p\n"
         "    url: " +
         url +
         "\n"
         "    path: /events/p/{id}\n"
         "    params: { id: \"^[a-z]$\" }\n"
         "    interval: 50ms\n";
}

ProxyProcess start_on_boot(const TempDir& dir, const std::string& boot) {
  return ProxyProcess::from_file(dir.file("pb.yaml"), {}, {{"POLLBRIDGE_TEST_BOOT_ID", boot}});
}

std::string epoch_of(const std::string& id) {
  auto parsed = sse::parse_event_id(id);
  return parsed ? parsed->epoch : std::string();
}

TEST(EpochAttackTest, AnInstanceLoadedOnlyAfterACleanRestartStillGetsANewEpochAfterACrash) {
  FakeBackend backend;
  TempDir dir;
  backend.set_body(padded(R"({"who":"a","v":1})"), "/p/a");
  backend.set_body(padded(R"({"who":"b","v":1})"), "/p/b");
  dir.write("pb.yaml", parameterized_config(dir.file("state"), backend.url("/p/{id}")));

  // Run 1: both instances persist a few events, then the process is killed.
  std::string old_a, old_b;
  {
    ProxyProcess proxy = start_on_boot(dir, "boot-1");
    ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
    SseClient a(proxy.port(), "/events/p/a");
    SseClient b(proxy.port(), "/events/p/b");
    ASSERT_EQ(a.status(), 200);
    ASSERT_EQ(b.status(), 200);
    auto sa = a.next(), sb = b.next();
    ASSERT_TRUE(sa && sb);
    old_a = sa->id;
    backend.set_body(padded(R"({"who":"b","v":2})"), "/p/b");
    auto change = b.next();
    ASSERT_TRUE(change);
    ASSERT_EQ(change->type, "patch");
    old_b = change->id;
    proxy.signal(SIGKILL);
    ASSERT_EQ(proxy.wait(5s), 128 + SIGKILL);
  }
  ASSERT_FALSE(epoch_of(old_b).empty()) << old_b;

  // Run 2, after a (simulated) reboot: only A is asked for; a clean stop.
  {
    ProxyProcess proxy = start_on_boot(dir, "boot-2");
    ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
    SseClient a(proxy.port(), "/events/p/a", {{"Last-Event-ID", old_a}});
    ASSERT_EQ(a.status(), 200);
    auto snap = a.next();
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->type, "snapshot");
    EXPECT_NE(epoch_of(snap->id), epoch_of(old_a));
    a.close();
    proxy.signal(SIGTERM);
    ASSERT_EQ(proxy.wait(10s), 0) << proxy.stderr_text();
  }

  // Run 3, same boot, after a clean stop: B is loaded for the first time
  // since the crash. Its ids must not continue the old epoch.
  ProxyProcess proxy = start_on_boot(dir, "boot-2");
  ASSERT_TRUE(proxy.started()) << proxy.stderr_text();
  SseClient b(proxy.port(), "/events/p/b", {{"Last-Event-ID", old_b}});
  ASSERT_EQ(b.status(), 200);
  auto ev = b.next(5000ms * kSlowdown);
  ASSERT_TRUE(ev) << "a client resuming with B's pre-crash id got nothing";
  EXPECT_EQ(ev->type, "snapshot") << ev->id << " " << ev->data;
  EXPECT_NE(epoch_of(ev->id), epoch_of(old_b)) << "B's old epoch survived the crash: " << ev->id;
  EXPECT_NE(epoch_of(ev->id), "");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
