#include "server/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace pb::server {
namespace {

std::string address_text(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int open_reserve() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace

Listener::Listener(const std::string& host, int port, int backlog, bool reuse_port) {
  const std::string where = address_text(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) {
    throw ListenError("cannot listen on " + where + ": cannot resolve " + host + ": " +
                      gai_strerror(gai));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);

  int fd =
      ::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) throw ListenError("cannot listen on " + where + ": socket: " + strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    int e = errno;
    ::close(fd);
    std::string why = strerror(e);
    if (e == EADDRINUSE) {
      why =
          "the address is already in use (another process listens there: stop it, or choose "
          "another server.listen; several pollbridge processes share one port only with "
          "server.reuse_port: true in each)";
    } else if (e == EACCES) {
      why = "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)";
    } else if (e == EADDRNOTAVAIL) {
      why = "no interface has that address";
    }
    throw ListenError("cannot listen on " + where + ": " + why);
  }
  if (::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    throw ListenError("cannot listen on " + where + ": listen: " + strerror(e));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    if (bound.ss_family == AF_INET) {
      port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    } else if (bound.ss_family == AF_INET6) {
      port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    }
  }
  fd_ = fd;
  reserve_ = open_reserve();
}

Listener::~Listener() {
  close();
}

void Listener::close() {
  if (fd_ >= 0) ::close(fd_);
  if (reserve_ >= 0) ::close(reserve_);
  fd_ = reserve_ = -1;
}

int Listener::accept(sockaddr_storage& peer) {
  for (;;) {
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    switch (errno) {
      case EINTR:
        continue;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM: {
        if (reserve_ < 0) reserve_ = open_reserve();
        if (reserve_ < 0) return kExhausted;  // nothing to give back
        ::close(reserve_);
        reserve_ = -1;
        int shed = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (shed >= 0) ::close(shed);
        reserve_ = open_reserve();
        if (shed >= 0) return kShed;
        return errno == EAGAIN || errno == EWOULDBLOCK ? kNone : kExhausted;
      }
      case ECONNABORTED:
      case EPROTO:
        continue;  // went away before it was accepted; the next one may be there
      default:
        return kNone;  // EAGAIN: nothing waiting
    }
  }
}

}  // namespace pb::server
