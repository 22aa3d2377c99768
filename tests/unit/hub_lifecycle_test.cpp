// ctest-labels: threaded
// The hub's heartbeats and its closing: feeds closed, stop, and attach racing
// with stop, on a real pb::hub::Hub with AF_UNIX socket pairs (helpers in
// hub_test_support.h). Heartbeats and stalls run on a manual clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "hub/worker_state.h"
#include "support/file_local.h"
#include "support/util.h"
#include "unit/hub_test_support.h"

namespace pb::hub {
namespace PB_FILE_LOCAL {

using namespace hub_test;

// --- heartbeats ------------------------------------------------------------

TEST(HubTest, HeartbeatsGoOnlyBetweenEventsAndKeepIdleSessionsAlive) {
  ManualClock clock;
  Options o = big_backlog(1);
  o.heartbeat = 100ms;
  o.clock = &clock;
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  Pair p = socket_pair(kTinySndbuf);
  // Every buffer is bigger than the socket holds, and the client reads once
  // per tick (each a heartbeat interval and more after the last write):
  // heartbeats fall due many times while the session is in the middle of a
  // buffer.
  std::vector<std::string> items = {event_text(98, 0, 12000)};
  for (int k = 0; k < 4; ++k) items.push_back(event_text(0, k, 12000));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(p.hub), {buf(items[0])}, nullptr));
  std::size_t total = 0;
  for (const auto& s : items) total += s.size();
  for (std::size_t k = 1; k < items.size(); ++k) hub.publish(feed, buf(items[k]));
  std::string got;
  // Whether the hub has written something not yet read.
  auto written = [&] {
    pollfd pf{p.peer, POLLIN, 0};
    return ::poll(&pf, 1, static_cast<int>(kWait.count())) == 1;
  };
  // Reads all there is.
  auto drain = [&] {
    char chunk[16384];
    for (;;) {
      ssize_t n = ::recv(p.peer, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n <= 0) return;
      got.append(chunk, static_cast<std::size_t>(n));
    }
  };
  while (got.size() < total) {
    // The socket was emptied, so the hub's next write (its last progress) is
    // at the present time: one tick later is short of a stall (four
    // heartbeats).
    ASSERT_TRUE(written()) << got.size() << " of " << total;
    clock.advance(kTick);
    drain();
  }
  // Then idle: heartbeats keep coming, one within two ticks each. (Under
  // ThreadSanitizer the first tick after the last write was seen to find
  // nothing due, and the test waited 10 s for a write that the next tick
  // makes; a hub that stopped heartbeating fails here either way.)
  auto written_within = [&](std::chrono::milliseconds limit) {
    pollfd pf{p.peer, POLLIN, 0};
    return ::poll(&pf, 1, static_cast<int>(limit.count())) == 1;
  };
  for (int k = 0; k < 3; ++k) {
    const std::size_t before = got.size();
    for (int tick = 0; tick < 2 && got.size() < before + 3; ++tick) {
      clock.advance(kTick);
      while (got.size() < before + 3 && written_within(pb::testing::kSlowdown * 2000ms)) drain();
    }
    ASSERT_GE(got.size(), before + 3) << "heartbeat " << k;
  }
  hub.close_feed(feed);
  std::string rest;
  ASSERT_TRUE(drain_to_eof(p.peer, &rest));
  got += rest;
  ::close(p.peer);
  std::size_t pos = 0;
  std::size_t next = 0;
  int heartbeats = 0;
  while (pos < got.size()) {
    if (got.compare(pos, 3, ":\n\n") == 0) {
      ++heartbeats;
      pos += 3;
    } else if (next < items.size() && got.compare(pos, items[next].size(), items[next]) == 0) {
      pos += items[next++].size();
    } else {
      FAIL() << "at byte " << pos << " neither a heartbeat nor buffer " << next
             << " whole: " << ::testing::PrintToString(got.substr(pos, 60));
    }
  }
  EXPECT_EQ(next, items.size());
  EXPECT_GE(heartbeats, 3);
  clock.advance(kTick);  // the counters reach the stats at a tick
  EXPECT_TRUE(wait_until([&] { return hub.stats().heartbeats >= 3u; }));
}

TEST(HubTest, ASessionWritesItsOwnHeartbeatBuffer) {
  ManualClock clock;
  Options o = big_backlog(1);
  o.heartbeat = 100ms;
  o.clock = &clock;
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  Pair own = socket_pair();
  Pair plain = socket_pair();
  // A compressed session's heartbeat is a piece of its coding, not ":\n\n".
  ASSERT_TRUE(hub.attach(feed, Transport::plain(own.hub), {buf("head|")}, nullptr,
                         SteadyClock::time_point::max(), nullptr, buf("<hb>")));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(plain.hub), {buf("head|")}, nullptr));
  Reader a(own.peer);
  Reader b(plain.peer);
  ASSERT_TRUE(a.wait_size(5));
  ASSERT_TRUE(b.wait_size(5));
  for (int tick = 0; tick < 100 && (a.size() < 9 || b.size() < 8); ++tick) {
    clock.advance(kTick);
    a.wait_size(9, 20ms);
    b.wait_size(8, 20ms);
  }
  EXPECT_EQ(a.data().substr(0, 9), "head|<hb>");
  EXPECT_EQ(b.data().substr(0, 8), "head|:\n\n");
  hub.publish(feed, buf("ev"));
  EXPECT_TRUE(b.wait_size(10));
  EXPECT_NE(b.data().find("ev"), std::string::npos);
}

// --- closing ---------------------------------------------------------------

TEST(HubTest, CloseFeedWritesWhatIsPendingThenClosesThatFeedsSessionsOnly) {
  Hub hub(big_backlog(2));
  hub.start();
  FeedId a = hub.create_feed();
  FeedId b = hub.create_feed();
  std::vector<Pair> late;
  std::vector<Counter> late_closes;
  for (int i = 0; i < 3; ++i) {  // do not read before the feed is closed
    late.push_back(socket_pair(kTinySndbuf));
    late_closes.push_back(counter());
    ASSERT_TRUE(hub.attach(a, Transport::plain(late.back().hub), {buf("pre\n")},
                           count_into(late_closes.back())));
  }
  Pair live_a = socket_pair();
  Pair live_b = socket_pair();
  Counter closes_a = counter();
  Counter closes_b = counter();
  ASSERT_TRUE(hub.attach(a, Transport::plain(live_a.hub), {buf("pre\n")}, count_into(closes_a)));
  ASSERT_TRUE(hub.attach(b, Transport::plain(live_b.hub), {}, count_into(closes_b)));
  Reader reader_a(live_a.peer);
  Reader reader_b(live_b.peer);
  std::string expected_a = "pre\n";
  std::string expected_b;
  for (int k = 0; k < 10; ++k) {
    std::string ev = event_text(1, k, 20000);
    expected_a += ev;
    hub.publish(a, buf(std::move(ev)));
    std::string evb = event_text(2, k, 100);
    expected_b += evb;
    hub.publish(b, buf(std::move(evb)));
  }
  ASSERT_TRUE(reader_a.wait_size(expected_a.size()));
  hub.close_feed(a);
  std::vector<std::unique_ptr<Reader>> late_readers;
  for (const Pair& p : late) late_readers.push_back(std::make_unique<Reader>(p.peer, 5000));
  for (std::size_t i = 0; i < late.size(); ++i) {
    ASSERT_TRUE(late_readers[i]->wait_eof()) << "session " << i << " of the closed feed";
    EXPECT_TRUE(same_stream(late_readers[i]->data(), expected_a)) << "session " << i;
    EXPECT_TRUE(wait_until([&] { return late_closes[i]->load() == 1; }));
  }
  ASSERT_TRUE(reader_a.wait_eof());
  EXPECT_TRUE(same_stream(reader_a.data(), expected_a));
  // The other feed goes on.
  std::string more = event_text(2, 10, 100);
  expected_b += more;
  hub.publish(b, buf(more));
  hub.publish(a, buf("after close\n"));  // harmless
  ASSERT_TRUE(reader_b.wait_size(expected_b.size()));
  EXPECT_TRUE(same_stream(reader_b.data(), expected_b));
  EXPECT_FALSE(reader_b.eof());
  EXPECT_TRUE(wait_until([&] { return closes_a->load() == 1 && hub.clients() == 1; }));
  EXPECT_EQ(closes_b->load(), 0);
}

TEST(HubTest, CloseFeedClosesCaughtUpSessionsAtOnceAndTheHubGoesOn) {
  Hub hub(big_backlog(1));
  hub.start();
  FeedId feed = hub.create_feed();
  std::vector<std::unique_ptr<Reader>> readers;
  std::vector<Counter> closes;
  for (int i = 0; i < 3; ++i) {
    Pair p = socket_pair();
    closes.push_back(counter());
    ASSERT_TRUE(hub.attach(feed, Transport::plain(p.hub), {}, count_into(closes.back())));
    readers.push_back(std::make_unique<Reader>(p.peer));
  }
  std::string ev = event_text(0, 0, 500);
  hub.publish(feed, buf(ev));
  for (auto& r : readers) ASSERT_TRUE(r->wait_size(ev.size()));
  hub.close_feed(feed);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    ASSERT_TRUE(readers[i]->wait_eof()) << "session " << i;
    EXPECT_EQ(readers[i]->data(), ev);
    EXPECT_TRUE(wait_until([&] { return closes[i]->load() == 1; }));
  }
  // Another feed on the same thread still works.
  FeedId other = hub.create_feed();
  Pair p = socket_pair();
  ASSERT_TRUE(hub.attach(other, Transport::plain(p.hub), {}, nullptr));
  Reader r(p.peer);
  hub.publish(other, buf(ev));
  ASSERT_TRUE(r.wait_size(ev.size()));
  EXPECT_EQ(r.data(), ev);
  hub.stop(0ms);
  for (auto& c : closes) EXPECT_EQ(c->load(), 1);
}

TEST(HubTest, StopWritesWhatIsPendingClosesEverySessionAndRunsOnCloseOnce) {
  Hub hub(big_backlog(3));
  hub.start();
  FeedId feeds[2] = {hub.create_feed(), hub.create_feed()};
  std::vector<Pair> pairs;
  std::vector<Counter> closes;
  for (int i = 0; i < 6; ++i) {
    pairs.push_back(socket_pair(kTinySndbuf));
    closes.push_back(counter());
    ASSERT_TRUE(hub.attach(feeds[i % 2], Transport::plain(pairs.back().hub), {buf("pre\n")},
                           count_into(closes.back())));
  }
  std::string expected[2] = {"pre\n", "pre\n"};
  for (int k = 0; k < 20; ++k) {
    for (int f = 0; f < 2; ++f) {
      std::string ev = event_text(f, k, 10000);
      expected[f] += ev;
      hub.publish(feeds[f], buf(std::move(ev)));
    }
  }
  sync(hub);
  // Every session has most of its 200 KB pending; the clients read only now.
  std::vector<std::unique_ptr<Reader>> readers;
  for (const Pair& p : pairs) readers.push_back(std::make_unique<Reader>(p.peer, 4096));
  hub.stop(kWait);  // returns as soon as everything is written
  for (std::size_t i = 0; i < readers.size(); ++i) {
    ASSERT_TRUE(readers[i]->wait_eof()) << "session " << i;
    EXPECT_TRUE(same_stream(readers[i]->data(), expected[i % 2])) << "session " << i;
    EXPECT_EQ(closes[i]->load(), 1) << "session " << i;
  }
  // A stopped hub refuses new sessions, closing the socket and running on_close.
  Pair p = socket_pair();
  Counter late = counter();
  EXPECT_FALSE(hub.attach(feeds[0], Transport::plain(p.hub), {buf("pre\n")}, count_into(late)));
  EXPECT_EQ(late->load(), 1);
  std::string got;
  EXPECT_TRUE(drain_to_eof(p.peer, &got));
  EXPECT_EQ(got, "");
  ::close(p.peer);
  hub.publish(feeds[0], buf("x"));  // harmless
  hub.close_feed(feeds[1]);
  hub.stop(0ms);
  Stats st = hub.stats();
  EXPECT_EQ(st.clients, 0);
  EXPECT_EQ(st.closed, st.attached);
  for (auto& c : closes) EXPECT_EQ(c->load(), 1);
}

TEST(HubTest, StopGivesEveryThreadTheDrainBudgetAtTheSameTime) {
  constexpr std::size_t kThreads = 4;
  Hub hub(big_backlog(kThreads));
  hub.start();
  FeedId feed = hub.create_feed();
  std::vector<Pair> stuck;
  std::vector<Counter> closes;
  for (std::size_t i = 0; i < kThreads; ++i) {  // one per thread (round-robin)
    stuck.push_back(socket_pair(kTinySndbuf));
    closes.push_back(counter());
    ASSERT_TRUE(
        hub.attach(feed, Transport::plain(stuck.back().hub), {}, count_into(closes.back())));
  }
  for (int k = 0; k < 20; ++k) hub.publish(feed, buf(event_text(0, k, 4000)));
  sync(hub);
  auto t0 = std::chrono::steady_clock::now();
  hub.stop(1000ms);
  auto took = std::chrono::steady_clock::now() - t0;
  // Each thread waits its drain for a client that never reads: about 1 s
  // if the threads drain together, kThreads s if one after the other.
  EXPECT_GE(took, 950ms) << "pending writes were not given the drain time";
  EXPECT_LT(took, 3000ms) << "hub threads drained one after another";
  for (std::size_t i = 0; i < stuck.size(); ++i) {
    std::string got;
    EXPECT_TRUE(drain_to_eof(stuck[i].peer, &got));
    ::close(stuck[i].peer);
    EXPECT_EQ(closes[i]->load(), 1);
  }
  EXPECT_EQ(hub.stats().clients, 0);
}

TEST(HubTest, AttachRacingWithStopStillClosesTheSocketAndRunsOnCloseOnce) {
  for (int round = 0; round < 20; ++round) {
    Counter closes = counter();
    std::atomic<int> attaches{0};
    {
      Hub hub(big_backlog(2));
      hub.start();
      FeedId feed = hub.create_feed();
      std::atomic<bool> go{false};
      std::vector<std::thread> clients;
      for (int t = 0; t < 3; ++t) {
        clients.emplace_back([&] {
          while (!go) std::this_thread::yield();
          for (int i = 0; i < 5000; ++i) {
            Pair p = socket_pair();
            bool ok = hub.attach(feed, Transport::plain(p.hub), {buf("x")}, count_into(closes));
            attaches.fetch_add(1);
            ::close(p.peer);
            if (!ok) break;
          }
        });
      }
      go = true;
      // Lets the attaches race the stop at a different point each round.
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + round % 3));
      hub.stop(0ms);
      for (auto& t : clients) t.join();
      EXPECT_EQ(hub.clients(), 0) << "round " << round;
    }
    ASSERT_EQ(closes->load(), attaches.load()) << "round " << round;
  }
}

// A hub thread blocks until its next tick; the last fraction of a
// millisecond before it must not become epoll_wait(0) calls in a loop.
TEST(HubTest, WaitTimeoutIsRoundedUpSoAnIdleThreadNeverSpinsBeforeItsTick) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  EXPECT_EQ(detail::epoll_timeout_ms(std::nullopt), -1);
  EXPECT_EQ(detail::epoll_timeout_ms(std::chrono::steady_clock::duration::zero()), 0);
  EXPECT_EQ(detail::epoll_timeout_ms(milliseconds(-5)), 0);
  EXPECT_EQ(detail::epoll_timeout_ms(microseconds(1)), 1);
  EXPECT_EQ(detail::epoll_timeout_ms(microseconds(999)), 1);
  EXPECT_EQ(detail::epoll_timeout_ms(microseconds(249001)), 250);
  EXPECT_EQ(detail::epoll_timeout_ms(milliseconds(250)), 250);
  EXPECT_EQ(detail::epoll_timeout_ms(std::chrono::hours(2)), 60000);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::hub
