#include "support/raw_backend.h"

#include <arpa/inet.h>
#include <brotli/encode.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace pb::testing {

bool RawConnection::stopping() const {
  std::lock_guard<std::mutex> lock(owner_.mu_);
  return owner_.stopping_;
}

bool RawConnection::send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(owner_.mu_);
  return !owner_.stop_cv_.wait_for(lock, d, [&] { return owner_.stopping_; });
}

bool RawConnection::peer_closed() const {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR)) return true;
  char c;
  return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool RawConnection::hold() {
  while (!peer_closed() && pause(std::chrono::milliseconds(20))) {
  }
  return false;
}

bool RawConnection::drip(std::string_view data, std::chrono::milliseconds gap) {
  for (char c : data) {
    if (!send(std::string_view(&c, 1)) || !pause(gap)) return false;
  }
  return true;
}

RawBackend::RawBackend() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4096) != 0) {
    throw std::runtime_error("raw backend: cannot listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("raw backend: pipe");
  acceptor_ = std::thread([this] { accept_loop(); });
}

RawBackend::~RawBackend() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
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

void RawBackend::route(const std::string& path, Route r) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_[path] = std::move(r);
}

std::string RawBackend::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::size_t RawBackend::requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

bool RawBackend::ok(RawConnection& c, const std::string& body, const std::string& extra_headers) {
  return c.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body);
}

void RawBackend::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    fds_.insert(fd);
    std::size_t now_open = ++open_;
    std::size_t seen = max_open_.load();
    while (now_open > seen && !max_open_.compare_exchange_weak(seen, now_open)) {
    }
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void RawBackend::serve(int fd) {
  RawConnection conn(*this, fd);
  std::string buf;
  for (;;) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos && buf.size() < 65536) {
      char chunk[4096];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) goto done;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    if (end == std::string::npos) break;
    RawRequest req;
    {
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      std::size_t line_end = head.find("\r\n");
      std::string line = head.substr(0, line_end);
      std::size_t sp1 = line.find(' ');
      std::size_t sp2 = line.find(' ', sp1 + 1);
      req.method = line.substr(0, sp1);
      req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      req.path = req.target.substr(0, req.target.find('?'));
      std::size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
      while (at < head.size()) {
        std::size_t e = head.find("\r\n", at);
        if (e == std::string::npos) e = head.size();
        std::string h = head.substr(at, e - at);
        std::size_t colon = h.find(':');
        if (colon != std::string::npos) {
          std::string name = h.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          std::size_t v = h.find_first_not_of(' ', colon + 1);
          req.headers[name] = v == std::string::npos ? "" : h.substr(v);
        }
        at = e + 2;
      }
      auto cl = req.headers.find("content-length");
      if (cl != req.headers.end()) {
        std::size_t want = std::stoul(cl->second);
        while (buf.size() < want) {
          char chunk[4096];
          ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
          if (n <= 0) goto done;
          buf.append(chunk, static_cast<std::size_t>(n));
        }
        buf.erase(0, want);
      }
    }
    Route r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[req.path];
      auto it = routes_.find(req.path);
      if (it != routes_.end()) r = it->second;
    }
    bool keep = r ? r(conn, req) : conn.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    if (!keep) break;
  }
done : {
  std::lock_guard<std::mutex> lock(mu_);
  fds_.erase(fd);
}
  ::close(fd);
  --open_;
}

Bomb zlib_bomb(bool gzip) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, gzip ? 31 : 15, 9, Z_DEFAULT_STRATEGY);
  const std::string zeros(1 << 20, '\0');
  auto run = [&](int flush) {
    std::string out(compressBound(zeros.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = static_cast<uInt>(zeros.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, flush);
    out.resize(out.size() - zs.avail_out);
    return out;
  };
  Bomb b;
  // The first call writes the header and the first block; after a full
  // flush nothing refers back, so the second block can be sent forever.
  b.head = run(Z_FULL_FLUSH);
  b.repeat = run(Z_FULL_FLUSH);
  deflateEnd(&zs);
  return b;
}

std::string brotli_bomb(std::size_t mib) {
  BrotliEncoderState* s = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
  BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, 1);
  const std::string zeros(1 << 20, '\0');
  std::string out;
  for (std::size_t i = 0; i <= mib; ++i) {
    const bool last = i == mib;
    std::size_t avail_in = last ? 0 : zeros.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(zeros.data());
    do {
      uint8_t buf[65536];
      std::size_t avail_out = sizeof buf;
      uint8_t* next_out = buf;
      BrotliEncoderCompressStream(s, last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS,
                                  &avail_in, &next_in, &avail_out, &next_out, nullptr);
      out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
    } while (avail_in > 0 || BrotliEncoderHasMoreOutput(s) ||
             (last && !BrotliEncoderIsFinished(s)));
  }
  BrotliEncoderDestroyInstance(s);
  return out;
}

}  // namespace pb::testing
