// state.redis through Sentinel (redis+sentinel://, docs/cluster.md
// "Failover with Sentinel") against real processes: one master, one
// replica and three `redis-server --sentinel` with short timings, shared by
// every case of this file (started once: a topology costs seconds). Cases:
// a sentinel that is down or names a replica, all sentinels down at start,
// a failover with the old master alive,
// kill -9 of the master under two pollbridge instances with listening
// clients, a failover that loses writes (the replica stopped while the
// master takes appends, then promoted), poll requests across instances and
// a per-user stream through a failover, and a per-user key that a failover
// would lose (never used).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sse/event_id.h"
#include "support/fake_backend.h"
#include "support/fake_sentinel.h"
#include "support/file_local.h"
#include "support/metrics_text.h"
#include "support/proxy_process.h"
#include "support/redis_sentinel.h"
#include "support/redis_server.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb {
namespace PB_FILE_LOCAL {

using testing::FakeBackend;
using testing::FakeSentinel;
using testing::metric_series;
using testing::ProxyProcess;
using testing::RedisSentinel;
using testing::RedisServer;
using testing::SseClient;
using testing::SseEvent;
using testing::wait_until;
using namespace std::chrono_literals;

constexpr const char* kName = "pbmain";
constexpr const char* kAdmin = "sentinel-admin-token";

std::string get(int port, const std::string& path, int* status = nullptr) {
  httplib::Client h("127.0.0.1", port);
  h.set_read_timeout(5, 0);
  auto r = h.Get(path.c_str());
  if (status) *status = r ? r->status : -1;
  return r ? r->body : std::string();
}

// A GET with the admin token (/metrics needs it once a stream has access
// control).
std::string get_admin(int port, const std::string& path) {
  httplib::Client h("127.0.0.1", port);
  h.set_read_timeout(5, 0);
  auto r = h.Get(path.c_str(), {{"Authorization", std::string("Bearer ") + kAdmin}});
  return r ? r->body : std::string();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
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

bool read_until(SseClient& client, const std::string& what, std::vector<SseEvent>& log,
                std::chrono::milliseconds timeout = 8000ms) {
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

// No id stands for two payloads, across every log given.
void expect_one_payload_per_id(const std::vector<const std::vector<SseEvent>*>& logs) {
  std::map<std::string, std::string> seen;
  for (const auto* log : logs) {
    std::map<std::string, int> here;
    for (const auto& e : *log) {
      if (!e.had_id) continue;
      EXPECT_EQ(++here[e.id], 1) << "id " << e.id << " twice on one connection";
      auto [it, fresh] = seen.emplace(e.id, e.type + "\n" + e.data);
      if (!fresh) {
        EXPECT_EQ(it->second, e.type + "\n" + e.data) << "id " << e.id;
      }
    }
  }
}

// The shared topology: nodes_[0] starts as the master, nodes_[1] as its
// replica; after a failover the killed node comes back as a replica of the
// new master (heal()).
class RedisSentinelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!RedisServer::available()) return;
    // A replica's full sync starts at once (Redis 7 waits 5 s for more
    // replicas to share a diskless transfer by default).
    nodes_[0] = new RedisServer("", {"--repl-diskless-sync-delay", "0"});
    nodes_[1] = new RedisServer(
        "", {"--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", port_str(0)});
    for (auto*& s : sentinels_) s = new RedisSentinel(kName, nodes_[0]->port(), 2);
    // A failover needs the sentinels to know each other and the replica
    // (they learn it through the master within seconds).
    const bool known = wait_until(
        [] {
          for (auto* s : sentinels_) {
            std::string m = s->command({"SENTINEL", "master", kName});
            if (m.find("num-other-sentinels\n2") == std::string::npos ||
                m.find("num-slaves\n1") == std::string::npos) {
              return false;
            }
          }
          return true;
        },
        15000ms);
    if (!known) ADD_FAILURE() << "the sentinels did not find each other and the replica";
  }
  static void TearDownTestSuite() {
    for (auto*& s : sentinels_) {
      delete s;
      s = nullptr;
    }
    for (auto*& n : nodes_) {
      if (n) n->signal(SIGCONT);
      delete n;
      n = nullptr;
    }
  }
  void SetUp() override {
    if (!RedisServer::available()) {
      GTEST_SKIP() << RedisServer::kBinary << " is missing: scripts/deps.sh test installs it";
    }
    backend_.set_body(body(0));
  }
  // A failed case shows what the sentinels saw (a failover they made or
  // did not make is otherwise invisible once they are gone).
  void TearDown() override {
    if (!HasFailure()) return;
    for (auto* s : sentinels_) {
      if (s) std::cerr << "sentinel " << s->port() << " log:\n" << s->log_tail(60);
    }
    for (auto* n : nodes_) {
      if (n) std::cerr << "redis " << n->port() << " log:\n" << n->log_tail(60);
    }
  }

  static std::string port_str(int i) { return std::to_string(nodes_[i]->port()); }
  // The node the sentinels name as master now (-1: none of ours).
  static int master_index() {
    const std::string m = sentinels_[0]->master();
    for (int i = 0; i < 2; ++i) {
      if (m == "127.0.0.1:" + port_str(i)) return i;
    }
    return -1;
  }
  // Waits until the sentinels promoted the other node (after a kill), as
  // the first one (master_index()) tells.
  static bool wait_promoted(int to) {
    return wait_until([to] { return master_index() == to; }, 15000ms);
  }
  // Brings node `i` (killed) back as a replica of the master, in sync.
  static void heal(int i) {
    const int m = 1 - i;
    nodes_[i]->set_extra(
        {"--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", port_str(m)});
    nodes_[i]->start();
    ASSERT_TRUE(wait_until(
        [m] {
          std::string info = nodes_[m]->command({"INFO", "replication"});
          return info.find("state=online") != std::string::npos;
        },
        10000ms));
  }

  std::string url(const std::string& first = "") const {
    std::string u = "redis+sentinel://" + first;
    for (auto* s : sentinels_) {
      u += (u.back() == '/' || u.back() == ',' ? "" : ",") + std::string("127.0.0.1:") +
           std::to_string(s->port());
    }
    return u + "/" + kName + "/0";
  }
  std::string config(const std::string& redis_url, const std::string& extra_state = "") const {
    return "server:\n  listen: \"127.0.0.1:0\"\n  heartbeat: 1s\n  retry: 300ms\n"
           "history: 100\n"
           "state:\n  redis: \"" +
           redis_url + "\"\n  lease: 3s\n  prefix: \"st:\"\n" + extra_state +
           "streams:\n  - name: s\n    url: " + backend_.url("/doc") +
           "\n    interval: 100ms\n"
           "  - name: p\n    url: " +
           backend_.url("/items/{id}") +
           "\n    path: /events/p/{id}\n    params: { id: \"[0-9]+\" }\n    interval: 100ms\n";
  }

  // config() plus an admin token, a stream polled only on request
  // ("slow") and a per-user stream that persists ("mine": its instances'
  // keys derive from the shared per-user key, P:user-key).
  std::string per_user_config() const {
    std::string yaml = config(url());
    const std::string retry = "  retry: 300ms\n";
    yaml.replace(yaml.find(retry), retry.size(),
                 retry + "  admin_token: \"" + std::string(kAdmin) + "\"\n");
    return yaml + "  - name: slow\n    url: " + backend_.url("/slow") +
           "\n    interval: 60s\n    timeout: 2s\n"
           "  - name: mine\n    url: " +
           backend_.url("/mine") +
           "\n    forward_headers: [Cookie]\n    auth: upstream\n    persist: true\n"
           "    interval: 100ms\n";
  }
  // The pid in the lease token of `address` on node `i`
  // ("host:pid:random#fence"), -1 if nobody holds it.
  static pid_t lease_holder(int i, const std::string& address) {
    const std::string token = nodes_[i]->command({"GET", "st:{" + address + "}:lease"});
    const auto a = token.find(':');
    const auto b = a == std::string::npos ? a : token.find(':', a + 1);
    if (b == std::string::npos) return -1;
    return static_cast<pid_t>(std::stol(token.substr(a + 1, b - a - 1)));
  }

  static RedisServer* nodes_[2];
  static RedisSentinel* sentinels_[3];
  FakeBackend backend_;
};

RedisServer* RedisSentinelTest::nodes_[2] = {nullptr, nullptr};
RedisSentinel* RedisSentinelTest::sentinels_[3] = {nullptr, nullptr, nullptr};

// The first sentinel listed names a replica, the second is down: the
// replica is refused (ROLE) and the next sentinels asked.
TEST_F(RedisSentinelTest, AWrongOrDownSentinelIsPassedOver) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  FakeSentinel liar(nodes_[1 - m]->port());
  const int down = testing::free_loopback_port();
  ProxyProcess proc(config(url("127.0.0.1:" + std::to_string(liar.port()) +
                               ",127.0.0.1:" + std::to_string(down) + ",")));
  ASSERT_TRUE(proc.started()) << proc.stderr_text();
  SseClient client(proc.port(), "/events/s");
  std::vector<SseEvent> log;
  ASSERT_TRUE(read_until(client, needle(0), log)) << proc.stderr_text();
  EXPECT_GT(liar.asked(), 0);
  const std::string where = "127.0.0.1:" + port_str(m);
  const std::string metrics = get(proc.port(), "/metrics");
  EXPECT_NE(metrics.find("pollbridge_cluster_redis_master{address=\"" + where + "\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metric_series(metrics, "pollbridge_cluster_failovers_total"), 0) << metrics;
  EXPECT_NE(get(proc.port(), "/streams").find("\"redis_master\":\"" + where + "\""),
            std::string::npos);
}

// No sentinel answers at start: pollbridge starts (as with an unreachable
// plain redis://), says why on /readyz and in its log, retries, and works
// once a sentinel answers. The sentinels' password never shows.
TEST_F(RedisSentinelTest, AllSentinelsDownAtStartIsReportedAndRetried) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  const int a = testing::free_loopback_port(), b = testing::free_loopback_port();
  const std::string u = "redis+sentinel://127.0.0.1:" + std::to_string(a) +
                        ",127.0.0.1:" + std::to_string(b) + "/" + kName + "/0";
  ProxyProcess proc(config(u, "  sentinel_password: \"s-secret-81\"\n"));
  ASSERT_TRUE(proc.started()) << proc.stderr_text();
  std::string readyz;
  ASSERT_TRUE(wait_until([&] {
    int status = 0;
    readyz = get(proc.port(), "/readyz?detail=1", &status);
    return status == 503 && proc.stderr_text().find("no sentinel") != std::string::npos;
  })) << readyz
      << proc.stderr_text();
  FakeSentinel up(nodes_[m]->port(), a);
  ASSERT_TRUE(wait_until(
      [&] {
        int status = 0;
        get(proc.port(), "/readyz", &status);
        return status == 200;
      },
      8000ms))
      << proc.stderr_text();
  SseClient client(proc.port(), "/events/s");
  std::vector<SseEvent> log;
  ASSERT_TRUE(read_until(client, needle(0), log));
  for (const std::string& text :
       {proc.stderr_text(), get(proc.port(), "/metrics"), get(proc.port(), "/streams"), readyz}) {
    EXPECT_EQ(text.find("s-secret-81"), std::string::npos);
  }
}

// A failover with the old master alive (SENTINEL FAILOVER; as a partition
// would look from pollbridge's side): no connection is lost by itself, so
// the switch must be heard (+switch-master) or met (-READONLY); the events
// go to the new master, never to the demoted one.
TEST_F(RedisSentinelTest, AFailoverWithTheOldMasterAliveMovesBothConnections) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  ProxyProcess proc(config(url()));
  ASSERT_TRUE(proc.started()) << proc.stderr_text();
  SseClient client(proc.port(), "/events/s");
  std::vector<SseEvent> log;
  backend_.set_body(body(30));
  ASSERT_TRUE(read_until(client, needle(30), log));
  const std::string seq = nodes_[m]->command({"HGET", "st:{s}:meta", "seq"});
  ASSERT_TRUE(wait_until([&] {
    return nodes_[1 - m]->command({"HGET", "st:{s}:meta", "seq"}) == seq;
  }));
  // pollbridge listens for +switch-master on the first sentinel listed.
  ASSERT_TRUE(wait_until([&] {
    return sentinels_[0]->command({"CLIENT", "LIST"}).find("sub=1") != std::string::npos;
  })) << sentinels_[0]->command({"CLIENT", "LIST"});
  ASSERT_EQ(sentinels_[0]->command({"SENTINEL", "FAILOVER", kName}), "OK");
  ASSERT_TRUE(wait_promoted(1 - m));
  // Sentinel names the promoted replica before it announces the switch
  // (+switch-master ends its failover): a change polled in between goes
  // to the old master, still writable, and is lost when it is made a
  // replica (then detected: a new epoch). The switch heard, every append
  // goes to the new master.
  EXPECT_TRUE(wait_until([&] {
    return metric_series(get(proc.port(), "/metrics"), "pollbridge_cluster_failovers_total") == 1;
  })) << proc.stderr_text();
  backend_.set_body(body(31));
  ASSERT_TRUE(read_until(client, needle(31), log)) << proc.stderr_text();
  expect_one_payload_per_id({&log});
  // Recorded on the new master: its epoch and sequence are the event's.
  const std::string id = log.back().id;
  ASSERT_TRUE(wait_until([&] {
    return nodes_[1 - m]->command({"HGET", "st:{s}:meta", "epoch"}) + "-" +
               nodes_[1 - m]->command({"HGET", "st:{s}:meta", "seq"}) ==
           id;
  })) << id;
  // The demoted master follows the new one again before the next case
  // (Sentinel would tell it within its 10 s INFO period; faster here).
  nodes_[m]->command({"REPLICAOF", "127.0.0.1", port_str(1 - m)});
  ASSERT_TRUE(wait_until(
      [&] {
        return nodes_[1 - m]->command({"INFO", "replication"}).find("state=online") !=
               std::string::npos;
      },
      10000ms));
}

// kill -9 of the master while clients listen on two instances (and on a
// parameterized instance made on one of them): Sentinel
// promotes the replica, both instances move to it, events resume with the
// documents exact and no id twice.
TEST_F(RedisSentinelTest, KillNineOfTheMasterResumesEventsOnTwoInstances) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  ProxyProcess p1(config(url())), p2(config(url()));
  ASSERT_TRUE(p1.started()) << p1.stderr_text();
  ASSERT_TRUE(p2.started()) << p2.stderr_text();
  SseClient a(p1.port(), "/events/s"), b(p2.port(), "/events/s");
  // A parameterized instance, listened to on the second instance only.
  backend_.set_body(body(50), "/items/7");
  SseClient pc(p2.port(), "/events/p/7");
  std::vector<SseEvent> plog;
  ASSERT_TRUE(read_until(pc, needle(50), plog));
  std::vector<SseEvent> alog, blog;
  for (int n = 0; n <= 2; ++n) {
    backend_.set_body(body(n));
    ASSERT_TRUE(read_until(a, needle(n), alog)) << n;
    ASSERT_TRUE(read_until(b, needle(n), blog)) << n;
  }
  // The replica holds what was appended (replication is asynchronous, but
  // on loopback prompt: waited for, so this case loses nothing).
  const std::string seq = nodes_[m]->command({"HGET", "st:{s}:meta", "seq"});
  ASSERT_TRUE(wait_until([&] {
    return nodes_[1 - m]->command({"HGET", "st:{s}:meta", "seq"}) == seq;
  }));
  nodes_[m]->kill();
  backend_.set_body(body(3));
  ASSERT_TRUE(wait_promoted(1 - m));
  ASSERT_TRUE(read_until(a, needle(3), alog, 10000ms)) << p1.stderr_text();
  ASSERT_TRUE(read_until(b, needle(3), blog, 10000ms)) << p2.stderr_text();
  backend_.set_body(body(4));
  backend_.set_body(body(51), "/items/7");
  ASSERT_TRUE(read_until(a, needle(4), alog));
  ASSERT_TRUE(read_until(b, needle(4), blog));
  ASSERT_TRUE(read_until(pc, needle(51), plog)) << p2.stderr_text();
  expect_one_payload_per_id({&plog});
  expect_one_payload_per_id({&alog, &blog});
  EXPECT_EQ(alog.back().id, blog.back().id);
  EXPECT_EQ(get(p1.port(), "/streams/s"), get(p2.port(), "/streams/s"));
  EXPECT_NE(get(p1.port(), "/streams/s").find(needle(4)), std::string::npos);
  const std::string where = "127.0.0.1:" + port_str(1 - m);
  for (auto* p : {&p1, &p2}) {
    EXPECT_TRUE(wait_until([&] {
      const std::string metrics = get(p->port(), "/metrics");
      return metric_series(metrics, "pollbridge_cluster_failovers_total") == 1 &&
             metrics.find("{address=\"" + where + "\"}") != std::string::npos;
    })) << get(p->port(), "/metrics");
    EXPECT_NE(p->stderr_text().find("Redis master changed"), std::string::npos);
  }
  heal(m);
}

// Writes lost in a failover: the replica is stopped while the master takes
// appends, the master is killed and the stale replica promoted. The
// instance finds Redis behind what it sent: a new epoch, and a snapshot.
TEST_F(RedisSentinelTest, AFailoverThatLosesWritesStartsANewEpochWithASnapshot) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  ProxyProcess proc(config(url()));
  ASSERT_TRUE(proc.started()) << proc.stderr_text();
  SseClient client(proc.port(), "/events/s");
  std::vector<SseEvent> log;
  backend_.set_body(body(10));
  ASSERT_TRUE(read_until(client, needle(10), log));
  const std::string seq = nodes_[m]->command({"HGET", "st:{s}:meta", "seq"});
  ASSERT_TRUE(wait_until([&] {
    return nodes_[1 - m]->command({"HGET", "st:{s}:meta", "seq"}) == seq;
  }));
  // Stopped, and cut off: what the master sends it from now on is not in
  // its socket buffer either (a SIGSTOP alone leaves it there, to be read
  // on SIGCONT).
  nodes_[1 - m]->signal(SIGSTOP);
  ASSERT_EQ(nodes_[m]->command({"CLIENT", "KILL", "TYPE", "replica"}), "1");
  for (int n = 11; n <= 12; ++n) {
    backend_.set_body(body(n));
    ASSERT_TRUE(read_until(client, needle(n), log)) << n;
  }
  const std::string old_epoch = epoch_of(log.back().id);
  nodes_[m]->kill();
  nodes_[1 - m]->signal(SIGCONT);
  backend_.set_body(body(13));
  ASSERT_TRUE(wait_promoted(1 - m));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(read_until(client, needle(13), log, 10000ms)) << proc.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5000ms);
  EXPECT_EQ(log.back().type, "snapshot");
  EXPECT_NE(epoch_of(log.back().id), old_epoch);
  expect_one_payload_per_id({&log});
  EXPECT_TRUE(wait_until([&] {
    return metric_series(get(proc.port(), "/metrics"), "pollbridge_cluster_lost_writes_total") == 1;
  }));
  heal(m);
}

// Poll requests across instances and a per-user stream through a failover
// (SENTINEL FAILOVER: the old master stays up, so the follower's
// connection is not lost; it must move on +switch-master to hear the
// requests): afterwards the instance that does not hold the lease still
// has the holder poll at once when asked, and its clients get the event;
// both instances go on serving one instance per user.
TEST_F(RedisSentinelTest, PollRequestsAndPerUserStreamsSurviveAFailover) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  backend_.set_body(body(60), "/slow");
  backend_.set_body(body(70), "/mine");
  ProxyProcess p1(per_user_config());
  ASSERT_TRUE(p1.started()) << p1.stderr_text();
  ProxyProcess p2(per_user_config());
  ASSERT_TRUE(p2.started()) << p2.stderr_text();
  ProxyProcess* procs[2] = {&p1, &p2};
  const SseClient::Headers alice = {{"Cookie", "session=alice"}};
  SseClient s1(p1.port(), "/events/slow"), s2(p2.port(), "/events/slow");
  SseClient a1(p1.port(), "/events/mine", alice), a2(p2.port(), "/events/mine", alice);
  std::vector<SseEvent> slog[2], alog[2];
  SseClient* slow[2] = {&s1, &s2};
  SseClient* mine[2] = {&a1, &a2};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(read_until(*slow[i], needle(60), slog[i])) << i;
    ASSERT_TRUE(read_until(*mine[i], needle(70), alog[i])) << i;
  }
  EXPECT_EQ(alog[0].back().id, alog[1].back().id) << "one instance of alice";
  // The replica has it all (so that this case loses nothing), and both
  // instances listen for +switch-master on the first sentinel.
  ASSERT_TRUE(wait_until([&] {
    for (const char* key : {"st:{s}:meta", "st:{slow}:meta"}) {
      if (nodes_[1 - m]->command({"HGET", key, "seq"}) != nodes_[m]->command({"HGET", key, "seq"}))
        return false;
    }
    return nodes_[1 - m]->command({"GET", "st:user-key"}) ==
               nodes_[m]->command({"GET", "st:user-key"}) &&
           occurrences(sentinels_[0]->command({"CLIENT", "LIST"}), "sub=1") >= 2;
  })) << sentinels_[0]->command({"CLIENT", "LIST"});
  ASSERT_EQ(sentinels_[0]->command({"SENTINEL", "FAILOVER", kName}), "OK");
  ASSERT_TRUE(wait_promoted(1 - m));
  for (auto* p : procs) {
    ASSERT_TRUE(wait_until([&] {
      return metric_series(get_admin(p->port(), "/metrics"),
                           "pollbridge_cluster_failovers_total") == 1;
    })) << p->stderr_text();
  }
  // The lease survived on the new master: ask the other instance.
  const pid_t holder = lease_holder(1 - m, "slow");
  ASSERT_TRUE(holder == p1.pid() || holder == p2.pid()) << holder;
  const int asked = holder == p1.pid() ? 1 : 0;
  backend_.set_body(body(61), "/slow");
  httplib::Client h("127.0.0.1", procs[asked]->port());
  h.set_read_timeout(10, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = h.Post("/streams/slow/poll?wait=true",
                  {{"Authorization", std::string("Bearer ") + kAdmin}}, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body << procs[asked]->stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5000ms) << "a lost request waits 10 s";
  EXPECT_EQ(metric_series(get_admin(procs[asked]->port(), "/metrics"),
                          "pollbridge_cluster_poll_requests_total{direction=\"sent\"}"),
            1);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(read_until(*slow[i], needle(61), slog[i], 3000ms)) << i;
    expect_one_payload_per_id({&slog[i]});
  }
  // Alice's instance goes on, the same on both instances.
  backend_.set_body(body(71), "/mine");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(read_until(*mine[i], needle(71), alog[i])) << i;
  EXPECT_EQ(alog[0].back().id, alog[1].back().id) << "one instance of alice";
  expect_one_payload_per_id({&alog[0], &alog[1]});
  // The demoted master follows the new one again before the next case.
  nodes_[m]->command({"REPLICAOF", "127.0.0.1", port_str(1 - m)});
  ASSERT_TRUE(wait_until(
      [&] {
        return nodes_[1 - m]->command({"INFO", "replication"}).find("state=online") !=
               std::string::npos;
      },
      10000ms));
}

// The shared per-user key is used only once a replica holds it: written
// while the replica is cut off, then the master killed and the stale
// replica promoted, it is lost; a process using it meanwhile would key
// every user differently from a process started afterwards (two pollers
// per user, other ids on each). The first process waits until the key it
// gets is replicated; both then agree on alice's instance.
TEST_F(RedisSentinelTest, ThePerUserKeyIsUsedOnlyOnceAReplicaHoldsIt) {
  const int m = master_index();
  ASSERT_GE(m, 0);
  backend_.set_body(body(80), "/mine");
  nodes_[m]->command({"DEL", "st:user-key"});
  ASSERT_TRUE(wait_until([&] { return nodes_[1 - m]->command({"EXISTS", "st:user-key"}) == "0"; }));
  nodes_[1 - m]->signal(SIGSTOP);
  ASSERT_EQ(nodes_[m]->command({"CLIENT", "KILL", "TYPE", "replica"}), "1");
  auto starting = std::async(std::launch::async,
                             [this] { return std::make_unique<ProxyProcess>(per_user_config()); });
  ASSERT_TRUE(wait_until([&] { return nodes_[m]->command({"EXISTS", "st:user-key"}) == "1"; }));
  nodes_[m]->kill();
  nodes_[1 - m]->signal(SIGCONT);
  ASSERT_TRUE(wait_promoted(1 - m));
  heal(m);
  std::unique_ptr<ProxyProcess> p1 = starting.get();
  ASSERT_TRUE(p1->started()) << p1->stderr_text();
  EXPECT_NE(p1->stderr_text().find("waiting for the cluster's user key"), std::string::npos);
  ProxyProcess p2(per_user_config());
  ASSERT_TRUE(p2.started()) << p2.stderr_text();
  const SseClient::Headers alice = {{"Cookie", "session=alice"}};
  SseClient a1(p1->port(), "/events/mine", alice), a2(p2.port(), "/events/mine", alice);
  std::vector<SseEvent> l1, l2;
  ASSERT_TRUE(read_until(a1, needle(80), l1));
  ASSERT_TRUE(read_until(a2, needle(80), l2));
  EXPECT_EQ(l1.back().id, l2.back().id) << "two instances of alice: two user keys";
  EXPECT_EQ(nodes_[m]->command({"STRLEN", "st:user-key"}), "32");
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
