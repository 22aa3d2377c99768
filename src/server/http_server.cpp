#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace pb::server {
namespace {

// The connection being served by this worker thread.
struct Connection {
  int fd = -1;
  bool taken = false;
};
thread_local Connection* tl_connection = nullptr;

bool wait_fd(int fd, short events, time_t sec, time_t usec) {
  pollfd p{fd, events, 0};
  int ms = static_cast<int>(sec * 1000 + usec / 1000);
  for (;;) {
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0 && (p.revents & (events | POLLHUP | POLLERR));
  }
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
               : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) return;
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

// httplib::Stream over a blocking socket, with the server's timeouts. Once
// the socket has been taken by a handler, writes are swallowed: the response
// httplib writes for that request is replaced by the hub's.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(Connection& conn, time_t rsec, time_t rusec, time_t wsec, time_t wusec)
      : conn_(conn), rsec_(rsec), rusec_(rusec), wsec_(wsec), wusec_(wusec) {}

  bool is_readable() const override {
    return !conn_.taken && wait_fd(conn_.fd, POLLIN, rsec_, rusec_);
  }
  bool is_writable() const override {
    return conn_.taken || wait_fd(conn_.fd, POLLOUT, wsec_, wusec_);
  }
  ssize_t read(char* ptr, size_t size) override {
    if (!is_readable()) return -1;
    for (;;) {
      ssize_t r = ::recv(conn_.fd, ptr, size, 0);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (conn_.taken) return static_cast<ssize_t>(size);
    if (!wait_fd(conn_.fd, POLLOUT, wsec_, wusec_)) return -1;
    for (;;) {
      ssize_t r = ::send(conn_.fd, ptr, size, MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(conn_.fd, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(conn_.fd, false, ip, port);
  }
  socket_t socket() const override { return conn_.fd; }

 private:
  Connection& conn_;
  time_t rsec_, rusec_, wsec_, wusec_;
};

}  // namespace

HttpServer::HttpServer(std::size_t workers, int backlog) : backlog_(backlog) {
  new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
}

int HttpServer::bind(const std::string& host, int port) {
  int bound;
  if (port == 0) {
    bound = bind_to_any_port(host);
    if (bound <= 0) return -1;
  } else {
    if (!bind_to_port(host, port)) return -1;
    bound = port;
  }
  // Re-issuing listen(2) on a listening socket only changes its backlog.
  if (::listen(svr_sock_, backlog_) != 0) return -1;
  return bound;
}

bool HttpServer::serve() {
  return listen_after_bind();
}

int HttpServer::take_socket() {
  if (tl_connection == nullptr || tl_connection->taken) return -1;
  tl_connection->taken = true;
  return tl_connection->fd;
}

bool HttpServer::wait_for_request(socket_t sock, bool first) const {
  // Short polls, so that stop() is noticed at once rather than after a
  // timeout. The first request gets the read timeout, later ones the
  // keep-alive timeout.
  auto deadline =
      std::chrono::steady_clock::now() +
      (first
           ? std::chrono::seconds(read_timeout_sec_) + std::chrono::microseconds(read_timeout_usec_)
           : std::chrono::microseconds(std::chrono::seconds(keep_alive_timeout_sec_)));
  while (svr_sock_ != INVALID_SOCKET) {
    if (wait_fd(sock, POLLIN, 0, 100000)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
  return false;
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  Connection conn;
  conn.fd = sock;
  ConnectionStream strm(conn, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_,
                        write_timeout_usec_);
  tl_connection = &conn;
  bool first = true;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!wait_for_request(sock, first)) break;
    first = false;
    bool closed = false;
    bool ok = process_request(strm, left == 1, closed, nullptr);
    if (conn.taken) {
      tl_connection = nullptr;
      return true;  // the hub owns the socket now
    }
    if (!ok || closed) break;
  }
  tl_connection = nullptr;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

}  // namespace pb::server
