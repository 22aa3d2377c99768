// N long-poll clients on one epoll loop (pb-loadgen --mode longpoll): each a
// non-blocking HTTP/1.1 keep-alive connection running one loop of requests,
// the next sent as soon as the previous answer is complete.
//
//  * pollbridge: `GET <path>?transport=long-poll[&lastEventId=<last_id>]`;
//    the JSON answer's events are checked one by one and its `last_id` is
//    the next request's position.
//  * nginx+nchan (`nchan_subscriber longpoll`): `GET <path>`, then with
//    `If-Modified-Since` / `If-None-Match` taken from the previous answer's
//    `Last-Modified` / `Etag`; the answer's body is one message.
//
// Every delivered document is checked as the SSE client does (ClientPool):
// its "seq" against the connection's previous one (gaps, duplicates) and its
// "ts" against the clock when the answer has fully arrived (latency). A
// connection the server closes reconnects after a delay and resumes from
// its position. Plain TCP only.
//
// Single-threaded: everything runs on the thread that calls poll(); the only
// shared datum is the publisher's atomic seq counter, which is not read here.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http_reader.h"
#include "publisher.h"  // Target
#include "seq_check.h"
#include "socket_pool.h"

namespace pbl {

struct LongPollOptions {
  Target target = Target::kPollbridge;
  std::string host = "127.0.0.1";  // numeric IPv4
  int port = 0;
  std::string path = "/events/bench";  // without query
  std::size_t clients = 1;
  int src_addrs = 1;  // source addresses 127.0.0.1 .. 127.0.0.<src_addrs>
  std::size_t connect_concurrency = 256;
  int reconnect_delay_ms = 100;
  int log_anomalies = 0;
};

// Requests and answers of one phase, beside the deliveries in PhaseStats.
struct LongPollCounts {
  std::uint64_t requests = 0;
  std::uint64_t answers = 0;        // complete 200 answers
  std::uint64_t empty_answers = 0;  // 200 without events, 304 or 408 (timeouts)
  std::uint64_t reconnects = 0;     // new sockets after the first one
};

class LongPollPool final : SocketPool {
 public:
  explicit LongPollPool(LongPollOptions options);
  ~LongPollPool() override;

  bool init(std::string& error);
  void connect_all();
  void poll(int timeout_ms);

  // Connections with a request on the wire or parked at the server.
  std::size_t waiting() const { return waiting_; }
  // Connections that had at least one 200 answer.
  std::size_t answered() const { return answered_; }

  void set_phase(Phase phase) { seq_.set_phase(phase); }
  void set_window(std::uint64_t lo, std::uint64_t hi) { seq_.set_window(lo, hi); }
  const PhaseStats& stats(Phase phase) const { return seq_.stats(phase); }
  const LongPollCounts& counts(Phase phase) const { return counts_[static_cast<int>(phase)]; }
  // See SeqCheck.
  std::uint64_t unseen(std::uint64_t lo, std::uint64_t hi) const { return seq_.unseen(lo, hi); }
  std::int64_t lost_by_clients(Phase phase) const { return seq_.lost_by_clients(phase); }

  void close_all();
  const std::string& last_error() const { return last_error_; }

 private:
  struct Conn;
  friend struct Conn;

  bool take_retry(std::uint32_t index) override;
  bool may_start() const override { return connecting_ < options_.connect_concurrency; }
  void start_queued(std::uint32_t index) override;
  void on_socket_event(std::uint32_t index, std::uint32_t generation,
                       std::uint32_t events) override;
  LongPollCounts& counts_now() { return counts_[static_cast<int>(seq_.phase())]; }

  void start_connect(Conn& c);
  void send_request(Conn& c);
  void set_interest(Conn& c, std::uint32_t events);
  void on_io(Conn& c, std::uint32_t events);
  void on_readable(Conn& c);
  void on_answer(Conn& c);
  void deliver(Conn& c, std::uint64_t seq, std::uint64_t ts, std::int64_t now);
  void fail(Conn& c, const std::string& why);
  void close_fd(Conn& c, bool abortive);

  LongPollOptions options_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::size_t connecting_ = 0;
  std::size_t waiting_ = 0;
  std::size_t answered_ = 0;

  SeqCheck seq_;
  LongPollCounts counts_[kPhases];
  int logged_anomalies_ = 0;
  std::vector<char> read_buf_;
};

// The value of `"last_id":"…"` in a pollbridge long-poll answer; empty if
// there is none.
std::string find_last_id(std::string_view json);

// Every (seq, ts) pair of the documents in `text`, in order: each "seq"
// member with the first "ts" member after it.
std::vector<std::pair<std::uint64_t, std::uint64_t>> find_seq_ts(std::string_view text);

}  // namespace pbl
