#include "longpoll_pool.h"

#include "client_pool.h"  // find_u64

#include <arpa/inet.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace pbl {

namespace {
constexpr std::size_t kReadBuffer = 64 * 1024;

// Query-string escaping of an event id (pollbridge's ids are safe already;
// this keeps the client correct if they ever are not).
std::string query_escape(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}
}  // namespace

struct LongPollPool::Conn final : HttpReader::BodySink {
  enum class St : std::uint8_t { kIdle, kQueued, kConnecting, kWaiting, kRetryWait };
  LongPollPool* pool = nullptr;
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  int fd = -1;
  St st = St::kIdle;
  bool sockets_before = false;  // a reconnect, not the first connection
  bool ever_answered = false;
  bool answer_done = false;  // a bodiless answer (304) is complete at its head
  int status = 0;
  HttpReader http;
  std::string out;
  std::string body;
  // Position: pollbridge's last_id, nchan's Last-Modified and Etag.
  std::string last_id;
  std::string last_modified;
  std::string etag;
  SeqPosition pos;

  bool on_head(const HttpReader& reader) override {
    status = reader.status_code();
    answer_done = status == 304 || status == 204;
    if (status == 200) {
      if (!reader.last_modified().empty()) last_modified = reader.last_modified();
      if (!reader.etag().empty()) etag = reader.etag();
    }
    return true;
  }
  void on_body(const char* data, std::size_t size) override { body.append(data, size); }
};

std::string find_last_id(std::string_view json) {
  static constexpr std::string_view kKey = "\"last_id\"";
  const std::size_t at = json.rfind(kKey);
  if (at == std::string_view::npos) return {};
  std::size_t p = json.find('"', json.find(':', at + kKey.size()));
  if (p == std::string_view::npos) return {};
  const std::size_t end = json.find('"', p + 1);
  if (end == std::string_view::npos) return {};
  return std::string(json.substr(p + 1, end - p - 1));
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> find_seq_ts(std::string_view text) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  std::size_t at = 0;
  while ((at = text.find("\"seq\"", at)) != std::string_view::npos) {
    std::uint64_t seq = 0, ts = 0;
    const std::string_view rest = text.substr(at);
    if (!find_u64(rest, "\"seq\"", seq) || !find_u64(rest, "\"ts\"", ts)) break;
    out.emplace_back(seq, ts);
    at += 5;
  }
  return out;
}

LongPollPool::LongPollPool(LongPollOptions options)
    : options_(std::move(options)), read_buf_(kReadBuffer) {}

LongPollPool::~LongPollPool() {
  close_all();
}

bool LongPollPool::init(std::string& error) {
  SocketOptions so;
  so.host = options_.host;
  so.ports = {options_.port};
  so.src_addrs = options_.src_addrs;
  so.reconnect_delay_ms = options_.reconnect_delay_ms;
  if (!init_sockets(so, error)) return false;
  conns_.reserve(options_.clients);
  for (std::size_t i = 0; i < options_.clients; ++i) {
    auto c = std::make_unique<Conn>();
    c->pool = this;
    c->index = static_cast<std::uint32_t>(i);
    conns_.push_back(std::move(c));
  }
  return true;
}

void LongPollPool::connect_all() {
  closing_ = false;
  for (auto& c : conns_) {
    if (c->st == Conn::St::kIdle) {
      c->st = Conn::St::kQueued;
      queue_connect(c->index);
    }
  }
  pump_queues();
}

bool LongPollPool::take_retry(std::uint32_t index) {
  Conn& c = *conns_[index];
  if (c.st != Conn::St::kRetryWait) return false;
  c.st = Conn::St::kQueued;
  return true;
}

void LongPollPool::start_queued(std::uint32_t index) {
  Conn& c = *conns_[index];
  if (c.st == Conn::St::kQueued) start_connect(c);
}

void LongPollPool::start_connect(Conn& c) {
  ++c.generation;
  if (c.sockets_before) ++counts_now().reconnects;
  c.sockets_before = true;
  std::string error;
  const int fd = open_socket(c.index, c.generation, error);
  if (fd < 0) {
    last_error_ = error;
    ++seq_.current().connect_errors;
    c.st = Conn::St::kRetryWait;
    queue_retry(c.index);
    return;
  }
  c.fd = fd;
  c.st = Conn::St::kConnecting;
  ++connecting_;
}

void LongPollPool::set_interest(Conn& c, std::uint32_t events) {
  SocketPool::set_interest(c.fd, c.index, c.generation, events);
}

void LongPollPool::send_request(Conn& c) {
  c.http.reset();
  c.body.clear();
  c.answer_done = false;
  c.status = 0;
  std::string target = options_.path;
  std::string headers;
  if (options_.target == Target::kPollbridge) {
    target += target.find('?') == std::string::npos ? '?' : '&';
    target += "transport=long-poll";
    if (!c.last_id.empty()) target += "&lastEventId=" + query_escape(c.last_id);
  } else {
    if (!c.last_modified.empty()) headers += "If-Modified-Since: " + c.last_modified + "\r\n";
    if (!c.etag.empty()) headers += "If-None-Match: " + c.etag + "\r\n";
  }
  c.out = "GET " + target + " HTTP/1.1\r\nHost: " + host() + ":" + std::to_string(port_of(0)) +
          "\r\nUser-Agent: pb-loadgen\r\n" + headers + "\r\n";
  // A request of a few hundred bytes fits the socket's buffer.
  const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
  if (w != static_cast<ssize_t>(c.out.size())) {
    fail(c, std::string("send: ") + (w < 0 ? std::strerror(errno) : "short write"));
    return;
  }
  c.out.clear();
  if (c.st != Conn::St::kWaiting) {
    c.st = Conn::St::kWaiting;
    ++waiting_;
    set_interest(c, EPOLLIN | EPOLLRDHUP);
  }
  ++counts_now().requests;
}

void LongPollPool::close_fd(Conn& c, bool abortive) {
  if (c.fd < 0) return;
  close_socket(c.fd, abortive);
  c.fd = -1;
  if (c.st == Conn::St::kConnecting) --connecting_;
  if (c.st == Conn::St::kWaiting) --waiting_;
}

void LongPollPool::fail(Conn& c, const std::string& why) {
  PhaseStats& s = seq_.current();
  if (c.st == Conn::St::kWaiting) {
    ++s.disconnects;
  } else {
    ++s.connect_errors;
  }
  last_error_ = why;
  close_fd(c, false);
  c.st = Conn::St::kRetryWait;
  queue_retry(c.index);
}

void LongPollPool::poll(int timeout_ms) {
  dispatch(timeout_ms);
  pump_queues();
}

void LongPollPool::on_socket_event(std::uint32_t index, std::uint32_t generation,
                                   std::uint32_t events) {
  if (index >= conns_.size()) return;
  Conn& c = *conns_[index];
  if (c.generation != generation || c.fd < 0) return;
  on_io(c, events);
}

void LongPollPool::on_io(Conn& c, std::uint32_t events) {
  if (c.st == Conn::St::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(c, std::string("connect: ") + std::strerror(err));
      return;
    }
    --connecting_;
    c.st = Conn::St::kRetryWait;  // neither connecting nor waiting until sent
    send_request(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) on_readable(c);
}

void LongPollPool::on_readable(Conn& c) {
  while (c.fd >= 0) {
    const ssize_t n = ::read(c.fd, read_buf_.data(), read_buf_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      fail(c, std::string("read: ") + std::strerror(errno));
      return;
    }
    if (n == 0) {
      fail(c, "closed by server");
      return;
    }
    const HttpReader::Status s = c.http.feed(read_buf_.data(), static_cast<std::size_t>(n), c);
    if (s == HttpReader::Status::kError) {
      fail(c, "bad response: " + c.http.error());
      return;
    }
    if (s == HttpReader::Status::kEnd || c.answer_done) {
      on_answer(c);
      return;  // the next answer comes after the next request
    }
    if (static_cast<std::size_t>(n) < read_buf_.size()) return;
  }
}

void LongPollPool::on_answer(Conn& c) {
  const std::int64_t now = realtime_ns();
  LongPollCounts& counts = counts_now();
  if (c.status == 200) {
    ++counts.answers;
    if (!c.ever_answered) {
      c.ever_answered = true;
      ++answered_;
    }
    const auto docs = find_seq_ts(c.body);
    if (docs.empty()) ++counts.empty_answers;
    for (const auto& [seq, ts] : docs) deliver(c, seq, ts, now);
    if (options_.target == Target::kPollbridge) {
      std::string id = find_last_id(c.body);
      if (!id.empty()) c.last_id = std::move(id);
    }
  } else if (c.status == 304 || c.status == 408) {
    ++counts.empty_answers;  // nchan's timeout answers: ask again
  } else {
    fail(c, "HTTP " + std::to_string(c.status));
    return;
  }
  if (c.http.connection_close()) {
    close_fd(c, false);
    c.st = Conn::St::kQueued;
    queue_connect(c.index);
    return;
  }
  send_request(c);
}

void LongPollPool::deliver(Conn& c, std::uint64_t seq, std::uint64_t ts, std::int64_t now) {
  if (c.pos.anomalous(seq) && logged_anomalies_ < options_.log_anomalies) {
    ++logged_anomalies_;
    std::fprintf(stderr, "anomaly: long-poll client %u phase %d: seq %llu after %llu (%s)\n",
                 c.index, static_cast<int>(seq_.phase()), static_cast<unsigned long long>(seq),
                 static_cast<unsigned long long>(c.pos.last_seq),
                 seq <= c.pos.last_seq ? "duplicate" : "gap");
  }
  seq_.record(c.pos, seq, ts, now);
}

void LongPollPool::close_all() {
  closing_ = true;
  for (auto& c : conns_) {
    close_fd(*c, true);
    c->st = Conn::St::kIdle;
  }
  clear_queues();
}

}  // namespace pbl
