#include "held.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "publisher.h"  // monotonic_ns

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace pbl {
namespace {

void reset_close(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

// A complete response with a Content-Length body is in `in`.
bool response_complete(const std::string& in) {
  std::size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string head = in.substr(0, end);
  for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::size_t at = head.find("content-length:");
  std::size_t len = at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 15, nullptr, 10);
  return in.size() >= end + 4 + len;
}

}  // namespace

HeldConnections::HeldConnections(HeldOptions options) : options_(std::move(options)) {
  server_.sin_family = AF_INET;
  server_.sin_port = htons(static_cast<std::uint16_t>(options_.port));
  inet_pton(AF_INET, options_.host.c_str(), &server_.sin_addr);
}

HeldConnections::~HeldConnections() {
  for (auto& c : conns_) {
    if (c.fd >= 0) reset_close(c.fd);
  }
  if (epfd_ >= 0) ::close(epfd_);
}

bool HeldConnections::start(Conn& c, std::size_t index, std::string& error) {
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (options_.src_addrs > 1) {
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7f000001u + index % static_cast<unsigned>(options_.src_addrs));
    ::bind(c.fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  }
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN;
  ev.data.u64 = index;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
  int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
  if (rc != 0 && errno != EINPROGRESS) {
    error = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  ++in_flight_;
  return true;
}

void HeldConnections::on_event(Conn& c, std::uint32_t events) {
  const std::string& req = c.idle ? options_.idle_request : options_.slow_request;
  auto done = [&](bool ok) {
    --in_flight_;
    if (!ok) {
      ++failed_;
      reset_close(c.fd);
      c.fd = -1;
      return;
    }
    c.ready = true;
    ++(c.idle ? idle_ready_ : slow_ready_);
    std::string().swap(c.in);
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);  // held: nothing more to do
  };
  if (events & (EPOLLERR | EPOLLHUP)) {
    done(false);
    return;
  }
  if ((events & EPOLLOUT) && c.sent < req.size()) {
    ssize_t w = ::send(c.fd, req.data() + c.sent, req.size() - c.sent, MSG_NOSIGNAL);
    if (w > 0) c.sent += static_cast<std::size_t>(w);
    if (c.sent == req.size()) {
      if (!c.idle) {
        done(true);
        return;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
      ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }
  if (events & EPOLLIN) {
    char buf[4096];
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) return;
      done(false);
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.idle && response_complete(c.in)) done(true);
  }
}

bool HeldConnections::open(std::string& error) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  conns_.resize(options_.idle + options_.slow);
  for (std::size_t i = 0; i < options_.idle; ++i) conns_[i].idle = true;
  const std::int64_t t0 = monotonic_ns();
  const std::int64_t end = t0 + static_cast<std::int64_t>(options_.setup_timeout_s * 1e9);
  std::size_t next = 0;
  epoll_event events[1024];
  while (idle_ready_ + slow_ready_ + failed_ < conns_.size()) {
    while (next < conns_.size() && in_flight_ < options_.concurrency) {
      if (!start(conns_[next], next, error)) return false;
      ++next;
    }
    if (monotonic_ns() > end) {
      error = "held connections not set up in time";
      return false;
    }
    int n = ::epoll_wait(epfd_, events, 1024, 100);
    for (int i = 0; i < n; ++i) {
      Conn& c = conns_[events[i].data.u64];
      if (c.fd >= 0 && !c.ready) on_event(c, events[i].events);
    }
  }
  setup_s_ = static_cast<double>(monotonic_ns() - t0) / 1e9;
  if (failed_ > 0) {
    error = std::to_string(failed_) + " held connections failed";
    return false;
  }
  return true;
}

std::size_t HeldConnections::still_open() const {
  std::size_t open = 0;
  for (const auto& c : conns_) {
    if (c.fd < 0) continue;
    char b;
    ssize_t r = ::recv(c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    // Nothing to read (EAGAIN) means open; data (an answer) or EOF means
    // the server gave up on it.
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open;
  }
  return open;
}

double HeldConnections::newcomer_ms() const {
  const std::int64_t t0 = monotonic_ns();
  const std::int64_t end = t0 + 10 * 1000000000LL;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&server_), sizeof server_) != 0 ||
      ::send(fd, options_.sse_request.data(), options_.sse_request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(options_.sse_request.size())) {
    ::close(fd);
    return -1;
  }
  std::string in;
  double result = -1;
  while (monotonic_ns() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    std::size_t body = in.find("\r\n\r\n");
    if (body == std::string::npos) continue;
    std::size_t data = in.find("\ndata:", body);
    if (data != std::string::npos && in.find("\n\n", data) != std::string::npos) {
      result = static_cast<double>(monotonic_ns() - t0) / 1e6;
      break;
    }
  }
  reset_close(fd);
  return result;
}

std::string fetch_once(const std::string& host, int port, const std::string& request) {
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &server.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  std::string in;
  const std::int64_t end = monotonic_ns() + 10 * 1000000000LL;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    while (monotonic_ns() < end && !response_complete(in)) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  if (!response_complete(in)) return {};
  return in.substr(in.find("\r\n\r\n") + 4);
}

}  // namespace pbl
