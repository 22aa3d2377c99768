#include "support/sse_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <stdexcept>

namespace pb::testing {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

SseClient::SseClient(int port, const std::string& target, const Headers& headers,
                     const std::string& host) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  if (send_request(port, target, headers, host)) {
    read_head(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  }
}

SseClient::SseClient(const TlsClientOptions& tls, int port, const std::string& target,
                     const Headers& headers) {
  tls_ = std::make_unique<TlsConn>(port, tls);
  if (!tls_->ok()) {
    tls_.reset();
    return;
  }
  fd_ = tls_->fd();
  if (send_request(port, target, headers, tls.server_name)) {
    read_head(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  }
}

bool SseClient::send_request(int port, const std::string& target, const Headers& headers,
                             const std::string& host) {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                    "\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  if (tls_) {
    if (tls_->send(req)) return true;
    close();
    return false;
  }
  std::size_t off = 0;
  while (off < req.size()) {
    ssize_t w = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (w <= 0) {
      close();
      return false;
    }
    off += static_cast<std::size_t>(w);
  }
  return true;
}

SseClient::SseClient(Adopt, int fd) : fd_(fd) {
  read_head(std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

struct SseClient::Inflater {
  z_stream z{};
  explicit Inflater(bool gzip) { inflateInit2(&z, gzip ? 15 + 16 : 15); }
  ~Inflater() { inflateEnd(&z); }
};

SseClient::~SseClient() {
  close();
}

bool SseClient::deliver(const char* data, std::size_t n) {
  wire_bytes_ += n;
  if (!inflater_) {
    buf_.append(data, n);
    return true;
  }
  z_stream& z = inflater_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  z.avail_in = static_cast<uInt>(n);
  for (;;) {
    char out[16384];
    z.next_out = reinterpret_cast<Bytef*>(out);
    z.avail_out = sizeof out;
    int r = inflate(&z, Z_SYNC_FLUSH);
    buf_.append(out, sizeof out - z.avail_out);
    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
      eof_ = true;  // not a valid stream of its coding
      return false;
    }
    if (z.avail_in == 0 && z.avail_out != 0) return true;
    if (r == Z_STREAM_END || (r == Z_BUF_ERROR && z.avail_out != 0)) return true;
  }
}

void SseClient::close() {
  if (tls_) {
    tls_.reset();  // closes its socket
  } else if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = -1;
}

bool SseClient::read_more(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() < 0) return false;
  if (tls_) {
    std::string got;
    int n = tls_->recv(got, left);
    if (n == 0) eof_ = true;
    return n > 0 && deliver(got.data(), got.size());
  }
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(left.count()));
  if (r <= 0) return false;
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  return deliver(chunk, static_cast<std::size_t>(n));
}

bool SseClient::read_head(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    std::size_t end = buf_.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = buf_.substr(0, end);
      buf_.erase(0, end + 4);
      std::size_t line_end = head.find("\r\n");
      std::string status_line = head.substr(0, line_end);
      std::size_t sp = status_line.find(' ');
      if (sp != std::string::npos) status_ = std::atoi(status_line.c_str() + sp + 1);
      std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        std::size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string h = head.substr(pos, e - pos);
        std::size_t colon = h.find(':');
        if (colon != std::string::npos) {
          std::string v = h.substr(colon + 1);
          while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          headers_.emplace_back(h.substr(0, colon), v);
        }
        pos = e + 2;
      }
      std::string coding = lower(header("Content-Encoding"));
      if (coding == "gzip" || coding == "deflate") {
        inflater_ = std::make_unique<Inflater>(coding == "gzip");
        std::string coded;
        coded.swap(buf_);
        wire_bytes_ = 0;
        deliver(coded.data(), coded.size());
      } else {
        wire_bytes_ = buf_.size();
      }
      raw_ = buf_;
      return true;
    }
    if (!read_more(deadline)) return false;
  }
}

std::string SseClient::header(const std::string& name) const {
  for (const auto& [k, v] : headers_) {
    if (lower(k) == lower(name)) return v;
  }
  return "";
}

bool SseClient::has_header(const std::string& name) const {
  for (const auto& [k, v] : headers_) {
    if (lower(k) == lower(name)) return true;
  }
  return false;
}

std::string SseClient::body(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string len = header("Content-Length");
  std::size_t want = len.empty() ? std::string::npos : std::stoul(len);
  while (buf_.size() < want && read_more(deadline)) {
  }
  return buf_;
}

void SseClient::line(const std::string& l, std::optional<SseEvent>& out) {
  if (l.empty()) {
    if (data_.empty()) {
      type_.clear();
      had_id_ = false;
      return;
    }
    if (data_.back() == '\n') data_.pop_back();
    out = SseEvent{last_id_, type_.empty() ? "message" : type_, data_, had_id_};
    data_.clear();
    type_.clear();
    had_id_ = false;
    return;
  }
  if (l[0] == ':') {
    ++comments_;
    return;
  }
  std::size_t colon = l.find(':');
  std::string field = l.substr(0, colon);
  std::string value;
  if (colon != std::string::npos) {
    value = l.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
  }
  if (field == "event") {
    type_ = value;
  } else if (field == "data") {
    data_ += value;
    data_ += '\n';
  } else if (field == "id") {
    if (value.find('\0') == std::string::npos) last_id_ = value;
    had_id_ = true;
  } else if (field == "retry") {
    bool digits = !value.empty();
    for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) retry_ = std::stol(value);
  }
}

std::optional<SseEvent> SseClient::parse() {
  std::optional<SseEvent> out;
  std::size_t start = 0;
  // Bytes before scanned_ hold no line end: a long line is not scanned
  // again from its start whenever more of it arrives.
  std::size_t i = scanned_;
  while (i < buf_.size() && !out) {
    char c = buf_[i];
    if (pending_cr_ && c == '\n' && i == start) {
      // LF completing a CRLF whose CR ended the previous line.
      pending_cr_ = false;
      start = ++i;
      continue;
    }
    pending_cr_ = false;
    if (c == '\r' || c == '\n') {
      line(buf_.substr(start, i - start), out);
      pending_cr_ = c == '\r';
      start = ++i;
      continue;
    }
    ++i;
  }
  buf_.erase(0, start);
  scanned_ = i - start;
  return out;
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto ev = parse()) return ev;
    std::size_t before = buf_.size();
    if (!read_more(deadline)) return std::nullopt;
    raw_.append(buf_, before, std::string::npos);
  }
}

std::vector<SseEvent> SseClient::take(std::size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<SseEvent> out;
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto ev = next(left);
    if (!ev) break;
    out.push_back(std::move(*ev));
  }
  return out;
}

bool SseClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    std::size_t before = buf_.size();
    if (!read_more(deadline)) return eof_;
    raw_.append(buf_, before, std::string::npos);
  }
  return true;
}

}  // namespace pb::testing
