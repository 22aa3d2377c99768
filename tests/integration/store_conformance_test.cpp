// ctest-labels: threaded
// The persistence contract of stream::Store (src/stream/store.h), the same
// tests run against every store: in the process (MemoryStore), embedded
// (SqliteStore) and shared (RedisStore, on a real redis-server). Each key is
// written the way stream::Stream writes it: owned through the store,
// followed through the state's coordinator, appended to only while the
// coordinator says this process may poll it (with Redis, once it holds the
// lease; with one process, at once).
//
// What one store alone promises is in its own tests: reopening and crashes
// (sqlite_store_test.cpp), the lease, the fence and following
// (redis_store_test.cpp, cluster_test.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cluster/redis_store.h"
#include "common/mutex.h"
#include "common/time_format.h"
#include "json/document.h"
#include "sse/event_id.h"
#include "stream/memory_store.h"
#include "stream/sqlite_store.h"
#include "stream/state.h"
#include "support/file_local.h"
#include "support/proxy_process.h"
#include "support/redis_server.h"
#include "support/util.h"

namespace pb {
namespace PB_FILE_LOCAL {

using stream::Commit;
using stream::PersistedState;
using stream::StoreError;
using stream::StoreErrorKind;
using testing::RedisServer;
using testing::wait_until;

enum class Kind { kMemory, kSqlite, kRedis };

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::kMemory:
      return "Memory";
    case Kind::kSqlite:
      return "Sqlite";
    case Kind::kRedis:
      return "Redis";
  }
  return "Unknown";
}

// The document as saved: the very object (an in-process store) or its text.
std::string doc_text(const PersistedState& st) {
  if (st.doc) return json::dump(*st.doc);
  return st.doc_text.value_or("");
}

// The owner of one key, as stream::Stream is (test thread; its Follower
// methods from the coordinator's threads). Releases the key when it goes,
// unless release() did.
class Owner : public stream::Follower {
 public:
  Owner(stream::State& state, std::string key, std::string stream, std::size_t history = 100)
      : state_(state), key_(std::move(key)) {
    loaded_ = state_.store->load(key_, stream, history);
    MutexLock lock(mu_);
    if (loaded_) {
      pos_ = {loaded_->epoch, loaded_->seq, loaded_->doc_seq, nullptr};
      doc_changed_ms_ = loaded_->doc_changed_ms;
    } else {
      pos_.epoch = sse::new_epoch();
      state_.store->reset(key_, stream, pos_.epoch);
    }
    lock.unlock();
    state_.coordinator->follow(key_, this);
  }
  ~Owner() override {
    state_.coordinator->unfollow(key_, this);
    if (!released_) state_.store->release(key_, 0);
  }

  const std::optional<PersistedState>& loaded() const { return loaded_; }
  // Waits until this process may write the key (Redis: holds its lease,
  // and has caught up with what Redis holds).
  bool may_write() {
    return wait_until([this] { return state_.coordinator->may_poll(key_); },
                      std::chrono::milliseconds(8000));
  }
  std::string epoch() const { return position().epoch; }

  // Appends the events after the last one held up to `to` (type patch,
  // data "[seq]"); with `doc`, the last of them makes that document.
  void append(std::uint64_t to, const char* doc, std::uint64_t keep_from = 1,
              std::int64_t fetched_ms = 0) {
    Position pos = position();
    Commit c;
    c.epoch = pos.epoch;
    for (auto s = pos.seq + 1; s <= to; ++s) {
      c.events.push_back(stream::make_event(s, sse::EventId{c.epoch, s}.str(), "patch",
                                            "[" + std::to_string(s) + "]"));
    }
    c.doc_seq = pos.doc_seq;
    c.doc_changed_ms = doc_changed_ms_;
    if (doc) {
      c.doc = std::make_shared<const json::Json>(json::parse(doc));
      c.doc_seq = to;
      c.doc_changed_ms = doc_changed_ms_ = static_cast<std::int64_t>(1000 + to);
    }
    c.fetched_ms = fetched_ms;
    c.keep_from = keep_from;
    state_.store->append(key_, c);
    MutexLock lock(mu_);
    pos_.seq = to;
    pos_.doc_seq = c.doc_seq;
  }

  void release(std::int64_t expires_ms) {
    state_.coordinator->unfollow(key_, this);
    state_.store->release(key_, expires_ms);
    released_ = true;
  }

  Position position() const override {
    MutexLock lock(mu_);
    return pos_;
  }
  // What Redis holds when this process wins the lease (before it may
  // write): its epoch, if another one started the history.
  void on_remote(const PersistedState& st) override {
    MutexLock lock(mu_);
    pos_ = {st.epoch, st.seq, st.doc_seq, nullptr};
  }
  void on_store_health(bool, const std::string&) override {}
  std::int64_t local_clients() const override { return 0; }

 private:
  stream::State& state_;
  const std::string key_;
  std::optional<PersistedState> loaded_;
  std::int64_t doc_changed_ms_ = 0;
  bool released_ = false;
  mutable Mutex mu_;
  Position pos_ PB_GUARDED_BY(mu_);
};

class StoreConformanceTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Kind::kMemory:
        state_ = stream::local_state(std::make_shared<stream::MemoryStore>());
        break;
      case Kind::kSqlite:
        dir_ = std::make_unique<testing::TempDir>();
        state_ =
            stream::local_state(std::make_shared<stream::SqliteStore>(dir_->path(), false, "boot"));
        break;
      case Kind::kRedis: {
        if (!RedisServer::available()) {
          GTEST_SKIP() << RedisServer::kBinary << " is missing: scripts/deps.sh test installs it";
        }
        redis_ = std::make_unique<RedisServer>();
        cluster::RedisStore::Options o;
        std::string why;
        ASSERT_TRUE(config::parse_redis_url(redis_->url(), o.url, why)) << why;
        o.prefix = "t:";
        o.lease = std::chrono::milliseconds(900);
        o.timeout = std::chrono::milliseconds(500);
        o.owner = "conformance";
        auto r = std::make_shared<cluster::RedisStore>(std::move(o));
        state_ = {r, r};
        break;
      }
    }
  }
  void TearDown() override { state_ = {}; }

  stream::Store& store() { return *state_.store; }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<testing::TempDir> dir_;
  stream::State state_;
};

TEST_P(StoreConformanceTest, ItSaysWhetherStateOutlivesTheProcessAndWhetherItIsShared) {
  EXPECT_EQ(store().persistent(), GetParam() != Kind::kMemory);
  EXPECT_EQ(state_.coordinator->shared(), GetParam() == Kind::kRedis);
}

TEST_P(StoreConformanceTest, AKeyHasOneOwnerUntilReleased) {
  EXPECT_FALSE(store().load("k", "s", 10));
  try {
    store().load("k", "s", 10);
    FAIL() << "a second owner was let in";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreErrorKind::kOwned);
  }
  store().release("k", 0);
  EXPECT_NO_THROW(store().load("k", "s", 10));
  store().release("k", 0);
  // reset() takes ownership too.
  store().reset("r", "s", sse::new_epoch());
  EXPECT_THROW(store().load("r", "s", 10), StoreError);
  store().release("r", 0);
}

TEST_P(StoreConformanceTest, WhatWasAppendedIsLoadedBack) {
  std::string epoch;
  {
    Owner o(state_, "orders", "orders");
    EXPECT_FALSE(o.loaded());
    ASSERT_TRUE(o.may_write());
    epoch = o.epoch();
    o.append(3, R"({"v":1.10,"b":[1,2]})", 1, 2000);
    o.append(4, nullptr, 1, 3000);  // no new document: the one of event 3 stays
  }
  Owner again(state_, "orders", "orders");
  const auto& st = again.loaded();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->epoch, epoch);
  EXPECT_EQ(st->seq, 4u);
  EXPECT_EQ(st->doc_seq, 3u);
  EXPECT_EQ(doc_text(*st), R"({"v":1.10,"b":[1,2]})") << "the number's text is kept";
  EXPECT_EQ(st->doc_changed_ms, 1003);
  EXPECT_EQ(st->fetched_ms, 3000);
  ASSERT_EQ(st->history.size(), 4u);
  for (std::uint64_t s = 1; s <= 4; ++s) {
    const auto& ev = st->history[s - 1];
    EXPECT_EQ(ev->seq, s);
    EXPECT_EQ(ev->id, (sse::EventId{epoch, s}.str()));
    EXPECT_EQ(ev->type, "patch");
    EXPECT_EQ(ev->data, "[" + std::to_string(s) + "]");
  }
  // The next owner continues the same sequence.
  ASSERT_TRUE(again.may_write());
  again.append(5, R"({"v":2})");
  again.release(0);
  Owner third(state_, "orders", "orders");
  ASSERT_TRUE(third.loaded());
  EXPECT_EQ(third.loaded()->seq, 5u);
  EXPECT_EQ(doc_text(*third.loaded()), R"({"v":2})");
}

TEST_P(StoreConformanceTest, LoadReturnsAtMostTheNewestEventsAskedFor) {
  {
    Owner o(state_, "k", "s");
    ASSERT_TRUE(o.may_write());
    o.append(40, "1");
  }
  auto st = store().load("k", "s", 7);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->seq, 40u);
  ASSERT_EQ(st->history.size(), 7u);
  EXPECT_EQ(st->history.front()->seq, 34u);
  EXPECT_EQ(st->history.back()->seq, 40u);
  store().release("k", 0);
}

TEST_P(StoreConformanceTest, ReleasedStateIsDeletedAtItsExpiryAndOnlyThen) {
  for (const char* k : {"p/1", "p/2"}) {
    Owner o(state_, k, "p");
    ASSERT_TRUE(o.may_write());
    o.append(3, "1");
    o.release(std::string(k) == "p/1" ? unix_ms(SystemClock::now()) + 300 : 0);
  }
  // Redis expires keys by itself, on its own clock: wait for it to pass.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  store().sweep(unix_ms(SystemClock::now()));
  EXPECT_FALSE(store().load("p/1", "p", 10)) << "kept past its expiry";
  auto kept = store().load("p/2", "p", 10);
  ASSERT_TRUE(kept) << "released without an expiry, yet deleted";
  EXPECT_EQ(kept->seq, 3u);
  store().release("p/1", 0);
  store().release("p/2", 0);
}

INSTANTIATE_TEST_SUITE_P(EveryStore, StoreConformanceTest,
                         ::testing::Values(Kind::kMemory, Kind::kSqlite, Kind::kRedis), kind_name);

}  // namespace PB_FILE_LOCAL
}  // namespace pb
