#include "support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>

namespace pb::testing {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

RawConn::RawConn(int port, const std::string& host, const std::string& from) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!from.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      close();
      return;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
}

RawConn::~RawConn() {
  close();
}

RawConn::RawConn(RawConn&& o) noexcept : fd_(o.fd_), in_(std::move(o.in_)), closed_(o.closed_) {
  o.fd_ = -1;
}

void RawConn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConn::send(std::string_view bytes) {
  std::size_t off = 0;
  while (fd_ >= 0 && off < bytes.size()) {
    ssize_t w = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += static_cast<std::size_t>(w);
  }
  return fd_ >= 0;
}

void RawConn::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool RawConn::read_some(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;  // EOF or reset
    return false;
  }
  in_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool RawConn::read_until_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_some(left);
  }
  return true;
}

bool RawConn::read_until(const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in_.find(text) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || closed_) return false;
    read_some(left);
  }
  return true;
}

bool RawConn::read_responses(std::size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t complete = 0;
    for (const auto& r : parse_responses(in_)) complete += r.status > 0 ? 1 : 0;
    if (complete >= n) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || closed_) return false;
    read_some(left);
  }
}

bool RawResponse::has_header(const std::string& name) const {
  return head.find("\r\n" + lower(name) + ":") != std::string::npos ||
         lower(head).find("\r\n" + lower(name) + ":") != std::string::npos;
}

std::string RawResponse::header(const std::string& name) const {
  std::string l = lower(head);
  std::size_t at = l.find("\r\n" + lower(name) + ":");
  if (at == std::string::npos) return "";
  at += name.size() + 3;
  std::size_t end = head.find("\r\n", at);
  std::string v = head.substr(at, end == std::string::npos ? std::string::npos : end - at);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

std::vector<RawResponse> parse_responses(const std::string& stream, bool to_head) {
  std::vector<RawResponse> out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    RawResponse r;
    std::size_t end = stream.find("\r\n\r\n", pos);
    if (stream.compare(pos, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) {
      r.status = -1;
      r.body = stream.substr(pos);
      out.push_back(std::move(r));
      break;
    }
    r.head = stream.substr(pos, end - pos);
    r.status = std::atoi(stream.c_str() + pos + 9);
    pos = end + 4;
    std::string len = r.header("Content-Length");
    if (to_head || r.status == 100 || r.status == 204 || r.status == 304) len = "0";
    if (len.empty()) {  // no length: the rest of the stream (an event stream)
      r.body = stream.substr(pos);
      pos = stream.size();
    } else {
      std::size_t n = std::strtoul(len.c_str(), nullptr, 10);
      if (pos + n > stream.size()) {
        r.status = -1;
        r.body = stream.substr(pos);
        out.push_back(std::move(r));
        break;
      }
      r.body = stream.substr(pos, n);
      pos += n;
    }
    out.push_back(std::move(r));
  }
  return out;
}

int process_threads(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

}  // namespace pb::testing
