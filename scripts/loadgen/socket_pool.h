// The connection management both load-client pools share (ClientPool's SSE
// clients, LongPollPool's long-poll clients): the epoll set, the servers'
// addresses, non-blocking connects from the source addresses 127.0.0.1 ..
// 127.0.0.<src_addrs>, the queue of clients waiting to connect (started
// while the pool says there is room) and the FIFO of clients waiting out the
// reconnect delay. Each epoll registration carries the client's index and
// the generation of its socket, so that events of a socket closed since are
// told apart by the pool.
//
// Single-threaded: everything runs on the thread that calls dispatch().
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace pbl {

struct SocketOptions {
  std::string host = "127.0.0.1";  // numeric IPv4
  // Client i connects to ports[i % ports.size()].
  std::vector<int> ports;
  // Client i binds 127.0.0.<1 + i % src_addrs> (more than one port range's
  // worth of connections).
  int src_addrs = 1;
  // Delay before a dropped or refused client connects again.
  int reconnect_delay_ms = 100;
};

class SocketPool {
 public:
  SocketPool(const SocketPool&) = delete;
  SocketPool& operator=(const SocketPool&) = delete;

 protected:
  SocketPool() = default;
  virtual ~SocketPool();

  bool init_sockets(const SocketOptions& options, std::string& error);
  // A non-blocking socket for client `index`, bound to its source address,
  // registered for EPOLLOUT under (index, generation), its connect() to its
  // server started. -1 with `error` if any step failed (nothing left open).
  int open_socket(std::uint32_t index, std::uint32_t generation, std::string& error);
  void set_interest(int fd, std::uint32_t index, std::uint32_t generation, std::uint32_t events);
  // Closes (and so leaves the epoll set); abortive: with a reset, no
  // TIME_WAIT left behind.
  static void close_socket(int fd, bool abortive);
  int port_of(std::uint32_t index) const { return options_.ports[index % options_.ports.size()]; }
  const std::string& host() const { return options_.host; }

  void queue_connect(std::uint32_t index) { connect_queue_.push_back(index); }
  // Connect again after the reconnect delay (nothing while closing).
  void queue_retry(std::uint32_t index);
  void clear_queues();
  // Moves the retries that are due to the connect queue (those the pool
  // still wants: take_retry), then starts queued clients while may_start().
  void pump_queues();
  // One epoll_wait (up to timeout_ms) and on_socket_event for each event.
  void dispatch(int timeout_ms);

  virtual bool take_retry(std::uint32_t index) = 0;
  virtual bool may_start() const = 0;
  virtual void start_queued(std::uint32_t index) = 0;
  virtual void on_socket_event(std::uint32_t index, std::uint32_t generation,
                               std::uint32_t events) = 0;

  bool closing_ = false;
  std::string last_error_;

 private:
  SocketOptions options_;
  std::vector<sockaddr_in> servers_;
  int epfd_ = -1;
  std::deque<std::uint32_t> connect_queue_;
  std::deque<std::pair<std::int64_t, std::uint32_t>> retry_queue_;  // (due, index), FIFO
};

}  // namespace pbl
