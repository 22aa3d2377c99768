// N SSE clients on one epoll loop: non-blocking connects (paced, optionally
// from several 127.0.0.x source addresses), one HTTP/1.1 GET each with
// `Accept: text/event-stream` and, on reconnects, `Last-Event-ID`; the
// response is parsed incrementally (HttpReader, SseParser) and every event's
// document is checked: its "seq" against the connection's previous one (gaps,
// duplicates) and its "ts" against the clock (delivery latency).
//
// A connection the server drops reconnects after a delay with its last event
// id, as EventSource does. The reconnect storm closes every client on a
// schedule and tracks when each one has resumed.
//
// With `accept_encoding`, the request asks for a compressed stream
// (`Accept-Encoding: gzip`); a connection answered with a Content-Encoding is
// inflated with zlib and parsed like any other when it is one of the sampled
// ones (every `inflate_every`-th client), and otherwise only its bytes are
// counted, so the load client's own CPU stays bounded. Bytes read from every
// socket are counted per phase (wire bytes: compressed, with the HTTP
// chunking) beside the bytes after inflating (sampled connections).
//
// With `tls`, each connection runs a non-blocking TLS handshake before its
// request and reads through OpenSSL.
//
// Single-threaded: everything runs on the thread that calls poll(); the only
// shared datum is the publisher's atomic seq counter, read here.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.h"
#include "seq_check.h"
#include "socket_pool.h"

typedef struct ssl_ctx_st SSL_CTX;
#include "http_reader.h"
#include "sse_parser.h"

namespace pbl {

struct PoolOptions {
  std::string host = "127.0.0.1";  // numeric IPv4
  int port = 0;
  // More servers (several pollbridge instances behind no load balancer):
  // client i connects to ports[i % ports.size()]; empty = port only.
  std::vector<int> ports;
  std::string path = "/";
  std::size_t clients = 1;
  // Clients take their source address round-robin from 127.0.0.1 ..
  // 127.0.0.<src_addrs>, so more than one port range's worth can connect.
  int src_addrs = 1;
  // Most connections between connect() and a parsed response head, outside
  // the reconnect storm (which follows its own schedule).
  std::size_t connect_concurrency = 256;
  // Delay before a dropped or refused client connects again.
  int reconnect_delay_ms = 100;
  // Print the first this many gaps / duplicates to stderr, with context.
  int log_anomalies = 0;
  // Speak TLS (OpenSSL, a full handshake per connection, the certificate
  // not verified: the benchmark measures the server, not the chain).
  bool tls = false;
  // Sent as Accept-Encoding when not empty ("gzip").
  std::string accept_encoding;
  // Of the connections answered with a Content-Encoding, inflate and check
  // those whose index is a multiple of this (1: all of them).
  std::size_t inflate_every = 1;
};

class ClientPool final : SocketPool {
 public:
  ClientPool(PoolOptions options, const std::atomic<std::uint64_t>& published_seq);
  ~ClientPool() override;

  bool init(std::string& error);

  // Queues every client for connecting; poll() does the work.
  void connect_all();
  // One epoll_wait (up to timeout_ms) and everything that is due.
  void poll(int timeout_ms);

  std::size_t clients() const { return conns_.size(); }
  std::size_t streaming() const { return streaming_; }
  // Streaming connections whose response has a Content-Encoding, and how
  // many of those are inflated and checked; whose events count as
  // deliveries, with every plain connection.
  std::size_t encoded() const { return encoded_; }
  std::size_t inflated() const { return inflated_; }
  // The Content-Encoding of the last encoded response head ("" if none).
  const std::string& content_encoding() const { return content_encoding_; }

  void set_phase(Phase phase) { seq_.set_phase(phase); }
  // Events with lo <= seq <= hi count as deliveries (latency recorded).
  void set_window(std::uint64_t lo, std::uint64_t hi) { seq_.set_window(lo, hi); }
  const PhaseStats& stats(Phase phase) const { return seq_.stats(phase); }
  // See SeqCheck.
  std::uint64_t unseen(std::uint64_t lo, std::uint64_t hi) const { return seq_.unseen(lo, hi); }
  std::int64_t lost_by_clients(Phase phase) const { return seq_.lost_by_clients(phase); }

  // Reconnect storm: client i closes at start + i * spread / N and connects
  // again at once with its Last-Event-ID. It is resumed when it has its 200
  // and every event published before that 200.
  void start_storm(double spread_seconds);
  std::size_t storm_resumed() const { return storm_resumed_; }
  bool storm_done() const { return storm_active_ && storm_resumed_ == conns_.size(); }
  std::int64_t storm_start_ns() const { return storm_start_ns_; }
  std::int64_t storm_last_resume_ns() const { return storm_last_resume_ns_; }
  const Histogram& storm_resume_times() const { return storm_resume_hist_; }

  // Closes every connection with a reset (no TIME_WAIT left behind).
  void close_all();

  const std::string& last_error() const { return last_error_; }

 private:
  struct Conn;
  friend struct Conn;

  bool take_retry(std::uint32_t index) override;
  bool may_start() const override;
  void start_queued(std::uint32_t index) override;
  void on_socket_event(std::uint32_t index, std::uint32_t generation,
                       std::uint32_t events) override;

  void start_connect(Conn& c);
  void tls_handshake(Conn& c);
  void send_request(Conn& c);
  void set_interest(Conn& c, std::uint32_t events);
  void on_io(Conn& c, std::uint32_t events);
  void on_writable(Conn& c);
  void on_readable(Conn& c);
  bool read_once(Conn& c);  // false: nothing more now (or the connection failed)
  bool on_head(Conn& c, const HttpReader& reader);
  void on_event(Conn& c, const SseEvent& event);
  void on_encoded_body(Conn& c, const char* data, std::size_t size);
  void fail(Conn& c, const std::string& why);
  void close_fd(Conn& c, bool abortive);
  void storm_tick(std::int64_t now);
  void check_resumed(Conn& c, std::int64_t now);

  PoolOptions options_;
  const std::atomic<std::uint64_t>& published_;
  SSL_CTX* tls_ctx_ = nullptr;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::size_t in_flight_ = 0;  // connecting or waiting for a head
  std::size_t streaming_ = 0;
  std::size_t encoded_ = 0;
  std::size_t inflated_ = 0;
  std::string content_encoding_;
  std::vector<char> inflate_buf_;
  bool paced_ = true;
  SeqCheck seq_;

  bool storm_active_ = false;
  double storm_spread_ns_ = 0;
  std::int64_t storm_start_ns_ = 0;
  std::size_t storm_next_ = 0;
  std::size_t storm_resumed_ = 0;
  std::int64_t storm_last_resume_ns_ = 0;
  Histogram storm_resume_hist_;

  int logged_anomalies_ = 0;
  std::vector<char> read_buf_;
};

// Finds `"key":<unsigned integer>` in a JSON text (keys at any depth; the
// benchmark's documents are flat).
bool find_u64(std::string_view json, std::string_view key, std::uint64_t& out);

}  // namespace pbl
