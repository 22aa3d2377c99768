// ctest-labels: threaded
// The runtime in process: a real Runtime with an in-process store (with
// faults a test can inject), the real hub writing to socketpairs, the real
// poller against a fake backend over HTTP. Every race of the instance
// lifecycle is reproduced deterministically: a thread is held at a named
// point of the lifecycle (Runtime::Options::test_point) while the test makes
// the other side happen, and the janitor runs by hand.
#include "core/runtime.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "common/clock.h"
#include "common/time_format.h"
#include "config/loader.h"
#include "json/document.h"
#include "server/refusal_response.h"
#include "sse/event_id.h"
#include "support/fake_backend.h"
#include "support/faulty_store.h"
#include "support/file_local.h"
#include "support/latch.h"
#include "support/sse_client.h"
#include "support/util.h"

namespace pb::testing {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using core::Runtime;

std::optional<std::string> no_env(const std::string&) {
  return std::nullopt;
}

class RuntimeTest : public ::testing::Test {
 protected:
  ~RuntimeTest() override {
    if (rt_) rt_->stop(0ms);
  }

  std::string streams(const std::string& doc_extra = "", const std::string& p_extra = "") const {
    return "  - name: doc\n    url: " + backend_.url("/doc") +
           "\n    interval: 1h\n    timeout: 10s\n" + doc_extra +
           "  - name: other\n    url: " + backend_.url("/other") +
           "\n    interval: 1h\n    timeout: 10s\n"
           "  - name: p\n    url: " +
           backend_.url("/p/{id}") +
           "\n    path: /events/p/{id}\n    params: { id: \"[0-9]+\" }\n"
           "    interval: 1h\n    timeout: 10s\n    linger: 0s\n" +
           p_extra;
  }
  config::Config parse(const std::string& s) const {
    return config::parse_config(config_with(s), "runtime.yaml", config::EnvLookup(no_env));
  }

  // No janitor thread (tests run it by hand) unless janitor_thread_; the
  // real clock unless clock_; test points go to hook_.
  Runtime::Options options() {
    Runtime::Options o;
    o.janitor_thread = janitor_thread_;
    if (clock_ != nullptr) o.clock = clock_;
    o.test_point = [this](std::string_view p) {
      std::function<void(std::string_view)> h;
      {
        std::lock_guard<std::mutex> l(hook_mu_);
        h = hook_;
      }
      if (h) h(p);
    };
    return o;
  }

  void start(const std::string& doc_extra = "") { start_with(streams(doc_extra)); }
  void start_with(const std::string& stream_list) {
    backend_.set_body(padded(R"({"v":0})"), "/doc");
    backend_.set_body(R"({"o":0})", "/other");
    for (int i = 0; i < 5; ++i)
      backend_.set_body("{\"p\":" + std::to_string(i) + "}", "/p/" + std::to_string(i));
    auto store = std::make_unique<FaultyStore>();
    store_ = store.get();
    rt_ = std::make_unique<Runtime>(parse(stream_list), stream::local_state(std::move(store)),
                                    options());
    rt_->start();
    ASSERT_TRUE(polled("doc"));
    ASSERT_TRUE(polled("other"));
  }
  // Holds the thread that reaches `point` (the first one only) at `gate`.
  void hold_at(const std::string& point, std::shared_ptr<Latch> gate) {
    auto once = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard<std::mutex> l(hook_mu_);
    hook_ = [point, gate, once](std::string_view p) {
      if (p == point && !once->exchange(true)) gate->wait();
    };
  }
  void clear_hook() {
    std::lock_guard<std::mutex> l(hook_mu_);
    hook_ = nullptr;
  }

  std::shared_ptr<core::Instance> find(const std::string& address, bool create = true) {
    core::LookupError err;
    return rt_->find(address, create, &err);
  }
  // Polls now and waits for the poll to finish.
  bool polled(const std::string& address) {
    auto inst = find(address);
    return inst && rt_->trigger(inst, 5s);
  }
  std::string head() const { return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"; }

  // A client on one end of a socketpair; the other end goes to the hub.
  std::unique_ptr<SseClient> attach(const std::string& address,
                                    std::optional<std::string> last_id = std::nullopt) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    auto inst = find(address);
    EXPECT_TRUE(inst) << address;
    rt_->attach(inst, hub::Transport::plain(sv[0]), head(), last_id);
    return std::make_unique<SseClient>(SseClient::Adopt{}, sv[1]);
  }
  // The attach half of a mux client, on this thread: returns the socket to
  // read from.
  int attach_mux_fd(const std::vector<std::string>& addresses,
                    std::optional<std::string> last_id = std::nullopt) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    std::vector<std::shared_ptr<core::Instance>> insts;
    for (const auto& a : addresses) insts.push_back(find(a));
    rt_->attach_mux(insts, hub::Transport::plain(sv[0]), head(), last_id);
    return sv[1];
  }
  // Attaches a client to `address` while `meanwhile` runs with the attach
  // held after it counted itself (its instance found, its connection
  // taken); returns what the client then read until the connection closed.
  std::string attach_across(const std::string& address, const std::function<void()>& meanwhile) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    auto inst = find(address);
    EXPECT_TRUE(inst) << address;
    auto gate = std::make_shared<Latch>();
    hold_at("attach:counted", gate);
    auto attached = std::async(std::launch::async, [&] {
      return rt_->attach(inst, hub::Transport::plain(sv[0]), head(), std::nullopt);
    });
    EXPECT_TRUE(gate->reached());
    meanwhile();
    gate->open();
    EXPECT_FALSE(attached.get()) << "attached to a stream that is gone";
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = read(sv[1], buf, sizeof buf)) > 0;) got.append(buf, n);
    close(sv[1]);
    return got;
  }
  std::string last_id(const std::string& address) {
    auto inst = find(address);
    MutexLock lock(inst->stream().mutex());
    return inst->stream().last_id_locked();
  }

  FakeBackend backend_;
  FaultyStore* store_ = nullptr;
  ManualClock manual_clock_;  // the runtime's with clock_ = &manual_clock_
  ManualClock* clock_ = nullptr;
  bool janitor_thread_ = false;
  std::unique_ptr<Runtime> rt_;
  std::mutex hook_mu_;
  std::function<void(std::string_view)> hook_;
};

// Before: retire() closed only the instance's own feed, so a multiplexed
// client of a replaced stream got heartbeats forever.
TEST_F(RuntimeTest, AMuxClientOfAReplacedStreamIsClosedAndFindsTheSuccessor) {
  start();
  auto fd = attach_mux_fd({"doc", "other"});
  SseClient mux(SseClient::Adopt{}, fd);
  ASSERT_EQ(mux.take(2, 3s).size(), 2u);  // both snapshots
  auto result = rt_->reload(parse(streams("    max_body: 2MiB\n")));
  ASSERT_EQ(result.changed, std::vector<std::string>{"doc"});
  EXPECT_TRUE(mux.wait_closed(3s)) << "the channel kept listening to a retired stream";
  // Reconnecting resumes on the successors, from history.
  std::string resume = mux.last_event_id();
  ASSERT_TRUE(polled("doc"));
  SseClient again(SseClient::Adopt{}, attach_mux_fd({"doc", "other"}, resume));
  backend_.set_body(padded(R"({"v":1})"), "/doc");
  ASSERT_TRUE(polled("doc"));
  auto ev = again.next(3s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch");
  EXPECT_NE(ev->data.find("\"stream\":\"doc\""), std::string::npos);
}

// A mux connect held after it took its channel while a reload replaces a
// member: it must not attach to a channel listening on the dead stream.
TEST_F(RuntimeTest, ReloadDuringAMuxAttachSendsTheClientToTheSuccessors) {
  start();
  auto gate = std::make_shared<Latch>();
  hold_at("mux:reserved", gate);
  auto fd = std::async(std::launch::async, [&] { return attach_mux_fd({"doc", "other"}); });
  ASSERT_TRUE(gate->reached());
  auto result = rt_->reload(parse(streams("    max_body: 2MiB\n")));
  ASSERT_EQ(result.changed, std::vector<std::string>{"doc"});
  gate->open();
  SseClient mux(SseClient::Adopt{}, fd.get());
  auto snaps = mux.take(2, 5s);
  ASSERT_EQ(snaps.size(), 2u);
  // It follows the new instance: a change published there reaches it.
  backend_.set_body(padded(R"({"v":7})"), "/doc");
  ASSERT_TRUE(polled("doc"));
  auto ev = mux.next(3s);
  ASSERT_TRUE(ev) << "attached to a channel of the retired instance";
  EXPECT_NE(ev->data.find("\"value\":7"), std::string::npos) << ev->data;
}

// Before: only the creator started a new channel, so a second client that
// got in first attached to a channel nobody had started and missed events.
TEST_F(RuntimeTest, TwoClientsAttachingToANewChannelAtOnceBothGetEveryEvent) {
  start();
  auto gate = std::make_shared<Latch>();
  hold_at("mux:reserved", gate);
  auto first = std::async(std::launch::async, [&] { return attach_mux_fd({"doc", "other"}); });
  ASSERT_TRUE(gate->reached());  // the creator holds, its channel not started
  SseClient second(SseClient::Adopt{}, attach_mux_fd({"doc", "other"}));
  ASSERT_EQ(second.take(2, 3s).size(), 2u);
  backend_.set_body(padded(R"({"v":1})"), "/doc");
  ASSERT_TRUE(polled("doc"));
  auto ev = second.next(3s);
  ASSERT_TRUE(ev) << "the second client's channel was never started";
  EXPECT_EQ(ev->type, "patch");
  gate->open();
  SseClient one(SseClient::Adopt{}, first.get());
  auto got = one.take(2, 3s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, "snapshot");
  backend_.set_body(padded(R"({"v":2})"), "/doc");
  ASSERT_TRUE(polled("doc"));
  auto a = one.next(3s);
  auto b = second.next(3s);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->id, b->id);
  EXPECT_EQ(a->data, b->data);
}

// Before: the janitor took an instance out of the map before retiring it;
// a lookup in between built a twin on the same store key while the old one
// could still commit. Now the lookup waits for the old one to be gone, and
// the successor continues its id sequence.
TEST_F(RuntimeTest, AReapRacingALookupNeverBuildsATwin) {
  start();
  auto p = find("p/1");
  ASSERT_TRUE(p);
  ASSERT_TRUE(rt_->trigger(p, 5s));
  std::string before = last_id("p/1");
  ASSERT_FALSE(before.empty());
  auto gate = std::make_shared<Latch>();
  hold_at("retire:before-release", gate);
  std::weak_ptr<core::Instance> old = p;
  p.reset();
  auto janitor = std::async(std::launch::async, [&] { rt_->run_janitor_once(); });
  ASSERT_TRUE(gate->reached());  // retired, its store key not yet released
  auto looked = std::async(std::launch::async, [&] { return find("p/1"); });
  EXPECT_EQ(looked.wait_for(300ms), std::future_status::timeout)
      << "a lookup went ahead while the old instance still owned its store key";
  gate->open();
  janitor.get();
  auto next = looked.get();
  ASSERT_TRUE(next);
  EXPECT_NE(next, old.lock());
  EXPECT_EQ(last_id("p/1"), before) << "the successor continues the same sequence";
  backend_.set_body(R"({"p":100})", "/p/1");
  ASSERT_TRUE(rt_->trigger(next, 5s));
  auto a = sse::parse_event_id(before), b = sse::parse_event_id(last_id("p/1"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->epoch, a->epoch);
  EXPECT_EQ(b->seq, a->seq + 1);
}

// Before: a reaped value vanished from GET /streams at once but kept its
// place under max_instances until its retirement had finished (a cancelled
// poll, the store release), so a client asking for another value in that
// window got 503. Now only creating and live instances count.
TEST_F(RuntimeTest, AValueBeingReapedNoLongerCountsAgainstMaxInstances) {
  rt_.reset();
  backend_.set_body(R"({"p":1})", "/p/1");
  backend_.set_body(R"({"p":2})", "/p/2");
  rt_ = std::make_unique<Runtime>(parse(streams("", "    max_instances: 1\n")),
                                  stream::local_state(std::make_unique<FaultyStore>()), options());
  rt_->start();
  auto p = find("p/1");
  ASSERT_TRUE(p);
  ASSERT_TRUE(rt_->trigger(p, 5s));
  core::LookupError err;
  EXPECT_FALSE(rt_->find("p/2", true, &err)) << "the cap of 1 holds while p/1 is live";
  EXPECT_EQ(err.kind, core::LookupFailure::kOverLimit);
  auto gate = std::make_shared<Latch>();
  hold_at("retire:before-release", gate);
  p.reset();
  auto janitor = std::async(std::launch::async, [&] { rt_->run_janitor_once(); });
  ASSERT_TRUE(gate->reached());  // p/1 is retiring, not yet gone
  for (const auto& i : rt_->instances()) EXPECT_NE(i->key(), "p/1") << "still listed";
  auto other = rt_->find("p/2", true, &err);
  EXPECT_TRUE(other) << err.message;
  gate->open();
  janitor.get();
  EXPECT_FALSE(rt_->find("p/3", true, &err)) << "p/2 now holds the only place";
  EXPECT_EQ(err.kind, core::LookupFailure::kOverLimit);
}

// Before: a throw in reload's second phase left the stream marked as being
// reloaded, answering 503 for good.
TEST_F(RuntimeTest, AFailureWhileReloadingDoesNotLeaveTheStreamUnavailable) {
  start();
  // The successor cannot be made (its store key looks owned): a throw in
  // the middle of the reload's second phase.
  store_->fail_loads_of("doc", stream::StoreErrorKind::kOwned);
  auto result = rt_->reload(parse(streams("    max_body: 2MiB\n")));
  EXPECT_EQ(result.changed, std::vector<std::string>{"doc"});
  core::LookupError err;
  // The store still fails: an answer that says so, at once.
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(rt_->find("doc", true, &err));
  EXPECT_EQ(err.kind, core::LookupFailure::kBusy);
  EXPECT_EQ(err.retry_after, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  store_->fail_loads_of("", stream::StoreErrorKind::kIo);
  auto inst = rt_->find("doc", true, &err);
  ASSERT_TRUE(inst) << err.message;
  EXPECT_TRUE(rt_->trigger(inst, 5s));
  EXPECT_TRUE(inst->stream().view().has_doc);
}

// Before: retiring a changed stream waited for its poll in flight (up to
// `timeout`, stream by stream), so a reload hung behind a slow upstream.
TEST_F(RuntimeTest, ARetireDuringAPollDoesNotWaitForTheUpstream) {
  start();
  auto old = find("doc");
  ASSERT_TRUE(old);
  const auto sent = std::chrono::steady_clock::now();
  backend_.set_delay(4s);  // the upstream holds the request (timeout: 10s)
  rt_->trigger(old);
  ASSERT_TRUE(wait_until([&] { return backend_.requests_since(sent) > 0; }));
  const auto reloading = std::chrono::steady_clock::now();
  auto result = rt_->reload(parse(streams("    max_body: 2MiB\n")));
  const auto took = std::chrono::steady_clock::now() - reloading;
  EXPECT_EQ(result.changed, std::vector<std::string>{"doc"});
  EXPECT_LT(took, 2s) << "the reload waited for the poll in flight";
  // The successor is there at once and polls on its own.
  backend_.set_delay(0ms);
  core::LookupError err;
  auto next = rt_->find("doc", true, &err);
  ASSERT_TRUE(next) << err.message;
  EXPECT_NE(next, old);
  EXPECT_TRUE(rt_->trigger(next, 5s));
  EXPECT_TRUE(next->stream().view().has_doc);
}

// Before: hub close hooks held the instance, so its last reference (and its
// upstream client) could go on an epoll thread.
TEST_F(RuntimeTest, RetiredInstancesAreDestroyedOnTheJanitorNotOnAHubThread) {
  start();
  std::weak_ptr<core::Instance> old;
  {
    auto client = attach("p/2");
    ASSERT_TRUE(client->next(3s));
    old = find("p/2");
    auto r = rt_->reload(parse(streams("", "    max_body: 2MiB\n")));
    EXPECT_EQ(r.changed, std::vector<std::string>{"p"});
    EXPECT_TRUE(client->wait_closed(3s));
  }  // the client socket closes; its hub session ends on a hub thread
  ASSERT_TRUE(wait_until([&] { return rt_->hub().clients() == 0; }));
  EXPECT_FALSE(old.expired()) << "destroyed before the janitor ran";
  EXPECT_GT(rt_->graveyard_size(), 0u);
  rt_->run_janitor_once();
  EXPECT_TRUE(old.expired());
  EXPECT_EQ(rt_->graveyard_size(), 0u);
}

// Before: the store load and pattern matching of a new instance ran under
// the runtime's mutex, stalling every other lookup.
TEST_F(RuntimeTest, MakingAnInstanceDoesNotHoldUpOtherClients) {
  start();
  auto gate = std::make_shared<Latch>();
  hold_at("create:slot-reserved", gate);
  auto making = std::async(std::launch::async, [&] { return find("p/3"); });
  ASSERT_TRUE(gate->reached());
  auto client = attach("doc");
  auto ev = client->next(2s);
  ASSERT_TRUE(ev) << "a connect to another stream waited for the new instance";
  EXPECT_EQ(ev->type, "snapshot");
  // A lookup of the same address waits for it rather than making a twin.
  auto same = std::async(std::launch::async, [&] { return find("p/3"); });
  EXPECT_EQ(same.wait_for(200ms), std::future_status::timeout);
  gate->open();
  auto a = making.get();
  auto b = same.get();
  ASSERT_TRUE(a);
  EXPECT_EQ(a, b);
}

// Before: the stream lock was held across the store commit, so a slow disk
// stalled every client connecting to that stream.
TEST_F(RuntimeTest, ASlowCommitDoesNotStallAConnectAndNothingIsSentBeforeItIsDurable) {
  start();
  auto gate = std::make_shared<Latch>();
  store_->gate_appends(gate);
  backend_.set_body(padded(R"({"v":1})"), "/doc");
  auto inst = find("doc");
  rt_->trigger(inst);
  ASSERT_TRUE(gate->reached());  // the commit of v:1 is in progress
  auto client = attach("doc");
  auto snap = client->next(2s);
  ASSERT_TRUE(snap) << "the connect waited for the commit";
  EXPECT_EQ(snap->data, padded(R"({"v":0})")) << "the uncommitted change was visible";
  EXPECT_FALSE(client->next(200ms)) << "an event was sent before it was recorded";
  gate->open();
  auto patch = client->next(3s);
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->type, "patch");
  store_->gate_appends(nullptr);
}

// A store that stops accepting writes (a full disk): clients hear it once,
// with no id, and ids continue when it recovers.
TEST_F(RuntimeTest, AFullStoreIsToldOnceWithoutAnIdAndIdsContinueAfterwards) {
  start();
  auto client = attach("doc");
  auto snap = client->next(2s);
  ASSERT_TRUE(snap);
  store_->fail_appends(stream::StoreErrorKind::kFull);
  for (int i = 1; i <= 3; ++i) {
    backend_.set_body(padded("{\"v\":" + std::to_string(i) + "}"), "/doc");
    ASSERT_TRUE(polled("doc"));
  }
  auto st = client->next(2s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->type, "status");
  EXPECT_FALSE(st->had_id);
  auto body = json::parse(st->data);
  EXPECT_EQ(body["state"], "stale");
  EXPECT_EQ(body["recording"], false);
  EXPECT_NE(json::dump(body["reason"]).find("no space left"), std::string::npos);
  EXPECT_FALSE(client->next(200ms)) << "told more than once";
  store_->fail_appends(std::nullopt);
  ASSERT_TRUE(polled("doc"));
  auto ok = client->next(2s);
  auto patch = client->next(2s);
  ASSERT_TRUE(ok && patch);
  EXPECT_EQ(ok->type, "status");
  EXPECT_TRUE(ok->had_id);
  EXPECT_EQ(json::parse(ok->data)["state"], "ok");
  EXPECT_EQ(patch->type, "patch");
  auto a = sse::parse_event_id(snap->id), b = sse::parse_event_id(patch->id);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->seq, a->seq + 2) << "no id was issued for the unrecorded changes";
}

// With state in memory, a reload that changes a stream keeps its ids.
TEST_F(RuntimeTest, AReplacedStreamContinuesItsIdsWithTheMemoryStore) {
  start();
  backend_.set_body(padded(R"({"v":1})"), "/doc");
  ASSERT_TRUE(polled("doc"));
  std::string before = last_id("doc");
  rt_->reload(parse(streams("    max_body: 2MiB\n")));
  auto client = attach("doc", before);
  backend_.set_body(padded(R"({"v":2})"), "/doc");
  ASSERT_TRUE(polled("doc"));
  auto ev = client->next(3s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, "patch") << "resumed from history, not a new epoch";
  auto a = sse::parse_event_id(before), b = sse::parse_event_id(ev->id);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->epoch, b->epoch);
  EXPECT_EQ(b->seq, a->seq + 1);
}

// A client whose stream went away after its handler gave the runtime its
// connection: the runtime writes the HTTP layer's refusal for the typed
// error (server/refusal_response.h) and closes the connection.
TEST_F(RuntimeTest, AClientWhoseStreamIsRemovedWhileItAttachesIsAnswered404) {
  start();
  rt_->set_refusal(server::refusal_response);
  std::string got = attach_across("other", [&] {
    std::string only_doc = streams().substr(0, streams().find("  - name: other"));
    EXPECT_EQ(rt_->reload(parse(only_doc)).removed.size(), 2u);
  });
  EXPECT_EQ(got.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << got;
  EXPECT_EQ(got.find("Retry-After"), std::string::npos) << got;
  EXPECT_NE(got.find("no stream named other"), std::string::npos) << got;
}

TEST_F(RuntimeTest, AClientWhoseStreamCannotBeRemadeWhileItAttachesIsAnswered503) {
  start();
  rt_->set_refusal(server::refusal_response);
  store_->fail_loads_of("doc", stream::StoreErrorKind::kOwned);
  std::string got = attach_across("doc", [&] {
    EXPECT_EQ(rt_->reload(parse(streams("    max_body: 2MiB\n"))).changed,
              std::vector<std::string>{"doc"});
  });
  EXPECT_EQ(got.rfind("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("stream doc cannot be started now; retry"), std::string::npos) << got;
  store_->fail_loads_of("", stream::StoreErrorKind::kIo);
}

TEST_F(RuntimeTest, WithoutARefusalAConnectionThatCannotBeAttachedIsClosedUnanswered) {
  start();
  std::string got = attach_across("other", [&] {
    std::string only_doc = streams().substr(0, streams().find("  - name: other"));
    rt_->reload(parse(only_doc));
  });
  EXPECT_EQ(got, "");
}

TEST_F(RuntimeTest, ParameterValuesMustBeUtf8WithoutNul) {
  start();
  core::LookupError err;
  EXPECT_FALSE(rt_->find("p/1\xff", true, &err));
  EXPECT_EQ(err.kind, core::LookupFailure::kInvalid);
  EXPECT_FALSE(rt_->find(std::string("p/1\0", 4), true, &err));
  EXPECT_EQ(err.kind, core::LookupFailure::kInvalid);
  EXPECT_FALSE(rt_->find("p/x", true, &err));
  EXPECT_EQ(err.kind, core::LookupFailure::kInvalid);
  EXPECT_TRUE(rt_->find("p/4", true, &err));
}

TEST_F(RuntimeTest, ReapedInstancesLeaveNoStateBehindAfterTheirRetention) {
  start();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(polled("p/" + std::to_string(i)));
  EXPECT_EQ(rt_->instances().size(), 7u);
  rt_->run_janitor_once();
  EXPECT_EQ(rt_->instances().size(), 2u) << "idle parameter instances (linger 0) reaped";
  EXPECT_EQ(store_->inner().size(), 7u) << "their state is kept for the retention";
  EXPECT_EQ(store_->sweep(unix_ms(SystemClock::now()) + 24 * 3600 * 1000LL), 5u);
  EXPECT_EQ(store_->inner().size(), 2u);
  rt_->run_janitor_once();
  EXPECT_EQ(rt_->graveyard_size(), 0u);
}

// The janitor on its own thread, on a manual clock: an idle parameter
// instance stays for its whole linger after its last client left, and goes
// at the first round after that.
TEST_F(RuntimeTest, TheJanitorReapsAnIdleInstanceOnceItsLingerHasPassed) {
  clock_ = &manual_clock_;
  janitor_thread_ = true;
  auto rounds = std::make_shared<std::atomic<int>>(0);
  {
    std::lock_guard<std::mutex> l(hook_mu_);
    hook_ = [rounds](std::string_view p) {
      if (p == "janitor:round") rounds->fetch_add(1);
    };
  }
  std::string list = streams();
  list.replace(list.find("linger: 0s"), 10, "linger: 30s");
  start_with(list);
  // One janitor round at the clock's new time.
  auto advance = [&](std::chrono::seconds d) {
    const int before = rounds->load();
    manual_clock_.advance(d);
    return wait_until([&] { return rounds->load() > before; });
  };
  ASSERT_TRUE(polled("p/1"));
  {
    auto c = attach("p/1");
    ASSERT_TRUE(c->next());
    ASSERT_TRUE(advance(60s)) << "a client holds it, however long";
    EXPECT_EQ(rt_->instances().size(), 3u);
  }
  ASSERT_TRUE(wait_until([&] { return find("p/1", false)->stream().client_count() == 0; }));
  ASSERT_TRUE(advance(29s));
  EXPECT_EQ(rt_->instances().size(), 3u) << "reaped before its linger";
  ASSERT_TRUE(advance(1s));
  EXPECT_EQ(rt_->instances().size(), 2u) << "kept past its linger";
}

TEST_F(RuntimeTest, RemovedStreamsAreForgottenAtReload) {
  start();
  ASSERT_TRUE(polled("p/1"));
  std::string only_doc = streams().substr(0, streams().find("  - name: other"));
  auto r = rt_->reload(parse(only_doc));
  EXPECT_EQ(r.removed.size(), 2u);
  EXPECT_EQ(store_->inner().size(), 1u);
  core::LookupError err;
  EXPECT_FALSE(rt_->find("other", true, &err));
  EXPECT_EQ(err.kind, core::LookupFailure::kNotFound);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::testing
