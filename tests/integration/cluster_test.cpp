// ctest-labels: threaded
// Several real pollbridge processes sharing one real redis-server
// (state.redis; docs/cluster.md): one poller in total, the same events with
// the same ids on every instance, resume on another instance, takeover
// after kill -9, a paused poller stepping down, Redis restarted empty, Redis
// down, and a parameterized stream across instances.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
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

constexpr int kInterval = 200;  // ms
constexpr int kLease = 1000;    // ms
constexpr const char* kAdmin = "cluster-admin-token";

std::string get(int port, const std::string& path, int* status = nullptr) {
  httplib::Client h("127.0.0.1", port);
  h.set_read_timeout(5, 0);
  auto r = h.Get(path.c_str());
  if (status) *status = r ? r->status : -1;
  return r ? r->body : std::string();
}

std::uint64_t seq_of(const std::string& id) {
  auto parsed = sse::parse_event_id(id);
  return parsed ? parsed->seq : 0;
}

std::string epoch_of(const std::string& id) {
  auto parsed = sse::parse_event_id(id);
  return parsed ? parsed->epoch : std::string();
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) {
      GTEST_SKIP() << RedisServer::kBinary << " is missing: scripts/deps.sh test installs it";
    }
    redis_ = std::make_unique<RedisServer>();
    backend_.set_body(body(0));
    backend_.set_body(R"({"item":7,"v":0})", "/items/7");
    backend_.set_body(body(0), "/slow");
  }

  // Padded, so that each change goes out as a patch; the value is a string
  // so that needle(n) finds it in a snapshot and in a patch alike.
  static std::string body(int n) {
    return testing::padded("{\"n\":\"v" + std::to_string(n) + "\"}");
  }
  static std::string needle(int n) { return "\"v" + std::to_string(n) + "\""; }

  void TearDown() override {
    // A test that failed between SIGSTOP and SIGCONT leaves no stopped
    // process behind (it could not be terminated).
    for (auto& p : procs_) {
      if (p) p->signal(SIGCONT);
    }
  }

  std::string config() const {
    return "server:\n"
           "  listen: \"127.0.0.1:0\"\n"
           "  heartbeat: 1s\n"
           "  retry: 500ms\n"
           "  admin_token: \"" +
           std::string(kAdmin) +
           "\"\n"
           "history: 100\n"
           "state:\n"
           "  redis: \"redis://127.0.0.1:" +
           std::to_string(redis_->port()) +
           "/0\"\n"
           "  lease: " +
           std::to_string(kLease) +
           "ms\n"
           "  prefix: \"c:\"\n"
           "streams:\n"
           "  - name: s\n"
           "    url: " +
           backend_.url("/doc") + "\n    interval: " + std::to_string(kInterval) +
           "ms\n"
           "    timeout: 10s\n" +
           (with_slow_ ? "  - name: slow\n    url: " + backend_.url("/slow") +
                             "\n    interval: 60s\n    timeout: 2s\n"
                       : std::string()) +
           "  - name: p\n"
           "    url: " +
           backend_.url("/items/{id}") +
           "\n"
           "    path: /events/p/{id}\n"
           "    params: { id: \"[0-9]+\" }\n"
           "    interval: " +
           std::to_string(kInterval) + "ms\n";
  }

  void start(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      procs_.push_back(std::make_unique<ProxyProcess>(config()));
      ASSERT_TRUE(procs_.back()->started()) << procs_.back()->stderr_text();
    }
  }

  // The pid in the lease token of `address` ("host:pid:random#fence"), -1
  // if nobody holds it.
  pid_t poller_pid(const std::string& address = "s") const {
    std::string token = redis_->command({"GET", "c:{" + address + "}:lease"});
    auto a = token.find(':');
    auto b = token.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) return -1;
    return static_cast<pid_t>(std::stol(token.substr(a + 1, b - a - 1)));
  }
  std::size_t index_of(pid_t pid) const {
    for (std::size_t i = 0; i < procs_.size(); ++i) {
      if (procs_[i] && procs_[i]->pid() == pid) return i;
    }
    return procs_.size();
  }

  // Waits until `client` received an event whose data holds `needle`;
  // appends what it read to `log`.
  static bool read_until(SseClient& client, const std::string& needle, std::vector<SseEvent>& log,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(8000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto ev = client.next(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!ev) return false;
      log.push_back(*ev);
      if (ev->data.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  // Events with ids: consecutive within an epoch, never repeated.
  static void expect_consecutive(const std::vector<SseEvent>& log) {
    std::string epoch;
    std::uint64_t last = 0;
    std::set<std::string> seen;
    for (const auto& e : log) {
      if (!e.had_id) continue;
      EXPECT_TRUE(seen.insert(e.id).second) << "duplicate id " << e.id;
      if (epoch_of(e.id) == epoch && e.type != "snapshot") {
        EXPECT_EQ(seq_of(e.id), last + 1) << "gap before " << e.id;
      }
      epoch = epoch_of(e.id);
      last = seq_of(e.id);
    }
  }

  std::size_t polls_of(const std::string& path) const {
    std::size_t n = 0;
    for (const auto& r : backend_.seen()) n += r.path == path ? 1 : 0;
    return n;
  }

  std::unique_ptr<RedisServer> redis_;
  // The config has stream "slow" (polled every 60 s: only on request).
  bool with_slow_ = false;
  FakeBackend backend_;
  std::vector<std::unique_ptr<ProxyProcess>> procs_;
};

TEST_F(ClusterTest, ThreeInstancesSendIdenticalEventsAndPollOnce) {
  start(3);
  std::vector<std::unique_ptr<SseClient>> clients;
  std::vector<std::vector<SseEvent>> logs(3);
  for (auto& p : procs_) clients.push_back(std::make_unique<SseClient>(p->port(), "/events/s"));
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(read_until(*clients[i], needle(0), logs[i])) << i;
  }
  for (int n = 1; n <= 4; ++n) {
    backend_.set_body(body(n));
    for (std::size_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(read_until(*clients[i], needle(n), logs[i])) << i << " " << n;
    }
  }
  // Every instance: the same events, ids, types and data from the first
  // event they have in common.
  for (std::size_t i = 1; i < 3; ++i) {
    std::vector<std::tuple<std::string, std::string, std::string>> x, y;
    for (const auto& e : logs[0]) {
      if (e.type != "snapshot") x.emplace_back(e.id, e.type, e.data);
    }
    for (const auto& e : logs[i]) {
      if (e.type != "snapshot") y.emplace_back(e.id, e.type, e.data);
    }
    EXPECT_EQ(x, y) << "instance " << i;
    EXPECT_EQ(logs[0].back().id, logs[i].back().id);
  }
  for (auto& l : logs) expect_consecutive(l);
  // One poller for the whole cluster: about one request per interval.
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // a measuring window
  std::size_t polls = 0;
  for (const auto& r : backend_.seen()) {
    if (r.at >= t0 && r.path == "/doc") ++polls;
  }
  EXPECT_LE(polls, 2000u / kInterval + 3) << "more than one poller";
  EXPECT_GE(polls, 2000u / kInterval / 2) << "nobody polls";
  // /metrics: the plain stream is polled by exactly one instance, and
  // every instance reaches Redis.
  long leases = 0;
  for (auto& p : procs_) {
    const std::string m = get(p->port(), "/metrics");
    EXPECT_NE(m.find("\npollbridge_cluster_redis_up 1\n"), std::string::npos) << m;
    EXPECT_NE(m.find("\npollbridge_cluster_instances 1\n"), std::string::npos) << m;
    const double held = metric_series(m, "pollbridge_cluster_leases_held");
    ASSERT_GE(held, 0) << m;
    leases += static_cast<long>(held);
  }
  EXPECT_EQ(leases, 1);
}

// A backend's webhook reaches whichever instance the load balancer picks:
// the instance holding the poll lease polls, once, and ?wait=true answers
// only after the poll's events are on the instance that was asked.
TEST_F(ClusterTest, APollRequestToAnyInstanceHasTheLeaseHolderPollOnce) {
  with_slow_ = true;
  start(3);
  for (auto& p : procs_) {
    ASSERT_TRUE(wait_until(
        [&] { return get(p->port(), "/streams/slow").find(needle(0)) != std::string::npos; },
        std::chrono::milliseconds(8000)));
  }
  const std::size_t holder = index_of(poller_pid("slow"));
  ASSERT_LT(holder, procs_.size());
  httplib::Headers admin = {{"Authorization", std::string("Bearer ") + kAdmin}};
  for (std::size_t i = 0; i < procs_.size(); ++i) {
    const int n = 10 + static_cast<int>(i);
    backend_.set_body(body(n), "/slow");
    const std::size_t before = polls_of("/slow");
    httplib::Client h("127.0.0.1", procs_[i]->port());
    h.set_read_timeout(10, 0);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = h.Post("/streams/slow/poll?wait=true", admin, "", "text/plain");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << "instance " << i << (i == holder ? " (holder): " : ": ")
                              << r->body;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500)) << i;
    EXPECT_EQ(polls_of("/slow"), before + 1) << "instance " << i;
    // The answer comes after the poll's events reached the instance asked.
    EXPECT_NE(get(procs_[i]->port(), "/streams/slow").find(needle(n)), std::string::npos) << i;
  }
  // Without ?wait: 202, and the change arrives everywhere.
  const std::size_t follower = (holder + 1) % procs_.size();
  backend_.set_body(body(20), "/slow");
  httplib::Client h("127.0.0.1", procs_[follower]->port());
  auto r = h.Post("/streams/slow/poll", admin, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  for (auto& p : procs_) {
    EXPECT_TRUE(wait_until(
        [&] { return get(p->port(), "/streams/slow").find(needle(20)) != std::string::npos; },
        std::chrono::milliseconds(3000)));
  }
}

// A per-user stream that persists is one instance per user in the whole
// cluster: every process keys it alike (the HMAC key is shared through
// Redis), so the lease makes one poller of it and clients on any instance
// get the same ids. A user's instance is still only theirs.
TEST_F(ClusterTest, APerUserStreamThatPersistsIsPolledOnceAcrossInstances) {
  backend_.set_body(body(0), "/mine");
  const std::string yaml = "auth:\n  tokens: [\"cluster-read-token-0123456789\"]\n" + config() +
                           "  - name: mine\n    url: " + backend_.url("/mine") +
                           "\n    forward_headers: [Cookie]\n    auth: upstream\n"
                           "    persist: true\n    interval: " +
                           std::to_string(kInterval) + "ms\n";
  for (int i = 0; i < 2; ++i) {
    procs_.push_back(std::make_unique<ProxyProcess>(yaml));
    ASSERT_TRUE(procs_.back()->started()) << procs_.back()->stderr_text();
  }
  SseClient::Headers alice = {{"Cookie", "session=alice"}};
  SseClient a0(procs_[0]->port(), "/events/mine", alice);
  SseClient a1(procs_[1]->port(), "/events/mine", alice);
  ASSERT_EQ(a0.status(), 200);
  ASSERT_EQ(a1.status(), 200);
  std::vector<SseEvent> l0, l1;
  ASSERT_TRUE(read_until(a0, needle(0), l0));
  ASSERT_TRUE(read_until(a1, needle(0), l1));
  backend_.set_body(body(1), "/mine");
  ASSERT_TRUE(read_until(a0, needle(1), l0));
  ASSERT_TRUE(read_until(a1, needle(1), l1));
  EXPECT_EQ(l0.back().id, l1.back().id) << "one instance, one id sequence";
  EXPECT_EQ(l0.back().type, "patch");
  EXPECT_EQ(l1.back().type, "patch");
  // One poller for alice in the cluster.
  const std::size_t before = polls_of("/mine");
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // a measuring window
  const std::size_t during = polls_of("/mine") - before;
  EXPECT_LE(during, 2000u / kInterval + 3) << "each instance polls alice itself";
  EXPECT_GE(during, 2000u / kInterval / 2) << "nobody polls";
  // Bob is another instance, with ids of its own.
  SseClient b(procs_[1]->port(), "/events/mine", {{"Cookie", "session=bob"}});
  ASSERT_EQ(b.status(), 200);
  auto first = b.next();
  ASSERT_TRUE(first);
  EXPECT_NE(epoch_of(first->id), epoch_of(l0.back().id));
  // The upstream refuses alice now: the poller sees it, and so does every
  // other instance (the status comes through Redis with its 401), so none
  // admits her with the document it still holds.
  backend_.set_failure(401);
  for (auto& p : procs_) {
    const int port = p->port();
    std::string last;
    EXPECT_TRUE(wait_until(
        [&] {
          httplib::Client h("127.0.0.1", port);
          h.set_read_timeout(15, 0);
          auto r = h.Get("/streams/mine", {{"Cookie", "session=alice"}});
          last = r ? std::to_string(r->status) + " " + r->body : "no answer";
          return r && r->status == 401;
        },
        std::chrono::milliseconds(8000)))
        << "instance on " << port << " still admits refused credentials; last answer: " << last
        << "\n"
        << p->stderr_text();
  }
  // The key is in Redis, the same for both, and never in a log.
  EXPECT_EQ(redis_->command({"STRLEN", "c:user-key"}), "32");
  for (auto& p : procs_) {
    EXPECT_EQ(p->stderr_text().find("user-key"), std::string::npos) << p->stderr_text();
  }
}

TEST_F(ClusterTest, AClientResumesOnAnotherInstanceWithItsLastEventId) {
  start(2);
  std::vector<SseEvent> first;
  std::string last_id;
  {
    SseClient c(procs_[0]->port(), "/events/s");
    ASSERT_TRUE(read_until(c, needle(0), first));
    backend_.set_body(body(1));
    ASSERT_TRUE(read_until(c, needle(1), first));
    last_id = c.last_event_id();
  }
  // Missed while away: two changes, seen by the other instance.
  SseClient watcher(procs_[1]->port(), "/events/s");
  std::vector<SseEvent> w;
  ASSERT_TRUE(read_until(watcher, needle(1), w));
  backend_.set_body(body(2));
  ASSERT_TRUE(read_until(watcher, needle(2), w));
  backend_.set_body(body(3));
  ASSERT_TRUE(read_until(watcher, needle(3), w));

  SseClient moved(procs_[1]->port(), "/events/s", {{"Last-Event-ID", last_id}});
  auto replay = moved.take(2);
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_NE(replay[0].type, "snapshot");
  EXPECT_EQ(seq_of(replay[0].id), seq_of(last_id) + 1);
  EXPECT_EQ(epoch_of(replay[0].id), epoch_of(last_id));
  EXPECT_EQ(replay[1].id, w.back().id);
  EXPECT_EQ(replay[1].data, w.back().data);
}

TEST_F(ClusterTest, KillNineOfThePollerMovesPollingWithoutDuplicatesOrGaps) {
  start(3);
  std::vector<std::unique_ptr<SseClient>> clients;
  std::vector<std::vector<SseEvent>> logs(3);
  for (auto& p : procs_) clients.push_back(std::make_unique<SseClient>(p->port(), "/events/s"));
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(read_until(*clients[i], needle(0), logs[i]));
  backend_.set_body(body(1));
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(read_until(*clients[i], needle(1), logs[i]));
  const pid_t old = poller_pid();
  const std::size_t li = index_of(old);
  ASSERT_LT(li, procs_.size());
  const std::size_t fi = (li + 1) % procs_.size();
  SseClient& c = *clients[fi];
  std::vector<SseEvent>& log = logs[fi];

  procs_[li]->signal(SIGKILL);
  procs_[li]->wait(std::chrono::milliseconds(5000));
  const auto killed = std::chrono::steady_clock::now();
  backend_.set_body(body(2));
  ASSERT_TRUE(read_until(c, needle(2), log, std::chrono::milliseconds(4 * kLease + 4000)));
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_LT(took, std::chrono::milliseconds(2 * kLease + 1500 * testing::kSlowdown))
      << "takeover took too long";
  EXPECT_NE(poller_pid(), old);
  for (int n = 3; n <= 5; ++n) {
    backend_.set_body(body(n));
    ASSERT_TRUE(read_until(c, needle(n), log));
  }
  expect_consecutive(log);
  // Only one epoch: the sequence went on from Redis.
  std::set<std::string> epochs;
  for (const auto& e : log) {
    if (e.had_id) epochs.insert(epoch_of(e.id));
  }
  EXPECT_EQ(epochs.size(), 1u);
  // The third instance saw exactly the same.
  const std::size_t other = 3 - li - fi;
  ASSERT_TRUE(read_until(*clients[other], needle(5), logs[other]));
  EXPECT_EQ(logs[other].back().id, log.back().id);
  expect_consecutive(logs[other]);
}

// The poll lease goes where the clients are: an instance without clients
// hands it to one that has some, so that `idle: stop` parks polling only
// when no instance has a client.
TEST_F(ClusterTest, TheLeaseMovesToAnInstanceWithClients) {
  start(2);
  ASSERT_TRUE(wait_until([&] { return poller_pid() > 0; }));
  const std::size_t li = index_of(poller_pid());
  ASSERT_LT(li, procs_.size());
  const std::size_t fi = 1 - li;
  SseClient c(procs_[fi]->port(), "/events/s");
  std::vector<SseEvent> log;
  ASSERT_TRUE(read_until(c, needle(0), log));
  ASSERT_TRUE(wait_until([&] { return poller_pid() == procs_[fi]->pid(); },
                         std::chrono::milliseconds(4 * kLease)));
  backend_.set_body(body(1));
  ASSERT_TRUE(read_until(c, needle(1), log));
  expect_consecutive(log);
}

// An instance that polls again after another one did diffs against what
// the cluster holds, not against what it last saw itself: the upstream
// going back to the body this instance last recorded is still a change.
TEST_F(ClusterTest, AnInstanceTakingOverAgainDoesNotTrustWhatItLastSaw) {
  start(2);
  ASSERT_TRUE(wait_until([&] { return poller_pid() > 0; }));
  const std::size_t first = index_of(poller_pid());  // records v0
  ASSERT_LT(first, procs_.size());
  const std::size_t second = 1 - first;
  SseClient on_second(procs_[second]->port(), "/events/s");
  std::vector<SseEvent> slog, flog;
  ASSERT_TRUE(read_until(on_second, needle(0), slog));
  // Only `second` has a client: the lease moves there, and it polls v1.
  ASSERT_TRUE(wait_until([&] { return poller_pid() == procs_[second]->pid(); },
                         std::chrono::milliseconds(4 * kLease)));
  backend_.set_body(body(1));
  ASSERT_TRUE(read_until(on_second, needle(1), slog));
  SseClient on_first(procs_[first]->port(), "/events/s");
  ASSERT_TRUE(read_until(on_first, needle(1), flog));
  // `second` pauses; the upstream goes back to v0; `first` takes over.
  procs_[second]->signal(SIGSTOP);
  backend_.set_body(body(0));
  ASSERT_TRUE(wait_until([&] { return poller_pid() == procs_[first]->pid(); },
                         std::chrono::milliseconds(4 * kLease + 2000)));
  ASSERT_TRUE(read_until(on_first, needle(0), flog));
  procs_[second]->signal(SIGCONT);
  expect_consecutive(flog);
}

// The poller's request is held inside the backend, the poller is paused
// there (SIGSTOP) past its lease, the answer (a change) goes to the paused
// process, another instance takes over and publishes the change; then the
// paused one resumes (SIGCONT) and tries to append what it polled: the
// fence refuses it, it steps down, and no client sees the change twice.
TEST_F(ClusterTest, APausedPollerPastItsLeaseHasItsStaleAppendRefused) {
  struct Hold {
    std::mutex mu;
    std::condition_variable cv;
    bool arrived = false;
    bool released = false;
    std::atomic<bool> armed{false};
    std::atomic<int> value{0};
  };
  auto hold = std::make_shared<Hold>();
  backend_.set_handler([hold](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/doc" && hold->armed.exchange(false)) {
      std::unique_lock<std::mutex> lock(hold->mu);
      hold->arrived = true;
      hold->cv.notify_all();
      hold->cv.wait(lock, [&] { return hold->released; });
      // What the paused poller polled: never published.
      res.set_content(body(1), "application/json");
      return;
    }
    res.set_content(body(hold->value.load()), "application/json");
  });
  struct Release {  // never leaves a backend thread waiting
    std::shared_ptr<Hold> h;
    void operator()() const {
      std::lock_guard<std::mutex> lock(h->mu);
      h->released = true;
      h->cv.notify_all();
    }
    ~Release() { (*this)(); }
  } release{hold};

  start(2);
  ASSERT_TRUE(wait_until([&] { return poller_pid() > 0; }));
  const pid_t old = poller_pid();
  const std::size_t li = index_of(old);
  ASSERT_LT(li, procs_.size());
  const std::size_t fi = 1 - li;
  SseClient on_follower(procs_[fi]->port(), "/events/s");
  SseClient on_paused(procs_[li]->port(), "/events/s");
  std::vector<SseEvent> flog, plog;
  ASSERT_TRUE(read_until(on_follower, needle(0), flog));
  ASSERT_TRUE(read_until(on_paused, needle(0), plog));

  hold->armed = true;
  {
    std::unique_lock<std::mutex> lock(hold->mu);
    ASSERT_TRUE(hold->cv.wait_for(lock, std::chrono::seconds(5), [&] { return hold->arrived; }));
  }
  procs_[li]->signal(SIGSTOP);
  hold->value = 2;  // what the upstream says by the time another instance polls
  release();        // v1 waits in the paused process's socket
  ASSERT_TRUE(wait_until([&] { return poller_pid() > 0 && poller_pid() != old; },
                         std::chrono::milliseconds(4 * kLease + 2000)));
  ASSERT_TRUE(read_until(on_follower, needle(2), flog));
  procs_[li]->signal(SIGCONT);
  ASSERT_TRUE(wait_until([&] {
    return procs_[li]->stderr_text().find("append refused by the fence") != std::string::npos;
  })) << procs_[li]->stderr_text();
  EXPECT_NE(poller_pid(), old);
  // The resumed one follows: its clients get the new poller's events.
  ASSERT_TRUE(read_until(on_paused, needle(2), plog));
  hold->value = 3;
  ASSERT_TRUE(read_until(on_follower, needle(3), flog));
  ASSERT_TRUE(read_until(on_paused, needle(3), plog));
  // What the paused one polled reached no client, on either instance.
  for (const auto* log : {&flog, &plog}) {
    for (const auto& e : *log) EXPECT_EQ(e.data.find(needle(1)), std::string::npos) << e.data;
  }
  expect_consecutive(flog);
  expect_consecutive(plog);
  EXPECT_EQ(flog.back().id, plog.back().id);
  EXPECT_EQ(flog.back().data, plog.back().data);
  EXPECT_EQ(redis_->command({"HGET", "c:{s}:meta", "seq"}), std::to_string(seq_of(flog.back().id)));
}

TEST_F(ClusterTest, RedisRestartedEmptyGivesANewEpochAndASnapshot) {
  start(2);
  SseClient a(procs_[0]->port(), "/events/s");
  SseClient b(procs_[1]->port(), "/events/s");
  std::vector<SseEvent> alog, blog;
  ASSERT_TRUE(read_until(a, needle(0), alog));
  ASSERT_TRUE(read_until(b, needle(0), blog));
  const std::string old_epoch = epoch_of(a.last_event_id());

  redis_->kill();
  // Down: /readyz says so, clients are told without an id, serving goes on.
  ASSERT_TRUE(wait_until([&] {
    int status = 0;
    std::string body = get(procs_[0]->port(), "/readyz", &status);
    return status == 503 && body.find("store") != std::string::npos;
  }));
  int status = 0;
  EXPECT_NE(get(procs_[1]->port(), "/streams/s", &status).find(needle(0)), std::string::npos);
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(read_until(b, "stale", blog));
  EXPECT_FALSE(blog.back().had_id);

  redis_->start();
  backend_.set_body(body(1));
  for (auto* pair : {&alog, &blog}) {
    SseClient& c = pair == &alog ? a : b;
    ASSERT_TRUE(read_until(c, needle(1), *pair, std::chrono::milliseconds(10000)));
    const SseEvent& e = pair->back();
    EXPECT_EQ(e.type, "snapshot");
    EXPECT_NE(epoch_of(e.id), old_epoch);
  }
  EXPECT_EQ(alog.back().id, blog.back().id);
  std::string readyz;
  ASSERT_TRUE(wait_until([&] {
    int st = 0;
    readyz = get(procs_[0]->port(), "/readyz", &st);
    return st == 200;
  })) << readyz;
  // A client holding an id of the old epoch gets a snapshot.
  SseClient old(procs_[1]->port(), "/events/s", {{"Last-Event-ID", old_epoch + "-1"}});
  auto ev = old.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "snapshot");
  EXPECT_EQ(ev->id, alog.back().id);
}

TEST_F(ClusterTest, AParameterizedStreamIsPolledOnceAcrossInstances) {
  start(2);
  SseClient a(procs_[0]->port(), "/events/p/7");
  SseClient b(procs_[1]->port(), "/events/p/7");
  std::vector<SseEvent> alog, blog;
  ASSERT_TRUE(read_until(a, "\"v\":0", alog));
  ASSERT_TRUE(read_until(b, "\"v\":0", blog));
  backend_.set_body(R"({"item":7,"v":1})", "/items/7");
  ASSERT_TRUE(read_until(a, "\"v\":1", alog));
  ASSERT_TRUE(read_until(b, "\"v\":1", blog));
  EXPECT_EQ(alog.back().id, blog.back().id);
  EXPECT_EQ(alog.back().data, blog.back().data);
  ASSERT_TRUE(wait_until([&] { return poller_pid("p/7") > 0; }));
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // a measuring window
  std::size_t polls = 0;
  for (const auto& r : backend_.seen()) {
    if (r.at >= t0 && r.path == "/items/7") ++polls;
  }
  EXPECT_LE(polls, 2000u / kInterval + 3);
  EXPECT_GE(polls, 2000u / kInterval / 2);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
