#include "client_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "bench_documents.h"  // find_patch_u64
#include "publisher.h"        // realtime_ns, monotonic_ns

namespace pbl {

namespace {
constexpr std::size_t kReadBuffer = 64 * 1024;
}  // namespace

struct ClientPool::Conn final : HttpReader::BodySink, SseParser::Sink {
  enum class St : std::uint8_t { kIdle, kQueued, kConnecting, kTls, kHead, kStreaming, kRetryWait };
  // Storm progress of this client.
  enum class Storm : std::uint8_t { kNone, kReconnecting, kResumed };

  ClientPool* pool = nullptr;
  std::uint32_t index = 0;
  std::uint32_t generation = 0;  // bumped per socket; stale epoll events are ignored
  int fd = -1;
  SSL* ssl = nullptr;
  St st = St::kIdle;
  HttpReader http;
  SseParser sse;
  std::string out;           // request bytes not yet written
  std::string sent_last_id;  // Last-Event-ID of the current request (diagnostics)
  std::string prev_id;       // id of the previous event with a seq (diagnostics)
  std::uint32_t events_on_socket = 0;
  SeqPosition pos;
  // The response's Content-Encoding: none, inflated (a sampled connection)
  // or only counted.
  enum class Coding : std::uint8_t { kNone, kInflate, kCountOnly };
  Coding coding = Coding::kNone;
  bool z_live = false;
  z_stream z{};

  Storm storm = Storm::kNone;
  bool storm_head = false;
  std::uint64_t storm_target = 0;
  std::int64_t storm_disconnect_ns = 0;

  bool on_head(const HttpReader& reader) override { return pool->on_head(*this, reader); }
  void on_body(const char* data, std::size_t size) override {
    if (coding == Coding::kNone) {
      sse.feed(data, size, *this);
    } else {
      pool->on_encoded_body(*this, data, size);
    }
  }
  void end_inflate() {
    if (z_live) inflateEnd(&z);
    z_live = false;
  }
  ~Conn() override { end_inflate(); }
  void on_event(const SseEvent& event) override { pool->on_event(*this, event); }
};

bool find_u64(std::string_view json, std::string_view key, std::uint64_t& out) {
  std::size_t at = 0;
  while (true) {
    at = json.find(key, at);
    if (at == std::string_view::npos) return false;
    std::size_t p = at + key.size();
    // key must be a quoted member name: the caller passes "\"seq\""
    while (p < json.size() && (json[p] == ' ' || json[p] == '\t')) ++p;
    if (p < json.size() && json[p] == ':') {
      ++p;
      while (p < json.size() && (json[p] == ' ' || json[p] == '\t' || json[p] == '\n')) ++p;
      if (p >= json.size() || json[p] < '0' || json[p] > '9') return false;
      std::uint64_t v = 0;
      while (p < json.size() && json[p] >= '0' && json[p] <= '9') {
        v = v * 10 + static_cast<std::uint64_t>(json[p] - '0');
        ++p;
      }
      out = v;
      return true;
    }
    at += key.size();
  }
}

ClientPool::ClientPool(PoolOptions options, const std::atomic<std::uint64_t>& published_seq)
    : options_(std::move(options)),
      published_(published_seq),
      inflate_buf_(kReadBuffer),
      read_buf_(kReadBuffer) {}

ClientPool::~ClientPool() {
  close_all();
  if (tls_ctx_) SSL_CTX_free(tls_ctx_);
}

bool ClientPool::init(std::string& error) {
  if (options_.ports.empty()) options_.ports.push_back(options_.port);
  SocketOptions so;
  so.host = options_.host;
  so.ports = options_.ports;
  so.src_addrs = options_.src_addrs;
  so.reconnect_delay_ms = options_.reconnect_delay_ms;
  if (!init_sockets(so, error)) return false;
  if (options_.tls) {
    tls_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls_ctx_, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(tls_ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(tls_ctx_, SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(tls_ctx_, kAlpn, sizeof kAlpn);
  }
  conns_.reserve(options_.clients);
  for (std::size_t i = 0; i < options_.clients; ++i) {
    auto c = std::make_unique<Conn>();
    c->pool = this;
    c->index = static_cast<std::uint32_t>(i);
    conns_.push_back(std::move(c));
  }
  return true;
}

void ClientPool::connect_all() {
  closing_ = false;
  for (auto& c : conns_) {
    if (c->st == Conn::St::kIdle) {
      c->st = Conn::St::kQueued;
      queue_connect(c->index);
    }
  }
  pump_queues();
}

bool ClientPool::take_retry(std::uint32_t index) {
  Conn& c = *conns_[index];
  if (c.st != Conn::St::kRetryWait) return false;
  c.st = Conn::St::kQueued;
  return true;
}

bool ClientPool::may_start() const {
  return !paced_ || in_flight_ < options_.connect_concurrency;
}

void ClientPool::start_queued(std::uint32_t index) {
  Conn& c = *conns_[index];
  if (c.st == Conn::St::kQueued) start_connect(c);
}

void ClientPool::start_connect(Conn& c) {
  ++c.generation;
  c.http.reset();
  c.sse.reset_stream();
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
  ++in_flight_;
  c.out = "GET " + options_.path + " HTTP/1.1\r\nHost: " + host() + ":" +
          std::to_string(port_of(c.index)) +
          "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n"
          "User-Agent: pb-loadgen\r\n";
  if (!options_.accept_encoding.empty()) {
    c.out += "Accept-Encoding: " + options_.accept_encoding + "\r\n";
  }
  c.sent_last_id = c.sse.last_event_id();
  c.events_on_socket = 0;
  if (!c.sent_last_id.empty()) c.out += "Last-Event-ID: " + c.sent_last_id + "\r\n";
  c.out += "\r\n";
}

void ClientPool::close_fd(Conn& c, bool abortive) {
  if (c.fd < 0) return;
  if (c.ssl) {
    SSL_free(c.ssl);
    c.ssl = nullptr;
    ERR_clear_error();
  }
  close_socket(c.fd, abortive);
  c.fd = -1;
  if (c.st == Conn::St::kConnecting || c.st == Conn::St::kTls || c.st == Conn::St::kHead) {
    --in_flight_;
  }
  if (c.st == Conn::St::kStreaming) {
    --streaming_;
    if (c.coding != Conn::Coding::kNone) --encoded_;
    if (c.coding == Conn::Coding::kInflate) --inflated_;
  }
  c.coding = Conn::Coding::kNone;
  c.end_inflate();
  c.out.clear();
}

void ClientPool::fail(Conn& c, const std::string& why) {
  PhaseStats& s = seq_.current();
  if (c.st == Conn::St::kStreaming) {
    ++s.disconnects;
  } else {
    ++s.connect_errors;
  }
  last_error_ = why;
  close_fd(c, false);
  c.st = Conn::St::kRetryWait;
  queue_retry(c.index);
}

void ClientPool::poll(int timeout_ms) {
  dispatch(timeout_ms);
  if (storm_active_) storm_tick(monotonic_ns());
  pump_queues();
}

void ClientPool::on_socket_event(std::uint32_t index, std::uint32_t generation,
                                 std::uint32_t events) {
  if (index >= conns_.size()) return;
  Conn& c = *conns_[index];
  if (c.generation != generation || c.fd < 0) return;
  on_io(c, events);
}

void ClientPool::on_io(Conn& c, std::uint32_t events) {
  if (c.st == Conn::St::kConnecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(c);
    return;
  }
  if (c.st == Conn::St::kTls) {
    tls_handshake(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) on_readable(c);
}

void ClientPool::on_writable(Conn& c) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail(c, std::string("connect: ") + std::strerror(err));
    return;
  }
  if (tls_ctx_ && !c.ssl) {
    c.ssl = SSL_new(tls_ctx_);
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_connect_state(c.ssl);
    c.st = Conn::St::kTls;
    tls_handshake(c);
    return;
  }
  send_request(c);
}

void ClientPool::tls_handshake(Conn& c) {
  ERR_clear_error();
  const int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    send_request(c);
    return;
  }
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      set_interest(c, EPOLLIN | EPOLLRDHUP);
      return;
    case SSL_ERROR_WANT_WRITE:
      set_interest(c, EPOLLOUT);
      return;
    default:
      fail(c, "TLS handshake failed");
  }
}

void ClientPool::set_interest(Conn& c, std::uint32_t events) {
  SocketPool::set_interest(c.fd, c.index, c.generation, events);
}

void ClientPool::send_request(Conn& c) {
  if (c.ssl) {
    // A request of a few hundred bytes fits one record and the socket.
    ERR_clear_error();
    if (SSL_write(c.ssl, c.out.data(), static_cast<int>(c.out.size())) !=
        static_cast<int>(c.out.size())) {
      fail(c, "TLS write failed");
      return;
    }
    c.out.clear();
  }
  while (!c.out.empty()) {
    const ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) return;  // stay on EPOLLOUT
      fail(c, std::string("send: ") + std::strerror(errno));
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(w));
  }
  c.out.shrink_to_fit();
  set_interest(c, EPOLLIN | EPOLLRDHUP);
  c.st = Conn::St::kHead;
}

void ClientPool::on_readable(Conn& c) {
  // Through TLS, everything OpenSSL has decrypted must be taken now: epoll
  // only sees the socket.
  do {
    if (!read_once(c)) return;
  } while (c.ssl && c.fd >= 0 && SSL_pending(c.ssl) > 0);
}

bool ClientPool::read_once(Conn& c) {
  ssize_t n;
  if (c.ssl) {
    ERR_clear_error();
    const int r = SSL_read(c.ssl, read_buf_.data(), static_cast<int>(read_buf_.size()));
    if (r > 0) {
      n = r;
    } else {
      const int e = SSL_get_error(c.ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
      n = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      errno = EPROTO;
    }
  } else {
    n = ::read(c.fd, read_buf_.data(), read_buf_.size());
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return false;
    fail(c, std::string("read: ") + std::strerror(errno));
    return false;
  }
  if (n == 0) {
    fail(c, c.st == Conn::St::kStreaming ? "stream closed by server"
                                         : "closed by server before the response head");
    return false;
  }
  seq_.current().wire_bytes += static_cast<std::uint64_t>(n);
  const std::uint32_t gen = c.generation;
  const HttpReader::Status s = c.http.feed(read_buf_.data(), static_cast<std::size_t>(n), c);
  if (c.generation != gen || c.fd < 0) return false;  // closed from a callback
  if (s == HttpReader::Status::kError) {
    fail(c, "bad response: " + c.http.error());
    return false;
  } else if (s == HttpReader::Status::kEnd) {
    fail(c, "response ended");
    return false;
  }
  return true;
}

bool ClientPool::on_head(Conn& c, const HttpReader& reader) {
  if (reader.status_code() != 200) {
    last_error_ = "HTTP " + std::to_string(reader.status_code());
    return false;
  }
  if (reader.content_type().compare(0, 17, "text/event-stream") != 0) {
    last_error_ = "Content-Type " + reader.content_type();
    return false;
  }
  const std::string& coding = reader.content_encoding();
  if (!coding.empty() && coding != "identity") {
    if (coding != "gzip" && coding != "deflate") {
      last_error_ = "Content-Encoding " + coding;
      return false;
    }
    content_encoding_ = coding;
    c.coding = Conn::Coding::kCountOnly;
    if (c.index % std::max<std::size_t>(1, options_.inflate_every) == 0) {
      // 32 + 15: zlib detects the gzip or zlib wrapper itself.
      c.z = z_stream{};
      if (inflateInit2(&c.z, 32 + 15) != Z_OK) {
        last_error_ = "inflateInit2 failed";
        return false;
      }
      c.z_live = true;
      c.coding = Conn::Coding::kInflate;
      ++inflated_;
    }
    ++encoded_;
  }
  --in_flight_;
  ++streaming_;
  c.st = Conn::St::kStreaming;
  if (c.storm == Conn::Storm::kReconnecting) {
    c.storm_head = true;
    c.storm_target = std::max(c.storm_target, published_.load());
    check_resumed(c, monotonic_ns());
  }
  return true;
}

void ClientPool::on_encoded_body(Conn& c, const char* data, std::size_t size) {
  if (c.coding != Conn::Coding::kInflate) return;  // counted as wire bytes only
  PhaseStats& s = seq_.current();
  s.inflated_wire += size;
  c.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  c.z.avail_in = static_cast<uInt>(size);
  const std::uint32_t gen = c.generation;
  while (c.z.avail_in > 0 || c.z.avail_out == 0) {
    c.z.next_out = reinterpret_cast<Bytef*>(inflate_buf_.data());
    c.z.avail_out = static_cast<uInt>(inflate_buf_.size());
    const int rc = inflate(&c.z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      ++s.bad_events;
      fail(c, std::string("inflate: ") + (c.z.msg ? c.z.msg : "error"));
      return;
    }
    const std::size_t out = inflate_buf_.size() - c.z.avail_out;
    s.inflated_bytes += out;
    if (out > 0) c.sse.feed(inflate_buf_.data(), out, c);
    if (c.generation != gen || c.fd < 0) return;  // closed from a callback
    if (rc == Z_STREAM_END || (rc == Z_BUF_ERROR && out == 0)) break;
  }
}

void ClientPool::on_event(Conn& c, const SseEvent& event) {
  const std::int64_t now = realtime_ns();
  std::uint64_t seq = 0, ts = 0;
  // A document has "seq" and "ts" members; a JSON patch (the orders shape)
  // replaces "/seq" and "/ts".
  if (!(find_u64(event.data, "\"seq\"", seq) && find_u64(event.data, "\"ts\"", ts)) &&
      !(find_patch_u64(event.data, "seq", seq) && find_patch_u64(event.data, "ts", ts))) {
    ++seq_.current().bad_events;
    return;
  }
  ++c.events_on_socket;
  if (c.pos.anomalous(seq) && logged_anomalies_ < options_.log_anomalies) {
    ++logged_anomalies_;
    std::fprintf(stderr,
                 "anomaly: client %u phase %d: seq %llu (id \"%.*s\", type \"%.*s\") after seq "
                 "%llu (id \"%s\"): %s; event %d on this socket, sent Last-Event-ID \"%s\"\n",
                 c.index, static_cast<int>(seq_.phase()), static_cast<unsigned long long>(seq),
                 static_cast<int>(event.id.size()), event.id.data(),
                 static_cast<int>(event.type.size()), event.type.data(),
                 static_cast<unsigned long long>(c.pos.last_seq), c.prev_id.c_str(),
                 seq <= c.pos.last_seq ? "duplicate" : "gap", static_cast<int>(c.events_on_socket),
                 c.sent_last_id.c_str());
  }
  if (!seq_.record(c.pos, seq, ts, now)) return;
  if (options_.log_anomalies > 0) c.prev_id.assign(event.id);
  if (c.storm == Conn::Storm::kReconnecting && c.storm_head) check_resumed(c, monotonic_ns());
}

void ClientPool::start_storm(double spread_seconds) {
  storm_active_ = true;
  paced_ = false;
  storm_spread_ns_ = spread_seconds * 1e9;
  storm_start_ns_ = monotonic_ns();
  storm_next_ = 0;
  storm_resumed_ = 0;
  storm_last_resume_ns_ = 0;
  storm_resume_hist_.clear();
  storm_tick(storm_start_ns_);
}

void ClientPool::storm_tick(std::int64_t now) {
  const std::size_t n = conns_.size();
  std::size_t due = n;
  if (storm_spread_ns_ > 0) {
    const double frac = static_cast<double>(now - storm_start_ns_) / storm_spread_ns_;
    due = std::min(n, static_cast<std::size_t>(frac * static_cast<double>(n)) + 1);
  }
  for (; storm_next_ < due; ++storm_next_) {
    Conn& c = *conns_[storm_next_];
    c.storm = Conn::Storm::kReconnecting;
    c.storm_head = false;
    c.storm_disconnect_ns = now;
    c.storm_target = c.pos.have_seq ? c.pos.last_seq : 0;
    // A client that is between connections keeps its own schedule.
    if (c.st == Conn::St::kStreaming || c.st == Conn::St::kHead || c.st == Conn::St::kConnecting ||
        c.st == Conn::St::kTls) {
      close_fd(c, false);
      c.st = Conn::St::kQueued;
      start_connect(c);
    }
  }
}

void ClientPool::check_resumed(Conn& c, std::int64_t now) {
  if (c.storm != Conn::Storm::kReconnecting || !c.storm_head) return;
  if (c.pos.have_seq ? c.pos.last_seq < c.storm_target : c.storm_target > 0) return;
  c.storm = Conn::Storm::kResumed;
  ++storm_resumed_;
  storm_last_resume_ns_ = std::max(storm_last_resume_ns_, now);
  storm_resume_hist_.record_us((now - c.storm_disconnect_ns) / 1000);
}

void ClientPool::close_all() {
  closing_ = true;
  for (auto& c : conns_) {
    close_fd(*c, true);
    c->st = Conn::St::kIdle;
  }
  clear_queues();
}

}  // namespace pbl
