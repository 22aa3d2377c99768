// ctest-labels: threaded
// The Redis store (src/cluster/redis_store.h) against a real redis-server:
// the poll lease, the fenced append, followers receiving the same events
// with the same ids, takeover, a Redis restarted empty (new epoch) and a
// Redis that is down. Two RedisStore objects stand for two processes; the
// multi-process behaviour is in cluster_test.cpp.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <vector>

#include "cluster/redis_store.h"
#include "common/mutex.h"
#include "diff/merge_patch.h"
#include "json/document.h"
#include "stream/local_coordinator.h"
#include "stream/memory_store.h"
#include "stream/stream.h"
#include "support/file_local.h"
#include "support/redis_server.h"
#include "support/util.h"

namespace pb {
namespace PB_FILE_LOCAL {

using cluster::RedisStore;
using testing::RedisServer;
using testing::wait_until;

// Collects what a stream publishes.
class Recorder : public stream::Listener {
 public:
  void on_event(const stream::EventPtr& ev) override {
    MutexLock lock(mu_);
    events_.push_back(ev);
  }
  std::vector<stream::EventPtr> events() const {
    MutexLock lock(mu_);
    return events_;
  }
  std::size_t size() const { return events().size(); }

 private:
  mutable Mutex mu_;
  std::vector<stream::EventPtr> events_ PB_GUARDED_BY(mu_);
};

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) {
      GTEST_SKIP() << RedisServer::kBinary << " is missing: scripts/deps.sh test installs it";
    }
    redis_ = std::make_unique<RedisServer>();
  }

  std::unique_ptr<RedisStore> store(
      const std::string& owner, std::chrono::milliseconds lease = std::chrono::milliseconds(900)) {
    RedisStore::Options o;
    std::string why;
    EXPECT_TRUE(config::parse_redis_url(redis_->url(), o.url, why)) << why;
    o.prefix = "t:";
    o.lease = lease;
    o.timeout = std::chrono::milliseconds(500);
    o.owner = owner;
    return std::make_unique<RedisStore>(std::move(o));
  }

  struct Node {
    std::unique_ptr<RedisStore> store;
    std::unique_ptr<stream::Stream> stream;
    Recorder rec;
    ~Node() {
      if (stream) {
        MutexLock lock(stream->mutex());
        stream->remove_listener_locked(&rec);
      }
      if (store && stream) store->release("k", 0);
      stream.reset();
      store.reset();
    }
  };

  std::unique_ptr<Node> node(const std::string& owner,
                             std::chrono::milliseconds lease = std::chrono::milliseconds(900)) {
    auto n = std::make_unique<Node>();
    n->store = store(owner, lease);
    stream::Stream::Options opts;
    opts.history = 50;
    n->stream = std::make_unique<stream::Stream>("k", "s", opts, n->store.get(), n->store.get(),
                                                 stream::Clock::now());
    MutexLock lock(n->stream->mutex());
    n->stream->add_listener_locked(&n->rec);
    return n;
  }

  static bool update(Node& n, const std::string& doc) {
    // Padded, so that a change goes out as a patch (never larger than a
    // snapshot).
    return n.stream->update(json::parse(testing::padded(doc)), stream::Clock::now());
  }
  static std::string last_id(Node& n) { return n.stream->view().last_id; }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisStoreTest, OneLeaseHolderAndFollowersGetTheSameEvents) {
  auto a = node("a");
  auto b = node("b");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll() || b->stream->may_poll(); }));
  Node& leader = a->stream->may_poll() ? *a : *b;
  Node& follower = a->stream->may_poll() ? *b : *a;
  EXPECT_FALSE(follower.stream->may_poll());

  ASSERT_TRUE(update(leader, R"({"n":1,"items":[1,2]})"));
  ASSERT_TRUE(update(leader, R"({"n":2,"items":[1,2]})"));
  ASSERT_EQ(leader.rec.size(), 2u);
  ASSERT_TRUE(wait_until([&] { return follower.rec.size() >= 2; }));
  auto want = leader.rec.events();
  auto got = follower.rec.events();
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i]->id, want[i]->id);
    EXPECT_EQ(got[i]->type, want[i]->type);
    EXPECT_EQ(got[i]->data, want[i]->data);
    EXPECT_EQ(*got[i]->wire, *want[i]->wire);
  }
  EXPECT_EQ(want[0]->type, "snapshot");
  EXPECT_EQ(last_id(follower), last_id(leader));
  // The follower holds the document too: a client connecting there gets
  // the same snapshot.
  ASSERT_TRUE(follower.stream->snapshot());
  EXPECT_EQ(follower.stream->snapshot()->data, leader.stream->snapshot()->data);
  EXPECT_EQ(follower.stream->snapshot()->id, leader.stream->snapshot()->id);
  // The follower's own append is refused locally: it does not hold the lease.
  EXPECT_FALSE(update(follower, R"({"n":3})"));
  EXPECT_EQ(redis_->command({"HGET", "t:{k}:meta", "seq"}), "2");
}

// The race of the test above, made deterministic: a follower whose own
// epoch lost the race to start the history (both processes made the
// instance at once) first hears of the epoch when its events are already
// in Redis. It sends those very events with their ids, not a snapshot of
// its own: every process sends the same events (CI saw the snapshot).
TEST_F(RedisStoreTest, AFollowerThatHearsOfTheEpochLateSendsItsEventsWithTheirIds) {
  auto leader = node("a");
  ASSERT_TRUE(wait_until([&] { return leader->stream->may_poll(); }));
  ASSERT_TRUE(update(*leader, R"({"n":1,"items":[1,2]})"));
  ASSERT_TRUE(update(*leader, R"({"n":2,"items":[1,2]})"));
  const auto want = leader->rec.events();
  ASSERT_EQ(want.size(), 2u);

  stream::MemoryStore own;
  stream::LocalCoordinator local;
  stream::Stream::Options opts;
  opts.history = 50;
  stream::Stream late("k", "s", opts, &own, &local, stream::Clock::now());
  Recorder rec;
  {
    MutexLock lock(late.mutex());
    late.add_listener_locked(&rec);
  }
  ASSERT_NE(late.view().epoch, leader->stream->view().epoch);
  stream::PersistedState st;
  st.epoch = leader->stream->view().epoch;
  st.seq = 2;
  st.doc_seq = 2;
  st.doc_text = leader->stream->snapshot()->data;
  st.history = want;
  late.on_remote(st);

  auto got = rec.events();
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i]->id, want[i]->id);
    EXPECT_EQ(*got[i]->wire, *want[i]->wire);
  }
  EXPECT_EQ(late.view().last_id, last_id(*leader));
  EXPECT_EQ(late.snapshot()->data, leader->stream->snapshot()->data);
  // History cut at the front (trimmed): a snapshot of the document instead.
  stream::Stream later("k2", "s", opts, &own, &local, stream::Clock::now());
  Recorder rec2;
  {
    MutexLock lock(later.mutex());
    later.add_listener_locked(&rec2);
  }
  st.history = {want[1]};
  later.on_remote(st);
  ASSERT_EQ(rec2.size(), 1u);
  EXPECT_EQ(rec2.events()[0]->type, "snapshot");
  EXPECT_EQ(rec2.events()[0]->id, want[1]->id);
  {
    MutexLock lock(late.mutex());
    late.remove_listener_locked(&rec);
  }
  MutexLock lock(later.mutex());
  later.remove_listener_locked(&rec2);
}

// A client of a follower that asked for another format (?format=
// merge-patch on a json-patch stream) gets each change in that format: the
// follower renders the events that come from Redis, as the poller renders
// its own.
TEST_F(RedisStoreTest, AFollowersSubscribersOfAnotherFormatGetEveryChangeInIt) {
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_TRUE(update(*a, R"({"n":1,"items":[1,2]})"));
  auto b = node("b");
  ASSERT_EQ(last_id(*b), last_id(*a));
  {
    MutexLock lock(b->stream->mutex());
    b->stream->add_format_user_locked(stream::Format::kMergePatch);
  }
  const json::Json before = json::parse(b->stream->snapshot()->data);
  ASSERT_TRUE(update(*a, R"({"n":2,"items":[1,2]})"));
  ASSERT_TRUE(wait_until([&] { return b->rec.size() >= 1; }));
  const auto ev = b->rec.events().back();
  EXPECT_EQ(ev->type, "patch");
  stream::EventPtr r;
  {
    MutexLock lock(b->stream->mutex());
    r = b->stream->rendition_locked(ev, stream::Format::kMergePatch);
  }
  ASSERT_TRUE(r) << "the change never reaches a merge-patch subscriber";
  EXPECT_EQ(r->id, ev->id);
  EXPECT_EQ(r->type, "merge-patch");
  json::Json doc = before;
  diff::apply_merge_patch(doc, json::parse(r->data));
  EXPECT_TRUE(json::equal(doc, json::parse(b->stream->snapshot()->data)));
  b->stream->remove_format_user(stream::Format::kMergePatch);
}

TEST_F(RedisStoreTest, AStaleHolderIsFencedAndStepsDown) {
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_TRUE(update(*a, R"({"n":1})"));
  // Another process took the lease while this one was paused (its own
  // renewal has not run yet): the fence refuses the append.
  ASSERT_EQ(redis_->command({"SET", "t:{k}:lease", "other:1#99", "PX", "60000"}), "OK");
  EXPECT_FALSE(update(*a, R"({"n":2})"));
  EXPECT_EQ(a->store->fenced(), 1u);
  EXPECT_FALSE(a->stream->may_poll());
  EXPECT_EQ(redis_->command({"HGET", "t:{k}:meta", "seq"}), "1");
  EXPECT_EQ(redis_->command({"XLEN", "t:{k}:events"}), "1");
  EXPECT_EQ(a->rec.size(), 1u);  // nothing published for the refused events
  // Still the holder's token, but Redis moved on (another writer): refused
  // by the sequence check.
  ASSERT_EQ(redis_->command({"DEL", "t:{k}:lease"}), "1");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_EQ(redis_->command({"HSET", "t:{k}:meta", "seq", "7"}), "0");
  EXPECT_FALSE(update(*a, R"({"n":3})"));
  EXPECT_EQ(a->store->fenced(), 2u);
  EXPECT_EQ(redis_->command({"HGET", "t:{k}:meta", "seq"}), "7");
}

// Redis went back under the holder with its lease intact (a failover to a
// replica that lagged): its append is refused as behind, the stream says it
// cannot record (stale, with the reason), and the lease turn that refusal
// wakes starts a new epoch; the next change is a snapshot in it.
TEST_F(RedisStoreTest, AHolderThatFindsRedisBehindSaysSoThenStartsANewEpoch) {
  auto a = node("a", std::chrono::milliseconds(3000));
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  for (int n = 1; n <= 3; ++n) ASSERT_TRUE(update(*a, R"({"n":)" + std::to_string(n) + "}"));
  const std::string old_epoch = a->stream->view().epoch;
  // Right after a lease turn (the lease just renewed: one turn a second),
  // so that the append below meets the rewrite before any turn does.
  ASSERT_TRUE(wait_until([&] {
    return std::stol(redis_->command({"PTTL", "t:{k}:lease"})) > 2950;
  }));
  ASSERT_EQ(redis_->command({"XDEL", "t:{k}:events", "2-0", "3-0"}), "2");
  redis_->command({"HSET", "t:{k}:meta", "seq", "1", "doc_seq", "1"});
  EXPECT_FALSE(update(*a, R"({"n":4})"));
  {
    const stream::DocumentView v = a->stream->view();
    EXPECT_FALSE(v.status.recording);
    EXPECT_NE(v.status.store_error.find("lost events"), std::string::npos) << v.status.store_error;
    EXPECT_STREQ(stream::state_name(v.status), "stale");
  }
  const auto told = a->rec.events().back();
  EXPECT_EQ(told->type, "status");
  EXPECT_TRUE(told->id.empty());
  EXPECT_NE(told->data.find("\"recording\":false"), std::string::npos) << told->data;
  ASSERT_TRUE(wait_until([&] { return a->stream->view().epoch != old_epoch; }));
  EXPECT_EQ(a->store->unavailable(), "");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_TRUE(update(*a, R"({"n":5})"));
  const auto last = a->rec.events().back();
  EXPECT_EQ(last->type, "snapshot");
  EXPECT_NE(last->id.rfind(old_epoch, 0), 0u) << last->id;
  EXPECT_TRUE(a->stream->view().status.recording);
  std::ostringstream m;
  a->store->write_metrics(m);
  EXPECT_NE(m.str().find("pollbridge_cluster_lost_writes_total 1\n"), std::string::npos) << m.str();
}

TEST_F(RedisStoreTest, TakeoverContinuesTheSameSequence) {
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  auto b = node("b");
  ASSERT_TRUE(update(*a, R"({"n":1})"));
  ASSERT_TRUE(update(*a, R"({"n":2})"));
  ASSERT_TRUE(wait_until([&] { return b->rec.size() == 2; }));
  const std::string epoch = a->stream->view().epoch;
  a.reset();  // releases its key: the lease goes at once
  ASSERT_TRUE(wait_until([&] { return b->stream->may_poll(); }));
  ASSERT_TRUE(update(*b, R"({"n":3})"));
  auto evs = b->rec.events();
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[2]->seq, 3u);
  EXPECT_EQ(b->stream->view().epoch, epoch);
  EXPECT_EQ(evs[2]->type, "patch");
}

TEST_F(RedisStoreTest, ALateJoinerLoadsStateAndHistoryFromRedis) {
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_TRUE(update(*a, R"({"n":1})"));
  ASSERT_TRUE(update(*a, R"({"n":2})"));
  auto b = node("b");
  EXPECT_EQ(last_id(*b), last_id(*a));
  EXPECT_EQ(b->stream->snapshot()->data, a->stream->snapshot()->data);
  // Resume from the first id on b: exactly the second event.
  MutexLock lock(b->stream->mutex());
  stream::ResumePlan plan = b->stream->plan_resume_locked(a->rec.events()[0]->id);
  EXPECT_FALSE(plan.fresh);
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0]->id, a->rec.events()[1]->id);
}

TEST_F(RedisStoreTest, RedisRestartedEmptyStartsANewEpoch) {
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  auto b = node("b");
  ASSERT_TRUE(update(*a, R"({"n":1})"));
  ASSERT_TRUE(update(*a, R"({"n":2})"));
  const std::string old_epoch = a->stream->view().epoch;
  const std::size_t seen_by_b = b->rec.size();
  redis_->kill();
  redis_->start();
  // Whichever reconnects first takes the lease and starts a new epoch; the
  // other follows it.
  auto renewed = [&](Node& n) {
    return n.stream->may_poll() && n.stream->view().epoch != old_epoch;
  };
  ASSERT_TRUE(
      wait_until([&] { return renewed(*a) || renewed(*b); }, std::chrono::milliseconds(8000)));
  Node& leader = renewed(*a) ? *a : *b;
  Node& follower = &leader == a.get() ? *b : *a;
  ASSERT_TRUE(update(leader, R"({"n":2})"));
  auto evs = leader.rec.events();
  ASSERT_EQ(evs.back()->seq, 1u);
  EXPECT_EQ(evs.back()->type, "snapshot");
  EXPECT_NE(evs.back()->id.find(leader.stream->view().epoch), std::string::npos);
  // The follower follows the new epoch and its clients get the snapshot.
  ASSERT_TRUE(wait_until([&] { return last_id(follower) == last_id(leader); },
                         std::chrono::milliseconds(8000)));
  bool found = false;
  for (auto& e : follower.rec.events()) found = found || e->id == evs.back()->id;
  EXPECT_TRUE(found);
  EXPECT_GT(b->rec.size(), seen_by_b);
}

TEST_F(RedisStoreTest, RedisDownIsReportedAndNothingIsIssued) {
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_TRUE(update(*a, R"({"n":1})"));
  EXPECT_EQ(a->store->unavailable(), "");
  redis_->kill();
  ASSERT_TRUE(wait_until([&] { return !a->store->unavailable().empty(); }));
  EXPECT_FALSE(update(*a, R"({"n":2})"));
  EXPECT_FALSE(a->stream->status().recording);
  auto evs = a->rec.events();
  ASSERT_GE(evs.size(), 2u);
  EXPECT_EQ(evs.back()->type, "status");
  EXPECT_EQ(evs.back()->id, "");  // told, without an id
  redis_->start();
  ASSERT_TRUE(
      wait_until([&] { return a->store->unavailable().empty(); }, std::chrono::milliseconds(8000)));
}

TEST_F(RedisStoreTest, APasswordIsUsedAndNeverShown) {
  redis_.reset();
  redis_ = std::make_unique<RedisServer>("pw-4711");
  auto a = node("a");
  ASSERT_TRUE(wait_until([&] { return a->stream->may_poll(); }));
  ASSERT_TRUE(update(*a, R"({"n":1})"));
  EXPECT_EQ(redis_->command({"HGET", "t:{k}:meta", "seq"}), "1");
  EXPECT_EQ(cluster::redacted_redis(redis_->url()).find("pw-4711"), std::string::npos);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb
