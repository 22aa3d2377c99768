#include "support/http_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace pb::testing {
namespace {

int connect_to(const std::string& authority) {
  std::size_t colon = authority.rfind(':');
  std::string host = authority.substr(0, colon);
  int port = colon == std::string::npos ? 80 : std::stoi(authority.substr(colon + 1));
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Copies bytes both ways until either side closes.
void pump(int a, int b) {
  char buf[16384];
  for (;;) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    if (::poll(fds, 2, 10000) <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      if (!send_all(i == 0 ? b : a, std::string(buf, static_cast<std::size_t>(n)))) return;
    }
  }
}

}  // namespace

HttpProxy::HttpProxy() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    throw std::runtime_error("proxy: cannot listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("proxy: pipe");
  acceptor_ = std::thread([this] { accept_loop(); });
}

HttpProxy::~HttpProxy() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  char b = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &b, 1);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::vector<std::string> HttpProxy::seen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

void HttpProxy::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    fds_.insert(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void HttpProxy::serve(int fd) {
  std::string buf;
  std::size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos && buf.size() < 65536) {
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  if (end != std::string::npos) {
    std::string line = buf.substr(0, buf.find("\r\n"));
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = line.find(' ', sp1 + 1);
    std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(method + " " + target);
    }
    if (method == "CONNECT") {
      int up = connect_to(target);
      if (up < 0) {
        send_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      } else {
        send_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n");
        if (buf.size() > end + 4) send_all(up, buf.substr(end + 4));
        pump(fd, up);
        ::close(up);
      }
    } else if (target.rfind("http://", 0) == 0) {
      std::size_t path_at = target.find('/', 7);
      std::string authority = target.substr(7, path_at - 7);
      std::string path = path_at == std::string::npos ? "/" : target.substr(path_at);
      int up = connect_to(authority);
      if (up < 0) {
        send_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      } else {
        // One request per connection: the origin closes after answering.
        std::string head = method + " " + path + line.substr(sp2) + "\r\nConnection: close";
        std::size_t at = buf.find("\r\n") + 2;
        while (at < end) {
          std::size_t e = buf.find("\r\n", at);
          std::string h = buf.substr(at, e - at);
          std::string lower = h.substr(0, h.find(':'));
          for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (lower != "proxy-connection" && lower != "connection") head += "\r\n" + h;
          at = e + 2;
        }
        send_all(up, head + "\r\n\r\n" + buf.substr(end + 4));
        // Answer, then close: the client sees the end of the response.
        char chunk[16384];
        ssize_t n;
        while ((n = ::recv(up, chunk, sizeof chunk, 0)) > 0) {
          if (!send_all(fd, std::string(chunk, static_cast<std::size_t>(n)))) break;
        }
        ::close(up);
      }
    } else {
      send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fds_.erase(fd);
  }
  ::close(fd);
}

}  // namespace pb::testing
