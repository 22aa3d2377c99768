// Redis going back in time under a lease holder (docs/cluster.md,
// "Failover"): a failover to a replica that lagged loses the last appends
// while the poll lease, written at every turn, survives. The red-team case
// of issue 23, made deterministic by rewriting the keys the way such a
// failover leaves them: the holder must start a new epoch and send its
// clients a snapshot, never freeze and never reuse an id for other data.
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sse/event_id.h"
#include "support/fake_backend.h"
#include "support/file_local.h"
#include "support/metrics_text.h"
#include "support/proxy_process.h"
#include "support/redis_server.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb {
namespace PB_FILE_LOCAL {

using testing::FakeBackend;
using testing::metric_series;
using testing::ProxyProcess;
using testing::RedisServer;
using testing::SseClient;
using testing::SseEvent;
using testing::wait_until;

std::string get(int port, const std::string& path, int* status = nullptr) {
  httplib::Client h("127.0.0.1", port);
  h.set_read_timeout(5, 0);
  auto r = h.Get(path.c_str());
  if (status) *status = r ? r->status : -1;
  return r ? r->body : std::string();
}

std::string body(int n) {
  return testing::padded("{\"n\":\"v" + std::to_string(n) + "\"}");
}
std::string needle(int n) {
  return "\"v" + std::to_string(n) + "\"";
}

std::string epoch_of(const std::string& id) {
  auto parsed = sse::parse_event_id(id);
  return parsed ? parsed->epoch : std::string();
}
std::uint64_t seq_of(const std::string& id) {
  auto parsed = sse::parse_event_id(id);
  return parsed ? parsed->seq : 0;
}

bool read_until(SseClient& client, const std::string& what, std::vector<SseEvent>& log,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(8000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = client.next(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!ev) return false;
    log.push_back(*ev);
    if (ev->data.find(what) != std::string::npos) return true;
  }
  return false;
}

// Every id a client saw stands for one payload.
void expect_ids_unique(const std::vector<SseEvent>& log) {
  std::map<std::string, std::string> seen;
  for (const auto& e : log) {
    if (!e.had_id) continue;
    auto [it, fresh] = seen.emplace(e.id, e.type + "\n" + e.data);
    EXPECT_TRUE(fresh) << "id " << e.id << " seen twice";
  }
}

TEST(RedisLostWritesTest, SequenceMovedBackWithTheLeaseIntactStartsANewEpochWithASnapshot) {
  if (!RedisServer::available()) {
    GTEST_SKIP() << RedisServer::kBinary << " is missing: scripts/deps.sh test installs it";
  }
  RedisServer redis;
  FakeBackend backend;
  backend.set_body(body(0));
  ProxyProcess proc(
      "server:\n  listen: \"127.0.0.1:0\"\n  heartbeat: 1s\n"
      "history: 100\n"
      "state:\n  redis: \"" +
      redis.url() +
      "\"\n  lease: 900ms\n  prefix: \"l:\"\n"
      "streams:\n  - name: s\n    url: " +
      backend.url("/doc") + "\n    interval: 100ms\n");
  ASSERT_TRUE(proc.started()) << proc.stderr_text();
  SseClient client(proc.port(), "/events/s");
  std::vector<SseEvent> log;
  ASSERT_TRUE(read_until(client, needle(0), log));
  for (int n = 1; n <= 4; ++n) {
    backend.set_body(body(n));
    ASSERT_TRUE(read_until(client, needle(n), log)) << n;
  }
  const std::string old_epoch = epoch_of(log.back().id);
  const std::uint64_t held = seq_of(log.back().id);
  ASSERT_GE(held, 4u);
  ASSERT_EQ(redis.command({"HGET", "l:{s}:meta", "seq"}), std::to_string(held));
  ASSERT_NE(redis.command({"GET", "l:{s}:lease"}), "(nil)");

  // What a failover to a replica two appends behind leaves: the last two
  // events and the sequence gone, the lease (renewed since) intact.
  for (std::uint64_t s = held - 1; s <= held; ++s) {
    ASSERT_EQ(redis.command({"XDEL", "l:{s}:events", std::to_string(s) + "-0"}), "1");
  }
  redis.command(
      {"HSET", "l:{s}:meta", "seq", std::to_string(held - 2), "doc_seq", std::to_string(held - 2)});
  // The next change: its ids must not be old_epoch-(held-1)... again.
  backend.set_body(body(5));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(read_until(client, needle(5), log, std::chrono::milliseconds(5000)))
      << "frozen: " << proc.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(3000));
  const SseEvent got = log.back();  // a copy: log grows below
  EXPECT_EQ(got.type, "snapshot");
  EXPECT_NE(epoch_of(got.id), old_epoch);
  expect_ids_unique(log);
  // Redis holds the new epoch, the stream is healthy again, and the
  // process says what happened.
  EXPECT_EQ(redis.command({"HGET", "l:{s}:meta", "epoch"}), epoch_of(got.id));
  const std::string m = get(proc.port(), "/metrics");
  EXPECT_EQ(metric_series(m, "pollbridge_cluster_lost_writes_total"), 1) << m;
  EXPECT_TRUE(wait_until([&] {
    return get(proc.port(), "/streams").find("\"state\":\"ok\"") != std::string::npos;
  })) << get(proc.port(), "/streams");
  int status = 0;
  get(proc.port(), "/readyz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(proc.stderr_text().find("Redis lost events"), std::string::npos);
  // A client resuming with an id of the old epoch gets the new snapshot.
  SseClient old(proc.port(), "/events/s",
                {{"Last-Event-ID", old_epoch + "-" + std::to_string(held)}});
  auto ev = old.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "snapshot");
  EXPECT_NE(ev->data.find(needle(5)), std::string::npos);
  // Later changes continue the new epoch.
  backend.set_body(body(6));
  ASSERT_TRUE(read_until(client, needle(6), log));
  EXPECT_EQ(epoch_of(log.back().id), epoch_of(got.id));
  expect_ids_unique(log);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
