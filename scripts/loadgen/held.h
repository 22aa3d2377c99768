// Held connections for the front-door benchmark: as many idle keep-alive
// connections (one request answered, then silence) and slowloris
// connections (half a request head, then silence) as asked, set up on one
// epoll loop; then newcomers, each timing how long a fresh connection takes
// to get the first event of an SSE stream.
//
// Single-threaded: the caller's thread does everything.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pbl {

struct HeldOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::size_t idle = 0;  // keep-alive connections left idle after one request
  std::size_t slow = 0;  // connections that sent half a request head
  std::string idle_request;
  std::string slow_request;
  std::string sse_request;  // what a newcomer sends
  int src_addrs = 1;        // spread over 127.0.0.1 .. 127.0.0.<src_addrs>
  std::size_t concurrency = 256;
  double setup_timeout_s = 120;
};

class HeldConnections {
 public:
  explicit HeldConnections(HeldOptions options);
  ~HeldConnections();  // closes everything with a reset
  HeldConnections(const HeldConnections&) = delete;
  HeldConnections& operator=(const HeldConnections&) = delete;

  // Opens every connection; true when all are in place.
  bool open(std::string& error);
  double setup_s() const { return setup_s_; }
  std::size_t idle_ready() const { return idle_ready_; }
  std::size_t slow_ready() const { return slow_ready_; }
  // Held connections the server has not closed.
  std::size_t still_open() const;
  // One newcomer: ms from connect() to its first complete event; -1 on
  // failure or after 10 s.
  double newcomer_ms() const;

 private:
  struct Conn {
    int fd = -1;
    bool idle = false;
    bool ready = false;
    std::size_t sent = 0;
    std::string in;
  };
  bool start(Conn& c, std::size_t index, std::string& error);
  void on_event(Conn& c, std::uint32_t events);

  HeldOptions options_;
  sockaddr_in server_{};
  int epfd_ = -1;
  std::vector<Conn> conns_;
  std::size_t idle_ready_ = 0;
  std::size_t slow_ready_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t failed_ = 0;
  double setup_s_ = 0;
};

// One request on a fresh blocking connection; the response's body (a
// Content-Length body), or empty on failure or after 10 s.
std::string fetch_once(const std::string& host, int port, const std::string& request);

}  // namespace pbl
