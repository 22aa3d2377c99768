// ctest-labels: threaded
// What the hub reports about each session when it ends (for the access log)
// and the histograms it keeps (fan-out time, connection duration), on a real
// hub with real sockets (AF_UNIX stream pairs).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "hub/hub.h"
#include "support/file_local.h"
#include "support/util.h"

namespace pb::hub {
namespace PB_FILE_LOCAL {

using namespace std::chrono_literals;
using pb::testing::wait_until;

Buffer buf(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

struct Pair {
  int hub = -1;
  int peer = -1;
};

Pair socket_pair(int hub_sndbuf = 0) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return {};
  if (hub_sndbuf > 0) ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &hub_sndbuf, sizeof hub_sndbuf);
  return {sv[0], sv[1]};
}

// Reads from `fd` until `n` bytes arrived (or 10 s passed).
std::string read_bytes(int fd, std::size_t n) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  char chunk[4096];
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t r = ::read(fd, chunk, sizeof chunk);
    if (r <= 0) break;
    out.append(chunk, static_cast<std::size_t>(r));
  }
  return out;
}

// The end a session reported, once.
struct EndBox {
  std::mutex mu;
  std::optional<SessionEnd> end;
  int calls = 0;
  std::function<void(const SessionEnd&)> hook() {
    return [this](const SessionEnd& e) {
      std::lock_guard<std::mutex> lock(mu);
      end = e;
      ++calls;
    };
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu);
    return end.has_value();
  }
};

TEST(HubSessionEndTest, ReportsWhyHowLongAndTheEventsAndBytesWritten) {
  ManualClock clock;
  Hub hub(Options{1, 60s, 100, 1 << 20, &clock});
  hub.start();
  FeedId feed = hub.create_feed();
  Pair p = socket_pair();
  EndBox box;
  const std::string head = "HTTP/1.1 200 OK\r\n\r\nretry: 1\n\n";
  const std::string snap = "id: 1\nevent: snapshot\ndata: {}\n\n";
  ASSERT_TRUE(hub.attach(feed, Transport::plain(p.hub), {buf(head), buf(snap)}, box.hook()));
  std::size_t total = head.size() + snap.size();
  ASSERT_EQ(read_bytes(p.peer, total).size(), total);
  for (int i = 2; i <= 4; ++i) {
    std::string ev = "id: " + std::to_string(i) + "\ndata: {\"v\":" + std::to_string(i) + "}\n\n";
    total += ev.size();
    hub.publish(feed, buf(ev));
  }
  ASSERT_EQ(read_bytes(p.peer, total - head.size() - snap.size()).size(),
            total - head.size() - snap.size());
  clock.advance(20ms);  // a duration to measure
  ::close(p.peer);      // the client goes
  ASSERT_TRUE(wait_until([&] { return box.done(); }, 10s));
  std::lock_guard<std::mutex> lock(box.mu);
  EXPECT_EQ(box.calls, 1);
  EXPECT_EQ(box.end->reason, EndReason::kClosed);
  EXPECT_STREQ(end_reason_name(box.end->reason), "closed");
  EXPECT_EQ(box.end->events, 4u) << "the snapshot and three live events; the head is no event";
  EXPECT_EQ(box.end->bytes, total);
  EXPECT_GE(box.end->duration, 20ms);
  EXPECT_EQ(box.end->duration, 20ms) << "the clock stood still but for the 20 ms";
  EXPECT_EQ(hub.connection_histogram().snapshot().count, 1u);
  hub.stop(0ms);
}

TEST(HubSessionEndTest, AnEvictedSessionSaysSlowAndHowFarBehind) {
  Hub hub(Options{1, 60s, 3, 1 << 20});
  hub.start();
  FeedId feed = hub.create_feed();
  Pair p = socket_pair(4096);
  EndBox box;
  ASSERT_TRUE(hub.attach(feed, Transport::plain(p.hub), {buf("head")}, box.hook()));
  const std::string big(20000, 'x');  // more than the socket takes
  for (int i = 0; i < 10 && !box.done(); ++i) hub.publish(feed, buf("data: " + big + "\n\n"));
  ASSERT_TRUE(wait_until([&] { return box.done(); }, 10s));
  std::lock_guard<std::mutex> lock(box.mu);
  EXPECT_EQ(box.end->reason, EndReason::kSlow);
  EXPECT_GT(box.end->behind, 3u);
  ::close(p.peer);
  hub.stop(0ms);
}

TEST(HubSessionEndTest, FanoutIsObservedOncePerEventWhenTheLastSessionHasWrittenIt) {
  Hub hub(Options{1, 60s, 100, 1 << 20});
  hub.start();
  FeedId feed = hub.create_feed();
  // No session: nothing to wait for, nothing observed.
  hub.publish(feed, buf("data: 0\n\n"));
  Pair a = socket_pair();
  Pair b = socket_pair();
  ASSERT_TRUE(hub.attach(feed, Transport::plain(a.hub), {buf("h")}, nullptr));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(b.hub), {buf("h")}, nullptr));
  ASSERT_EQ(read_bytes(a.peer, 1), "h");
  ASSERT_EQ(read_bytes(b.peer, 1), "h");
  for (int i = 1; i <= 5; ++i) hub.publish(feed, buf("data: " + std::to_string(i) + "\n\n"));
  ASSERT_EQ(read_bytes(a.peer, 5 * 9).size(), 45u);
  ASSERT_EQ(read_bytes(b.peer, 5 * 9).size(), 45u);
  ASSERT_TRUE(wait_until([&] { return hub.fanout_histogram().snapshot().count == 5; }, 10s))
      << hub.fanout_histogram().snapshot().count;
  auto s = hub.fanout_histogram().snapshot();
  EXPECT_LT(s.sum, 5.0) << "seconds, not nanoseconds";
  ::close(a.peer);
  ::close(b.peer);
  hub.stop(0ms);
  EXPECT_EQ(hub.fanout_histogram().snapshot().count, 5u);
  EXPECT_EQ(hub.connection_histogram().snapshot().count, 2u);
}

TEST(HubSessionEndTest, AStuckSessionsEvictionReleasesTheEventsItHeldBack) {
  Hub hub(Options{1, 60s, 2, 1 << 20});
  hub.start();
  FeedId feed = hub.create_feed();
  Pair fast = socket_pair();
  Pair stuck = socket_pair(4096);
  EndBox box;
  ASSERT_TRUE(hub.attach(feed, Transport::plain(fast.hub), {buf("h")}, nullptr));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(stuck.hub), {buf("h")}, box.hook()));
  ASSERT_EQ(read_bytes(fast.peer, 1), "h");
  const std::string ev = "data: " + std::string(20000, 'y') + "\n\n";
  int published = 0;
  while (!box.done() && published < 50) {
    hub.publish(feed, buf(ev));
    ++published;
    ASSERT_EQ(read_bytes(fast.peer, ev.size()).size(), ev.size());
  }
  ASSERT_TRUE(box.done());
  // Every event was written by the reading session; the stuck one's
  // eviction ended the wait for those it never wrote.
  ASSERT_TRUE(wait_until(
      [&] { return hub.fanout_histogram().snapshot().count == static_cast<unsigned>(published); },
      10s))
      << hub.fanout_histogram().snapshot().count << " of " << published;
  ::close(fast.peer);
  ::close(stuck.peer);
  hub.stop(0ms);
}

TEST(HubSessionEndTest, ARevokedSessionClosesAtOnceAndSaysRevokedOthersStay) {
  Hub hub(Options{1, 60s, 100, 1 << 20});
  hub.start();
  FeedId feed = hub.create_feed();
  Pair revoked_pair = socket_pair();
  Pair kept_pair = socket_pair();
  EndBox revoked_end, kept_end;
  auto revocable = std::make_shared<Revocable>();
  auto other = std::make_shared<Revocable>();
  ASSERT_TRUE(hub.attach(feed, Transport::plain(revoked_pair.hub), {buf("h")}, revoked_end.hook(),
                         SteadyClock::time_point::max(), revocable));
  ASSERT_TRUE(hub.attach(feed, Transport::plain(kept_pair.hub), {buf("h")}, kept_end.hook(),
                         SteadyClock::time_point::max(), other));
  ASSERT_EQ(read_bytes(revoked_pair.peer, 1), "h");
  ASSERT_EQ(read_bytes(kept_pair.peer, 1), "h");
  revocable->revoke();
  hub.close_revoked();
  ASSERT_TRUE(wait_until([&] { return revoked_end.done(); }, 2s));
  EXPECT_EQ(revoked_end.end->reason, EndReason::kRevoked);
  EXPECT_STREQ(end_reason_name(EndReason::kRevoked), "revoked");
  EXPECT_EQ(hub.stats().revoked, 1u);
  // Nothing more is written to it; the other session gets the next event.
  hub.publish(feed, buf("e"));
  EXPECT_EQ(read_bytes(kept_pair.peer, 1), "e");
  EXPECT_EQ(read_bytes(revoked_pair.peer, 1), "");
  EXPECT_FALSE(kept_end.done());
  // One marked without close_revoked() goes on the next tick (250 ms).
  other->revoke();
  ASSERT_TRUE(wait_until([&] { return kept_end.done(); }, 2s));
  EXPECT_EQ(kept_end.end->reason, EndReason::kRevoked);
  hub.stop(0ms);
  ::close(revoked_pair.peer);
  ::close(kept_pair.peer);
}

}  // namespace PB_FILE_LOCAL
}  // namespace pb::hub
