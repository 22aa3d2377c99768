// ctest-labels: threaded
// The scheduler with real pollers against a real backend on raw sockets, on
// a manual clock (time passes only when a test advances it; the network is
// real): removing a poller abandons its request at once and waits only for a
// body already being processed, stopping never waits on the network,
// immediate polls coalesce, idle pollers park, each poller polls exactly once
// per interval; and its two data structures (the heap of due times, the
// per-host slots) on their own.
#include "upstream/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>

#include "common/clock.h"
#include "config/url.h"
#include "ingest/ingest.h"
#include "stream/local_coordinator.h"
#include "stream/memory_store.h"
#include "support/file_local.h"
#include "support/raw_backend.h"
#include "support/util.h"
#include "upstream/due_queue.h"
#include "upstream/host_slots.h"

namespace pb::upstream {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using testing::RawBackend;
using testing::RawConnection;
using testing::RawRequest;
using testing::wait_until;
using Clock = std::chrono::steady_clock;

// A listener that blocks the stream's publisher (the processing thread)
// until released, so a test can hold a poll in its processing step.
class Gate : public stream::Listener {
 public:
  void on_event(const stream::EventPtr&) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++events_;
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  bool wait_entered(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return entered_; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
  int events_ = 0;
};

// One poller with its stream.
struct Subject {
  Subject(const std::string& url, config::Duration interval, config::Duration timeout,
          const pb::Clock& clock) {
    cfg.name = "s";
    cfg.url = url;
    cfg.interval = interval;
    cfg.timeout = timeout;
    cfg.backoff_max = std::max<config::Duration>(interval, 1000ms);
    stream::Stream::Options opts;
    stream = std::make_unique<stream::Stream>(url, "s", opts, &store, &local, clock.system_now());
    config::UrlParts parts;
    std::string why;
    EXPECT_TRUE(config::parse_url(cfg.url, parts, why)) << why;
    ingest = std::make_unique<ingest::Ingest>(cfg, *stream);
    poller = std::make_unique<Poller>(cfg, Url{parts.scheme, parts.host, parts.port, parts.target},
                                      *ingest, clock);
  }
  config::StreamConfig cfg;
  stream::MemoryStore store;
  stream::LocalCoordinator local;
  std::unique_ptr<stream::Stream> stream;
  std::unique_ptr<ingest::Ingest> ingest;
  std::unique_ptr<Poller> poller;
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() {
    backend_.route("/doc", [](RawConnection& c, const RawRequest&) {
      return RawBackend::ok(c, R"({"a":1})");
    });
    backend_.route("/probe", [](RawConnection& c, const RawRequest&) {
      return RawBackend::ok(c, R"({"probe":1})");
    });
    backend_.route("/silent", [](RawConnection& c, const RawRequest&) { return c.hold(); });
    backend_.route("/slow", [](RawConnection& c, const RawRequest&) {
      return c.pause(300ms) && RawBackend::ok(c, R"({"a":1})");
    });
    scheduler_.start();
  }
  ~SchedulerTest() override { scheduler_.stop(); }

  std::unique_ptr<Subject> subject(const std::string& path, config::Duration interval,
                                   config::Duration timeout) {
    return std::make_unique<Subject>(backend_.url(path), interval, timeout, clock_);
  }

  // The poller has finished every poll due at the clock's present time and
  // waits for a later one.
  bool settled(const Subject& s) {
    auto due = scheduler_.next_due(s.poller.get());
    return due && *due > clock_.now();
  }

  // Returns once the loop has had a turn at the clock's present time: a
  // probe's poll, asked for after the last advance(), has finished. Whatever
  // else was due at that time was sent in that turn or before.
  void one_turn() {
    auto probe = subject("/probe", 1h, 5s);
    scheduler_.add(probe->poller.get());
    const std::uint64_t ticket = scheduler_.trigger(probe->poller.get());
    EXPECT_TRUE(scheduler_.wait_polled(probe->poller.get(), ticket, 5s));
    scheduler_.remove(probe->poller.get());
  }

  RawBackend backend_;
  ManualClock clock_;
  Scheduler scheduler_{2, clock_};
};

TEST_F(SchedulerTest, RemoveAbandonsTheRequestInFlightAtOnce) {
  auto s = subject("/silent", 100ms, 60s);
  scheduler_.add(s->poller.get());
  clock_.advance(100ms);  // the first poll is due within an interval
  ASSERT_TRUE(wait_until([&] { return backend_.open_connections() == 1; }, 3s));
  const auto t0 = Clock::now();
  scheduler_.remove(s->poller.get());
  EXPECT_LT(Clock::now() - t0, 200ms) << "remove() waited for the network";
  // The request was really abandoned: its connection closes.
  EXPECT_TRUE(wait_until([&] { return backend_.open_connections() == 0; }, 2s));
  EXPECT_EQ(s->poller->counters().failures, 0u) << "an abandoned poll is not an upstream failure";
}

TEST_F(SchedulerTest, RemoveWaitsOnlyForAProcessingTaskThatHasStarted) {
  auto s = subject("/doc", 100ms, 5s);
  Gate gate;
  {
    MutexLock lock(s->stream->mutex());
    s->stream->add_listener_locked(&gate);
  }
  scheduler_.add(s->poller.get());
  clock_.advance(100ms);
  // The first body is being published, held by the gate.
  ASSERT_TRUE(gate.wait_entered(3s));
  auto removed = std::async(std::launch::async, [&] { scheduler_.remove(s->poller.get()); });
  EXPECT_EQ(removed.wait_for(200ms), std::future_status::timeout)
      << "remove() returned while the poller's stream was still being updated";
  gate.open();
  EXPECT_EQ(removed.wait_for(2s), std::future_status::ready);
  // Nothing calls into the poller or its stream afterwards, however much
  // time passes.
  const int events = gate.events();
  const auto polls = s->poller->counters().polls;
  clock_.advance(1s);
  one_turn();
  EXPECT_EQ(gate.events(), events);
  EXPECT_EQ(s->poller->counters().polls, polls);
  MutexLock lock(s->stream->mutex());
  s->stream->remove_listener_locked(&gate);
}

TEST_F(SchedulerTest, StopDoesNotWaitForTheNetwork) {
  auto a = subject("/silent", 100ms, 60s);
  auto b = subject("/silent", 100ms, 60s);
  scheduler_.add(a->poller.get());
  scheduler_.add(b->poller.get());
  clock_.advance(100ms);
  ASSERT_TRUE(wait_until([&] { return backend_.open_connections() == 2; }, 3s));
  const auto t0 = Clock::now();
  scheduler_.stop();
  EXPECT_LT(Clock::now() - t0, 200ms);
  // Removing after the stop does not wait either.
  scheduler_.remove(a->poller.get());
  scheduler_.remove(b->poller.get());
  EXPECT_LT(Clock::now() - t0, 300ms);
}

TEST_F(SchedulerTest, ATriggerDuringAPollGetsOneMorePollAfterIt) {
  auto s = subject("/slow", 1h, 5s);
  scheduler_.add(s->poller.get());
  // The first poll (within a second of add()) is in flight for 300 ms.
  clock_.advance(1s);
  ASSERT_TRUE(wait_until([&] { return backend_.requests("/slow") == 1; }, 3s));
  const std::uint64_t t1 = scheduler_.trigger(s->poller.get());
  const std::uint64_t t2 = scheduler_.trigger(s->poller.get());
  EXPECT_EQ(t1, t2) << "triggers during one poll are merged into one more poll";
  EXPECT_TRUE(scheduler_.wait_polled(s->poller.get(), t1, 3s));
  EXPECT_EQ(backend_.requests("/slow"), 2u);
  EXPECT_EQ(s->poller->counters().polls, 2u);
  // Idle again (interval 1h): the next poll is an interval away, and
  // nothing comes before it.
  EXPECT_EQ(scheduler_.next_due(s->poller.get()), clock_.now() + 1h);
  clock_.advance(59min);
  one_turn();
  EXPECT_EQ(backend_.requests("/slow"), 2u);
  // A trigger while waiting polls at once.
  const std::uint64_t t3 = scheduler_.trigger(s->poller.get());
  EXPECT_EQ(t3, 3u);
  EXPECT_TRUE(scheduler_.wait_polled(s->poller.get(), t3, 3s));
  EXPECT_EQ(backend_.requests("/slow"), 3u);
  scheduler_.remove(s->poller.get());
}

// The callback form (a poll asked for by another process, answered once
// done): called after the poll that sees the trigger, exactly once; and by
// remove() when the poller goes before that poll.
TEST_F(SchedulerTest, ATriggerCallbackRunsOnceThePollHasFinishedOrThePollerGoes) {
  auto s = subject("/slow", 1h, 5s);
  scheduler_.add(s->poller.get());
  clock_.advance(1s);
  ASSERT_TRUE(wait_until([&] { return backend_.requests("/slow") == 1; }, 3s));
  std::atomic<int> calls{0};
  std::atomic<std::size_t> requests_then{0};
  scheduler_.trigger(s->poller.get(), [&] {
    requests_then = backend_.requests("/slow");
    ++calls;
  });
  // During the first poll (300 ms): the answer waits for the second, which
  // the trigger added.
  EXPECT_EQ(calls.load(), 0);
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }, 3s));
  EXPECT_EQ(requests_then.load(), 2u);
  // Once only, however much time passes.
  clock_.advance(2h);
  ASSERT_TRUE(wait_until([&] { return settled(*s); }, 3s));
  EXPECT_EQ(backend_.requests("/slow"), 3u) << "one poll for the two hours' due time";
  EXPECT_EQ(calls.load(), 1);

  // The poller is removed while its poll is in flight: called by remove().
  scheduler_.trigger(s->poller.get(), [&] { ++calls; });
  ASSERT_TRUE(wait_until([&] { return backend_.requests("/slow") == 4; }, 3s));
  scheduler_.remove(s->poller.get());
  EXPECT_EQ(calls.load(), 2);
  // An unknown poller: at once.
  scheduler_.trigger(s->poller.get(), [&] { ++calls; });
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(SchedulerTest, IdlePollerParksUntilWoken) {
  auto s = subject("/doc", 50ms, 5s);
  s->cfg.idle = config::IdlePolicy::kStop;
  s->cfg.linger = 0ms;
  scheduler_.add(s->poller.get());
  clock_.advance(50ms);
  ASSERT_TRUE(wait_until([&] { return scheduler_.is_idle(s->poller.get()); }, 3s));
  EXPECT_EQ(backend_.requests("/doc"), 0u) << "linger 0: parked before its first poll";
  s->stream->presence()->arrive(clock_.now());
  scheduler_.wake(s->poller.get());
  ASSERT_TRUE(wait_until([&] { return backend_.requests("/doc") == 1 && settled(*s); }, 3s));
  for (std::size_t n = 2; n <= 3; ++n) {
    clock_.advance(50ms);
    ASSERT_TRUE(wait_until([&] { return backend_.requests("/doc") == n && settled(*s); }, 3s));
  }
  EXPECT_FALSE(scheduler_.is_idle(s->poller.get()));
  s->stream->presence()->leave(clock_.now());
  clock_.advance(50ms);
  EXPECT_TRUE(wait_until([&] { return scheduler_.is_idle(s->poller.get()); }, 3s));
  EXPECT_EQ(backend_.requests("/doc"), 3u) << "parked at its next due time, not polled";
  scheduler_.remove(s->poller.get());
}

TEST_F(SchedulerTest, PollersKeepTheirOwnIntervals) {
  std::vector<std::unique_ptr<Subject>> subjects;
  for (int ms : {100, 200, 400}) {
    subjects.push_back(subject("/doc?i=" + std::to_string(ms), config::Duration(ms), 5s));
  }
  for (auto& s : subjects) scheduler_.add(s->poller.get());
  // The spread (< 1 s) plus a second of polling, in steps of the shortest
  // interval, each step finished before the next.
  for (int step = 0; step < 15; ++step) {
    clock_.advance(100ms);
    ASSERT_TRUE(wait_until(
        [&] {
          for (auto& s : subjects) {
            if (!settled(*s)) return false;
          }
          return true;
        },
        3s))
        << "step " << step;
  }
  for (auto& s : subjects) scheduler_.remove(s->poller.get());
  const auto fast = subjects[0]->poller->counters().polls;
  const auto mid = subjects[1]->poller->counters().polls;
  const auto slow = subjects[2]->poller->counters().polls;
  EXPECT_GE(fast, 6u);
  EXPECT_LE(fast, 16u);
  EXPECT_GT(fast, mid);
  EXPECT_GT(mid, slow);
  EXPECT_GE(slow, 2u);
  // Exactly: one poll per interval from the first (spread within the
  // interval) to 1.5 s.
  EXPECT_EQ(fast, 15u);
  EXPECT_TRUE(mid == 7u || mid == 8u) << mid;
  EXPECT_TRUE(slow == 3u || slow == 4u) << slow;
}

// A runaway poller (one that polls again without waiting for its interval)
// would be invisible to "at least one poll per interval": with the time
// frozen between advances, each advance of an interval gives exactly one
// poll, and nothing is due until the next.
TEST_F(SchedulerTest, EachIntervalOfTimeGivesExactlyOnePoll) {
  auto s = subject("/doc", 1s, 5s);
  scheduler_.add(s->poller.get());
  clock_.advance(1s);  // the first poll, within the spread
  ASSERT_TRUE(wait_until([&] { return s->poller->counters().polls >= 1 && settled(*s); }, 3s));
  const auto base = s->poller->counters().polls;
  for (std::uint64_t n = 1; n <= 5; ++n) {
    EXPECT_EQ(scheduler_.next_due(s->poller.get()), clock_.now() + 1s);
    clock_.advance(1s);
    ASSERT_TRUE(
        wait_until([&] { return s->poller->counters().polls >= base + n && settled(*s); }, 3s))
        << "advance " << n;
    EXPECT_EQ(s->poller->counters().polls, base + n) << "advance " << n;
  }
  // The loop turns again with the clock unmoved: still nothing due.
  one_turn();
  EXPECT_EQ(s->poller->counters().polls, base + 5);
  EXPECT_EQ(backend_.requests("/doc"), base + 5);
  scheduler_.remove(s->poller.get());
}

TEST(DueQueueTest, PopsInDueOrderAndSkipsStaleItems) {
  DueQueue q;
  const auto t0 = DueQueue::TimePoint() + 1h;
  int a = 0, b = 0, c = 0;
  std::map<const void*, std::uint64_t> current = {{&a, 2}, {&b, 1}, {&c, 1}};
  auto is_current = [&](const DueQueue::Item& i) { return current[i.key] == i.token; };
  q.push(t0 + 30ms, &a, 1);  // stale: a moved to +5
  q.push(t0 + 20ms, &b, 1);
  q.push(t0 + 10ms, &c, 1);
  q.push(t0 + 5ms, &a, 2);
  EXPECT_EQ(q.next_due(is_current), t0 + 5ms);
  EXPECT_FALSE(q.pop_due(t0, is_current));
  auto first = q.pop_due(t0 + 100ms, is_current);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->key, &a);
  EXPECT_EQ(q.pop_due(t0 + 100ms, is_current)->key, &c);
  EXPECT_EQ(q.pop_due(t0 + 100ms, is_current)->key, &b);
  EXPECT_FALSE(q.pop_due(t0 + 100ms, is_current)) << "a's old item is skipped";
  // Compaction drops stale items once they are most of the heap.
  for (std::uint64_t t = 1; t <= 200; ++t) q.push(t0 + 1s, &a, t);
  current[&a] = 200;
  q.compact(1, is_current);
  EXPECT_EQ(q.size(), 1u);
}

TEST(HostSlotsTest, TheSmallestCapOfAnOriginHoldsAndWaitersGoInOrder) {
  HostSlots slots;
  const std::string o = "http://h:80";
  slots.add_user(o, 8);
  slots.add_user(o, 2);
  EXPECT_EQ(slots.cap(o), 2u);
  int x = 0;
  for (std::uint64_t i = 1; i <= 4; ++i) slots.enqueue(o, {&x, i});
  EXPECT_EQ(slots.next_waiting(o)->second, 1u);
  EXPECT_EQ(slots.next_waiting(o)->second, 2u);
  EXPECT_FALSE(slots.next_waiting(o)) << "both slots taken";
  EXPECT_EQ(slots.in_flight(o), 2u);
  slots.release(o);
  EXPECT_EQ(slots.next_waiting(o)->second, 3u);
  // The stream with cap 2 leaves: the other one's 8 apply.
  slots.remove_user(o, 2);
  EXPECT_EQ(slots.cap(o), 8u);
  EXPECT_EQ(slots.next_waiting(o)->second, 4u);
  EXPECT_EQ(slots.in_flight(o), 3u);
  EXPECT_EQ(slots.waiting(o), 0u);
  // Another origin is independent.
  slots.add_user("http://other:80", 1);
  EXPECT_TRUE(slots.try_acquire("http://other:80"));
  EXPECT_FALSE(slots.try_acquire("http://other:80"));
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::upstream
