#include "support/fake_sentinel.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace pb::testing {

FakeSentinel::FakeSentinel(int answer_port, int port) {
  const std::string host = "127.0.0.1", p = std::to_string(answer_port);
  reply_ = "*2\r\n$" + std::to_string(host.size()) + "\r\n" + host + "\r\n$" +
           std::to_string(p.size()) + "\r\n" + p + "\r\n";
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 16) != 0) {
    ADD_FAILURE() << "FakeSentinel cannot listen on port " << port;
    return;
  }
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeSentinel::~FakeSentinel() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void FakeSentinel::serve() {
  std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    for (std::size_t i = fds.size(); i-- > 0;) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (i == 0) {
        int c = accept(listen_fd_, nullptr, nullptr);
        if (c >= 0) fds.push_back({c, POLLIN, 0});
        continue;
      }
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      // One command per read: callers send one and wait for its reply.
      ++asked_;
      if (write(fds[i].fd, reply_.data(), reply_.size()) < 0) {
      }
    }
  }
  for (std::size_t i = 1; i < fds.size(); ++i) close(fds[i].fd);
}

}  // namespace pb::testing
