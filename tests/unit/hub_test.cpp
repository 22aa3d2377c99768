// ctest-labels: threaded
// The stream plane in process: a real pb::hub::Hub with real sockets
// (AF_UNIX stream pairs). The hub side of a pair gets a tiny send buffer where
// a test needs backpressure quickly: on an AF_UNIX stream socket the sender's
// SO_SNDBUF bounds everything written and not yet read by the peer.
//
// No test relies on a latency threshold: "not delayed" means "arrives before
// the next event is published, within a generous timeout", and the hub's
// threads are synchronised with by attaching a probe session to each of them.
// Tests of heartbeats and stalls run the hub on a manual clock and advance it
// past the hub's tick instead of waiting for time to pass.
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

// --- ordering -------------------------------------------------------------

TEST(HubTest, SessionAttachedAfterEventKGetsItsPreambleThenExactlyTheLaterEvents) {
  Hub hub(big_backlog(3));
  hub.start();
  constexpr int kFeeds = 4;
  constexpr int kEvents = 60;
  struct Session {
    std::unique_ptr<Reader> reader;
    std::string expected;
    Counter closes = counter();
  };
  std::vector<std::vector<Session>> sessions(kFeeds);
  std::vector<FeedId> feeds;
  for (int f = 0; f < kFeeds; ++f) feeds.push_back(hub.create_feed());
  // One publishing thread per feed: the order the hub promises is per feed.
  std::vector<std::thread> publishers;
  for (int f = 0; f < kFeeds; ++f) {
    publishers.emplace_back([&, f] {
      std::vector<Session>& mine = sessions[static_cast<std::size_t>(f)];
      for (int k = 0; k <= kEvents; ++k) {
        if (k % 7 == 0 || k == kEvents) {  // attached after events 0..k-1
          Pair p = socket_pair();
          Session s;
          std::string head = "HTTP/1.1 200 OK " + std::to_string(f) + "/" + std::to_string(k);
          std::string retry = "\r\n\r\nretry: 1000\n\n";
          s.expected = head + retry;
          hub.attach(feeds[static_cast<std::size_t>(f)], Transport::plain(p.hub),
                     {buf(head), buf(retry)}, count_into(s.closes));
          s.reader = std::make_unique<Reader>(p.peer);
          mine.push_back(std::move(s));
        }
        if (k == kEvents) break;
        std::string ev = event_text(f, k, 40 + static_cast<std::size_t>(k * 37 % 300));
        for (Session& s : mine) s.expected += ev;
        hub.publish(feeds[static_cast<std::size_t>(f)], buf(ev));
      }
    });
  }
  for (auto& t : publishers) t.join();
  for (FeedId f : feeds) hub.close_feed(f);
  for (int f = 0; f < kFeeds; ++f) {
    for (std::size_t i = 0; i < sessions[static_cast<std::size_t>(f)].size(); ++i) {
      Session& s = sessions[static_cast<std::size_t>(f)][i];
      ASSERT_TRUE(s.reader->wait_eof()) << "feed " << f << " session " << i;
      EXPECT_TRUE(same_stream(s.reader->data(), s.expected)) << "feed " << f << " session " << i;
      EXPECT_TRUE(wait_until([&] { return s.closes->load() == 1; }));
    }
  }
  EXPECT_TRUE(wait_until([&] { return hub.clients() == 0; }));
  Stats st = hub.stats();
  EXPECT_EQ(st.events_published, static_cast<std::uint64_t>(kFeeds * kEvents))
      << "counted once per event, whatever the number of hub threads";
  EXPECT_EQ(st.evicted_slow + st.evicted_stall, 0u);
  hub.stop(0ms);
  for (auto& v : sessions) {
    for (Session& s : v) EXPECT_EQ(s.closes->load(), 1);
  }
}

TEST(HubTest, SessionAttachedWhileAnotherLagsStartsAtTheNewestEvent) {
  // The lagging session keeps old events in its thread's ring; the new one
  // must not be given them.
  Hub hub(big_backlog(1));
  hub.start();
  FeedId feed = hub.create_feed();
  Pair lag = socket_pair(kTinySndbuf);
  Fd lag_peer(lag.peer);
  ASSERT_TRUE(hub.attach(feed, Transport::plain(lag.hub), {}, nullptr));
  for (int k = 0; k < 20; ++k) hub.publish(feed, buf(event_text(0, k, 2000)));
  Pair p = socket_pair();
  ASSERT_TRUE(hub.attach(feed, Transport::plain(p.hub), {buf("pre\n")}, nullptr));
  Reader reader(p.peer);
  std::string expected = "pre\n";
  for (int k = 20; k < 25; ++k) {
    std::string ev = event_text(0, k, 2000);
    expected += ev;
    hub.publish(feed, buf(std::move(ev)));
  }
  hub.close_feed(feed);
  ASSERT_TRUE(reader.wait_eof());
  EXPECT_TRUE(same_stream(reader.data(), expected));
}

// --- coalescing and partial writes -----------------------------------------

TEST(HubTest, PendingEventsGoOutWholeAndInOrderThroughPartialWrites) {
  Hub hub(big_backlog(2));
  hub.start();
  FeedId feed = hub.create_feed();
  // `live` reads all along in small chunks, so writes keep stopping and
  // resuming in the middle of a buffer; `late` reads nothing until every
  // event is published, so hundreds pile up and go out in gathered writes.
  Pair live = socket_pair(kTinySndbuf);
  Pair late = socket_pair(kTinySndbuf);
  std::vector<Buffer> preamble = {buf("HTTP/1.1 200 OK\r\n\r\n"), buf(event_text(99, 0, 50000)),
                                  buf("retry: 1000\n\n")};
  std::string expected;
  for (const auto& b : preamble) expected += *b;
  ASSERT_TRUE(hub.attach(feed, Transport::plain(live.hub), preamble, nullptr));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(late.hub), preamble, nullptr));
  preamble.clear();
  Reader live_reader(live.peer, 1000);
  for (int k = 0; k < 400; ++k) {
    std::size_t size = k % 40 == 0 ? 100000 : 50 + static_cast<std::size_t>(k * 131 % 400);
    std::string ev = event_text(0, k, size);
    expected += ev;
    hub.publish(feed, buf(std::move(ev)));
  }
  Reader late_reader(late.peer, 3000);
  hub.close_feed(feed);
  ASSERT_TRUE(live_reader.wait_eof());
  ASSERT_TRUE(late_reader.wait_eof());
  EXPECT_TRUE(same_stream(live_reader.data(), expected));
  EXPECT_TRUE(same_stream(late_reader.data(), expected));
  EXPECT_EQ(hub.stats().evicted_slow, 0u);
}

// The hub's threads in this process (they are named "pb-hub").
std::set<long> hub_thread_ids() {
  std::set<long> out;
  DIR* d = opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "pb-hub") out.insert(std::atol(e->d_name));
  }
  closedir(d);
  return out;
}

// Write-type system calls (write, writev, ...) made by these threads.
long write_calls(const std::set<long>& tids) {
  long total = 0;
  for (long tid : tids) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/io");
    std::string key;
    long value;
    bool found = false;
    while (in >> key >> value) {
      if (key == "syscw:") {
        total += value;
        found = true;
      }
    }
    if (!found) return -1;
  }
  return total;
}

TEST(HubTest, EventsPendingTogetherAreGatheredIntoFewWrites) {
  Hub hub(big_backlog(1));
  hub.start();
  std::set<long> hub_threads;
  ASSERT_TRUE(wait_until([&] { return (hub_threads = hub_thread_ids()).size() == 1; }));
  if (write_calls(hub_threads) < 0) GTEST_SKIP() << "no per-thread I/O accounting here";

  FeedId feed = hub.create_feed();
  Pair p = socket_pair(kTinySndbuf);
  ASSERT_TRUE(hub.attach(feed, Transport::plain(p.hub), {}, nullptr));
  // The first event fills the socket; the next 300 wait behind it.
  std::string expected = event_text(0, 0, 64000);
  hub.publish(feed, buf(expected));
  constexpr int kSmall = 300;
  for (int k = 1; k <= kSmall; ++k) {
    std::string ev = event_text(0, k, 100);
    expected += ev;
    hub.publish(feed, buf(std::move(ev)));
  }
  sync(hub);
  long w0 = write_calls(hub_threads);
  Reader reader(p.peer);
  ASSERT_TRUE(reader.wait_size(expected.size()));
  long writes = write_calls(hub_threads) - w0;
  EXPECT_TRUE(same_stream(reader.data(), expected));
  // One write per event would take more than kSmall calls.
  EXPECT_LT(writes, kSmall / 3) << "pending events were not gathered into one writev";
}

// --- slow clients ---------------------------------------------------------

struct StuckCase {
  std::size_t threads;
  std::size_t backlog_events;
  std::size_t backlog_bytes;
  std::size_t event_size;
  int within_backlog;  // a client this many events behind is within both bounds
};

// A client that never reads and one that reads, on the same feed. The reader
// must get every event before the next one is published; the stuck one must
// be kept while within its backlog and dropped once beyond it.
void stuck_client_is_evicted_and_reader_undisturbed(const StuckCase& c) {
  Options o;
  o.threads = c.threads;
  o.backlog_events = c.backlog_events;
  o.backlog_bytes = c.backlog_bytes;
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  Pair stuck = socket_pair(kTinySndbuf);
  Fd stuck_peer(stuck.peer);
  Pair live = socket_pair(kTinySndbuf);
  Counter stuck_closes = counter();
  Counter live_closes = counter();
  ASSERT_TRUE(hub.attach(feed, Transport::plain(stuck.hub), {}, count_into(stuck_closes)));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(live.hub), {}, count_into(live_closes)));
  Reader reader(live.peer);
  std::string expected;
  constexpr int kEvents = 200;
  for (int k = 0; k < kEvents; ++k) {
    std::string ev = event_text(0, k, c.event_size);
    expected += ev;
    hub.publish(feed, buf(std::move(ev)));
    ASSERT_TRUE(reader.wait_size(expected.size()))
        << "event " << k << " did not reach the reading client while another one is stuck";
    if (k + 1 == c.within_backlog) {
      sync(hub);
      EXPECT_EQ(hub.stats().evicted_slow, 0u)
          << "evicted while " << k + 1 << " events behind, within its backlog";
    }
  }
  ASSERT_TRUE(wait_until([&] { return hub.stats().evicted_slow == 1; }))
      << "a client that reads nothing was not dropped after " << kEvents << " events";
  std::string got;
  EXPECT_TRUE(drain_to_eof(stuck.peer, &got)) << "the stuck client's socket was not closed";
  EXPECT_LT(got.size(), expected.size());
  EXPECT_TRUE(same_stream(got, expected.substr(0, got.size())))
      << "what the stuck client got is not a prefix of the stream";
  EXPECT_TRUE(same_stream(reader.data(), expected));
  EXPECT_FALSE(reader.eof());
  EXPECT_TRUE(wait_until([&] { return stuck_closes->load() == 1 && hub.clients() == 1; }));
  Stats st = hub.stats();
  EXPECT_EQ(st.evicted_stall, 0u);
  EXPECT_EQ(live_closes->load(), 0);
  hub.stop(0ms);
  EXPECT_EQ(live_closes->load(), 1);
  EXPECT_EQ(stuck_closes->load(), 1);
}

TEST(HubTest, ClientThatStopsReadingIsDroppedPastBacklogEventsOthersUndelayed) {
  // 1 thread: the stuck client and the reader share the epoll loop.
  for (std::size_t threads : {1u, 2u}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    stuck_client_is_evicted_and_reader_undisturbed({threads, 16, 1u << 30, 1000, 16});
  }
}

TEST(HubTest, ClientThatStopsReadingIsDroppedPastBacklogBytesOthersUndelayed) {
  for (std::size_t threads : {1u, 2u}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    // 8 events of 4000 bytes are within 32 KiB.
    stuck_client_is_evicted_and_reader_undisturbed({threads, 1u << 20, 32u << 10, 4000, 8});
  }
}

TEST(HubTest, EventLargerThanTheByteBacklogStillReachesAClientThatKeepsUp) {
  Options o;
  o.threads = 1;
  o.backlog_bytes = 16u << 10;
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  Pair live = socket_pair(kTinySndbuf);
  ASSERT_TRUE(hub.attach(feed, Transport::plain(live.hub), {}, nullptr));
  Reader reader(live.peer);
  std::string expected;
  for (int k = 0; k < 10; ++k) {
    std::string ev = event_text(0, k, 100000);
    expected += ev;
    hub.publish(feed, buf(std::move(ev)));
    ASSERT_TRUE(reader.wait_size(expected.size())) << "event " << k;
  }
  EXPECT_TRUE(same_stream(reader.data(), expected));
  EXPECT_FALSE(reader.eof());
  EXPECT_EQ(hub.stats().evicted_slow, 0u);
}

TEST(HubTest, StuckClientKeepsAtMostItsBacklogOfEventsAlive) {
  Options o;
  o.threads = 2;
  o.backlog_events = 1u << 20;
  o.backlog_bytes = 128u << 10;
  constexpr std::size_t kEventSize = 32u << 10;
  constexpr int kEvents = 300;  // 9.6 MB in all
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  Pair stuck = socket_pair(kTinySndbuf);
  Fd stuck_peer(stuck.peer);
  Pair a = socket_pair();
  Pair b = socket_pair();
  // Round-robin: the stuck client shares a thread with `b`; `a` has the other.
  ASSERT_TRUE(hub.attach(feed, Transport::plain(stuck.hub), {}, nullptr));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(a.hub), {}, nullptr));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(b.hub), {}, nullptr));
  Reader ra(a.peer);
  Reader rb(b.peer);
  std::vector<std::weak_ptr<const std::string>> published;
  std::size_t total = 0;
  std::size_t most_alive = 0;
  auto alive = [&] {
    return static_cast<std::size_t>(std::count_if(published.begin(), published.end(),
                                                  [](const auto& w) { return !w.expired(); }));
  };
  for (int k = 0; k < kEvents; ++k) {
    Buffer ev = buf(event_text(0, k, kEventSize));
    published.push_back(ev);
    total += ev->size();
    hub.publish(feed, std::move(ev));
    ASSERT_TRUE(ra.wait_size(total) && rb.wait_size(total)) << "event " << k;
    most_alive = std::max(most_alive, alive());
  }
  sync(hub);
  // The events the hub still holds are the ones its slowest client owes:
  // the backlog, the one being written and the newest.
  const std::size_t bound = o.backlog_bytes / kEventSize + 3;
  EXPECT_LE(most_alive, bound) << "the hub held on to events beyond the backlog";
  EXPECT_LE(alive(), bound);
  EXPECT_EQ(hub.stats().evicted_slow, 1u);
}

TEST(HubTest, ClientWhoseSocketTakesNothingForFourHeartbeatsIsDropped) {
  ManualClock clock;
  Options o = big_backlog(1);
  o.heartbeat = 100ms;
  o.clock = &clock;
  Hub hub(o);
  hub.start();
  FeedId feed = hub.create_feed();
  Pair stuck = socket_pair(kTinySndbuf);
  Fd stuck_peer(stuck.peer);
  Pair live = socket_pair(kTinySndbuf);
  Counter stuck_closes = counter();
  ASSERT_TRUE(hub.attach(feed, Transport::plain(stuck.hub), {}, count_into(stuck_closes)));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(live.hub), {}, nullptr));
  Reader reader(live.peer);
  std::string expected;
  for (int k = 0; k < 40; ++k) {  // 160 KB: far more than the stuck socket holds
    std::string ev = event_text(0, k, 4000);
    expected += ev;
    hub.publish(feed, buf(std::move(ev)));
  }
  ASSERT_TRUE(reader.wait_size(expected.size()));
  // Nothing more is published: only the stall rule can drop it. Four
  // heartbeats are not yet a stall; the tick after is.
  clock.advance(400ms);
  sync(hub);
  sync(hub);  // the turn that handled the first probe has ticked
  EXPECT_EQ(hub.stats().evicted_stall, 0u) << "dropped at four heartbeats, not after";
  clock.advance(250ms);
  ASSERT_TRUE(wait_until([&] { return hub.stats().evicted_stall == 1; }, kWait))
      << "a client that takes nothing was never dropped";
  EXPECT_EQ(hub.stats().evicted_slow, 0u);
  std::string got;
  EXPECT_TRUE(drain_to_eof(stuck.peer, &got));
  EXPECT_LT(got.size(), expected.size());
  EXPECT_TRUE(same_stream(got, expected.substr(0, got.size())));
  EXPECT_TRUE(wait_until([&] { return stuck_closes->load() == 1; }));
  // The reading client stays, and gets heartbeats after the events.
  ASSERT_TRUE(reader.wait_size(expected.size() + 3));
  EXPECT_EQ(reader.data().substr(expected.size(), 3), ":\n\n");
  EXPECT_FALSE(reader.eof());
  EXPECT_EQ(hub.clients(), 1);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::hub
