// The upstream side of the benchmark: makes the document change and tells the
// server under test about it.
//
//   pollbridge: an embedded httplib server plays the legacy backend and serves
//     the current document at /doc (with an ETag, answering If-None-Match with
//     304). A change updates the document, then POSTs the admin trigger
//     /streams/<name>/poll so pollbridge polls at once instead of waiting for
//     its interval.
//   nchan: a change POSTs the document to nginx+nchan's publisher location.
//
// The document (bench_documents.h, --shape) carries "seq" and "ts": seq
// counts changes from 1, ts is CLOCK_REALTIME in ns taken right before the
// change. nchan is published the shape's message for the change: the
// document, or (orders) the JSON patch pollbridge would send.
//
// Threads: start()/stop() and the accessors from the main thread; publishing
// runs on the publisher's own thread (run_async) or the caller's
// (publish_one); the backend's httplib threads read the document.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_documents.h"
#include "histogram.h"

namespace httplib {
class Server;
class Client;
}  // namespace httplib

namespace pbl {

enum class Target { kPollbridge, kNchan };

struct PublisherOptions {
  Target target = Target::kNchan;
  std::string server_host = "127.0.0.1";
  int server_port = 0;
  std::string trigger_path = "/streams/bench/poll";  // pollbridge
  std::string token;                                 // pollbridge admin token
  std::string publish_path = "/pub";                 // nchan
  std::string backend_host = "127.0.0.1";            // pollbridge's upstream
  int backend_port = 0;
  std::size_t payload = 512;  // the pad shape's padding
  Shape shape = Shape::kPad;
  bool tls = false;  // the server's port speaks TLS (certificate not verified)
};

class Publisher {
 public:
  explicit Publisher(PublisherOptions options);
  ~Publisher();

  // Starts the embedded backend (pollbridge target). Returns false with a
  // message if the port cannot be bound.
  bool start(std::string& error);
  void stop();

  // One change, synchronously. Returns false if the server refused it.
  // `ts_ns` is the document's timestamp (CLOCK_REALTIME ns); 0 means now.
  bool publish_one(std::int64_t ts_ns = 0);

  // Pollbridge target: with triggers off a change only updates the backend's
  // document, and pollbridge sees it at its next interval.
  void set_trigger(bool on) { trigger_ = on; }

  // Publishes `count` changes at `rate` per second on a thread of its own
  // (count 0: until stop_async). Changes follow an absolute schedule and
  // carry their scheduled time as "ts": when a server answers publishes
  // slowly (nchan replies after fanning out), the changes queue up here and
  // that wait counts in their delivery latency instead of silently lowering
  // the rate the server is offered.
  void run_async(double rate, std::uint64_t count);
  void stop_async();
  void join();  // waits for run_async's count to be published
  bool running() const { return running_.load(); }

  // Latest seq whose publish call returned.
  std::uint64_t published_seq() const { return published_.load(); }
  const std::atomic<std::uint64_t>& published_counter() const { return published_; }
  std::uint64_t errors() const { return errors_.load(); }
  std::string last_error() const;

  // Round trips of the publish requests (nchan: the POST of the message;
  // pollbridge: the poll trigger) since the last reset.
  Histogram publish_rtt() const;
  void reset_publish_rtt();

  // What the embedded backend saw of pollbridge's polls since the last
  // reset: the delay from a document change to the first GET that fetched
  // it, and the changes no GET ever fetched (a later one came first).
  struct PollStats {
    Histogram change_to_fetch;
    std::uint64_t fetched = 0;  // changes some GET returned
    std::uint64_t folded = 0;   // changes replaced before any GET saw them
  };
  PollStats poll_stats() const;
  void reset_poll_stats();

  // Requests the embedded backend answered, and when (steady clock, ns).
  std::uint64_t backend_requests() const { return backend_requests_.load(); }
  std::vector<std::int64_t> backend_request_times() const;

 private:
  PublisherOptions options_;
  DocumentMaker maker_;  // publishing thread (one publish_one at a time)

  // Current document (pollbridge target), read by the backend threads.
  mutable std::mutex doc_mutex_;
  std::string doc_;
  std::string etag_;
  std::vector<std::int64_t> request_times_;
  std::uint64_t doc_seq_ = 0;
  std::int64_t doc_changed_ns_ = 0;  // monotonic
  std::uint64_t last_fetched_seq_ = 0;
  PollStats poll_stats_;

  std::unique_ptr<httplib::Server> backend_;
  std::thread backend_thread_;
  std::unique_ptr<httplib::Client> client_;  // publisher thread only

  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> backend_requests_{0};
  mutable std::mutex error_mutex_;  // guards last_error_ and rtt_
  std::string last_error_;
  Histogram rtt_;

  std::thread runner_;
  std::atomic<bool> running_{false};
  std::atomic<bool> trigger_{true};
  std::atomic<bool> stop_requested_{false};
};

std::int64_t realtime_ns();
std::int64_t monotonic_ns();

}  // namespace pbl
