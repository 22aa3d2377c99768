// Helpers of the hub's tests (hub_test.cpp, hub_lifecycle_test.cpp): socket
// pairs with tiny send buffers, a reader of the peer side, event texts that
// reveal a byte written twice or skipped, and a probe that synchronises with
// every hub thread.
//
// Threads: the test's thread; Reader runs one thread of its own.
#pragma once

#include "hub/hub.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
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
#include "support/util.h"

namespace pb::hub::hub_test {

using namespace std::chrono_literals;
using detail::kTick;
using pb::testing::wait_until;

// Generous: only reached when something is broken.
constexpr std::chrono::milliseconds kWait{10000};
// Asked for on the hub side of a pair; the kernel doubles it (8 KiB).
constexpr int kTinySndbuf = 4096;

inline Buffer buf(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// An event of exactly `size` bytes (at least 32) in SSE framing, naming its
// feed and index. The filler depends on both and on the byte's position, so a
// byte that is written twice, skipped or resumed from the wrong offset changes
// the stream. It never contains ":\n\n" (a heartbeat).
inline std::string event_text(int feed, int k, std::size_t size) {
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

inline Pair socket_pair(int hub_sndbuf = 0) {
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
inline Counter counter() {
  return std::make_shared<std::atomic<int>>(0);
}
inline std::function<void()> count_into(const Counter& c) {
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
inline bool drain_to_eof(int fd, std::string* out, std::chrono::milliseconds timeout = kWait) {
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
inline void sync(Hub& hub) {
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
inline ::testing::AssertionResult same_stream(const std::string& got, const std::string& want) {
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

inline Options big_backlog(std::size_t threads) {
  Options o;
  o.threads = threads;
  o.backlog_events = 1u << 20;
  o.backlog_bytes = 1u << 30;
  return o;
}

}  // namespace pb::hub::hub_test
