#include "socket_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "publisher.h"  // monotonic_ns

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace pbl {

namespace {
constexpr int kMaxEvents = 1024;

std::uint64_t tag(std::uint32_t index, std::uint32_t generation) {
  return (static_cast<std::uint64_t>(generation) << 32) | index;
}
}  // namespace

SocketPool::~SocketPool() {
  if (epfd_ >= 0) ::close(epfd_);
}

bool SocketPool::init_sockets(const SocketOptions& options, std::string& error) {
  options_ = options;
  if (options_.ports.empty()) {
    error = "no server port";
    return false;
  }
  for (int port : options_.ports) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, options_.host.c_str(), &a.sin_addr) != 1) {
      error = "not a numeric IPv4 address: " + options_.host;
      return false;
    }
    servers_.push_back(a);
  }
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) {
    error = std::string("epoll_create1: ") + std::strerror(errno);
    return false;
  }
  return true;
}

int SocketPool::open_socket(std::uint32_t index, std::uint32_t generation, std::string& error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  auto failed = [&](const char* what) {
    error = std::string(what) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  };
  if (options_.src_addrs > 1) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7f000001u + index % static_cast<unsigned>(options_.src_addrs));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return failed("bind");
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = tag(index, generation);
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return failed("epoll_ctl");
  const sockaddr_in& server = servers_[index % servers_.size()];
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0 &&
      errno != EINPROGRESS) {
    return failed("connect");
  }
  return fd;
}

void SocketPool::set_interest(int fd, std::uint32_t index, std::uint32_t generation,
                              std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag(index, generation);
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void SocketPool::close_socket(int fd, bool abortive) {
  if (abortive) {
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  ::close(fd);
}

void SocketPool::queue_retry(std::uint32_t index) {
  if (closing_) return;
  retry_queue_.emplace_back(monotonic_ns() + options_.reconnect_delay_ms * 1000000LL, index);
}

void SocketPool::clear_queues() {
  connect_queue_.clear();
  retry_queue_.clear();
}

void SocketPool::pump_queues() {
  const std::int64_t now = monotonic_ns();
  while (!retry_queue_.empty() && retry_queue_.front().first <= now) {
    const std::uint32_t index = retry_queue_.front().second;
    retry_queue_.pop_front();
    if (take_retry(index)) connect_queue_.push_back(index);
  }
  while (!connect_queue_.empty() && may_start()) {
    const std::uint32_t index = connect_queue_.front();
    connect_queue_.pop_front();
    start_queued(index);
  }
}

void SocketPool::dispatch(int timeout_ms) {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  for (int i = 0; i < n; ++i) {
    on_socket_event(static_cast<std::uint32_t>(events[i].data.u64 & 0xffffffffu),
                    static_cast<std::uint32_t>(events[i].data.u64 >> 32), events[i].events);
  }
}

}  // namespace pbl
