// A backend on raw sockets for tests: each route is a script that writes
// whatever bytes it likes, when it likes (a body dripping one byte at a time,
// a header line that never ends, a decompression bomb), which a real HTTP
// server library cannot be made to do. Well-behaved routes (ok()) keep the
// connection alive like a real server.
//
// Each connection gets its own thread (tests hold few at a time). The
// backend counts the connections open now and the most ever open at once.
// Destruction shuts every connection down and joins the threads.
//
// Threads: routes are set before requests arrive; counters from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pb::testing {

struct RawRequest {
  std::string method;
  std::string target;                          // as sent
  std::string path;                            // target without the query
  std::map<std::string, std::string> headers;  // lower-cased names
};

class RawBackend;

class RawConnection {
 public:
  // Writes all of `data`; false once the peer is gone or the backend stops.
  bool send(std::string_view data);
  // Sends `data` one byte every `gap`, until done (true) or the peer is
  // gone (false).
  bool drip(std::string_view data, std::chrono::milliseconds gap);
  // Waits; false if the backend stops meanwhile.
  bool pause(std::chrono::milliseconds d);
  bool stopping() const;
  // True once the peer has closed (or reset) the connection.
  bool peer_closed() const;
  // Holds the connection without answering until the peer goes away or the
  // backend stops; returns false (the connection is then closed).
  bool hold();

 private:
  friend class RawBackend;
  RawConnection(RawBackend& owner, int fd) : owner_(owner), fd_(fd) {}
  RawBackend& owner_;
  int fd_;
};

class RawBackend {
 public:
  // Answers one request; returns true to keep the connection for another.
  using Route = std::function<bool(RawConnection&, const RawRequest&)>;

  RawBackend();
  ~RawBackend();
  RawBackend(const RawBackend&) = delete;
  RawBackend& operator=(const RawBackend&) = delete;

  void route(const std::string& path, Route r);
  int port() const { return port_; }
  std::string url(const std::string& path) const;

  std::size_t requests(const std::string& path) const;
  std::size_t open_connections() const { return open_.load(); }
  std::size_t max_open_connections() const { return max_open_.load(); }

  // A complete 200 answer with `body` (keep-alive).
  static bool ok(RawConnection& c, const std::string& body, const std::string& extra_headers = "");

 private:
  friend class RawConnection;
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::map<std::string, Route> routes_;
  std::map<std::string, std::size_t> counts_;
  std::set<int> fds_;
  std::vector<std::thread> workers_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> max_open_{0};
};

// Compressed bodies that decode to far more than they weigh.
struct Bomb {
  std::string head;    // sent once
  std::string repeat;  // sent again and again: the stream stays valid
};
// gzip (RFC 1952) or zlib "deflate" (RFC 1950) of endless zeros: each
// `repeat` decodes to 1 MiB and weighs about 1 KiB.
Bomb zlib_bomb(bool gzip);
// brotli of `mib` MiB of zeros, whole (brotli streams cannot be repeated).
std::string brotli_bomb(std::size_t mib);

}  // namespace pb::testing
