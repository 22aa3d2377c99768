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
#include "hub/hub.h"

#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "hub/worker_state.h"
#include "support/file_local.h"
#include "support/util.h"

namespace pb::hub {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using detail::kTick;
using pb::testing::wait_until;

// Generous: only reached when something is broken.
constexpr std::chrono::milliseconds kWait{10000};
// Asked for on the hub side of a pair; the kernel doubles it (8 KiB).
constexpr int kTinySndbuf = 4096;

Buffer buf(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// An event of exactly `size` bytes (at least 32) in SSE framing, naming its
// feed and index. The filler depends on both and on the byte's position, so a
// byte that is written twice, skipped or resumed from the wrong offset changes
// the stream. It never contains ":\n\n" (a heartbeat).
std::string event_text(int feed, int k, std::size_t size) {
  std::string s = "id: " + std::to_string(feed) + "-" + std::to_string(k) + "\ndata: ";
  s.reserve(size);
  while (s.size() + 2 < size) {
    s.push_back(static_cast<char>(
        'a' +
        (s.size() * 7 + static_cast<std::size_t>(k) * 13 + static_cast<std::size_t>(feed)) % 26));
  }
  s += "\n\n";
  return s;
}

struct Pair {
  int hub = -1;   // given to Hub::attach
  int peer = -1;  // the client's end, owned by the test
};

Pair socket_pair(int hub_sndbuf = 0) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair: " << strerror(errno);
    return {};
  }
  if (hub_sndbuf > 0) ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &hub_sndbuf, sizeof hub_sndbuf);
  return {sv[0], sv[1]};
}

// Closes a client end that is never read. Declared after the hub, it goes
// first: a hub that wrongly blocks on that socket is then released instead of
// hanging the test at its end.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using Counter = std::shared_ptr<std::atomic<int>>;
Counter counter() {
  return std::make_shared<std::atomic<int>>(0);
}
std::function<void()> count_into(const Counter& c) {
  return [c] { c->fetch_add(1); };
}

// Reads the client end of a session on its own thread until EOF (or until
// destroyed), optionally in small chunks.
class Reader {
 public:
  explicit Reader(int fd, std::size_t chunk = 1 << 16)
      : fd_(fd), chunk_(chunk), thread_([this] { run(); }) {}
  ~Reader() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  std::string data() const {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return data_.size();
  }
  bool eof() const {
    std::lock_guard<std::mutex> lock(mu_);
    return eof_;
  }
  bool wait_size(std::size_t n, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return data_.size() >= n; });
  }
  bool wait_eof(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return eof_; });
  }

 private:
  void run() {
    std::vector<char> chunk(chunk_);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::read(fd_, chunk.data(), chunk.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (n > 0) {
          data_.append(chunk.data(), static_cast<std::size_t>(n));
        } else {
          eof_ = true;
        }
      }
      cv_.notify_all();
      if (n <= 0) return;
    }
  }

  const int fd_;
  const std::size_t chunk_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string data_;
  bool eof_ = false;
  std::thread thread_;
};

// Reads what is left on a client end that was never read; true once EOF is
// seen (the hub closed its end).
bool drain_to_eof(int fd, std::string* out, std::chrono::milliseconds timeout = kWait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[1 << 16];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      out->append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      return true;
    }
  }
}

// Returns once every hub thread has handled everything posted to it before
// the call: attach spreads sessions over the threads round-robin, so one
// probe session per thread, each seen writing its preamble, is a barrier.
void sync(Hub& hub) {
  FeedId probe_feed = hub.create_feed();
  std::vector<int> peers;
  for (std::size_t i = 0; i < hub.thread_count(); ++i) {
    Pair p = socket_pair();
    ASSERT_TRUE(hub.attach(probe_feed, Transport::plain(p.hub), {buf("sync")}, nullptr));
    peers.push_back(p.peer);
  }
  for (int fd : peers) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (got.size() < 4 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c[4];
      ssize_t n = ::read(fd, c, sizeof c - got.size());
      if (n <= 0) break;
      got.append(c, static_cast<std::size_t>(n));
    }
    ::close(fd);
    ASSERT_EQ(got, "sync") << "a hub thread did not answer";
  }
}

// Compares two (possibly large) byte streams and names the first difference.
::testing::AssertionResult same_stream(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  auto around = [&](const std::string& s) {
    std::size_t from = i < 40 ? 0 : i - 40;
    return ::testing::PrintToString(s.substr(from, 80));
  };
  return ::testing::AssertionFailure()
         << "got " << got.size() << " bytes, want " << want.size() << "; first difference at " << i
         << "\n  got:  " << around(got) << "\n  want: " << around(want);
}

Options big_backlog(std::size_t threads) {
  Options o;
  o.threads = threads;
  o.backlog_events = 1u << 20;
  o.backlog_bytes = 1u << 30;
  return o;
}

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
